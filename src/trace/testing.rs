//! Test helpers shared by the readers' tests.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A file under the temporary directory, removed when dropped.
pub struct TempFile(String);

impl TempFile {
    pub fn new(name: &str, bytes: &[u8]) -> TempFile {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("mesosim-trace-{}-{n}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path.to_str().unwrap().to_owned())
    }

    /// `bytes` gzip-compressed.
    pub fn gz(name: &str, bytes: &[u8]) -> TempFile {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        TempFile::new(name, &gz.finish().unwrap())
    }

    pub fn path(&self) -> &str {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
