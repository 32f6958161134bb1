//! Storyboards and I-frame playlists in real players (headless Debian chromium driven by
//! playwright-core, as in `tests/browser.rs`, from `tests/browser/server.rs` on 127.0.0.1):
//! shaka-player's `getThumbnails` returns the right tile of the DASH image AdaptationSet and of
//! the WebVTT track (added to the HLS package) for a time; hls.js and shaka-player play the
//! HLS master listing I-frame playlists (vodbuild's, `packager: ffmpeg`; and Shaka Packager's)
//! with no error. Needs what `cargo xtask setup` installs; missing pieces fail the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::browser::server::StaticServer;
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn player_dir() -> PathBuf {
    repo().join("tests/browser")
}

/// The quickstart (6 s, 640x360) with a storyboard and the packager given: in a fresh folder.
fn build(packager: &str) -> tempfile::TempDir {
    for need in [Path::new(CHROMIUM).to_path_buf(), player_dir().join("node_modules/shaka-player/package.json")] {
        assert!(need.exists(), "the browser test needs {}: run `cargo xtask setup`", need.display());
    }
    let dir = tempfile::Builder::new().prefix("vodbuild-browser-story-").tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("media")).unwrap();
    std::fs::copy(repo().join("examples/quickstart/media/sample.mp4"), dir.path().join("media/sample.mp4")).unwrap();
    let y = std::fs::read_to_string(repo().join("examples/quickstart/pipeline.yaml")).unwrap();
    let y = y
        .replace("segment_type: fmp4}", &format!("segment_type: fmp4, packager: {packager}}}"))
        .replace("segment_seconds: 4}", &format!("segment_seconds: 4, packager: {packager}}}"))
        .replace("  metadata: true", "  storyboard: {interval: 1, columns: 2, rows: 2, width: 64}\n  metadata: true");
    assert_eq!(y.matches("packager:").count(), 2, "{y}");
    assert!(y.contains("storyboard:"), "{y}");
    std::fs::write(dir.path().join("pipeline.yaml"), y).unwrap();
    let old = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(repo().join("target/tools/bin")).chain(std::env::split_paths(&old)))
            .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vodbuild"))
        .args(["run", "pipeline.yaml"])
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "vodbuild run: {}", String::from_utf8_lossy(&out.stderr));
    let master = std::fs::read_to_string(dir.path().join("out/sample/hls/master.m3u8")).unwrap();
    assert!(master.contains("#EXT-X-I-FRAME-STREAM-INF:"), "{master}");
    dir
}

/// thumbs.mjs on one manifest (and WebVTT track); its JSON line.
fn thumbs(server: &StaticServer, manifest: &str, vtt: Option<&str>, times: &str) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(player_dir().join("thumbs.mjs"))
        .args(["--page", &server.url("player/thumbs.html"), "--url", &server.url(&format!("content/{manifest}"))])
        .args(["--times", times, "--chromium", CHROMIUM])
        .current_dir(player_dir());
    if let Some(v) = vtt {
        cmd.args(["--vtt", &server.url(&format!("content/{v}"))]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON from thumbs.mjs: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    serde_json::from_str(line).unwrap()
}

/// (file name, x, y, w, h) shaka gave for each time.
fn tiles(r: &Value) -> Vec<(String, u64, u64, u64, u64)> {
    let errors = r["errors"].as_array().map_or(0, |e| e.len());
    assert_eq!(errors, 0, "player errors: {r}");
    r["thumbnails"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|t| {
            let uri = t["uri"].as_str().unwrap_or_else(|| panic!("no thumbnail at {}: {r}", t["time"]));
            let name = uri.rsplit('/').next().unwrap().split('#').next().unwrap().to_string();
            let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("{k} in {t}"));
            (name, n("x"), n("y"), n("width"), n("height"))
        })
        .collect()
}

#[test]
fn thumbnails_give_the_right_tile_and_iframe_masters_play_with_both_packagers() {
    let _one = crate::browser::one_browser();
    for packager in ["ffmpeg", "shaka"] {
        let dir = build(packager);
        let server = StaticServer::start(&[("/player", &player_dir()), ("/content", dir.path())]);
        // Tiles every second, 2x2 per sheet, 64x36: 0.5 s → tile 0; 2.5 → 2 (second row);
        // 4.5 → 4 (sheet 2); 5.5 → 5.
        let expected = vec![
            ("sprite-1.jpg".to_string(), 0, 0, 64, 36),
            ("sprite-1.jpg".to_string(), 0, 36, 64, 36),
            ("sprite-2.jpg".to_string(), 0, 0, 64, 36),
            ("sprite-2.jpg".to_string(), 64, 0, 64, 36),
        ];
        let times = "0.5,2.5,4.5,5.5";
        let dash = thumbs(&server, "out/sample/dash/manifest.mpd", None, times);
        assert_eq!(tiles(&dash), expected, "{packager}: DASH image AdaptationSet: {dash}");
        let vtt = thumbs(&server, "out/sample/hls/master.m3u8", Some("out/sample/storyboard/storyboard.vtt"), times);
        assert_eq!(tiles(&vtt), expected, "{packager}: WebVTT track on the HLS package: {vtt}");
        for page in ["hls.html", "shaka.html"] {
            plays(&server, page, "out/sample/hls/master.m3u8");
        }
        let errors: Vec<String> =
            server.hits().iter().filter(|h| h.status >= 400).map(|h| format!("{} {}", h.path, h.status)).collect();
        assert!(errors.is_empty(), "{packager}: {errors:?}");
    }
}

/// play.mjs (the shared player script of `tests/browser.rs`): the master with its I-frame
/// playlists plays to the end, switches rendition, and no error of any kind is seen.
fn plays(server: &StaticServer, page: &str, manifest: &str) {
    let out = Command::new("node")
        .arg(player_dir().join("play.mjs"))
        .args(["--page", &server.url(&format!("player/{page}")), "--url", &server.url(&format!("content/{manifest}"))])
        .args(["--timeout-ms", "60000", "--chromium", CHROMIUM])
        .current_dir(player_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let r: Value = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    eprintln!("browser_story: {page} {manifest}: ok={} errors={}", r["ok"], r["errors"]);
    assert!(
        out.status.success() && r["ok"] == Value::Bool(true),
        "{page} on {manifest}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
