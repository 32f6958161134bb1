//! Confinement: vodbuild writes and deletes only inside its roots (the output folder, and
//! the manifest's workspace under `.vodbuild/`), never through a symlink inside a root that
//! leads out of it. Where a root itself is, is the user's choice; a symlink inside a root is
//! followed only when it resolves inside that root.

use std::path::{Component, Path, PathBuf};

/// Checks that creating or replacing `path` (and anything under it) stays inside `root`:
/// `path` is `root` plus plain components, and none of its folders between `root` and
/// `path` is a symlink leading out of `root`. `path` itself may be a symlink: vodbuild
/// replaces or removes such an entry, never writes through it.
pub fn check(root: &Path, path: &Path) -> Result<(), String> {
    check_to("write", root, path)
}

/// [`check`], for removing `path`.
pub fn check_delete(root: &Path, path: &Path) -> Result<(), String> {
    check_to("delete", root, path)
}

fn check_to(verb: &str, root: &Path, path: &Path) -> Result<(), String> {
    let refuse = |why: String| format!("refusing to {verb} {}: {why}", path.display());
    let rel = path.strip_prefix(root).map_err(|_| refuse(format!("outside {}", root.display())))?;
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(refuse(format!("the path leaves {}", root.display())));
    }
    let mut parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
    parts.pop();
    let mut real_root: Option<PathBuf> = None;
    let mut cur = root.to_path_buf();
    for part in parts {
        cur.push(part);
        let meta = match std::fs::symlink_metadata(&cur) {
            Ok(m) => m,
            // Missing folders are created by vodbuild, as real folders.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(refuse(format!("{}: {e}", cur.display()))),
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let target = std::fs::read_link(&cur).map(|t| t.display().to_string()).unwrap_or_default();
        if real_root.is_none() {
            real_root = Some(std::fs::canonicalize(root).map_err(|e| refuse(format!("{}: {e}", root.display())))?);
        }
        let real = real_root.as_deref().expect("resolved above");
        let inside = std::fs::canonicalize(&cur).is_ok_and(|r| r.starts_with(real));
        if !inside {
            return Err(refuse(format!(
                "{} is a symlink (to {target}) leading out of {}",
                cur.display(),
                root.display()
            )));
        }
    }
    Ok(())
}

/// The root among `roots` that `path` is under (the longest, when roots nest).
pub fn root_of<'a>(roots: &[&'a Path], path: &Path) -> Option<&'a Path> {
    roots.iter().copied().filter(|r| path.starts_with(r)).max_by_key(|r| r.as_os_str().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_leading_out_are_refused_and_those_inside_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        symlink("../elsewhere", root.join("t")).unwrap();
        symlink("real", root.join("alias")).unwrap();
        let err = check(&root, &root.join("t/hls")).unwrap_err();
        assert!(err.contains("t is a symlink (to ../elsewhere) leading out of"), "{err}");
        assert!(check(&root, &root.join("t/hls/a/b")).is_err());
        check(&root, &root.join("alias/hls/x")).unwrap();
        check(&root, &root.join("new/deeper/file")).unwrap();
        // The final entry may be a symlink: it is replaced, not written through.
        check(&root, &root.join("t")).unwrap();
        assert!(check(&root, &root.join("a/../../x")).is_err());
        assert!(check(&root, &dir.path().join("x")).is_err());
    }

    #[test]
    fn a_root_that_is_itself_a_symlink_is_the_users_choice() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("disk/sub")).unwrap();
        symlink("disk", dir.path().join("out")).unwrap();
        symlink("sub", dir.path().join("disk/s")).unwrap();
        check(&dir.path().join("out"), &dir.path().join("out/s/file")).unwrap();
    }
}
