//! Audio languages in real players: a 6 s source with an English and a French stream,
//! packaged by ffmpeg and by Shaka Packager; hls.js (HLS) and shaka-player (DASH and HLS)
//! list both languages, play, switch to French on demand (the player reports the switch
//! and fetches the French rendition's segments), play to the end, with no error event.
//!
//! Reuses the browser test's pieces: `tests/browser/server.rs` (the HTTP server on
//! 127.0.0.1), `play.mjs` (one case) and `common.js`; the pages are `hls-audio.html` and
//! `shaka-audio.html`, with `audio.js` (the switch) beside them. Needs what `browser.rs`
//! needs (`cargo xtask setup`); missing pieces fail the test, never skip it.

use crate::browser::server::StaticServer;
use crate::common::wait;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
const BUILD_TIMEOUT: Duration = Duration::from_secs(180);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn browser_dir() -> PathBuf {
    repo().join("tests/browser")
}

const MANIFEST: &str = "version: 1
output_dir: out
encoding: {gop_seconds: 2}
sources:
  - {path: media/film.mp4, id: film}
profiles:
  video:
    360p: {codec: h264, height: 360, bitrate: 800k, preset: veryfast}
    180p: {codec: h264, height: 180, bitrate: 300k, preset: veryfast}
  audio:
    aac: {codec: aac, bitrate: 96k}
outputs:
  hls: {renditions: [360p, 180p], audio: aac, segment_seconds: 2, audio_only_variant: true, packager: PACKAGER}
  dash: {renditions: [360p, 180p], audio: aac, segment_seconds: 2, packager: PACKAGER}
";

#[test]
fn audio_language_switches_in_hls_js_and_shaka_ffmpeg_packager() {
    check_packager("ffmpeg");
}

#[test]
fn audio_language_switches_in_hls_js_and_shaka_shaka_packager() {
    check_packager("shaka");
}

