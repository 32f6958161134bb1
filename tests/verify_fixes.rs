//! `vodbuild verify` false alarms found by review, each on a real package: clear subtitle and
//! storyboard tracks of a cbcs package are not "missing encryption" (clear video still is);
//! `audio_tracks` skipping the first stream needs no `loudness.PROFILE` entry (only
//! `PROFILE-aN`); a single-rung Shaka DASH Representation takes width/height from its
//! AdaptationSet.

use crate::common;

use std::process::Command;

use common::{Manifest, Workspace};
use vodbuild::exit_codes::{SUCCESS, VERIFY_FAILED};

const KEY: &str = "3f1a9c0e5b7d2468ace0135724681bdf";
const KID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

#[test]
fn clear_subtitles_and_storyboard_of_a_cbcs_package_pass_but_clear_video_fails() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write("media/a.en.vtt", "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHello\n");
    let e = format!("{{method: cbcs, key: {{env: VB_TEST_KEY}}, key_id: {KID}, systems: [clearkey], clear_lead: 0}}");
    let m = Manifest::small()
        .without_output("thumbnails")
        .output_field("hls", "packager", "shaka")
        .output_field("hls", "encryption", &e)
        .output_field("dash", "packager", "shaka")
        .output_field("dash", "encryption", &e)
        .output("subtitles", &[("sidecars", "true")])
        .yaml()
        .replacen("outputs:\n", "outputs:\n  storyboard: {interval: 1, columns: 2, rows: 2, width: 64}\n", 1);
    ws.write_manifest(&m);
    let env = [("VB_TEST_KEY", KEY)];
    let run = ws.vodbuild_env(&["run", "pipeline.yaml"], &env);
    assert_eq!(run.code, SUCCESS, "{}", run.describe());
    let (master, mpd) = (ws.read("out/media/a/hls/master.m3u8"), ws.read("out/media/a/dash/manifest.mpd"));
    assert!(master.contains("TYPE=SUBTITLES"), "{master}");
    assert!(mpd.contains("contentType=\"text\"") && mpd.contains("contentType=\"image\""), "{mpd}");
    let out = ws.vodbuild_env(&["verify", "pipeline.yaml"], &env);
    assert_eq!(out.code, SUCCESS, "clear text and image tracks are right\n{}", out.describe());

    // A clear video rendition is still caught: its media playlist loses its key tag.
    let p = ws.path("out/media/a/hls/144p/index.m3u8");
    let text = std::fs::read_to_string(&p).unwrap();
    let clear: String = text.lines().filter(|l| !l.starts_with("#EXT-X-KEY")).map(|l| format!("{l}\n")).collect();
    assert_ne!(text, clear);
    std::fs::write(&p, clear).unwrap();
    let out = ws.vodbuild_env(&["verify", "pipeline.yaml"], &env).assert_code(VERIFY_FAILED);
    assert!(out.stdout.contains("144p/index.m3u8: EXT-X-KEY: missing"), "{}", out.describe());
    assert!(!out.stdout.contains("subs/") && !out.stdout.contains("text"), "{}", out.describe());
}

/// A source with two stereo audio streams (eng, fra).
fn two_audio(ws: &Workspace, rel: &str) {
    let p = ws.path(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30"])
        .args(["-f", "lavfi", "-i", "aevalsrc=0.1*sin(2*PI*440*t):s=48000:c=stereo"])
        .args(["-f", "lavfi", "-i", "aevalsrc=0.3*sin(2*PI*660*t):s=48000:c=stereo"])
        .args(["-map", "0:v", "-map", "1:a", "-map", "2:a", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"])
        .args(["-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra"])
        .arg(&p)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn audio_tracks_skipping_the_first_stream_need_no_loudness_entry_for_it() {
    let ws = Workspace::new();
    two_audio(&ws, "media/two.mp4");
    let m = Manifest::new()
        .output_dir("out")
        .gop("2")
        .glob("media/*.mp4")
        .video("90p", &common::h264("90", "100k", "ultrafast"))
        .audio("aac", &[("codec", "aac"), ("bitrate", "64k"), ("loudness", "{target: -16, true_peak: -1.5}")])
        .hls(&[("renditions", "[90p]"), ("audio", "aac"), ("segment_seconds", "2"), ("audio_tracks", "[{index: 1}]")])
        .metadata();
    ws.write_manifest(&m.yaml());
    ws.run_ok();
    let path = "out/media/two/metadata.json";
    let mut doc: serde_json::Value = serde_json::from_str(&ws.read(path)).unwrap();
    let names: Vec<String> = doc["loudness"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(names, vec!["aac-a1".to_string()], "{doc:#}");
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "only aac-a1 was built\n{}", out.describe());

    // With no entry of the profile at all, it is still missing.
    doc["loudness"] = serde_json::json!({});
    ws.write(path, serde_json::to_string_pretty(&doc).unwrap());
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(out.stdout.contains("loudness.aac: missing"), "{}", out.describe());
}

#[test]
fn a_single_rung_shaka_dash_takes_width_and_height_from_its_adaptation_set() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    let m = Manifest::small()
        .without_output("hls")
        .without_output("thumbnails")
        .output_field("dash", "renditions", "[144p]")
        .output_field("dash", "packager", "shaka");
    ws.write_manifest(&m.yaml());
    ws.run_ok();
    let mpd = ws.read("out/media/a/dash/manifest.mpd");
    let set = mpd.lines().find(|l| l.contains("contentType=\"video\"")).unwrap_or_else(|| panic!("{mpd}"));
    assert!(set.contains("width=\"256\"") && set.contains("height=\"144\""), "Shaka's shape: {set}");
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "{}", out.describe());

    // The inherited width is checked: a wrong one on the AdaptationSet fails.
    ws.write("out/media/a/dash/manifest.mpd", mpd.replacen("width=\"256\"", "width=\"300\"", 1));
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(out.stdout.contains("width=Some(300) but the init segment says 256"), "{}", out.describe());
}
