//! What the packages contain: master playlist attributes, aligned keyframes
//! and segments, MPDs that name only existing files, the output layout, and
//! how a broken source fails.

use crate::common;

use common::media::{self, attr};
use common::*;
use vodbuild::exit_codes::BUILD_FAILED;

const SECONDS: f64 = 5.0;

fn built() -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", SECONDS, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    ws
}

#[test]
fn hls_master_playlist_declares_codecs_resolution_bandwidth() {
    let ws = built();
    let master = media::parse_master(&ws.read("out/media/a/hls/master.m3u8"));
    assert_eq!(master.variants.len(), 2, "one variant per rendition");
    let mut resolutions = Vec::new();
    let mut by_res = Vec::new();
    for v in &master.variants {
        let codecs = attr(&v.attrs, "CODECS").expect("CODECS on every STREAM-INF");
        let res = attr(&v.attrs, "RESOLUTION").expect("RESOLUTION on every STREAM-INF");
        let bw: u64 = attr(&v.attrs, "BANDWIDTH")
            .expect("BANDWIDTH on every STREAM-INF")
            .parse()
            .expect("BANDWIDTH is an integer");
        assert!(codecs.contains("avc1."), "video codec in CODECS: {codecs}");
        // CODECS lists every codec of the variant, including its audio group.
        assert!(codecs.contains("mp4a.40.2"), "AAC-LC in CODECS: {codecs}");
        assert!(bw > 0);
        if let Some(avg) = attr(&v.attrs, "AVERAGE-BANDWIDTH") {
            assert!(avg.parse::<u64>().unwrap() <= bw, "AVERAGE-BANDWIDTH > BANDWIDTH");
        }
        resolutions.push(res.to_string());
        by_res.push((res.to_string(), bw));
    }
    resolutions.sort();
    assert_eq!(resolutions, ["160x90", "256x144"]);
    by_res.sort_by_key(|(_, bw)| *bw);
    assert_eq!(by_res[1].0, "256x144", "the bigger rung needs more bandwidth");

    // Audio in its own group, referenced by every variant.
    let audio: Vec<_> = master.media.iter().filter(|m| attr(m, "TYPE") == Some("AUDIO")).collect();
    assert_eq!(audio.len(), 1, "one audio rendition");
    let group = attr(audio[0], "GROUP-ID").expect("GROUP-ID");
    for v in &master.variants {
        assert_eq!(attr(&v.attrs, "AUDIO"), Some(group));
    }
    assert_outputs_valid(&ws, "media/a", SECONDS);
}

#[test]
fn renditions_have_aligned_keyframes_and_segments() {
    let ws = built();
    let gop = 2.0;
    let mut all = Vec::new();
    for rung in ["144p", "90p"] {
        let work = ws.path(&format!(".vodbuild/pipeline.yaml/work/media/a/{rung}.mp4"));
        let times = media::keyframe_times(&work);
        for t in &times {
            let off = (t / gop - (t / gop).round()).abs() * gop;
            assert!(off < 0.02, "{rung}: keyframe at {t} s is off the {gop} s grid: {times:?}");
        }
        assert_eq!(times.len(), 3, "{rung}: keyframes at 0, 2, 4 only: {times:?}");
        all.push(times);
    }
    assert_eq!(all[0].len(), all[1].len());
    for (a, b) in all[0].iter().zip(&all[1]) {
        assert!((a - b).abs() < 0.001, "keyframes differ: {all:?}");
    }

    let durations: Vec<Vec<f64>> = ["144p", "90p"]
        .iter()
        .map(|r| {
            let p = ws.path(&format!("out/media/a/hls/{r}/index.m3u8"));
            let (pl, _) = media::media_files(&p);
            pl.segments.iter().map(|(d, _)| *d).collect()
        })
        .collect();
    assert_eq!(durations[0].len(), 3, "5 s in 2 s segments: {durations:?}");
    for (a, b) in durations[0].iter().zip(&durations[1]) {
        assert!((a - b).abs() < 0.01, "segment boundaries differ: {durations:?}");
    }
}

#[test]
fn ntsc_frame_rate_keyframes_stay_on_the_gop_grid() {
    // 29.97 fps: 2 s is not a whole number of frames; keyframes must still sit
    // on the frame nearest each 2 s boundary, identically in every rendition.
    let ws = Workspace::new();
    let src = ws.path("media/ntsc.mp4");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    let st = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30000/1001"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "7"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    ws.write_manifest(SMALL);
    ws.run_ok();
    let frame = 1001.0 / 30000.0;
    let mut all = Vec::new();
    for rung in ["144p", "90p"] {
        let times = media::keyframe_times(&ws.path(&format!(".vodbuild/pipeline.yaml/work/media/ntsc/{rung}.mp4")));
        for t in &times {
            let off = (t / 2.0 - (t / 2.0).round()).abs() * 2.0;
            assert!(off <= frame / 2.0 + 1e-3, "{rung}: keyframe at {t} s off the 2 s grid: {times:?}");
        }
        assert_eq!(times.len(), 4, "{rung}: keyframes near 0, 2, 4, 6: {times:?}");
        all.push(times);
    }
    assert_eq!(all[0], all[1], "renditions disagree on keyframes");
    assert_outputs_valid(&ws, "media/ntsc", 7.0);
}

