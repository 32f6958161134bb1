//! A TS HLS package with vodbuild's I-frame playlists (`packager: ffmpeg`, `segment_type: ts`,
//! `iframe_playlists: true`) in real players, through the shared browser harness of
//! `tests/browser.rs` (headless Debian chromium, playwright-core, a static server on
//! 127.0.0.1): hls.js and shaka-player play the master that lists them to the end, switch
//! rendition, and see no error. Needs what `cargo xtask setup` installs; missing pieces fail.

use crate::browser::{Case, build, play_cases, repo};

#[test]
fn ts_masters_with_vodbuild_iframe_playlists_play_in_hls_js_and_shaka_player() {
    let manifest = std::fs::read_to_string(repo().join("examples/quickstart/pipeline.yaml")).unwrap();
    // ultrafast: no B-frames (an ffmpeg TS package of a B-frame encode starts its video after
    // its audio, a non-fatal buffer hole in hls.js with or without I-frame playlists; see
    // browser_crypt.rs).
    let m = manifest
        .replace("preset: veryfast", "preset: ultrafast")
        .replace("segment_type: fmp4}", "segment_type: ts, iframe_playlists: true}");
    assert!(m.contains("iframe_playlists: true"), "{m}");
    let dir = build(&m, |_| {});
    let master = std::fs::read_to_string(dir.path().join("out/sample/hls/master.m3u8")).unwrap();
    assert!(master.contains("#EXT-X-I-FRAME-STREAM-INF:") && master.contains("360p/iframes.m3u8"), "{master}");
    let iframes = std::fs::read_to_string(dir.path().join("out/sample/hls/360p/iframes.m3u8")).unwrap();
    assert!(iframes.contains("#EXT-X-BYTERANGE:") && iframes.contains(".ts"), "{iframes}");
    let cases = [
        Case {
            name: "hls.js / HLS TS with I-frame playlists",
            page: "hls.html",
            manifest: "out/sample/hls/master.m3u8",
        },
        Case {
            name: "shaka-player / HLS TS with I-frame playlists",
            page: "shaka.html",
            manifest: "out/sample/hls/master.m3u8",
        },
    ];
    play_cases(dir.path(), &cases);
}