fn check_packager(packager: &str) {
    require_browser_tools();
    let dir = tempfile::Builder::new().prefix("vodbuild-browser-audio-").tempdir().unwrap();
    make_film(&dir.path().join("media/film.mp4"));
    std::fs::write(dir.path().join("pipeline.yaml"), MANIFEST.replace("PACKAGER", packager)).unwrap();
    let mut build = Command::new(env!("CARGO_BIN_EXE_vodbuild"));
    build.args(["run", "pipeline.yaml"]).current_dir(dir.path()).env("PATH", path_with_project_tools());
    let (status, out, err) = run_bounded(&mut build, BUILD_TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "vodbuild run failed ({status:?})\n{out}\n{err}");

    let mpd = std::fs::read_to_string(dir.path().join("out/film/dash/manifest.mpd")).unwrap();
    let french_dash = french_representation(&mpd);
    let cases = [
        ("hls.js / HLS", "hls-audio.html", "out/film/hls/master.m3u8", "/aac-a1/".to_string()),
        ("shaka-player / DASH", "shaka-audio.html", "out/film/dash/manifest.mpd", french_dash),
        ("shaka-player / HLS", "shaka-audio.html", "out/film/hls/master.m3u8", "/aac-a1/".to_string()),
    ];
    let _one = crate::browser::one_browser();
    let server = StaticServer::start(&[("/player", &browser_dir()), ("/content", dir.path())]);
    let mut problems = Vec::new();
    for (name, page, manifest, french) in &cases {
        let (r, log) = play(&server.url(&format!("player/{page}")), &server.url(&format!("content/{manifest}")));
        eprintln!("browser audio ({packager}): {name}: {} -> {}", r["switchedFrom"], r["switchedTo"]);
        let found = findings(&r, french);
        if !found.is_empty() {
            problems.push(format!("--- {name}: {}\nresult: {r:#}\nplay.mjs stderr:\n{log}", found.join("; ")));
        }
    }
    drop(server);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What falls short in one case: both languages listed, English first, French after the
/// switch with its segments fetched, played to the end, no error.
pub(crate) fn findings(r: &Value, french_segments: &str) -> Vec<String> {
    let mut found = Vec::new();
    for f in r["failures"].as_array().into_iter().flatten() {
        found.push(format!("failed: {f}"));
    }
    for e in r["errors"].as_array().into_iter().flatten().filter(|e| !crate::browser::is_busy_stall(e)) {
        found.push(format!("error event: {e}"));
    }
    let langs: Vec<&str> =
        r["audioTracks"].as_array().into_iter().flatten().filter_map(|t| t["language"].as_str()).collect();
    if langs != ["en", "fr"] {
        found.push(format!("audio languages offered: {langs:?}, expected [en, fr]"));
    }
    if r["switchedFrom"]["language"] != "en" || r["switchedTo"]["language"] != "fr" {
        found.push(format!("switch {} -> {}, expected en -> fr", r["switchedFrom"], r["switchedTo"]));
    }
    let fetched = r["fetchedAfterSwitch"].as_array().into_iter().flatten().filter_map(Value::as_str);
    if !fetched.clone().any(|u| u.contains(french_segments)) {
        found.push(format!(
            "no French segment ({french_segments}) fetched after the switch: {:?}",
            fetched.collect::<Vec<_>>()
        ));
    }
    if r["ended"] != Value::Bool(true) {
        found.push("did not play to the end".into());
    }
    found
}

/// The segment name prefix of the MPD's French representation (its SegmentTemplate's
/// `media`, up to `$Number`, with `$RepresentationID$` filled in).
pub(crate) fn french_representation(mpd: &str) -> String {
    let set = mpd.split("<AdaptationSet").find(|s| s.contains("lang=\"fr\"")).expect("a French AdaptationSet");
    let set = set.split("</AdaptationSet>").next().unwrap();
    let id = set.split("<Representation id=\"").nth(1).and_then(|r| r.split('"').next()).expect("a Representation");
    let media = set.split("media=\"").nth(1).and_then(|r| r.split('"').next()).expect("a SegmentTemplate media");
    let prefix = media.split("$Number").next().unwrap().replace("$RepresentationID$", id);
    format!("/{prefix}")
}

/// 6 s 640x360 (the players must get past 2 s, switch, then end) with an English and a French
/// stream of different tones.
fn make_film(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000"])
        .args(["-t", "6", "-map", "0:v", "-map", "1:a", "-map", "2:a"])
        .args(["-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"])
        .arg(path)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
}

pub(crate) fn path_with_project_tools() -> std::ffi::OsString {
    let old = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(repo().join("target/tools/bin")).chain(std::env::split_paths(&old));
    std::env::join_paths(dirs).unwrap_or(old)
}

/// Fails (never skips) when the set-up has not been done.
pub(crate) fn require_browser_tools() {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).is_file() {
        missing.push(CHROMIUM.to_string());
    }
    for m in ["hls.js", "shaka-player", "playwright-core"] {
        if !browser_dir().join("node_modules").join(m).join("package.json").is_file() {
            missing.push(format!("tests/browser/node_modules/{m}"));
        }
    }
    assert!(missing.is_empty(), "the browser test needs {}: run `cargo xtask setup`", missing.join(", "));
}

pub(crate) fn play(page: &str, url: &str) -> (Value, String) {
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("play.mjs"))
        .args(["--page", page, "--url", url])
        .args(["--timeout-ms", &CASE_TIMEOUT.as_millis().to_string(), "--chromium", CHROMIUM])
        .current_dir(browser_dir());
    let (status, out, err) = run_bounded(&mut cmd, CASE_TIMEOUT + Duration::from_secs(30));
    let json = out.lines().rev().find(|l| l.trim_start().starts_with('{')).and_then(|l| serde_json::from_str(l).ok());
    let failure = || serde_json::json!({ "failures": [format!("play.mjs printed no JSON (exit {status:?})\n{out}")] });
    (json.unwrap_or_else(failure), err)
}

pub(crate) fn run_bounded(cmd: &mut Command, limit: Duration) -> (Option<ExitStatus>, String, String) {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
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
    (status, out.join().unwrap_or_default(), err.join().unwrap_or_default())
}
