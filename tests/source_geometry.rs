//! Sources checked once by the probe, and everything downstream built from the displayed
//! picture: truncated sources, rotation, interlacing, NTSC frame rates, and the ladder
//! fitted to the source's size. Media are made with lavfi inside each test.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::media::{attr, parse_master, video_size};
use common::{Workspace, planned, with_status};
use serde_json::Value;
use vodbuild::exit_codes::{BUILD_FAILED, SUCCESS, VERIFY_FAILED};

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-loglevel", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn ffprobe_stream(file: &Path, entry: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", &format!("stream={entry}"), "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A lavfi clip: testsrc2 at `rate` plus a sine, H.264 ultrafast + AAC; `extra` goes before the output.
fn make(ws: &Workspace, rel: &str, size: &str, rate: &str, seconds: &str, extra: &[&str]) -> std::path::PathBuf {
    let p = ws.path(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let video = format!("testsrc2=size={size}:rate={rate}");
    let mut args = vec!["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"];
    args.extend(["-t", seconds, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]);
    args.extend(["-c:a", "aac", "-b:a", "64k"]);
    args.extend(extra);
    let out = p.to_string_lossy().into_owned();
    args.push(&out);
    ffmpeg(&args);
    p
}

/// A copy of `src` whose video carries a display matrix of `degrees` (ffmpeg 5.1's `rotate` tag).
fn rotated(ws: &Workspace, src: &Path, rel: &str, degrees: u32) {
    let out = ws.path(rel).to_string_lossy().into_owned();
    let tag = format!("rotate={degrees}");
    ffmpeg(&["-i", &src.to_string_lossy(), "-c", "copy", "-metadata:s:v:0", &tag, &out]);
}

fn manifest(sources: &str, profiles: &str, renditions: &str) -> String {
    format!(
        "version: 1\noutput_dir: out\nencoding: {{gop_seconds: 1}}\nsources:\n{sources}profiles:\n  video:\n{profiles}  audio:\n    aac64: {{codec: aac, bitrate: 64k, channels: 2, sample_rate: 48000}}\noutputs:\n  hls: {{renditions: [{renditions}], audio: aac64, segment_seconds: 1}}\n  dash: {{renditions: [{renditions}], audio: aac64, segment_seconds: 1}}\n"
    )
}

/// RESOLUTION of every variant of a master playlist.
fn resolutions(ws: &Workspace, master: &str) -> Vec<String> {
    let m = parse_master(&ws.read(master));
    m.variants.iter().map(|v| attr(&v.attrs, "RESOLUTION").unwrap_or("none").to_string()).collect()
}

/// The seconds in "its media lasts 1.93s".
fn measured_in(text: &str) -> f64 {
    let after = text.split("its media lasts ").nth(1).unwrap_or_else(|| panic!("no measured duration in:\n{text}"));
    after.split('s').next().unwrap().parse().unwrap()
}

#[test]
fn truncated_front_moov_source_fails_naming_both_durations_or_builds_leniently_with_a_warning() {
    let ws = Workspace::new();
    let full = make(&ws, "full.mp4", "160x120", "30", "3", &["-movflags", "+faststart"]);
    let bytes = std::fs::read(&full).unwrap();
    ws.write("media/cut.mp4", &bytes[..bytes.len() * 65 / 100]);
    let profiles = "    120p: {codec: h264, height: 120, bitrate: 150k, preset: ultrafast}\n";
    let source = "  - path: media/cut.mp4\n";
    ws.write_manifest(&manifest(source, profiles, "120p"));

    let strict = ws.vodbuild(&["run", "pipeline.yaml"]).assert_code(BUILD_FAILED);
    let e = &strict.stderr;
    assert!(e.contains("media/cut") && e.contains("truncated"), "the error names the source\n{}", strict.describe());
    assert!(e.contains("declares 3.00s"), "the error gives the declared duration\n{}", strict.describe());
    let measured = measured_in(e);
    assert!((1.0..2.7).contains(&measured), "measured {measured}s of a 65% copy of 3 s\n{}", strict.describe());
    assert!(!ws.path("out/media/cut/hls").exists(), "nothing is packaged from a truncated source");
    assert!(!ws.path(".vodbuild/pipeline.yaml/work/media/cut/120p.mp4").exists(), "nothing is encoded from it");

    // Per source: lenient builds what can be read, and says so.
    ws.write_manifest(&manifest("  - path: media/cut.mp4\n    source_checks: lenient\n", profiles, "120p"));
    let lenient = ws.vodbuild(&["run", "pipeline.yaml", "--json"]).success();
    assert!(lenient.stderr.contains("truncated"), "lenient warns\n{}", lenient.describe());
    assert!((measured_in(&lenient.stderr) - measured).abs() < 0.01, "{}", lenient.describe());
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "the lenient package matches the measured duration\n{}", out.describe());
    let (pl, _) = common::media::media_files(&ws.path("out/media/cut/hls/120p/index.m3u8"));
    assert!((pl.total() - measured).abs() < 0.5, "package lasts {} for {measured}s of media", pl.total());

    // Top level: the same setting, so nothing runs again.
    let top = format!("source_checks: lenient\n{}", manifest(source, profiles, "120p"));
    ws.write_manifest(&top);
    let again = ws.run_ok();
    assert!(with_status(&again, "executed").is_empty(), "same check, same keys: {again:#}");
}

