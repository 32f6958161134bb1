//! I-frame playlists over MPEG-TS segments with `packager: ffmpeg` (`iframe_playlists: true`):
//! vodbuild writes `NAME/iframes.m3u8` from the segments' video PES, each range decodes as one
//! key frame (after the segment's PAT/PMT, as a client reads it), `vodbuild verify` checks
//! them (and Shaka's TS ones, which they match), a shifted range fails verify.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{Manifest, Workspace, executed};
use vodbuild::exit_codes::{MANIFEST_ERROR, SUCCESS, VERIFY_FAILED};
use vodbuild::media::iframes_ts;

/// (uri, length, offset, duration) of each entry of an I-frame playlist.
fn entries(path: &Path) -> Vec<(String, u64, u64, f64)> {
    let bytes = std::fs::read(path).unwrap();
    let Ok(m3u8_rs::Playlist::MediaPlaylist(p)) = m3u8_rs::parse_playlist_res(&bytes) else { panic!("{path:?}") };
    assert!(p.i_frames_only, "{path:?} lacks EXT-X-I-FRAMES-ONLY");
    p.segments
        .iter()
        .map(|s| {
            let r = s.byte_range.as_ref().expect("EXT-X-BYTERANGE");
            (s.uri.clone(), r.length, r.offset.expect("an offset"), s.duration as f64)
        })
        .collect()
}

/// SMALL with TS segments of `seconds` (4: two key frames a segment, gop_seconds 2).
fn ts(seconds: &str) -> Manifest {
    Manifest::small()
        .without_output("dash")
        .without_output("thumbnails")
        .output_field("hls", "segment_type", "ts")
        .output_field("hls", "segment_seconds", seconds)
}

/// ffprobe's video frames of a TS file: (key_frame, pict_type) each.
fn frames(file: &Path) -> Vec<(String, String)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v", "-show_entries", "frame=key_frame,pict_type"])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success(), "ffprobe {file:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (k, t) = l.trim().trim_end_matches(',').split_once(',').unwrap_or((l, ""));
            (k.to_string(), t.to_string())
        })
        .collect()
}

/// Each entry, read as a client does (the segment's bytes before its first I-frame, its
/// PAT/PMT, then the range), decodes as exactly one key frame.
fn each_range_is_one_key_frame(dir: &Path, e: &[(String, u64, u64, f64)], scratch: &Path) {
    for (uri, len, off, _) in e {
        let seg = std::fs::read(dir.join(uri)).unwrap();
        let first = e.iter().filter(|x| &x.0 == uri).map(|x| x.2).min().unwrap() as usize;
        let (off, len) = (*off as usize, *len as usize);
        let bytes = [&seg[..first], &seg[off..off + len]].concat();
        let file = scratch.join("iframe.ts");
        std::fs::write(&file, bytes).unwrap();
        let f = frames(&file);
        assert_eq!(f, vec![("1".to_string(), "I".to_string())], "{uri} {len}@{off}: one key frame");
    }
}

#[test]
fn ffmpeg_ts_iframe_playlists_decode_as_key_frames_verify_and_a_shifted_range_fails() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 5.0, "320x180");
    ws.write_manifest(&ts("4").yaml());
    ws.run_ok();
    assert!(!ws.read("out/media/a/hls/master.m3u8").contains("I-FRAME"), "off unless asked");

    ws.write_manifest(&ts("4").output_field("hls", "iframe_playlists", "true").yaml());
    let run = ws.run_ok();
    let ran: Vec<String> = executed(&run).into_iter().collect();
    assert_eq!(ran, vec!["hls:media/a", "metadata:media/a"], "asking re-packages, no re-encode: {run:#}");
    let master = ws.read("out/media/a/hls/master.m3u8");
    for (r, res, codec) in [("144p", "256x144", "avc1.42c00d"), ("90p", "160x90", "avc1.42c00c")] {
        let line = master
            .lines()
            .find(|l| l.starts_with("#EXT-X-I-FRAME-STREAM-INF:") && l.contains(&format!("URI=\"{r}/iframes.m3u8\"")))
            .unwrap_or_else(|| panic!("{master}"));
        assert!(line.contains("BANDWIDTH=") && line.contains(&format!("RESOLUTION={res}")), "{line}");
        assert!(line.contains(&format!("CODECS=\"{codec}\"")), "video codec only: {line}");
        let dir = ws.path(&format!("out/media/a/hls/{r}"));
        let e = entries(&dir.join("iframes.m3u8"));
        // gop_seconds 2 over 5 s in 4 s segments: key frames at 0, 2 (same segment), 4.
        assert_eq!(e.len(), 3, "{r}: {e:?}");
        assert_eq!(e[0].0, e[1].0, "two I-frames in the first segment");
        let total: f64 = e.iter().map(|x| x.3).sum();
        assert!((total - 5.0).abs() < 0.1, "{r}: I-frames cover {total} s of 5");
        each_range_is_one_key_frame(&dir, &e, ws.root());
    }
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "{}", out.describe());

    // A range moved one packet on starts inside the key frame: verify names it.
    let p = ws.path("out/media/a/hls/144p/iframes.m3u8");
    let (len, off) = (entries(&p)[1].1, entries(&p)[1].2);
    let text = std::fs::read_to_string(&p).unwrap();
    let shifted = text.replacen(&format!("{len}@{off}"), &format!("{len}@{}", off + 188), 1);
    assert_ne!(text, shifted);
    std::fs::write(&p, shifted).unwrap();
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(out.stdout.contains("144p/iframes.m3u8") && out.stdout.contains("EXT-X-BYTERANGE"), "{}", out.describe());
    assert!(out.stdout.contains("key frame"), "{}", out.describe());
}

#[test]
fn shaka_ts_ranges_are_the_ones_vodbuild_finds_and_pass_verify() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 5.0, "320x180");
    ws.write_manifest(&ts("2").output_field("hls", "packager", "shaka").yaml());
    ws.run_ok();
    let dir = ws.path("out/media/a/hls/144p");
    let shaka = entries(&dir.join("iframes.m3u8"));
    assert!(!shaka.is_empty());
    let mut segs: Vec<String> = shaka.iter().map(|e| e.0.clone()).collect();
    segs.dedup();
    let mut ours = Vec::new();
    let mut last = None;
    for s in &segs {
        let k = iframes_ts::key_frames(&std::fs::read(dir.join(s)).unwrap(), &mut last).unwrap();
        ours.extend(k.iter().map(|k| (s.clone(), k.length, k.offset)));
    }
    let theirs: Vec<_> = shaka.iter().map(|e| (e.0.clone(), e.1, e.2)).collect();
    assert_eq!(ours, theirs, "the same ranges as Shaka Packager");
    each_range_is_one_key_frame(&dir, &shaka, ws.root());
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "Shaka's TS playlists pass the same check\n{}", out.describe());
}

#[test]
fn with_aes_128_asking_is_refused() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "320x180");
    let aes = "{method: aes-128, key: {env: VB_TEST_KEY}, key_uri: \"https://keys.example/title.key\"}";
    let m = ts("2").output_field("hls", "encryption", aes).output_field("hls", "iframe_playlists", "true");
    ws.write_manifest(&m.yaml());
    let out = ws.vodbuild_env(&["plan", "pipeline.yaml"], &[("VB_TEST_KEY", "3f1a9c0e5b7d2468ace0135724681bdf")]);
    assert_eq!(out.code, MANIFEST_ERROR, "{}", out.describe());
    assert!(
        out.stderr.contains("outputs.hls.iframe_playlists") && out.stderr.contains("AES-128"),
        "{}",
        out.describe()
    );
}
