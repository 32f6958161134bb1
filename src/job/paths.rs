//! Paths in a job: `{root}/REL` for a file of the workspace, so a job built on one machine
//! runs from a copy of the workspace at another path; a file outside the workspace (an
//! `output_dir` or a source elsewhere) stays absolute.

use std::path::{Path, PathBuf};

/// Stands for the workspace root in a job's paths and tool arguments.
pub const ROOT: &str = "{root}";

/// `abs` as a job names it.
pub fn portable(root: &Path, abs: &Path) -> PathBuf {
    match abs.strip_prefix(root) {
        Ok(rel) => Path::new(ROOT).join(rel),
        Err(_) => abs.to_path_buf(),
    }
}

/// A job's path on the machine whose workspace is at `root`.
pub fn resolve(root: &Path, p: &Path) -> PathBuf {
    match p.strip_prefix(ROOT) {
        Ok(rel) => root.join(rel),
        Err(_) => p.to_path_buf(),
    }
}

/// A tool argument on this machine: every `{root}` replaced by `root`.
pub fn resolve_arg(root: &Path, arg: &str) -> String {
    if arg.contains(ROOT) { arg.replace(ROOT, &root.to_string_lossy()) } else { arg.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_paths_are_relative_to_the_root_and_others_stay() {
        let root = Path::new("/w/a");
        let p = portable(root, Path::new("/w/a/out/x/hls"));
        assert_eq!(p, Path::new("{root}/out/x/hls"));
        assert_eq!(resolve(Path::new("/elsewhere"), &p), Path::new("/elsewhere/out/x/hls"));
        assert_eq!(portable(root, Path::new("/srv/out/x")), Path::new("/srv/out/x"));
        assert_eq!(resolve(root, Path::new("/srv/out/x")), Path::new("/srv/out/x"));
        let arg = "in={root}/a.mp4,init_segment={root}/out/init.mp4";
        assert_eq!(resolve_arg(Path::new("/b"), arg), "in=/b/a.mp4,init_segment=/b/out/init.mp4");
    }
}
