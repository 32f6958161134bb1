//! Awkward and broken sources: each one gives a verified, playable package with the right
//! displayed geometry, or an error naming the source. Media are made with lavfi inside each
//! test (1-3 s, small sizes).

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{Manifest, Workspace, assert_outputs_valid, h264, set_mtime};
use vodbuild::exit_codes::{BUILD_FAILED, SUCCESS};

/// One 144p H.264 rung, AAC stereo, HLS + DASH with 1 s segments; every file in media/ is a source.
fn awk() -> String {
    let out = [("renditions", "[144p]"), ("audio", "aac64"), ("segment_seconds", "1")];
    Manifest::new()
        .gop("1")
        .glob("media/*")
        .video("144p", &h264("144", "200k", "ultrafast"))
        .audio("aac64", &[("codec", "aac"), ("bitrate", "64k"), ("channels", "2"), ("sample_rate", "48000")])
        .hls(&out)
        .dash(&out)
        .yaml()
}

const SINE: &[&str] = &["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"];

/// Makes `media/NAME` with ffmpeg: `inputs` then `codec` args, `seconds` long.
fn make(ws: &Workspace, name: &str, inputs: &[&str], codec: &[&str], seconds: f64) -> std::path::PathBuf {
    let p = ws.path(&format!("media/{name}"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(inputs)
        .args(["-t", &seconds.to_string()])
        .args(codec)
        .arg(&p)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "making {name}: {}", String::from_utf8_lossy(&out.stderr));
    set_mtime(&p, SystemTime::now() - Duration::from_secs(3600));
    p
}

fn lavfi_video(spec: &str) -> Vec<&str> {
    vec!["-f", "lavfi", "-i", spec]
}

fn with_sine<'a>(video: &[&'a str]) -> Vec<&'a str> {
    video.iter().copied().chain(SINE.iter().copied()).collect()
}

