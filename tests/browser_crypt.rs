//! Encrypted packages in real players (the same chromium / playwright-core harness as
//! `browser.rs`, its server and pages): AES-128 HLS (ffmpeg, TS) plays in hls.js and
//! shaka-player with the key served on 127.0.0.1; CENC DASH and cbcs HLS / DASH (Shaka
//! Packager, raw key) play in shaka-player with ClearKey (`shaka_clearkey.html`, keys from its
//! query string); without the key, the CENC package does not play. Pairs that cannot work in
//! this Chromium are printed (and recorded in README's support table): Widevine / PlayReady
//! (no CDM here) and CENC / cbcs HLS in hls.js (it needs `emeEnabled` with a ClearKey licence
//! server, not part of a static package).

use crate::browser::{Case, build, play_cases};
use std::path::Path;

/// The content key as raw bytes (the key file, and what hls.js fetches) and as hex.
const KEY: [u8; 16] = [0x6b, 0x1e, 0x23, 0x9a, 0x40, 0x77, 0x5c, 0x0d, 0x91, 0xe4, 0x3f, 0xa8, 0x12, 0x6d, 0xb5, 0x07];
const KID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The quickstart with `hls_enc` (after `segment_type: `) and `dash_enc` (after the DASH
/// `segment_seconds: 4`) spliced in; the key file `keys/title.key` written beside `media/`.
fn build_with(hls_enc: &str, dash_enc: &str) -> tempfile::TempDir {
    let manifest = std::fs::read_to_string(crate::browser::repo().join("examples/quickstart/pipeline.yaml")).unwrap();
    // ultrafast: no B-frames. An ffmpeg TS package of a B-frame encode starts its video two
    // frames after its audio, which hls.js reports as a (non-fatal) buffer hole, encrypted or
    // not; fMP4 carries the offset in an edit list.
    let manifest = manifest.replace("preset: veryfast", "preset: ultrafast");
    let m = manifest
        .replace("segment_type: fmp4}", &format!("segment_type: {hls_enc}}}"))
        .replace("segment_seconds: 4}", &format!("segment_seconds: 4, {dash_enc}}}"));
    assert_eq!(m.matches("encryption:").count(), 2, "both outputs encrypted:\n{m}");
    build(&m, |media: &Path| {
        let keys = media.parent().unwrap().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(keys.join("title.key"), KEY).unwrap();
    })
}

fn cenc(method: &str) -> String {
    format!(
        "packager: shaka, encryption: {{method: {method}, key: {{file: keys/title.key}}, key_id: {KID}, systems: [clearkey, widevine]}}"
    )
}

/// The ClearKey page for the test key (a literal: `Case` holds `&'static str`).
const CLEARKEY_PAGE: &str =
    "shaka_clearkey.html?kid=0f1e2d3c4b5a69788796a5b4c3d2e1f0&key=6b1e239a40775c0d91e43fa8126db507";

#[test]
fn aes128_hls_plays_in_hls_js_and_shaka_and_cenc_dash_with_clearkey() {
    // Relative to each media playlist (/content/out/sample/hls/NAME/): /content/keys/title.key.
    let aes = "ts, encryption: {method: aes-128, key: {file: keys/title.key}, key_uri: \"../../../../keys/title.key\"}";
    let dir = build_with(aes, &cenc("cenc"));
    let list = std::fs::read_to_string(dir.path().join("out/sample/hls/360p/index.m3u8")).unwrap();
    assert!(list.contains("#EXT-X-KEY:METHOD=AES-128,URI=\"../../../../keys/title.key\""), "{list}");
    let cases = [
        Case { name: "hls.js / HLS AES-128", page: "hls.html", manifest: "out/sample/hls/master.m3u8" },
        Case { name: "shaka-player / HLS AES-128", page: "shaka.html", manifest: "out/sample/hls/master.m3u8" },
        Case {
            name: "shaka-player ClearKey / DASH cenc",
            page: CLEARKEY_PAGE,
            manifest: "out/sample/dash/manifest.mpd",
        },
    ];
    play_cases(dir.path(), &cases);
    // The test can fail: without the key the CENC package does not play.
    let keyless = [Case {
        name: "shaka-player without key / DASH cenc",
        page: "shaka.html",
        manifest: "out/sample/dash/manifest.mpd",
    }];
    let refused = std::panic::catch_unwind(|| play_cases(dir.path(), &keyless));
    assert!(refused.is_err(), "a CENC package played without its key");
    eprintln!("browser: Widevine / PlayReady: not played (this Chromium has no CDM for them); README records it");
}

#[test]
fn cbcs_hls_and_dash_play_in_shaka_with_clearkey() {
    let dir = build_with(&format!("fmp4, {}", cenc("cbcs")), &cenc("cbcs"));
    let cases = [
        Case { name: "shaka-player ClearKey / HLS cbcs", page: CLEARKEY_PAGE, manifest: "out/sample/hls/master.m3u8" },
        Case {
            name: "shaka-player ClearKey / DASH cbcs",
            page: CLEARKEY_PAGE,
            manifest: "out/sample/dash/manifest.mpd",
        },
    ];
    play_cases(dir.path(), &cases);
    eprintln!(
        "browser: hls.js / HLS cbcs: not played (hls.js needs emeEnabled and a ClearKey licence server); README records it"
    );
}