#[test]
fn rotated_sources_give_portrait_renditions_and_verify_fails_a_squashed_package() {
    let ws = Workspace::new();
    let flat = make(&ws, "media/flat.mp4", "1280x720", "30", "1", &[]);
    rotated(&ws, &flat, "media/r90.mp4", 90);
    rotated(&ws, &flat, "media/r270.mp4", 270);
    let profiles = "    360p: {codec: h264, height: 360, bitrate: 300k, preset: ultrafast}\n";
    ws.write_manifest(&manifest("  - glob: \"media/*.mp4\"\n", profiles, "360p"));
    ws.run_ok();
    for id in ["r90", "r270"] {
        assert_eq!(resolutions(&ws, &format!("out/media/{id}/hls/master.m3u8")), ["202x360"], "{id}");
        let enc = ws.path(&format!(".vodbuild/pipeline.yaml/work/media/{id}/360p.mp4"));
        assert_eq!(video_size(&enc), (202, 360), "{id}: 9:16 at height 360, width 202.5 rounded to even");
        assert_eq!(ffprobe_stream(&enc, "sample_aspect_ratio"), "1:1", "{id}: square pixels");
    }
    assert_eq!(resolutions(&ws, "out/media/flat/hls/master.m3u8"), ["640x360"]);
    let mpd = ws.read("out/media/r90/dash/manifest.mpd");
    assert!(mpd.contains("width=\"202\"") && mpd.contains("height=\"360\""), "{mpd}");
    let ok = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(ok.code, SUCCESS, "{}", ok.describe());

    // Squash: the landscape package in place of the rotated source's.
    for pkg in ["hls", "dash"] {
        let (from, to) = (ws.path(&format!("out/media/flat/{pkg}")), ws.path(&format!("out/media/r90/{pkg}")));
        std::fs::remove_dir_all(&to).unwrap();
        copy_dir(&from, &to);
    }
    let bad = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    let lines: Vec<&str> = bad.stdout.lines().filter(|l| l.contains("aspect")).collect();
    assert!(lines.iter().any(|l| l.contains("r90/hls/master.m3u8") && l.contains("640x360")), "{}", bad.describe());
    assert!(lines.iter().any(|l| l.contains("r90/dash/manifest.mpd")), "{}", bad.describe());
    assert!(!bad.stdout.contains("r270") && !bad.stdout.contains("flat/"), "only the squashed package\n{}", bad.stdout);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// `idet`'s multi-frame counts of a file: (interlaced, progressive).
fn idet(file: &Path) -> (u64, u64) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(file)
        .args(["-vf", "idet", "-f", "null", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.contains("Multi frame detection")).unwrap_or_else(|| panic!("no idet: {err}"));
    let count = |k: &str| -> u64 {
        line.split(k).nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap()
    };
    (count("TFF:") + count("BFF:"), count("Progressive:"))
}

#[test]
fn interlaced_source_is_deinterlaced_and_ntsc_rate_capped_to_29_97() {
    let ws = Workspace::new();
    // 50 fields/s of moving picture woven into 25 interlaced frames, flagged top field first.
    let il = ["-vf", "interlace=scan=tff", "-flags", "+ildct+ilme", "-top", "1"];
    let src = make(&ws, "media/il.mp4", "320x240", "50", "2", &il);
    assert_eq!(ffprobe_stream(&src, "field_order"), "tt");
    let (combed, _) = idet(&src);
    assert!(combed > 30, "the source is visibly interlaced ({combed} frames)");
    make(&ws, "media/ntsc.mp4", "320x240", "60000/1001", "2", &[]);
    // Same height as the sources: no vertical scaling that could hide combing.
    let profiles = "    240p: {codec: h264, height: 240, bitrate: 400k, preset: ultrafast, max_frame_rate: 30}\n";
    ws.write_manifest(&manifest("  - glob: \"media/*.mp4\"\n", profiles, "240p"));
    ws.run_ok();

    let (combed, progressive) = idet(&ws.path(".vodbuild/pipeline.yaml/work/media/il/240p.mp4"));
    assert!(progressive > 4 * combed.max(1), "deinterlaced before scaling: {combed} combed, {progressive} progressive");
    let ntsc = ws.path(".vodbuild/pipeline.yaml/work/media/ntsc/240p.mp4");
    assert_eq!(ffprobe_stream(&ntsc, "avg_frame_rate"), "30000/1001", "59.94 capped at 30 is 29.97");
    let master = parse_master(&ws.read("out/media/ntsc/hls/master.m3u8"));
    assert_eq!(attr(&master.variants[0].attrs, "FRAME-RATE"), Some("29.970"));
    let ok = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(ok.code, SUCCESS, "{}", ok.describe());
}

/// pipelines/web-h264.yaml with its glob replaced by `sources`.
fn web_h264(sources: &str, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/web-h264.yaml")).unwrap();
    let line = text.lines().find(|l| l.contains("- glob:")).expect("web-h264.yaml has a glob source").to_string();
    edit(text.replace(&format!("{line}\n"), sources))
}

fn skipped(plan: &Value) -> Vec<(String, String)> {
    let list = plan["skipped"].as_array().unwrap_or_else(|| panic!("no `skipped` in {plan:#}"));
    list.iter().map(|s| (s["id"].as_str().unwrap().to_string(), s["reason"].as_str().unwrap().to_string())).collect()
}

#[test]
fn small_source_skips_taller_rungs_of_web_h264_unless_upscaled_or_listed() {
    let ws = Workspace::new();
    make(&ws, "media/small.mp4", "640x360", "30", "2", &[]);
    let src = "  - path: media/small.mp4\n";
    ws.write_manifest(&web_h264(src, |t| t));
    let plan = ws.plan_ok();
    let reasons = skipped(&plan);
    let ids: Vec<&str> = reasons.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["encode:media/small:1080p", "encode:media/small:720p", "encode:media/small:540p"]);
    assert_eq!(reasons[0].1, "skipped: source is 640x360, below 1080p");
    let p = planned(&plan);
    assert!(p.contains("encode:media/small:360p") && !p.iter().any(|s| s.contains("1080p") || s.contains("540p")));
    let text = ws.vodbuild(&["plan", "pipeline.yaml"]).success().stdout;
    assert!(text.contains("skipped: source is 640x360, below 720p"), "{text}");

    let run = ws.run_ok();
    assert!(!with_status(&run, "executed").iter().any(|s| s.contains("720p")), "{run:#}");
    assert_eq!(resolutions(&ws, "out/media/small/hls/master.m3u8"), ["640x360"], "only built rungs are listed");
    let mpd = ws.read("out/media/small/dash/manifest.mpd");
    assert!(mpd.contains("height=\"360\"") && !mpd.contains("height=\"540\""), "{mpd}");
    assert_eq!(mpd.matches("<Representation").count(), 2, "one video and one audio representation:\n{mpd}");
    assert!(!ws.path(".vodbuild/pipeline.yaml/work/media/small/1080p.mp4").exists());
    let ok = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(ok.code, SUCCESS, "{}", ok.describe());

    // `upscale: true` on a profile builds it anyway; nothing else re-encodes.
    ws.write_manifest(&web_h264(src, |t| t.replace("    540p:", "    540p:\n      upscale: true")));
    let run = ws.run_ok();
    let ran = with_status(&run, "executed");
    assert!(ran.contains("encode:media/small:540p") && !ran.contains("encode:media/small:360p"), "{run:#}");
    assert_eq!(resolutions(&ws, "out/media/small/hls/master.m3u8"), ["960x540", "640x360"]);

    // Per source: an explicit list, or exclusions (never leaving a package without video).
    ws.write_manifest(&web_h264("  - path: media/small.mp4\n    renditions: [720p, 360p]\n", |t| t));
    let p = planned(&ws.plan_ok());
    assert!(p.contains("encode:media/small:720p") && !p.contains("encode:media/small:540p"), "{p:?}");
    ws.write_manifest(&web_h264("  - path: media/small.mp4\n    exclude: [360p]\n", |t| t));
    let plan = ws.plan_ok();
    let ids: Vec<String> = skipped(&plan).into_iter().map(|(id, _)| id).collect();
    assert!(ids.contains(&"encode:media/small:360p".into()) && !ids.contains(&"encode:media/small:540p".into()));
}

/// An anamorphic source (320x180 stored, sample aspect 4:3, shown 427x180) gives thumbnails of
/// its displayed aspect, 160x66 (not the squashed 160x90 of its stored size), while a
/// square-pixel source keeps its stored aspect.
#[test]
fn anamorphic_sources_give_thumbnails_of_their_displayed_aspect() {
    let ws = Workspace::new();
    make(&ws, "media/wide.mp4", "320x180", "30", "2", &["-vf", "setsar=4/3"]);
    make(&ws, "media/square.mp4", "320x180", "30", "2", &[]);
    let profiles = "    180p: {codec: h264, height: 180, bitrate: 300k, preset: ultrafast}\n";
    let yaml = manifest("  - glob: \"media/*.mp4\"\n", profiles, "180p")
        + "  thumbnails: {interval: 1, width: 160, format: jpg}\n";
    ws.write_manifest(&yaml);
    ws.run_ok();
    for (id, size) in [("wide", "160,66"), ("square", "160,90")] {
        let thumb = ws.path(&format!("out/media/{id}/thumbnails/thumb_00001.jpg"));
        assert_eq!(ffprobe_stream(&thumb, "width,height"), size, "{id}'s thumbnail");
    }
}