/// ffprobe `-show_entries stream=ENTRIES` of the first stream of `kind` (v or a), as key=value pairs.
fn stream(file: &Path, kind: &str, entries: &str) -> std::collections::BTreeMap<String, String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", &format!("{kind}:0"), "-show_entries"])
        .arg(format!("stream={entries}"))
        .args(["-of", "default=nw=1"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// Runs the build and verify; asserts the package is complete and returns the id's encoded
/// 144p rendition path.
fn build_ok(ws: &Workspace, id: &str, seconds: f64) -> std::path::PathBuf {
    ws.write_manifest(&awk());
    ws.run_ok();
    let v = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(v.code, SUCCESS, "verify must pass\n{}", v.describe());
    assert_outputs_valid(ws, id, seconds);
    let enc = ws.path(&format!(".vodbuild/pipeline.yaml/work/{id}/144p.mp4"));
    assert!(enc.is_file(), "no encoded rendition at {}", enc.display());
    enc
}

/// The encoded rendition is square-pixel, 4:2:0 8-bit, `w`x`h`.
fn assert_geometry(enc: &Path, w: u32, h: u32) {
    let s = stream(enc, "v", "width,height,sample_aspect_ratio,pix_fmt,profile");
    assert_eq!((s["width"].as_str(), s["height"].as_str()), (w.to_string().as_str(), h.to_string().as_str()), "{s:?}");
    assert!(matches!(s.get("sample_aspect_ratio").map(String::as_str), Some("1:1") | None), "{s:?}");
    assert_eq!(s["pix_fmt"], "yuv420p", "{s:?}");
    assert!(
        ["High", "Main", "Constrained Baseline"].contains(&s["profile"].as_str()),
        "browser-playable profile: {s:?}"
    );
}

#[test]
fn odd_size_source() {
    let ws = Workspace::new();
    make(
        &ws,
        "odd.mkv",
        &with_sine(&lavfi_video("testsrc2=size=321x241:rate=30")),
        &["-c:v", "ffv1", "-c:a", "aac"],
        2.0,
    );
    let enc = build_ok(&ws, "media/odd", 2.0);
    // 144 * 321/241 = 191.8 -> 192 (even)
    assert_geometry(&enc, 192, 144);
}

#[test]
fn yuv444_source_gives_yuv420p() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-c:a", "aac"];
    make(&ws, "full.mp4", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=30")), &codec, 2.0);
    assert_geometry(&build_ok(&ws, "media/full", 2.0), 256, 144);
}

#[test]
fn ten_bit_source_gives_8_bit() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-c:a", "aac"];
    make(&ws, "ten.mp4", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=30")), &codec, 2.0);
    assert_geometry(&build_ok(&ws, "media/ten", 2.0), 256, 144);
}

#[test]
fn variable_frame_rate_source() {
    let ws = Workspace::new();
    // Drops 2 of every 3 frames in the second second: 30 fps, then 10 fps.
    let vfr = "testsrc2=size=320x180:rate=30,select='lt(t\\,1)+not(mod(n\\,3))'";
    let codec = ["-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"];
    let src = make(&ws, "vfr.mp4", &with_sine(&lavfi_video(vfr)), &codec, 2.0);
    let s = stream(&src, "v", "r_frame_rate,avg_frame_rate");
    assert_ne!(s["r_frame_rate"], s["avg_frame_rate"], "the source should be VFR: {s:?}");
    assert_geometry(&build_ok(&ws, "media/vfr", 2.0), 256, 144);
}

#[test]
fn surround_source_gives_stereo() {
    let ws = Workspace::new();
    let inputs = lavfi_video("testsrc2=size=320x180:rate=30");
    let six = ["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=48000,aformat=channel_layouts=5.1"];
    let inputs: Vec<&str> = inputs.iter().copied().chain(six).collect();
    let src = make(&ws, "surround.mp4", &inputs, &["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"], 2.0);
    assert_eq!(stream(&src, "a", "channels")["channels"], "6");
    build_ok(&ws, "media/surround", 2.0);
    let audio = ws.path(".vodbuild/pipeline.yaml/work/media/surround/aac64.mp4");
    assert_eq!(stream(&audio, "a", "channels")["channels"], "2", "{}", audio.display());
}

#[test]
fn anamorphic_source_keeps_its_displayed_aspect() {
    let ws = Workspace::new();
    // 480x360 stored with 4:3 pixels: displayed 640x360 (16:9).
    let codec = ["-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];
    make(&ws, "ana.mp4", &with_sine(&lavfi_video("testsrc2=size=480x360:rate=30")), &codec, 2.0);
    assert_geometry(&build_ok(&ws, "media/ana", 2.0), 256, 144);
}

#[test]
fn sixty_fps_source_keeps_sixty() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];
    make(&ws, "sixty.mp4", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=60")), &codec, 2.0);
    let enc = build_ok(&ws, "media/sixty", 2.0);
    assert_eq!(stream(&enc, "v", "avg_frame_rate")["avg_frame_rate"], "60/1");
    let keys = common::media::keyframe_times(&enc);
    assert!(keys.iter().any(|t| (t - 1.0).abs() < 0.02), "a keyframe at 1 s (the GOP): {keys:?}");
}

#[test]
fn ntsc_film_rate_source_keeps_23_976() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];
    make(&ws, "film.mp4", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=24000/1001")), &codec, 2.0);
    let enc = build_ok(&ws, "media/film", 2.0);
    assert_eq!(stream(&enc, "v", "avg_frame_rate")["avg_frame_rate"], "24000/1001");
}

#[test]
fn two_audio_tracks_source() {
    let ws = Workspace::new();
    let inputs = lavfi_video("testsrc2=size=320x180:rate=30");
    let second = ["-f", "lavfi", "-i", "sine=frequency=880:sample_rate=44100"];
    let inputs: Vec<&str> = inputs.iter().copied().chain(SINE.iter().copied()).chain(second).collect();
    let codec = ["-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];
    make(&ws, "two.mp4", &inputs, &codec, 2.0);
    assert_geometry(&build_ok(&ws, "media/two", 2.0), 256, 144);
}

#[test]
fn source_shorter_than_one_gop() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];
    make(&ws, "short.mp4", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=30")), &codec, 0.4);
    assert_geometry(&build_ok(&ws, "media/short", 0.4), 256, 144);
}

#[test]
fn non_ascii_name_with_spaces() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];
    make(&ws, "Café à la plage 1.mp4", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=30")), &codec, 2.0);
    ws.write_manifest(&awk());
    ws.run_ok();
    let files = ws.files_under("out/media");
    let master = files.iter().find_map(|f| f.strip_prefix("out/")?.strip_suffix("/hls/master.m3u8"));
    let id = master.unwrap_or_else(|| panic!("no HLS package under out/media: {files:?}")).to_string();
    // Letters stay letters (NFC), spaces become `_` (issue 9: `épisode` must not become `_pisode`).
    assert_eq!(id, "media/Caf\u{e9}_\u{e0}_la_plage_1", "the derived id keeps its letters and has no spaces");
    assert_geometry(&build_ok(&ws, &id, 2.0), 256, 144);
}

