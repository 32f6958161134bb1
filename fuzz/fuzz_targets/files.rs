//! Shared by the `hls` and `dash` targets: the fuzz input is a package folder, its files
//! separated by NUL bytes and written under fixed names, so one input can describe a
//! playlist together with the playlists, init segments and segments it names.

use std::path::{Path, PathBuf};

/// Writes the NUL-separated parts of `data` to `names` (in order) in a fresh folder
/// `vodbuild-fuzz-<target>` under the temp dir, plus the fixed `extra` files; returns it.
pub fn write_package(target: &str, data: &[u8], names: &[&str], extra: &[(&str, &[u8])]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vodbuild-fuzz-{target}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the fuzz package folder");
    let mut parts = data.splitn(names.len(), |b| *b == 0);
    for name in names {
        let part = parts.next().unwrap_or_default();
        std::fs::write(dir.join(name), part).expect("write a fuzz package file");
    }
    for (name, bytes) in extra {
        write(&dir, name, bytes);
    }
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("create a fuzz package subfolder");
    }
    std::fs::write(p, bytes).expect("write a fuzz package file");
}
