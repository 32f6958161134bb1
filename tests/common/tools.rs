//! The project-local tools `cargo xtask setup` installs into `target/tools/bin` (Shaka
//! Packager linked from the venv `target/venv`, s3s-fs): the tests find them there first,
//! so a plain `cargo test` works after `cargo xtask setup` without anything global.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `<repo>/target/tools/bin`.
pub fn project_tools_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin")
}

/// PATH with [`project_tools_bin`] in front (for the vodbuild processes the tests start).
pub fn path_with_project_tools() -> OsString {
    let old = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(project_tools_bin()).chain(std::env::split_paths(&old));
    std::env::join_paths(dirs).unwrap_or(old)
}

/// `name` in [`project_tools_bin`], if installed there.
pub fn project_tool(name: &str) -> Option<PathBuf> {
    Some(project_tools_bin().join(name)).filter(|p| p.is_file())
}
