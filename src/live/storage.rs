//! A live process's durable storage: each record of its [`Store`] is a file of its work
//! directory, `<meta>/<key>.json`, written atomically (a temporary file, fsync, rename), so
//! that a process killed at any instant leaves each record whole, old or new. Mesos's agent
//! keeps its meta directory the same way, a file per task.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::process::{Durable, Store};

/// Where a process's records go: files, or (without a work directory) memory only.
pub struct LiveStore {
    dir: Option<PathBuf>,
    memory: Store,
}

impl LiveStore {
    pub fn new(dir: Option<PathBuf>) -> LiveStore {
        LiveStore {
            dir,
            memory: Store::default(),
        }
    }

    /// Writes record `key` (or removes it, for `None`).
    pub fn put(&mut self, key: u64, record: Option<Box<dyn Durable>>) -> io::Result<()> {
        let Some(dir) = &self.dir else {
            self.memory.put(key, record);
            return Ok(());
        };
        let path = dir.join(format!("{key}.json"));
        match record {
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Some(record) => {
                let json = record.to_json().map_err(io::Error::other)?;
                write_atomically(dir, &path, &json)
            }
        }
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = path.with_extension("json.tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// The records a process left in `dir`, for the process that recovers from them (an empty
/// store if there are none). Temporary files of a write cut short are ignored: the record
/// they were to replace is whole.
pub fn load(dir: &Path) -> io::Result<Store> {
    let mut store = Store::default();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(store),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let Some(key) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|k| k.parse::<u64>().ok())
        else {
            continue;
        };
        store.put_json(key, fs::read(&path)?);
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_written_are_loaded_back_and_removed_ones_are_gone() {
        let dir = std::env::temp_dir().join(format!("mesosim-store-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut store = LiveStore::new(Some(dir.clone()));
        store.put(0, Some(Box::new(vec![1u32, 2]))).unwrap();
        store.put(7, Some(Box::new("seven".to_string()))).unwrap();
        store.put(9, Some(Box::new(9u8))).unwrap();
        store.put(9, None).unwrap();
        store.put(11, None).unwrap();
        fs::write(dir.join("3.json.tmp"), b"{half").unwrap();
        let loaded = load(&dir).unwrap();
        assert_eq!(loaded.keys().collect::<Vec<_>>(), vec![0, 7]);
        assert_eq!(loaded.get::<Vec<u32>>(0).unwrap(), Some(vec![1, 2]));
        assert_eq!(loaded.get::<String>(7).unwrap(), Some("seven".to_string()));
        assert!(loaded.get::<u32>(7).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
