//! Where the source lifecycle may delete: only a regular file (never a symlink) that is a
//! source of this manifest, inside the base folder of one of its globs (the folder before
//! the first wildcard, both canonical: a glob that follows a symlink out of it never lets
//! it delete there) or exactly a `path:` it names, outside the output folder and the
//! workspace, and with the size, mtime, inode and ctime it had when its digest was taken
//! (a file replaced during the run is kept).

use std::path::{Path, PathBuf};

use crate::hash::FileStat;
use crate::manifest::{Manifest, Source, walk};
use crate::record::RemovedSource;
use crate::state::State;

/// Deletes the source's file if it may, after recording it in the state (saved, so the
/// record is durable before the file is gone; undone if the delete fails); returns its
/// recorded digest, or why not.
pub(super) fn delete(m: &Manifest, src: &Source, state: &mut State, publish: Vec<String>) -> Result<String, String> {
    if src.remote.is_some() {
        return Err("an `object:` source stays in its backend".into());
    }
    let entry = state.data.sources.get(&src.rel).ok_or("its digest is not recorded")?;
    allowed(m, &src.path)?;
    let stat = FileStat::of(&src.path).map_err(|e| format!("cannot read it: {e}"))?;
    if stat != entry.stat {
        return Err("it changed since it was hashed (it is built again on the next run)".into());
    }
    let digest = entry.digest.clone();
    let entry = RemovedSource { id: src.id.clone(), digest: digest.clone(), publish, removed_unix: now_unix() };
    record_then_remove(state, &src.rel, entry, || std::fs::remove_file(&src.path))?;
    Ok(digest)
}

/// Saves the state with `entry` recorded, then runs `remove`; if saving or removing fails,
/// the record is taken back (and saved again), so the state never says "removed" for a file
/// that is still there for long, and never lacks the record of a file that is gone.
pub(super) fn record_then_remove(
    state: &mut State,
    rel: &str,
    entry: RemovedSource,
    remove: impl FnOnce() -> std::io::Result<()>,
) -> Result<(), String> {
    let before = state.data.removed.insert(rel.to_string(), entry);
    state.mark_dirty();
    if let Err(e) = state.save() {
        restore(state, rel, before);
        return Err(format!("cannot record its removal in the state first: {e}"));
    }
    if let Err(e) = remove() {
        restore(state, rel, before);
        if let Err(e) = state.save() {
            tracing::warn!(path = %rel, "state not saved after a failed delete: {e}");
        }
        return Err(format!("cannot delete it: {e}"));
    }
    Ok(())
}

fn restore(state: &mut State, rel: &str, before: Option<RemovedSource>) {
    match before {
        Some(b) => state.data.removed.insert(rel.to_string(), b),
        None => state.data.removed.remove(rel),
    };
    state.mark_dirty();
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
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
        let mut state = state_for(&m);
        let mut why = |id: &str| delete(&m, m.source(id).unwrap(), &mut state, vec![]);
        std::fs::write(root.join("media/b.mp4"), b"bb").unwrap();
        assert!(why("media/b").unwrap_err().contains("changed"));
        assert!(why("media/link").unwrap_err().contains("symlink"));
        assert!(why("media/linked/precious").unwrap_err().contains("outside the folders"));
        assert!(why("out/c").unwrap_err().contains("output folder"));
        assert!(outside.join("precious.mp4").is_file() && root.join("out/c.mp4").is_file());
        assert_eq!(why("media/a").unwrap(), "d-media/a");
        assert!(!root.join("media/a.mp4").exists());
    }

    #[test]
    fn the_removal_is_saved_before_the_file_goes_and_undone_if_it_stays() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("media")).unwrap();
        std::fs::write(dir.path().join("media/a.mp4"), b"a").unwrap();
        std::fs::write(dir.path().join("media/b.mp4"), b"b").unwrap();
        let m = manifest(dir.path(), "  - glob: \"media/*.mp4\"");
        let mut state = state_for(&m);
        state.save().unwrap();
        let on_disk = |rel: &str| State::load(&m.state_dir()).unwrap().data.removed.contains_key(rel);
        // Ended right after the delete (a signal, a failed save later): the record is there.
        delete(&m, m.source("media/a").unwrap(), &mut state, vec!["p".into()]).unwrap();
        assert!(!dir.path().join("media/a.mp4").exists());
        assert!(on_disk("media/a.mp4"), "the removal must be durable once the file is gone");
        // Recorded on disk before the remove runs; taken back when it fails.
        let entry = RemovedSource { id: "media/b".into(), digest: "d".into(), publish: vec![], removed_unix: 0 };
        let err = record_then_remove(&mut state, "media/b.mp4", entry, || {
            assert!(on_disk("media/b.mp4"), "recorded before the delete");
            Err(std::io::Error::other("refused"))
        })
        .unwrap_err();
        assert!(err.contains("refused"), "{err}");
        assert!(!state.data.removed.contains_key("media/b.mp4") && !on_disk("media/b.mp4"));
        assert!(on_disk("media/a.mp4"));
    }
}
