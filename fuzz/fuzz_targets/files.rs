//! Shared by the `hls` and `dash` targets: the fuzz input is a package folder, its files
//! separated by NUL bytes and written under fixed names, so one input can describe a
//! playlist together with the playlists, init segments and segments it names.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Writes the NUL-separated parts of `data` to `names` (in order) in the folder
/// `vodbuild-fuzz-<target>` under the temp dir, which also holds the fixed `extra` files
/// (written once per process); returns the folder.
pub fn write_package(target: &str, data: &[u8], names: &[&str], extra: &[(&str, &[u8])]) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vodbuild-fuzz-{target}"));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, bytes) in extra {
            write(&dir, name, bytes);
        }
        dir
    });
    let mut parts = data.splitn(names.len(), |b| *b == 0);
    for name in names {
        write(dir, name, parts.next().unwrap_or_default());
    }
    dir.clone()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("create a fuzz package subfolder");
    }
    std::fs::write(p, bytes).expect("write a fuzz package file");
}
