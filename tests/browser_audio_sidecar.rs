//! Sidecar audio files in real players: a 6 s source with an English stream and a French
//! sidecar file (`audio_files:`), packaged by ffmpeg and by Shaka Packager; hls.js (HLS) and
//! shaka-player (DASH and HLS) list both languages, switch to the sidecar's French (fetching
//! its rendition's segments), play to the end, with no error event.
//!
//! The pages, `audio.js` and the case runner are the audio-language test's
//! (`tests/browser_audio.rs`); needs what it needs (`cargo xtask setup`): missing pieces fail
//! the test, never skip it.

use crate::browser::server::StaticServer;
use crate::browser_audio::{
    browser_dir, findings, french_representation, path_with_project_tools, play, require_browser_tools, run_bounded,
};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const BUILD_TIMEOUT: Duration = Duration::from_secs(180);

const MANIFEST: &str = "version: 1
output_dir: out
encoding: {gop_seconds: 2}
sources:
  - path: media/film.mp4
    id: film
    audio_files: [{path: media/film.fr.m4a, lang: fr}]
profiles:
  video:
    360p: {codec: h264, height: 360, bitrate: 800k, preset: veryfast}
    180p: {codec: h264, height: 180, bitrate: 300k, preset: veryfast}
  audio:
    aac: {codec: aac, bitrate: 96k}
outputs:
  hls: {renditions: [360p, 180p], audio: aac, segment_seconds: 2, packager: PACKAGER}
  dash: {renditions: [360p, 180p], audio: aac, segment_seconds: 2, packager: PACKAGER}
";

#[test]
fn sidecar_language_switches_in_hls_js_and_shaka_ffmpeg_packager() {
    check_packager("ffmpeg");
}

#[test]
fn sidecar_language_switches_in_hls_js_and_shaka_shaka_packager() {
    check_packager("shaka");
}

fn check_packager(packager: &str) {
    require_browser_tools();
    let dir = tempfile::Builder::new().prefix("vodbuild-browser-sidecar-").tempdir().unwrap();
    make_media(dir.path());
    std::fs::write(dir.path().join("pipeline.yaml"), MANIFEST.replace("PACKAGER", packager)).unwrap();
    let mut build = Command::new(env!("CARGO_BIN_EXE_vodbuild"));
    build.args(["run", "pipeline.yaml"]).current_dir(dir.path()).env("PATH", path_with_project_tools());
    let (status, out, err) = run_bounded(&mut build, BUILD_TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "vodbuild run failed ({status:?})\n{out}\n{err}");

    let mpd = std::fs::read_to_string(dir.path().join("out/film/dash/manifest.mpd")).unwrap();
    let french_dash = french_representation(&mpd);
    let cases = [
        ("hls.js / HLS", "hls-audio.html", "out/film/hls/master.m3u8", "/aac-fr/".to_string()),
        ("shaka-player / DASH", "shaka-audio.html", "out/film/dash/manifest.mpd", french_dash),
        ("shaka-player / HLS", "shaka-audio.html", "out/film/hls/master.m3u8", "/aac-fr/".to_string()),
    ];
    let _one = crate::browser::one_browser();
    let server = StaticServer::start(&[("/player", &browser_dir()), ("/content", dir.path())]);
    let mut problems = Vec::new();
    for (name, page, manifest, french) in &cases {
        let (r, log) = play(&server.url(&format!("player/{page}")), &server.url(&format!("content/{manifest}")));
        eprintln!("browser sidecar audio ({packager}): {name}: {} -> {}", r["switchedFrom"], r["switchedTo"]);
        let found = findings(&r, french);
        if !found.is_empty() {
            problems.push(format!("--- {name}: {}\nresult: {r:#}\nplay.mjs stderr:\n{log}", found.join("; ")));
        }
    }
    drop(server);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `media/film.mp4`: 6 s 640x360 with an English 440 Hz stream; `media/film.fr.m4a`: 6 s of
/// 660 Hz, the French sidecar.
fn make_media(dir: &Path) {
    std::fs::create_dir_all(dir.join("media")).unwrap();
    let film = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6", "-map", "0:v", "-map", "1:a"])
        .args(["-metadata:s:a:0", "language=eng", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])
        .args(["-c:a", "aac", "-ac", "2"])
        .arg(dir.join("media/film.mp4"))
        .output()
        .expect("run ffmpeg");
    assert!(film.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&film.stderr));
    let fr = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000"])
        .args(["-t", "6", "-c:a", "aac", "-ac", "2"])
        .arg(dir.join("media/film.fr.m4a"))
        .output()
        .expect("run ffmpeg");
    assert!(fr.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&fr.stderr));
}
