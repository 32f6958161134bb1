//! Glob sources: a bounded walk of the folder before the first wildcard. Symlinks to
//! folders are not entered unless the source says `follow_symlinks: true`, and then each
//! folder is entered once (by device and inode), so link loops end. Patterns are relative
//! to the manifest's folder.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern};

/// Most folder entries one glob looks at.
pub const MAX_ENTRIES: usize = 200_000;
/// Deepest folder level below the pattern's base.
pub const MAX_DEPTH: usize = 32;

/// The files under `root` matching `pattern`, sorted.
pub fn files(root: &Path, pattern: &str, follow_symlinks: bool) -> Result<Vec<PathBuf>, String> {
    if pattern.starts_with('/') || pattern.starts_with('~') {
        return Err("a glob is relative to the manifest's folder (no leading `/` or `~`)".into());
    }
    if pattern.contains(|c: char| c.is_control()) {
        return Err("a glob must not contain control characters".into());
    }
    let full = root.join(pattern);
    let matcher = Pattern::new(&full.to_string_lossy()).map_err(|e| format!("invalid glob: {e}"))?;
    let opts =
        MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: false };
    let base = base_of(root, pattern);
    let max_depth = depth_of(root, pattern, &base);
    let mut out = Vec::new();
    if base.is_file() {
        if matcher.matches_path_with(&base, opts) {
            out.push(base);
        }
        return Ok(out);
    }
    let mut seen = HashSet::new();
    let mut stack = vec![(base, 0usize)];
    let mut entries = 0usize;
    let skip = root.join(".vodbuild");
    while let Some((dir, depth)) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&dir) else { continue };
        if !seen.insert((meta.dev(), meta.ino())) {
            tracing::warn!(folder = %dir.display(), "glob: a symlink loop leads back here; not entered again");
            continue;
        }
        let Ok(read) = std::fs::read_dir(&dir) else { continue };
        for entry in read.flatten() {
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(format!("the glob looks at more than {MAX_ENTRIES} files and folders; narrow it"));
            }
            let path = entry.path();
            match kind_of(&entry, &path, follow_symlinks) {
                Some(Kind::Folder) => {
                    if path == skip || depth + 1 >= max_depth.max(1) {
                        if depth + 1 >= MAX_DEPTH {
                            return Err(format!("the glob goes more than {MAX_DEPTH} folders deep"));
                        }
                        continue;
                    }
                    stack.push((path, depth + 1));
                }
                Some(Kind::File) if matcher.matches_path_with(&path, opts) => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    Ok(out)
}

/// How many folder levels below `base` the pattern reaches: without `**`, a pattern has a
/// fixed depth and there is no need to look deeper.
fn depth_of(root: &Path, pattern: &str, base: &Path) -> usize {
    if pattern.contains("**") {
        return MAX_DEPTH;
    }
    Path::new(pattern)
        .components()
        .count()
        .saturating_sub(base.strip_prefix(root).map(|p| p.components().count()).unwrap_or(0))
}

/// What a folder entry is to the walk.
enum Kind {
    /// A folder to enter.
    Folder,
    /// A regular file (a candidate match).
    File,
}

/// What an entry is, from the folder listing when it says (no stat per file of a catalog),
/// else from the symlink's target; `None`: unreadable, neither a file nor a folder, or a
/// symlink to a folder when not following.
fn kind_of(entry: &std::fs::DirEntry, path: &Path, follow_symlinks: bool) -> Option<Kind> {
    let listed = entry.file_type().ok()?;
    let kind = if listed.is_symlink() { std::fs::metadata(path).ok()?.file_type() } else { listed };
    if kind.is_dir() {
        (follow_symlinks || !listed.is_symlink()).then_some(Kind::Folder)
    } else {
        kind.is_file().then_some(Kind::File)
    }
}

/// The folder before the first wildcard of a pattern.
pub fn base_of(root: &Path, pattern: &str) -> PathBuf {
    let mut base = root.to_path_buf();
    for part in Path::new(pattern).components() {
        let s = part.as_os_str().to_string_lossy();
        if s.contains(['*', '?', '[']) {
            break;
        }
        base.push(part);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_loops_end_and_are_not_followed_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let media = dir.path().join("media");
        std::fs::create_dir_all(media.join("sub")).unwrap();
        std::fs::write(media.join("a.mp4"), b"x").unwrap();
        std::fs::write(media.join("sub/b.mp4"), b"x").unwrap();
        std::os::unix::fs::symlink(".", media.join("l0")).unwrap();
        std::os::unix::fs::symlink(".", media.join("l1")).unwrap();
        let found = files(dir.path(), "media/**/*.mp4", false).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        let found = files(dir.path(), "media/**/*.mp4", true).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(files(dir.path(), "media/*.mp4", false).unwrap().len(), 1);
        assert!(files(dir.path(), "/**", false).is_err());
        assert_eq!(base_of(Path::new("/r"), "cat/**/*.mp4"), PathBuf::from("/r/cat"));
    }
}
