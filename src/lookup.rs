//! A hash map that can be looked up but never iterated.
//!
//! Iterating a hash map leaks the hash function's order into whatever consumes it, which is
//! how determinism dies quietly. This wrapper exposes only keyed operations, so a hot-path
//! table can use hashing for speed while the run stays a function of its seed. Use BTreeMap,
//! IndexMap or a dense Vec wherever an order is needed.

use std::hash::Hash;

use rustc_hash::FxBuildHasher;

pub struct LookupMap<K, V> {
    inner: hashbrown::HashMap<K, V, FxBuildHasher>,
}

impl<K: Clone, V: Clone> Clone for LookupMap<K, V> {
    fn clone(&self) -> Self {
        LookupMap {
            inner: self.inner.clone(),
        }
    }
}

impl<K, V> Default for LookupMap<K, V> {
    fn default() -> Self {
        LookupMap {
            inner: hashbrown::HashMap::with_hasher(FxBuildHasher),
        }
    }
}

impl<K: Hash + Eq, V> LookupMap<K, V> {
    pub fn get(&self, key: &K) -> Option<&V> {
        self.inner.get(key)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.inner.get_mut(key)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.inner.insert(key, value)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.inner.remove(key)
    }

    pub fn get_or_insert_with(&mut self, key: K, default: impl FnOnce() -> V) -> &mut V {
        self.inner.entry(key).or_insert_with(default)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.inner.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    pub fn clear(&mut self) {
        self.inner.clear();
    }
}
