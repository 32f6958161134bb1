//! Real players on vodbuild's packages: Debian's chromium, headless, driven by
//! playwright-core, plays the quickstart's HLS with hls.js and its DASH with
//! shaka-player (and the HLS with shaka-player too) from a static HTTP server
//! on 127.0.0.1. Each case must advance past 2 s with decoded frames, switch
//! to another video rendition on demand, show that rendition's frames, play to
//! the end, and see no error event of any kind (fatal or not), no HTTP error
//! and no failed request.
//!
//! Needs `/usr/bin/chromium`, node, and `tests/browser/node_modules`: `cargo
//! xtask setup` installs them (`cargo xtask test` runs it first). Missing
//! pieces fail the test; they never skip it.
//!
//! The browser side lives in `tests/browser/`: `play.mjs` (one case: launch,
//! play, print one JSON line), `hls.html` / `shaka.html` (the players),
//! `common.js` (the play / switch / wait script both pages share) and
//! `server.rs` (the HTTP server).

pub(crate) mod server;

use crate::common::wait;
use serde_json::Value;
use server::StaticServer;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Budget of one player case inside play.mjs (it stops itself after this).
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest the build of the example may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(180);
/// One chromium at a time, even when browser tests (of every `browser_*` file) run in
/// parallel: two at once on 2 cores starve the players into stalls and late cues.
static BROWSER: Mutex<()> = Mutex::new(());

/// Holds the one-chromium lock for as long as the guard lives.
pub(crate) fn one_browser() -> std::sync::MutexGuard<'static, ()> {
    BROWSER.lock().unwrap_or_else(|e| e.into_inner())
}

/// A non-fatal `bufferStalledError`: the machine being busy (hls.js recovers by itself), not
/// a package problem. Every other error event fails a case.
pub(crate) fn is_busy_stall(e: &serde_json::Value) -> bool {
    e["details"] == "bufferStalledError" && e["fatal"] == false
}

/// The quickstart example as shipped (default packager: ffmpeg).
#[test]
fn quickstart_plays_in_hls_js_and_shaka_player() {
    let manifest = std::fs::read_to_string(repo().join("examples/quickstart/pipeline.yaml")).unwrap();
    play_both(&manifest);
}

/// The same example packaged by Shaka Packager instead of ffmpeg.
#[test]
fn quickstart_packaged_by_shaka_plays_in_hls_js_and_shaka_player() {
    let manifest = std::fs::read_to_string(repo().join("examples/quickstart/pipeline.yaml")).unwrap();
    let shaka = manifest
        .replace("segment_type: fmp4}", "segment_type: fmp4, packager: shaka}")
        .replace("segment_seconds: 4}", "segment_seconds: 4, packager: shaka}");
    assert_eq!(shaka.matches("packager: shaka").count(), 2, "both outputs use Shaka Packager:\n{shaka}");
    play_both(&shaka);
}

/// PATH with setup's project-local tools (target/tools/bin: Shaka Packager) in front.
fn path_with_project_tools() -> std::ffi::OsString {
    let old = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(repo().join("target/tools/bin")).chain(std::env::split_paths(&old));
    std::env::join_paths(dirs).unwrap_or(old)
}

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn browser_dir() -> PathBuf {
    repo().join("tests/browser")
}

/// One player run: the page (player) and the manifest it plays.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) page: &'static str,
    /// Path of the manifest under the build folder.
    pub(crate) manifest: &'static str,
}

const CASES: &[Case] = &[
    Case { name: "hls.js / HLS", page: "hls.html", manifest: "out/sample/hls/master.m3u8" },
    Case { name: "shaka-player / DASH", page: "shaka.html", manifest: "out/sample/dash/manifest.mpd" },
    Case { name: "shaka-player / HLS", page: "shaka.html", manifest: "out/sample/hls/master.m3u8" },
];

/// Builds `manifest_yaml` (a variant of examples/quickstart/pipeline.yaml: same
/// media, source id `sample`, output_dir `out`) in a fresh folder and plays
/// its HLS and DASH outputs in hls.js and shaka-player. Panics with every
/// case's findings when any case fails; returns each case's JSON result.
pub fn play_both(manifest_yaml: &str) -> Vec<(String, Value)> {
    let dir = build(manifest_yaml, |_| {});
    play_cases(dir.path(), CASES)
}