#[test]
fn mpd_names_only_existing_segments() {
    let ws = built();
    let text = ws.read("out/media/a/dash/manifest.mpd");
    let reps = mpd::representations(&text);
    let video: Vec<_> = reps.iter().filter(|r| r.content_type == "video").collect();
    let audio: Vec<_> = reps.iter().filter(|r| r.content_type == "audio").collect();
    assert_eq!(video.len(), 2, "{reps:#?}");
    assert_eq!(audio.len(), 1, "{reps:#?}");
    for r in &reps {
        assert!(r.bandwidth > 0, "{r:?}");
        let want = if r.content_type == "video" { "avc1." } else { "mp4a.40.2" };
        assert!(r.codecs.starts_with(want), "codecs of {}: {}", r.id, r.codecs);
        for f in &r.files {
            assert!(ws.path(&format!("out/media/a/dash/{f}")).is_file(), "MPD names {f}, which does not exist");
        }
        assert!((r.seconds - SECONDS).abs() < 0.5, "{r:?}");
    }
    let files = ws.files_under("out/media/a/dash");
    let named = |prefix: &str| files.iter().any(|f| f.contains(&format!("dash/{prefix}")));
    assert!(named("init-") && named("chunk-"), "layout init-*/chunk-*: {files:?}");
}

#[test]
fn layout_explicit_id_env_substitution_ts_audio_only_thumbnails() {
    let ws = Workspace::new();
    ws.make_source("media/src.mp4", 4.0, "320x180");
    ws.write_manifest(
        r#"version: 1
output_dir: ${OUT_DIR:-out}
encoding:
  gop_seconds: 2
sources:
  - path: media/src.mp4
    id: clip
profiles:
  video:
    144p: {codec: h264, height: 144, bitrate: ${VB:-200k}, preset: ultrafast}
  audio:
    aac64: {codec: aac, bitrate: 64k, channels: 2, sample_rate: 48000}
outputs:
  hls: {renditions: [144p], audio: aac64, segment_seconds: 2, segment_type: ts}
  dash: {renditions: [144p], audio: aac64, segment_seconds: 2}
  thumbnails: {count: 3, width: 64, format: jpg}
  audio_only: {format: aac, bitrate: 64k}
  metadata: true
"#,
    );
    let run = ws.run_ok_env(&[("OUT_DIR", "public")]);
    assert!(executed(&run).contains("audio_only:clip"), "{run:#}");
    assert!(!ws.path("out").exists(), "${{OUT_DIR}} was not substituted");
    for f in [
        "public/clip/hls/master.m3u8",
        "public/clip/hls/144p/index.m3u8",
        "public/clip/hls/aac64/index.m3u8",
        "public/clip/dash/manifest.mpd",
        "public/clip/metadata.json",
        "public/clip/audio_only/audio.m4a",
        ".vodbuild/pipeline.yaml/work/clip/144p.mp4",
    ] {
        assert!(ws.path(f).is_file(), "missing {f}");
    }
    let segs = ws.files_under("public/clip/hls/144p");
    assert!(segs.iter().any(|f| f.ends_with(".ts")), "ts segments: {segs:?}");
    let thumbs = ws.files_under("public/clip/thumbnails");
    assert_eq!(thumbs, [1, 2, 3].map(|i| format!("public/clip/thumbnails/thumb_{i:05}.jpg")), "count: 3 thumbnails");
    for t in &thumbs {
        assert_eq!(media::video_size(&ws.path(t)), (64, 36), "{t}");
    }
    let meta: serde_json::Value =
        serde_json::from_str(&ws.read("public/clip/metadata.json")).expect("metadata is JSON");
    assert!(meta.is_object(), "{meta:#}");
    let d = media::duration(&ws.path("public/clip/audio_only/audio.m4a"));
    assert!((d - 4.0).abs() < 0.5, "audio_only lasts {d}");
    assert_outputs_valid_in(&ws, "public", "clip", 4.0);

    // The same manifest without OUT_DIR is another output place: all new.
    let plan = ws.plan_ok();
    assert!(!planned(&plan).is_empty(), "{plan:#}");
}

#[test]
fn broken_source_fails_with_exit_1_and_keep_going_builds_the_rest() {
    let ws = Workspace::new();
    ws.make_source("media/good.mp4", 2.0, "160x90");
    ws.write("media/bad.mp4", b"this is not a video file\n".repeat(100));
    ws.write_manifest(SMALL);

    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--keep-going"]).assert_code(BUILD_FAILED);
    let run = out.json();
    let failed = with_status(&run, "failed");
    assert!(!failed.is_empty(), "{run:#}");
    assert_eq!(run["failed"].as_u64(), Some(failed.len() as u64));
    for id in &failed {
        assert_eq!(source_of(&run, id), "media/bad", "{run:#}");
    }
    for id in small_steps("media/good") {
        assert_eq!(step(&run, &id)["status"], "executed", "{run:#}");
    }
    assert_eq!(step(&run, "hls:media/bad")["status"], "skipped", "{run:#}");
    assert!(ws.path("out/media/good/hls/master.m3u8").is_file());
    assert!(!ws.path("out/media/bad/hls/master.m3u8").exists());

    // Without --keep-going the run still fails with 1, and never panics.
    std::fs::remove_dir_all(ws.path("out")).ok();
    // The human-readable error names the source.
    let out = ws.vodbuild(&["run", "pipeline.yaml"]).assert_code(BUILD_FAILED);
    assert!(out.stderr.contains("media/bad"), "name the source\n{}", out.describe());
}
