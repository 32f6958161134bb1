//! I-frame playlists with `packager: ffmpeg`: vodbuild writes `NAME/iframes.m3u8` from the fMP4
//! segments' sample tables, listed in the master like Shaka Packager's; `vodbuild verify`
//! checks their byte ranges land on sync samples; TS with ffmpeg has none unless asked
//! (`iframe_playlists: true`, tested in iframes_ts.rs).

use crate::common;

use std::path::Path;

use common::{Manifest, SMALL, Workspace};
use vodbuild::exit_codes::{SUCCESS, VERIFY_FAILED};
use vodbuild::media::iframes;

/// (uri, length, offset, duration) of each entry of an I-frame playlist.
fn entries(path: &Path) -> Vec<(String, u64, u64, f64)> {
    let bytes = std::fs::read(path).unwrap();
    let Ok(m3u8_rs::Playlist::MediaPlaylist(p)) = m3u8_rs::parse_playlist_res(&bytes) else { panic!("{path:?}") };
    assert!(p.i_frames_only, "{path:?} lacks EXT-X-I-FRAMES-ONLY");
    p.segments
        .iter()
        .map(|s| {
            let r = s.byte_range.as_ref().expect("EXT-X-BYTERANGE");
            (s.uri.clone(), r.length, r.offset.unwrap_or(0), s.duration as f64)
        })
        .collect()
}

#[test]
fn ffmpeg_packager_writes_iframe_playlists_that_verify_and_a_shifted_range_fails() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 5.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    let master = ws.read("out/media/a/hls/master.m3u8");
    for r in ["144p", "90p"] {
        let tag = "#EXT-X-I-FRAME-STREAM-INF:";
        assert!(
            master.lines().any(|l| l.starts_with(tag) && l.contains(&format!("URI=\"{r}/iframes.m3u8\""))),
            "{master}"
        );
        let e = entries(&ws.path(&format!("out/media/a/hls/{r}/iframes.m3u8")));
        // gop_seconds 2 over 5 s: key frames at 0, 2, 4.
        assert_eq!(e.len(), 3, "{r}: {e:?}");
        let total: f64 = e.iter().map(|x| x.3).sum();
        assert!((total - 5.0).abs() < 0.1, "{r}: I-frames cover {total} s of 5");
    }
    assert!(!master.contains("aac64/iframes"), "no I-frame playlist for audio:\n{master}");
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "{}", out.describe());

    // A range that no longer starts at a fragment: verify names the playlist and the range.
    let p = ws.path("out/media/a/hls/144p/iframes.m3u8");
    let e = entries(&p);
    let (len, off) = (e[1].1, e[1].2);
    let text = std::fs::read_to_string(&p).unwrap();
    let shifted = text.replacen(&format!("{len}@{off}"), &format!("{len}@{}", off + 8), 1);
    assert_ne!(text, shifted);
    std::fs::write(&p, shifted).unwrap();
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(out.stdout.contains("144p/iframes.m3u8") && out.stdout.contains("EXT-X-BYTERANGE"), "{}", out.describe());
    assert!(out.stdout.contains("does not start at a fragment"), "{}", out.describe());
}

#[test]
fn vodbuild_finds_the_byte_ranges_shaka_packager_writes() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 5.0, "320x180");
    ws.write_manifest(&Manifest::small().output_field("hls", "packager", "shaka").yaml());
    ws.run_ok();
    let dir = ws.path("out/media/a/hls/144p");
    let shaka = entries(&dir.join("iframes.m3u8"));
    assert!(!shaka.is_empty());
    let init = std::fs::read_to_string(dir.join("iframes.m3u8")).unwrap();
    let init = init.split("#EXT-X-MAP:URI=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let d = iframes::defaults(&dir.join(&init)).unwrap();
    let mut ours = Vec::new();
    let mut segs: Vec<String> = shaka.iter().map(|e| e.0.clone()).collect();
    segs.dedup();
    for s in &segs {
        let (samples, _) = iframes::sync_samples(&std::fs::read(dir.join(s)).unwrap(), d).unwrap();
        ours.extend(samples.iter().map(|x| (s.clone(), x.end - x.moof, x.moof)));
    }
    let theirs: Vec<_> = shaka.iter().map(|e| (e.0.clone(), e.1, e.2)).collect();
    assert_eq!(ours, theirs, "the same ranges as Shaka Packager");
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "Shaka's playlists pass the same check\n{}", out.describe());
}

#[test]
fn ts_with_ffmpeg_has_none_unless_asked_and_false_turns_them_off() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write_manifest(&Manifest::small().output_field("hls", "segment_type", "ts").yaml());
    ws.run_ok();
    assert!(!ws.read("out/media/a/hls/master.m3u8").contains("I-FRAME"));
    assert!(!ws.path("out/media/a/hls/144p/iframes.m3u8").exists());

    let asked =
        Manifest::small().output_field("hls", "segment_type", "ts").output_field("hls", "iframe_playlists", "true");
    ws.write_manifest(&asked.yaml());
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "asking is no longer refused: {}", out.describe());

    for packager in ["ffmpeg", "shaka"] {
        let off = Manifest::small().output_field("hls", "packager", packager).output_field(
            "hls",
            "iframe_playlists",
            "false",
        );
        ws.write_manifest(&off.yaml());
        ws.run_ok();
        assert!(!ws.read("out/media/a/hls/master.m3u8").contains("I-FRAME"), "{packager}");
        assert!(!ws.path("out/media/a/hls/144p/iframes.m3u8").exists(), "{packager}");
    }
}