/// A glob with the quickstart clip and a clip without an audio stream: the run exits 0,
/// the silent clip's packages have no audio group, and they play in both players.
#[test]
fn source_without_audio_plays_in_hls_js_and_shaka_player() {
    let manifest = std::fs::read_to_string(repo().join("examples/quickstart/pipeline.yaml")).unwrap();
    let (from, to) = (
        "  - path: media/sample.mp4   # id defaults to \"media/sample\"\n    id: sample\n",
        "  - glob: \"media/*.mp4\"\n",
    );
    assert!(manifest.contains(from), "the quickstart's source entry changed:\n{manifest}");
    let dir = build(&manifest.replacen(from, to, 1), |media| {
        // 6 s like the quickstart clip (the players must get past 2 s, switch, then end).
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
            .args(["-t", "6", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])
            .arg(media.join("silent.mp4"))
            .output()
            .expect("run ffmpeg");
        assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    });
    let master = std::fs::read_to_string(dir.path().join("out/media/silent/hls/master.m3u8")).unwrap();
    assert!(!master.contains("#EXT-X-MEDIA") && !master.contains("AUDIO="), "audio group in:\n{master}");
    let mpd = std::fs::read_to_string(dir.path().join("out/media/silent/dash/manifest.mpd")).unwrap();
    assert!(!mpd.contains("audio"), "audio in the MPD:\n{mpd}");
    let with_audio = std::fs::read_to_string(dir.path().join("out/media/sample/hls/master.m3u8")).unwrap();
    assert!(with_audio.contains("TYPE=AUDIO"), "the clip with audio keeps its group:\n{with_audio}");
    play_cases(dir.path(), SILENT_CASES);
}

const SILENT_CASES: &[Case] = &[
    Case { name: "hls.js / HLS without audio", page: "hls.html", manifest: "out/media/silent/hls/master.m3u8" },
    Case {
        name: "shaka-player / DASH without audio",
        page: "shaka.html",
        manifest: "out/media/silent/dash/manifest.mpd",
    },
    Case { name: "shaka-player / HLS without audio", page: "shaka.html", manifest: "out/media/silent/hls/master.m3u8" },
];

/// Runs `vodbuild run` on `manifest_yaml` in a fresh folder holding the quickstart media
/// (plus what `add_media` writes into `media/`); asserts exit 0.
pub(crate) fn build(manifest_yaml: &str, add_media: impl FnOnce(&Path)) -> tempfile::TempDir {
    require_browser_tools();

    let dir = tempfile::Builder::new().prefix("vodbuild-browser-").tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    for entry in std::fs::read_dir(repo().join("examples/quickstart/media")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), media.join(entry.file_name())).unwrap();
    }
    add_media(&media);
    std::fs::write(dir.path().join("pipeline.yaml"), manifest_yaml).unwrap();

    let mut build = Command::new(env!("CARGO_BIN_EXE_vodbuild"));
    build.args(["run", "pipeline.yaml"]).current_dir(dir.path()).env("PATH", path_with_project_tools());
    let (status, out, err) = run_bounded(&mut build, BUILD_TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "vodbuild run failed ({status:?})\nstdout:\n{out}\nstderr:\n{err}");
    dir
}

/// Plays each case's manifest (under `dir`); panics with every case's findings when any
/// case fails.
pub(crate) fn play_cases(dir: &Path, cases: &[Case]) -> Vec<(String, Value)> {
    for case in cases {
        let p = dir.join(case.manifest);
        assert!(p.is_file(), "vodbuild run did not write {}", p.display());
    }

    let _one_browser = one_browser();
    let server = StaticServer::start(&[("/player", &browser_dir()), ("/content", dir)]);
    let mut results = Vec::new();
    let mut problems = Vec::new();
    for case in cases {
        let page = server.url(&format!("player/{}", case.page));
        let url = server.url(&format!("content/{}", case.manifest));
        let (result, log) = play(&page, &url);
        eprintln!("browser: {}: {}", case.name, summary(&result));
        let found = check(&result);
        if !found.is_empty() {
            problems.push(format!(
                "--- {} ({url}):\n  - {}\nresult: {}\nplay.mjs stderr:\n{log}",
                case.name,
                found.join("\n  - "),
                serde_json::to_string_pretty(&result).unwrap()
            ));
        }
        results.push((case.name.to_string(), result));
    }
    let http_errors: Vec<String> = server
        .hits()
        .iter()
        .filter(|h| h.status >= 400)
        .map(|h| format!("{} {} -> {}", h.method, h.path, h.status))
        .collect();
    drop(server);
    assert!(
        problems.is_empty(),
        "{} of {} player cases failed:\n{}\nserver errors: {http_errors:?}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
    results
}

/// Fails (never skips) when the set-up has not been done.
fn require_browser_tools() {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).is_file() {
        missing.push(CHROMIUM.to_string());
    }
    if Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        missing.push("node (on PATH)".to_string());
    }
    for m in ["hls.js", "shaka-player", "playwright-core"] {
        let p = browser_dir().join("node_modules").join(m).join("package.json");
        if !p.is_file() {
            missing.push(format!("tests/browser/node_modules/{m}"));
        }
    }
    assert!(
        missing.is_empty(),
        "the browser test needs {}: run `cargo xtask setup` (installs chromium with apt and runs `npm ci` in tests/browser)",
        missing.join(", ")
    );
}

