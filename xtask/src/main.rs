//! Project chores for vodbuild: `cargo xtask <setup|quickstart|test>`.
//!
//! Everything here spawns child processes with argument vectors
//! (`std::process::Command`), never through a shell.

mod apt;
mod bench;
mod cli_tools;
mod cluster;
mod fuzz;
mod local;
mod services;
mod slurm_setup;
mod soak;
mod transcribe;
mod wait;

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup        install missing tools: ffmpeg/ffprobe and chromium (apt),
               Shaka Packager (pip, pinned, into the venv target/venv),
               the browser test's npm packages (npm ci in tests/browser),
               the storage tests' servers: s3s-fs (cargo install, pinned, into
               target/tools), openssh and nginx with WebDAV (apt),
               promtool (apt prometheus), jsonschema + PyYAML (pip, venv),
               slurm-wlm and munge for the Slurm tests, pocketsphinx,
               pocketsphinx-en-us and espeak-ng (apt)
  quickstart   setup, build vodbuild, run examples/quickstart/pipeline.yaml
  transcribe   install pocketsphinx and espeak-ng (apt), make a spoken clip, build vodbuild,
               run examples/transcribe/pipeline.yaml (speech -> WebVTT captions)
  test         setup, cargo fmt --check, clippy -D warnings, cargo test --workspace
  fuzz         cargo-fuzz targets (manifest, hls, dash); --seconds N, --target T; see README
  bench        benchmarks (vodbuild vs Shaka Streamer, ffmpeg, ninja, b3sum); --quick; see README
  man          write the man page to target/man/vodbuild.1 (read it with man -l)
  soak         kill -9 soak: SIGKILLs vodbuild and the S3 server at random moments; see README
";

/// An error that names the step that failed.
struct Failure {
    step: String,
    detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step `{}` failed: {}", self.step, self.detail)
    }
}

type Result<T = ()> = std::result::Result<T, Failure>;

