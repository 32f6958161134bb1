//! Where the source lifecycle may delete: only a regular file (never a symlink) that is a
//! source of this manifest, inside the base folder of one of its globs (the folder before
//! the first wildcard, both canonical: a glob that follows a symlink out of it never lets
//! it delete there) or exactly a `path:` it names, outside the output folder and the
//! workspace, and with the size, mtime, inode and ctime it had when its digest was taken
//! (a file replaced during the run is kept).

use std::path::{Path, PathBuf};

use crate::hash::FileStat;
use crate::manifest::{Manifest, Source, walk};
use crate::state::State;

/// Deletes the source's file if it may; returns its recorded digest, or why not.
pub(super) fn delete(m: &Manifest, src: &Source, state: &State) -> Result<String, String> {
    if src.remote.is_some() {
        return Err("an `object:` source stays in its backend".into());
    }
    let entry = state.data.sources.get(&src.rel).ok_or("its digest is not recorded")?;
    allowed(m, &src.path)?;
    let stat = FileStat::of(&src.path).map_err(|e| format!("cannot read it: {e}"))?;
    if stat != entry.stat {
        return Err("it changed since it was hashed (it is built again on the next run)".into());
    }
    std::fs::remove_file(&src.path).map_err(|e| format!("cannot delete it: {e}"))?;
    Ok(entry.digest.clone())
}

/// Why the file at `path` may not be deleted, if it may not.
fn allowed(m: &Manifest, path: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err("it is a symlink (only regular files are deleted)".into());
    }
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let file = canonical_file(path).ok_or("cannot resolve its folder")?;
    for (what, dir) in [("the output folder", m.output_dir.clone()), ("the workspace", m.root.join(".vodbuild"))] {
        if dir.canonicalize().is_ok_and(|d| file.starts_with(d)) {
            return Err(format!("it is inside {what}"));
        }
    }
    let in_a_root = m.raw.sources.iter().any(|s| match (&s.path, &s.glob) {
        (Some(p), _) => canonical_file(&m.root.join(p)).is_some_and(|f| f == file),
        (_, Some(g)) => walk::base_of(&m.root, g).canonicalize().is_ok_and(|base| file.starts_with(base)),
        _ => false,
    });
    if !in_a_root {
        return Err("it is outside the folders the manifest's sources name".into());
    }
    Ok(())
}

/// The file's path with its folder resolved (the file itself is not followed).
fn canonical_file(path: &Path) -> Option<PathBuf> {
    Some(path.parent()?.canonicalize().ok()?.join(path.file_name()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::SourceEntry;

    fn manifest(dir: &Path, sources: &str) -> Manifest {
        let text = format!(
            "version: 1\nsources:\n{sources}\nprofiles:\n  video:\n    v: {{codec: h264, height: 90, bitrate: 100k}}\n\
             outputs:\n  hls: {{renditions: [v], segment_seconds: 2}}\n"
        );
        Manifest::from_text("p.yaml", &text, dir, |_| None).unwrap()
    }

    fn state_for(m: &Manifest) -> State {
        let mut state = State::load(&m.state_dir()).unwrap();
        for s in &m.sources {
            let stat = FileStat::of(&s.path).unwrap();
            state.record_source(&s.rel, SourceEntry { stat, digest: format!("d-{}", s.id), identity: None });
        }
        state
    }

    #[test]
    fn deletes_only_unchanged_regular_files_inside_the_source_roots() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("r"), dir.path().join("elsewhere"));
        std::fs::create_dir_all(root.join("media")).unwrap();
        std::fs::create_dir_all(root.join("out")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("precious.mp4"), b"p").unwrap();
        std::fs::write(root.join("media/a.mp4"), b"a").unwrap();
        std::fs::write(root.join("media/b.mp4"), b"b").unwrap();
        std::fs::write(root.join("out/c.mp4"), b"c").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("media/linked")).unwrap();
        std::os::unix::fs::symlink(outside.join("precious.mp4"), root.join("media/link.mp4")).unwrap();
        let m = manifest(&root, "  - glob: \"media/**/*.mp4\"\n    follow_symlinks: true\n  - glob: \"out/*.mp4\"");
        let ids: Vec<&str> = m.sources.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["media/a", "media/b", "media/link", "media/linked/precious", "out/c"]);
        let state = state_for(&m);
        let why = |id: &str| delete(&m, m.source(id).unwrap(), &state);
        std::fs::write(root.join("media/b.mp4"), b"bb").unwrap();
        assert!(why("media/b").unwrap_err().contains("changed"));
        assert!(why("media/link").unwrap_err().contains("symlink"));
        assert!(why("media/linked/precious").unwrap_err().contains("outside the folders"));
        assert!(why("out/c").unwrap_err().contains("output folder"));
        assert!(outside.join("precious.mp4").is_file() && root.join("out/c.mp4").is_file());
        assert_eq!(why("media/a").unwrap(), "d-media/a");
        assert!(!root.join("media/a.mp4").exists());
    }
}
