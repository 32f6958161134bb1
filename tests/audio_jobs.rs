//! Audio is its own job: a source without audio builds its video renditions and packages
//! without an audio group (skipped audio steps named in the run, the plan and
//! metadata.json), an audio encode that fails never fails a video rendition, and the video
//! rungs of a source still share one ffmpeg (one decode).

use crate::common;

use common::{
    Manifest, SMALL, Workspace, assert_outputs_valid, executed, media, mpd, reason, with_status, write_executable,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use vodbuild::exit_codes::BUILD_FAILED;

/// SMALL plus an `audio_only` output.
fn manifest() -> String {
    Manifest::small().output("audio_only", &[("format", "aac"), ("bitrate", "64k")]).yaml()
}

/// A 2 s 320x180 source with a video stream and no audio stream.
fn make_silent(ws: &Workspace, rel: &str) {
    let p = ws.path(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30"])
        .args(["-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .arg(&p)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
}

/// Ids of the steps a run or plan JSON lists under `status` with `reason`.
fn with_reason(run: &Value, status: &str, why: &str) -> BTreeSet<String> {
    with_status(run, status).into_iter().filter(|id| reason(run, id) == why).collect()
}

fn ids(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The silent source's packages have no audio group; the normal one's have one.
fn assert_packages(ws: &Workspace) {
    let silent = ws.read("out/media/silent/hls/master.m3u8");
    assert!(!silent.contains("#EXT-X-MEDIA") && !silent.contains("AUDIO="), "audio group in:\n{silent}");
    let parsed = media::parse_master(&silent);
    assert_eq!(parsed.variants.len(), 2, "{silent}");
    for v in &parsed.variants {
        let codecs = media::attr(&v.attrs, "CODECS").unwrap_or("");
        assert!(codecs.starts_with("avc1.") && !codecs.contains(','), "video-only CODECS expected: {silent}");
    }
    let normal = ws.read("out/media/a/hls/master.m3u8");
    assert!(normal.contains("#EXT-X-MEDIA:TYPE=AUDIO") && normal.contains("AUDIO=\"audio\""), "{normal}");

    let reps = mpd::representations(&ws.read("out/media/silent/dash/manifest.mpd"));
    let types: Vec<&str> = reps.iter().map(|r| r.content_type.as_str()).collect();
    assert_eq!(types, ["video", "video"], "silent MPD representations");
    let reps = mpd::representations(&ws.read("out/media/a/dash/manifest.mpd"));
    assert!(reps.iter().any(|r| r.content_type == "audio"), "normal MPD lacks audio: {reps:?}");

    assert_outputs_valid(ws, "media/silent", 2.0);
    assert_outputs_valid(ws, "media/a", 2.0);
}

/// One normal and one silent source in one glob, packaged by `packager`.
fn silent_beside_normal(packager: &str) {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    make_silent(&ws, "media/silent.mp4");
    let yaml = manifest()
        .replace("segment_type: fmp4}", &format!("segment_type: fmp4, packager: {packager}}}"))
        .replace("segment_seconds: 2}", &format!("segment_seconds: 2, packager: {packager}}}"));
    ws.write_manifest(&yaml);

    let run = ws.run_ok();
    let skipped = ids(&["encode:media/silent:aac64", "audio_only:media/silent"]);
    assert_eq!(with_reason(&run, "skipped", "source has no audio"), skipped, "{run:#}");
    assert_eq!(with_status(&run, "skipped"), skipped, "nothing else is skipped: {run:#}");
    assert_eq!(run["failed"], 0);
    let ran = executed(&run);
    for id in ["encode:media/silent:144p", "encode:media/silent:90p", "hls:media/silent", "dash:media/silent"] {
        assert!(ran.contains(id), "{id} must be built: {ran:?}");
    }
    for id in ["encode:media/a:aac64", "audio_only:media/a", "hls:media/a", "dash:media/a"] {
        assert!(ran.contains(id), "{id} must be built: {ran:?}");
    }
    assert!(!ws.path("out/media/silent/audio_only").exists(), "no audio_only folder for a silent source");
    assert!(ws.path("out/media/a/audio_only/audio.m4a").is_file());
    assert_packages(&ws);

    let meta: Value = serde_json::from_str(&ws.read("out/media/silent/metadata.json")).unwrap();
    assert_eq!(meta["source"]["has_audio"], false, "{meta:#}");
    assert!(meta["source"]["audio"].is_null(), "{meta:#}");
    let meta: Value = serde_json::from_str(&ws.read("out/media/a/metadata.json")).unwrap();
    assert_eq!(meta["source"]["has_audio"], true, "{meta:#}");

    ws.vodbuild(&["verify", "pipeline.yaml"]).success();

    // The plan says so, and a rerun has nothing to do.
    let plan = ws.plan_ok();
    assert_eq!(plan["summary"]["stale"], 0, "{plan:#}");
    let listed: BTreeSet<String> = plan["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason"] == "skipped: source has no audio")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, skipped, "{plan:#}");
    let text = ws.vodbuild(&["plan", "pipeline.yaml"]).success().stdout;
    assert!(text.contains("encode:media/silent:aac64  skipped: source has no audio"), "{text}");
    let status = ws.vodbuild(&["status", "pipeline.yaml"]).success().stdout;
    assert!(status.contains("media/silent: up to date"), "{status}");
    let again = ws.run_ok();
    assert!(executed(&again).is_empty(), "{again:#}");
    assert_eq!(with_status(&again, "skipped"), skipped);

    // Without its probe.json, the skip waits for the probe to be rebuilt (byte-identical).
    std::fs::remove_file(ws.path(".vodbuild/pipeline.yaml/work/media/silent/probe.json")).unwrap();
    let again = ws.run_ok();
    assert_eq!(executed(&again), ids(&["probe:media/silent"]), "{again:#}");
    assert_eq!(with_status(&again, "skipped"), skipped);
}

#[test]
fn silent_source_beside_a_normal_one_builds_video_only_packages() {
    silent_beside_normal("ffmpeg");
}

#[test]
fn silent_source_packaged_by_shaka_has_no_audio_group() {
    silent_beside_normal("shaka");
}

/// An ffmpeg wrapper that logs each invocation's arguments and, when `fail_audio`, refuses
/// AAC encodes.
fn ffmpeg_wrapper(ws: &Workspace, fail_audio: bool) -> String {
    let real = common::which("ffmpeg");
    let log = ws.path("ffmpeg-calls.log");
    let refuse = if fail_audio {
        "case \" $* \" in *\" -c:a aac \"*) echo 'test wrapper: audio encoder refused' >&2; exit 1;; esac\n"
    } else {
        ""
    };
    let script = format!("#!/bin/sh\necho \"$*\" >> '{}'\n{refuse}exec '{}' \"$@\"\n", log.display(), real.display());
    let p = ws.path("ffmpeg-wrapper");
    write_executable(&p, &script);
    p.to_string_lossy().into_owned()
}

#[test]
fn video_rungs_share_one_ffmpeg_and_audio_runs_alone() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    let wrapper = ffmpeg_wrapper(&ws, false);
    ws.run_ok_env(&[("VODBUILD_FFMPEG", &wrapper)]);
    let calls = ws.read("ffmpeg-calls.log");
    let video: Vec<&str> = calls.lines().filter(|l| l.contains("-c:v libx264")).collect();
    assert_eq!(video.len(), 1, "one ffmpeg for both video rungs:\n{calls}");
    assert!(video[0].contains("144p.mp4") && video[0].contains("90p.mp4"), "{}", video[0]);
    assert!(!video[0].contains("-c:a"), "the video job carries no audio: {}", video[0]);
    let audio: Vec<&str> = calls.lines().filter(|l| l.contains("-c:a aac")).collect();
    assert_eq!(audio.len(), 1, "one audio encode:\n{calls}");
    assert!(!audio[0].contains("-c:v") && audio[0].contains("aac64.mp4"), "{}", audio[0]);
}

#[test]
fn failing_audio_encode_never_fails_a_video_rendition() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    let wrapper = ffmpeg_wrapper(&ws, true);
    let out = ws
        .vodbuild_env(&["run", "pipeline.yaml", "--json"], &[("VODBUILD_FFMPEG", &wrapper)])
        .assert_code(BUILD_FAILED);
    let run = out.json();
    assert_eq!(with_status(&run, "failed"), ids(&["encode:media/a:aac64"]), "{run:#}");
    let err = common::step(&run, "encode:media/a:aac64")["error"].as_str().unwrap_or("").to_string();
    assert!(err.contains("audio encoder refused"), "the error names the cause: {err}");
    let ran = executed(&run);
    for id in ["encode:media/a:144p", "encode:media/a:90p"] {
        assert!(ran.contains(id), "{id} is built and recorded despite the audio failure: {run:#}");
    }
    for id in ["hls:media/a", "dash:media/a"] {
        assert_eq!(reason(&run, id), "upstream failed: encode:media/a:aac64", "{run:#}");
    }

    // With a working encoder, only the audio and what needs it run: the video is recorded.
    let again = ws.run_ok();
    let ran = executed(&again);
    assert!(ran.iter().all(|id| !id.ends_with(":144p") && !id.ends_with(":90p")), "video re-encoded: {ran:?}");
    for id in ["encode:media/a:aac64", "hls:media/a", "dash:media/a", "metadata:media/a"] {
        assert!(ran.contains(id), "{id} must run: {ran:?}");
    }
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

/// A workspace built by a vodbuild before this change (metadata recipe 1): the upgrade
/// re-runs only the metadata steps (they gained `has_audio`); encodes and packages stay fresh.
#[test]
fn upgrade_reruns_only_metadata() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    let path = ws.path(".vodbuild/pipeline.yaml/state.json");
    let mut state: Value = serde_json::from_str(&ws.read(".vodbuild/pipeline.yaml/state.json")).unwrap();
    let mut downgraded = 0;
    for rec in state["steps"].as_object_mut().expect("steps in state.json").values_mut() {
        if rec["kind"] == "metadata" {
            rec["recipe"] = 1.into();
            downgraded += 1;
        }
    }
    assert_eq!(downgraded, 1, "{state:#}");
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();

    let plan = ws.plan_ok();
    assert_eq!(common::planned(&plan), ids(&["metadata:media/a"]), "{plan:#}");
    assert_eq!(reason(&plan, "metadata:media/a"), "recipe changed: vodbuild's metadata v1 -> v2");
    assert_eq!(executed(&ws.run_ok()), ids(&["metadata:media/a"]));
}

/// Publishing a silent source: the `audio_only` publish step is skipped too, the packages
/// are published.
#[test]
fn silent_source_publishes_without_audio_only() {
    let ws = Workspace::new();
    make_silent(&ws, "media/silent.mp4");
    let root = ws.path("published");
    let yaml = format!(
        "{}storage:\n  disk: {{service: fs, root: {}}}\npublish: {{to: disk, prefix: \"{{source}}/\"}}\n",
        manifest(),
        root.display()
    );
    ws.write_manifest(&yaml);
    let run = ws.run_ok();
    let skipped = ids(&["encode:media/silent:aac64", "audio_only:media/silent", "publish_audio_only:media/silent"]);
    assert_eq!(with_reason(&run, "skipped", "source has no audio"), skipped, "{run:#}");
    assert!(executed(&run).contains("publish_hls:media/silent"), "{run:#}");
    assert!(root.join("media/silent/hls/master.m3u8").is_file());
    assert!(root.join("media/silent/metadata.json").is_file());
    assert!(!root.join("media/silent/audio_only").exists());
    assert!(executed(&ws.run_ok()).is_empty());
}
