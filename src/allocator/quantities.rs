//! Scalar quantities by resource name, as dense vectors.
//!
//! Allocators add and compare amounts per resource name constantly (shares, quota, headroom).
//! A [`Names`] table gives each name seen a small index, and [`Quantities`] is a vector of
//! thousandths by that index: adding two is a loop over a handful of integers.

use smallvec::SmallVec;
use smol_str::SmolStr;

use crate::resources::{Resources, WELL_KNOWN};

/// Resource names, in the order first seen; an index never changes. The well-known names
/// (cpus, mem, disk, gpus) always hold indices 0 to 3.
#[derive(Clone, Debug)]
pub struct Names {
    names: Vec<SmolStr>,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            names: WELL_KNOWN.iter().copied().map(SmolStr::new).collect(),
        }
    }
}

impl Names {
    /// The index of a scalar from [`Resources::scalars_indexed`].
    fn index_of(&mut self, known: Option<usize>, name: &str) -> usize {
        match known {
            Some(i) => i,
            None => self.index(name),
        }
    }

    pub fn index(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(SmolStr::new(name));
                self.names.len() - 1
            }
        }
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The scalar amounts of `r` (all reservations together), by index.
    pub fn quantities(&mut self, r: &Resources) -> Quantities {
        let mut q = Quantities::zeros(self.names.len());
        for (known, name, _, amount) in r.scalars_indexed() {
            let i = self.index_of(known, name);
            q.add_at(i, amount.millis());
        }
        q
    }

    /// The scalar amounts of `r`: (all of them, the unreserved part), in one pass.
    pub fn split_quantities(&mut self, r: &Resources) -> (Quantities, Quantities) {
        let mut all = Quantities::zeros(self.names.len());
        let mut unreserved = Quantities::zeros(self.names.len());
        for (known, name, role, amount) in r.scalars_indexed() {
            let i = self.index_of(known, name);
            all.add_at(i, amount.millis());
            if role.is_none() {
                unreserved.add_at(i, amount.millis());
            }
        }
        (all, unreserved)
    }

    /// The scalar amounts of `r`'s unreserved part only.
    pub fn unreserved_quantities(&mut self, r: &Resources) -> Quantities {
        let mut q = Quantities::default();
        for (name, role, amount) in r.scalars() {
            if role.is_none() {
                let i = self.index(name);
                q.add_at(i, amount.millis());
            }
        }
        q
    }

    /// The scalar amounts of `r`'s reserved parts only.
    pub fn reserved_quantities(&mut self, r: &Resources) -> Quantities {
        let mut q = Quantities::default();
        for (name, role, amount) in r.scalars() {
            if role.is_some() {
                let i = self.index(name);
                q.add_at(i, amount.millis());
            }
        }
        q
    }
}

/// Thousandths per resource index; missing trailing entries are zero.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quantities(pub SmallVec<[u64; 4]>);

impl Quantities {
    /// `n` zeros: sized for every name known, so that adds do not grow it.
    pub fn zeros(n: usize) -> Quantities {
        Quantities(SmallVec::from_elem(0, n))
    }

    pub fn get(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    pub fn add_at(&mut self, i: usize, v: u64) {
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] = self.0[i].saturating_add(v);
    }

    pub fn set_at(&mut self, i: usize, v: u64) {
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] = v;
    }

    pub fn add(&mut self, other: &Quantities) {
        for (i, &v) in other.0.iter().enumerate() {
            if v > 0 {
                self.add_at(i, v);
            }
        }
    }

    /// Subtracts, saturating at zero.
    pub fn sub(&mut self, other: &Quantities) {
        for (i, &v) in other.0.iter().enumerate() {
            if let Some(x) = self.0.get_mut(i) {
                *x = x.saturating_sub(v);
            }
        }
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }

    /// `self − other` per entry, saturating at zero.
    pub fn minus(&self, other: &Quantities) -> Quantities {
        let mut q = self.clone();
        q.sub(other);
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_sum_across_reservations() {
        let mut names = Names::default();
        let r = Resources::parse("cpus:2;mem:1024;cpus(a):1").unwrap();
        let q = names.quantities(&r);
        assert_eq!(q.get(names.find("cpus").unwrap()), 3000);
        assert_eq!(
            names.unreserved_quantities(&r).get(names.find("cpus").unwrap()),
            2000
        );
        assert_eq!(names.reserved_quantities(&r).get(names.find("mem").unwrap()), 0);
        let mut a = q.clone();
        a.sub(&q);
        assert!(a.is_zero());
    }
}
