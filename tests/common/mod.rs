//! Test harness: a temporary workspace with real media made by ffmpeg's lavfi
//! sources, and helpers that run the real `vodbuild` binary.
#![allow(dead_code, unused_imports)]

mod check;
#[path = "../../xtask/src/cluster.rs"]
pub mod cluster;
pub mod manifest;
pub mod media;
pub mod mpd;
pub mod publish;
pub mod servers;
pub mod tools;
#[path = "../../xtask/src/wait.rs"]
pub mod wait;

pub use check::{assert_outputs_valid, assert_outputs_valid_in};
pub use manifest::{Manifest, h264};

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};
use vodbuild::exit_codes::SUCCESS;

/// Longest a single vodbuild invocation may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// A small, fast manifest: two tiny H.264 rungs, AAC, HLS + DASH with 2 s
/// segments, thumbnails every second, metadata. Sources: `media/*.mp4`. The 144p rung
/// upscales, so 160x90 fixtures get both rungs (ladder fitting is tested in source_geometry.rs).
/// [`Manifest::small`] renders this same text (a test checks it): use it to change a field.
pub const SMALL: &str = r#"version: 1
output_dir: out
encoding:
  gop_seconds: 2
sources:
  - glob: "media/*.mp4"
profiles:
  video:
    144p: {codec: h264, height: 144, bitrate: 200k, preset: ultrafast, upscale: true}
    90p: {codec: h264, height: 90, bitrate: 100k, preset: ultrafast}
  audio:
    aac64: {codec: aac, bitrate: 64k, channels: 2, sample_rate: 48000}
outputs:
  hls: {renditions: [144p, 90p], audio: aac64, segment_seconds: 2, segment_type: fmp4}
  dash: {renditions: [144p, 90p], audio: aac64, segment_seconds: 2}
  thumbnails: {interval: 1, width: 64, format: jpg}
  metadata: true
"#;

pub struct Workspace {
    dir: tempfile::TempDir,
}

/// The result of one vodbuild invocation.
pub struct Output {
    pub args: Vec<String>,
    /// Exit code; -1 when the process died from a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// stdout parsed as JSON (whole text, or else its last non-empty line).
    pub json: Option<Value>,
}

impl Workspace {
    pub fn new() -> Workspace {
        let dir = tempfile::Builder::new().prefix("vodbuild-test-").tempdir().expect("create tempdir");
        Workspace { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn write_manifest(&self, yaml: &str) -> PathBuf {
        self.write("pipeline.yaml", yaml)
    }

    /// Makes `rel` with lavfi: testsrc2 + a 440 Hz sine, libx264 ultrafast + aac.
    pub fn make_source(&self, rel: &str, seconds: f64, size: &str) -> PathBuf {
        self.make_source_with(rel, seconds, size, 440, false)
    }

    /// Like `make_source`; `freq` changes the audio (so the bytes), `noisy`
    /// adds temporal noise so encoding costs a realistic amount of time.
    ///
    /// The file's mtime is set one hour back: real catalog media are old, and
    /// this keeps a racy-clean stat check from legitimately re-hashing it.
    pub fn make_source_with(&self, rel: &str, seconds: f64, size: &str, freq: u32, noisy: bool) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .arg("-i")
            .arg(format!("testsrc2=size={size}:rate=30"))
            .args(["-f", "lavfi", "-i"])
            .arg(format!("sine=frequency={freq}:sample_rate=48000"));
        if noisy {
            cmd.args(["-vf", "noise=alls=12:allf=t"]);
        }
        cmd.arg("-t")
            .arg(seconds.to_string())
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
            .args(["-c:a", "aac", "-b:a", "64k", "-shortest"])
            .arg(&p);
        let out = cmd.output().expect("run ffmpeg (is it installed?)");
        assert!(out.status.success(), "ffmpeg failed making {rel}: {}", String::from_utf8_lossy(&out.stderr));
        set_mtime(&p, SystemTime::now() - Duration::from_secs(3600));
        p
    }

    fn command(&self, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vodbuild"));
        cmd.args(args)
            .current_dir(self.root())
            .env_remove("VODBUILD_FFMPEG")
            .env_remove("VODBUILD_FFPROBE")
            .env("PATH", tools::path_with_project_tools())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs vodbuild in the workspace root and waits (with a timeout).
    pub fn vodbuild(&self, args: &[&str]) -> Output {
        self.vodbuild_env(args, &[])
    }

    pub fn vodbuild_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let child = self.command(args, envs).spawn().expect("spawn vodbuild");
        wait_output(child, args, TIMEOUT)
    }

    /// Starts vodbuild without waiting; finish with `wait_output`.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.spawn_env(args, &[])
    }

    pub fn spawn_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Child {
        self.command(args, envs).spawn().expect("spawn vodbuild")
    }

    /// `run pipeline.yaml --json`, asserting exit 0.
    pub fn run_ok(&self) -> Value {
        self.run_ok_env(&[])
    }

    pub fn run_ok_env(&self, envs: &[(&str, &str)]) -> Value {
        self.vodbuild_env(&["run", "pipeline.yaml", "--json"], envs).success().json()
    }

    /// `plan pipeline.yaml --json`, asserting exit 0.
    pub fn plan_ok(&self) -> Value {
        self.plan_ok_env(&[])
    }

