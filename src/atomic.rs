//! Whole-or-nothing file writes, the one way vodbuild replaces a file others read (the state
//! snapshot, the failed list, job specs and results, CI reports): a temporary beside the
//! file, created new (never through a symlink planted under its name), written and synced,
//! then renamed over the file and the folder synced. A reader sees the old file or the new
//! one, never half; a crash leaves at most a stale temporary, which the next write replaces.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` whole or not at all. The error names the file.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    write_io(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// [`write`], with the bare I/O error (for callers that add their own context).
pub fn write_io(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// [`write_io`] of what `fill` writes, streamed through a buffer (a large file is never in
/// memory whole).
pub fn write_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let tmp = temporary(path);
    let attempt = || -> std::io::Result<()> {
        // A stale temporary (or a symlink planted under its name) goes first.
        let _ = std::fs::remove_file(&tmp);
        let f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(folder)?.sync_all()
    };
    attempt().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// `.NAME.tmp-PID` beside `path`: one process's temporary never collides with another's.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_never_follows_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, temporary(&p)).unwrap();
        write(&p, b"three").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep", "the symlink was replaced, not followed");
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary left: {names:?}");
        let e = write(&dir.path().join("no/such/dir/f"), b"x").unwrap_err();
        assert!(e.contains("no/such/dir/f"), "{e}");
    }
}