fn fail(step: &str, detail: impl Into<String>) -> Failure {
    Failure { step: step.to_string(), detail: detail.into() }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("quickstart") => quickstart(),
        Some("transcribe") => transcribe::example(),
        Some("test") => test(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("man") => cli_tools::man(),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => {
            eprintln!("xtask: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's manifest dir).
fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

fn cargo() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn banner(msg: &str) {
    eprintln!("==> {msg}");
}

/// Runs a command with inherited stdio (output streams live); errors name `step`.
fn run(step: &str, cmd: &mut Command) -> Result {
    banner(step);
    let status = cmd.status().map_err(|e| fail(step, format!("could not start {:?}: {e}", cmd.get_program())))?;
    if status.success() { Ok(()) } else { Err(fail(step, format!("exited with {status}"))) }
}

/// Finds `name` on PATH (an executable regular file).
fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn is_root() -> bool {
    // `id -u` avoids a libc dependency; a failure is treated as "not root".
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

/// A command that runs with root rights: directly when root, through sudo otherwise.
fn privileged(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut c = Command::new("sudo");
        c.arg(program);
        c
    }
}

// ---------------------------------------------------------------- setup

fn setup() -> Result {
    ensure_ffmpeg()?;
    local::ensure_packager()?;
    ensure_chromium()?;
    ensure_browser_npm()?;
    services::ensure_storage_servers()?;
    transcribe::ensure_speech_tools()?;
    cli_tools::ensure_promtool()?;
    cli_tools::ensure_jsonschema()?;
    slurm_setup::ensure_slurm()?;
    banner("setup: all tools present");
    Ok(())
}

fn ensure_ffmpeg() -> Result {
    let missing: Vec<&str> = ["ffmpeg", "ffprobe"].into_iter().filter(|t| which(t).is_none()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    banner(&format!("setup: missing {}; installing ffmpeg with apt", missing.join(", ")));
    if which("apt-get").is_none() {
        return Err(fail("setup: install ffmpeg", "apt-get not found; install ffmpeg/ffprobe by other means"));
    }
    apt_update()?;
    let mut install = privileged("apt-get");
    install.args(["install", "-y", "--no-install-recommends", "ffmpeg"]).env("DEBIAN_FRONTEND", "noninteractive");
    run("setup: apt-get install ffmpeg", &mut install)?;
    for t in ["ffmpeg", "ffprobe"] {
        if which(t).is_none() {
            return Err(fail("setup: install ffmpeg", format!("`{t}` still not on PATH after apt-get install")));
        }
    }
    Ok(())
}

/// `apt-get update`, at most once per xtask run.
fn apt_update() -> Result {
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut update = privileged("apt-get");
    update.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
    run("setup: apt-get update", &mut update)?;
    DONE.store(true, Ordering::Relaxed);
    Ok(())
}

/// The browser the player test (tests/browser.rs) drives; Debian's package.
const CHROMIUM: &str = "/usr/bin/chromium";
const DEJAVU_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

fn ensure_chromium() -> Result {
    if is_executable(Path::new(CHROMIUM)) && Path::new(DEJAVU_FONT).is_file() {
        return Ok(());
    }
    banner("setup: installing chromium and fonts-dejavu-core with apt (for tests/browser.rs)");
    if which("apt-get").is_none() {
        return Err(fail("setup: install chromium", format!("apt-get not found; install chromium as {CHROMIUM}")));
    }
    apt_update()?;
    let mut install = privileged("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends", "chromium", "fonts-dejavu-core"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    run("setup: apt-get install chromium fonts-dejavu-core", &mut install)?;
    if !is_executable(Path::new(CHROMIUM)) {
        return Err(fail("setup: install chromium", format!("{CHROMIUM} still missing after apt-get install")));
    }
    Ok(())
}

/// `npm ci` in tests/browser (hls.js, shaka-player, playwright-core for the player test),
/// proven by loading each package with node.
fn ensure_browser_npm() -> Result {
    let probe = "for (const m of ['hls.js', 'shaka-player', 'playwright-core']) require.resolve(m + '/package.json')";
    local::npm_ci(&repo_root().join("tests/browser"), &["-e", probe])
}

/// Starts the extra servers the integration tests use (none yet).
///
/// This is the place for later set-up: an S3 server (s3s-fs bound to
/// 127.0.0.1), headless chromium for player checks, and so on. Each should be
/// installed by `setup` when missing, started here, and its address exported
/// through environment variables set on `cmd` (the `cargo test` command).
fn start_test_services(_cmd: &mut Command) -> Result<Vec<std::process::Child>> {
    Ok(Vec::new())
}

// ----------------------------------------------------------- quickstart

/// The `vodbuild` that `cargo build -p vodbuild` just made: under `CARGO_TARGET_DIR` when
/// it is set (relative to the repository, as cargo reads it), else under `target/`.
pub(crate) fn debug_exe(root: &Path) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |d| root.join(d));
    target.join("debug/vodbuild")
}

fn quickstart() -> Result {
    // The example needs only ffmpeg; the test-only tools are left to `setup`/`test`.
    ensure_ffmpeg()?;
    let root = repo_root();
    run(
        "quickstart: cargo build -p vodbuild",
        Command::new(cargo()).args(["build", "-p", "vodbuild"]).current_dir(&root),
    )?;
    let exe = debug_exe(&root);
    let example = root.join("examples/quickstart");
    run(
        "quickstart: vodbuild run pipeline.yaml",
        Command::new(&exe).args(["run", "pipeline.yaml"]).current_dir(&example),
    )?;
    let out = example.join("out");
    let mut found = Vec::new();
    collect_playlists(&out, &mut found);
    found.sort();
    if found.is_empty() {
        return Err(fail(
            "quickstart: find outputs",
            format!("no master.m3u8 or manifest.mpd under {}", out.display()),
        ));
    }
    println!("\nquickstart outputs are under {}:", rel(&root, &out));
    for p in &found {
        println!("  {}", rel(&root, p));
    }
    let meta: Vec<PathBuf> = found
        .iter()
        .filter_map(|p| p.parent()?.parent().map(|d| d.join("metadata.json")))
        .filter(|p| p.is_file())
        .collect();
    if let Some(m) = meta.first() {
        println!("  {}", rel(&root, m));
    }
    println!("\nplay one with e.g. `ffplay {}`", rel(&root, &found[0]));
    Ok(())
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn collect_playlists(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_playlists(&path, found);
        } else if matches!(path.file_name().and_then(|n| n.to_str()), Some("master.m3u8" | "manifest.mpd")) {
            found.push(path);
        }
    }
}

// ----------------------------------------------------------------- test

fn test() -> Result {
    setup()?;
    let root = repo_root();
    run("test: cargo fmt --all --check", Command::new(cargo()).args(["fmt", "--all", "--check"]).current_dir(&root))?;
    run(
        "test: cargo clippy --workspace --all-targets -- -D warnings",
        Command::new(cargo())
            .args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])
            .current_dir(&root),
    )?;
    let mut cmd = Command::new(cargo());
    // The tests find the project-local tools (packager, s3s-fs) first on PATH.
    cmd.args(["test", "--workspace"]).current_dir(&root).stdin(Stdio::null()).env("PATH", local::path_with_tools());
    let mut services = start_test_services(&mut cmd)?;
    let result = run("test: cargo test --workspace", &mut cmd);
    for child in &mut services {
        let _ = child.kill();
        let _ = child.wait();
    }
    result
}