    pub fn plan_ok_env(&self, envs: &[(&str, &str)]) -> Value {
        self.vodbuild_env(&["plan", "pipeline.yaml", "--json"], envs).success().json()
    }

    /// All files under `rel` (recursively), as paths relative to the workspace.
    pub fn files_under(&self, rel: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.path(rel), &mut out);
        let mut v: Vec<String> =
            out.into_iter().map(|p| p.strip_prefix(self.root()).unwrap().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

pub fn set_mtime(p: &Path, t: SystemTime) {
    let f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
    f.set_modified(t).unwrap();
}

/// Waits for `child` (stdout/stderr piped), killing it after `timeout`.
pub fn wait_output(mut child: Child, args: &[&str], timeout: Duration) -> Output {
    let mut so = child.stdout.take().expect("stdout piped");
    let mut se = child.stderr.take().expect("stderr piped");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = so.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = se.read_to_end(&mut s);
        s
    });
    let status = wait::exit_or_kill(&mut child, timeout, Duration::from_millis(20))
        .unwrap_or_else(|| panic!("vodbuild {args:?} did not finish within {timeout:?}"));
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    let json = parse_json(&stdout);
    Output {
        args: args.iter().map(|s| s.to_string()).collect(),
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        json,
    }
}

fn parse_json(stdout: &str) -> Option<Value> {
    serde_json::from_str(stdout.trim()).ok().or_else(|| {
        let last = stdout.lines().rev().find(|l| !l.trim().is_empty())?;
        serde_json::from_str(last).ok()
    })
}

impl Output {
    pub fn describe(&self) -> String {
        format!(
            "vodbuild {:?} exited {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }

    pub fn assert_code(self, code: i32) -> Output {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.describe());
        assert!(!self.stderr.contains("panicked"), "vodbuild panicked\n{}", self.describe());
        self
    }

    pub fn success(self) -> Output {
        self.assert_code(SUCCESS)
    }

    pub fn json(&self) -> Value {
        self.json.clone().unwrap_or_else(|| panic!("stdout is not JSON\n{}", self.describe()))
    }
}

// ------------------------------------------------------------ JSON helpers

fn steps(v: &Value) -> &Vec<Value> {
    v["steps"].as_array().unwrap_or_else(|| panic!("no `steps` array in {v:#}"))
}

fn str_field<'a>(step: &'a Value, key: &str) -> &'a str {
    step[key].as_str().unwrap_or_else(|| panic!("step has no string `{key}`: {step}"))
}

/// Ids of steps with `status == "executed"` in a run JSON; also checks that
/// the top-level `executed` count agrees with the step list.
pub fn executed(run: &Value) -> BTreeSet<String> {
    let ids = with_status(run, "executed");
    assert_eq!(
        run["executed"].as_u64(),
        Some(ids.len() as u64),
        "top-level `executed` disagrees with steps[]: {run:#}"
    );
    ids
}

pub fn with_status(run: &Value, status: &str) -> BTreeSet<String> {
    steps(run).iter().filter(|s| str_field(s, "status") == status).map(|s| str_field(s, "id").to_string()).collect()
}

/// All step ids listed in a run JSON (every step of the graph).
pub fn all_ids(run: &Value) -> BTreeSet<String> {
    steps(run).iter().map(|s| str_field(s, "id").to_string()).collect()
}

/// Ids of the stale steps in a plan JSON; checks `summary.stale` agrees.
pub fn planned(plan: &Value) -> BTreeSet<String> {
    let ids: BTreeSet<String> = steps(plan).iter().map(|s| str_field(s, "id").to_string()).collect();
    assert_eq!(
        plan["summary"]["stale"].as_u64(),
        Some(ids.len() as u64),
        "summary.stale disagrees with steps[]: {plan:#}"
    );
    ids
}

/// The step with `id` in a plan or run JSON.
pub fn step<'a>(v: &'a Value, id: &str) -> &'a Value {
    steps(v).iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("no step `{id}` in {v:#}"))
}

pub fn reason<'a>(v: &'a Value, id: &str) -> &'a str {
    str_field(step(v, id), "reason")
}

pub fn source_of<'a>(v: &'a Value, id: &str) -> &'a str {
    str_field(step(v, id), "source")
}

pub fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// The step ids a SMALL-manifest source gets.
pub fn small_steps(src: &str) -> BTreeSet<String> {
    [
        format!("probe:{src}"),
        format!("encode:{src}:144p"),
        format!("encode:{src}:90p"),
        format!("encode:{src}:aac64"),
        format!("hls:{src}"),
        format!("dash:{src}"),
        format!("thumbnails:{src}"),
        format!("metadata:{src}"),
    ]
    .into_iter()
    .collect()
}

/// Asserts `actual` contains `required` and nothing outside `required ∪ optional`.
pub fn assert_steps(what: &str, actual: &BTreeSet<String>, required: &BTreeSet<String>, optional: &BTreeSet<String>) {
    let missing: Vec<_> = required.difference(actual).collect();
    let extra: Vec<_> = actual.iter().filter(|id| !required.contains(*id) && !optional.contains(*id)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, unexpected {extra:?}; got {actual:?}"
    );
}

/// Writes an executable shell script (used for fake tools).
pub fn write_executable(path: &Path, contents: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Finds a program on PATH.
pub fn which(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not on PATH"))
}
