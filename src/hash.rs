//! Content digests (BLAKE3) and the file identity used by the stat cache.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What the stat cache compares: if all four match, the content is taken as unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ino: u64,
    pub ctime_ns: i64,
}

impl FileStat {
    pub fn of(path: &Path) -> std::io::Result<FileStat> {
        let m = std::fs::metadata(path)?;
        Ok(FileStat {
            size: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ino: m.ino(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
        })
    }
}

/// Files at least this large are hashed memory-mapped on all cores.
const MMAP_THRESHOLD: u64 = 1 << 20;

/// BLAKE3 of a file's bytes, as hex.
pub fn hash_file(path: &Path, size_hint: u64) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    if size_hint >= MMAP_THRESHOLD {
        hasher.update_mmap_rayon(path)?;
    } else {
        hasher.update(&std::fs::read(path)?);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

pub fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}