/// Runs play.mjs for one page and manifest URL; returns its JSON result and its stderr.
fn play(page: &str, url: &str) -> (Value, String) {
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("play.mjs"))
        .args(["--page", page, "--url", url])
        .args(["--timeout-ms", &CASE_TIMEOUT.as_millis().to_string(), "--chromium", CHROMIUM])
        .current_dir(browser_dir());
    // play.mjs stops itself after CASE_TIMEOUT (+10 s at worst); this is the backstop.
    let (status, out, err) = run_bounded(&mut cmd, CASE_TIMEOUT + Duration::from_secs(30));
    let json = out.lines().rev().find(|l| l.trim_start().starts_with('{')).and_then(|l| serde_json::from_str(l).ok());
    match json {
        Some(v) => (v, err),
        None => {
            let failure = format!("play.mjs printed no JSON result (exit {status:?})\nstdout:\n{out}");
            (serde_json::json!({ "ok": false, "failures": [failure] }), err)
        }
    }
}

/// Every way a result falls short of the bar.
fn check(r: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for f in r["failures"].as_array().into_iter().flatten() {
        found.push(format!("failed: {}", f.as_str().unwrap_or(&f.to_string())));
    }
    for e in r["errors"].as_array().into_iter().flatten().filter(|e| !is_busy_stall(e)) {
        found.push(format!("error event: {e}"));
    }
    if r["advancedAt"].as_f64().is_none_or(|t| t <= 2.0) {
        found.push(format!("playback did not advance past 2 s (advancedAt {})", r["advancedAt"]));
    }
    if r["frames"].as_u64().is_none_or(|n| n == 0) {
        found.push(format!("no decoded video frames (frames {})", r["frames"]));
    }
    if r["switchedTo"].is_null() {
        found.push("no switch to another rendition".to_string());
    } else if r["sizeAfterSwitch"].is_null() {
        found.push("the switched-to rendition's frames were never shown".to_string());
    }
    if r["ended"] != Value::Bool(true) {
        found.push(format!("did not play to the end (currentTime {}, duration {})", r["currentTime"], r["duration"]));
    }
    // play.mjs's own `ok` also counts the busy stalls forgiven above; say so only when
    // none of them explains it.
    let stalls = r["errors"].as_array().into_iter().flatten().filter(|e| is_busy_stall(e)).count();
    if r["ok"] != Value::Bool(true) && found.is_empty() && stalls == 0 {
        found.push("play.mjs reported ok=false".to_string());
    }
    found
}

fn summary(r: &Value) -> String {
    format!(
        "ok={} {} t={} frames={} switched {} -> {} shown {} errors={}",
        r["ok"],
        r["player"].as_str().unwrap_or("?"),
        r["currentTime"],
        r["frames"],
        r["switchedFrom"]["height"],
        r["switchedTo"]["height"],
        r["sizeAfterSwitch"],
        r["errors"].as_array().map_or(0, |a| a.len())
    )
}

/// Runs `cmd` with piped output, killing it after `limit`. Returns the exit
/// status (`None` when it had to be killed), stdout and stderr.
fn run_bounded(cmd: &mut Command, limit: Duration) -> (Option<ExitStatus>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {:?}: {e}", cmd.get_program()));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = wait::exit_or_kill(&mut child, limit, Duration::from_millis(50));
    let (out, mut err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    if status.is_none() {
        err += &format!("\n[killed after {limit:?}]");
    }
    (status, out, err)
}