#[test]
fn vp9_opus_mkv_source() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", "-c:a", "libopus"];
    make(&ws, "web.mkv", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=30")), &codec, 2.0);
    assert_geometry(&build_ok(&ws, "media/web", 2.0), 256, 144);
}

#[test]
fn prores_mov_source() {
    let ws = Workspace::new();
    let codec = ["-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le"];
    make(&ws, "master.mov", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=30")), &codec, 1.0);
    assert_geometry(&build_ok(&ws, "media/master", 1.0), 256, 144);
}

#[test]
fn uhd_source() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];
    make(&ws, "uhd.mp4", &with_sine(&lavfi_video("testsrc2=size=3840x2160:rate=30")), &codec, 1.0);
    assert_geometry(&build_ok(&ws, "media/uhd", 1.0), 256, 144);
}

/// A broken source: `run` fails (exit 1) naming the file, and records nothing for it.
fn assert_source_error(ws: &Workspace, file: &str) {
    ws.write_manifest(&awk());
    let out = ws.vodbuild(&["run", "pipeline.yaml"]);
    assert_eq!(out.code, BUILD_FAILED, "a broken source fails the build\n{}", out.describe());
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains(file), "the error must name {file}\n{}", out.describe());
    assert!(!ws.path("out/media").exists() || ws.files_under("out/media").is_empty(), "nothing may be built");
}

#[test]
fn zero_byte_source_is_named() {
    let ws = Workspace::new();
    ws.write("media/empty.mp4", b"");
    assert_source_error(&ws, "media/empty.mp4");
}

#[test]
fn text_file_named_mp4_is_named() {
    let ws = Workspace::new();
    ws.write("media/notes.mp4", "these are notes, not a video\n".repeat(50));
    assert_source_error(&ws, "media/notes.mp4");
}

#[test]
fn truncated_source_with_moov_at_the_end_is_named() {
    let ws = Workspace::new();
    let codec = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"];
    let p = make(&ws, "cut.mp4", &with_sine(&lavfi_video("testsrc2=size=320x180:rate=30")), &codec, 2.0);
    let bytes = std::fs::read(&p).unwrap();
    let moov = bytes.windows(4).rposition(|w| w == b"moov").expect("a moov box");
    let mdat = bytes.windows(4).position(|w| w == b"mdat").expect("an mdat box");
    assert!(moov > mdat, "ffmpeg writes moov at the end without +faststart");
    std::fs::write(&p, &bytes[..bytes.len() * 6 / 10]).unwrap();
    assert_source_error(&ws, "media/cut.mp4");
}

/// A source with audio but no video: its video renditions and packages fail with an error
/// naming the source and saying why (the documented error); nothing is built for it.
#[test]
fn audio_only_source_is_named() {
    let ws = Workspace::new();
    make(&ws, "voice.m4a", SINE, &["-c:a", "aac"], 2.0);
    assert_source_error(&ws, "media/voice.m4a");
    let out = ws.vodbuild(&["run", "pipeline.yaml"]);
    assert!(out.stderr.contains("has no video stream"), "the error must say why\n{}", out.describe());
}
