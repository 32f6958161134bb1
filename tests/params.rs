//! Incremental rebuilds driven by the manifest and the tools: one rung's
//! parameters, packaging-only options, a different ffmpeg.

use crate::common;

use common::media;
use common::*;
use std::collections::BTreeSet;

#[test]
fn changing_one_bitrate_reencodes_only_that_rung() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.make_source_with("media/b.mp4", 2.0, "320x180", 550, false);
    ws.write_manifest(SMALL);
    ws.run_ok();

    ws.write_manifest(&Manifest::small().video_field("144p", "bitrate", "300k").yaml());

    let mut required = BTreeSet::new();
    let mut optional = BTreeSet::new();
    for src in ["media/a", "media/b"] {
        required.insert(format!("encode:{src}:144p"));
        required.insert(format!("hls:{src}"));
        required.insert(format!("dash:{src}"));
        optional.insert(format!("metadata:{src}"));
    }
    let plan = ws.plan_ok();
    let stale = planned(&plan);
    assert_steps("plan", &stale, &required, &optional);
    for src in ["media/a", "media/b"] {
        let r = reason(&plan, &format!("encode:{src}:144p"));
        assert!(r.starts_with("params changed") && r.contains("144p"), "reason for encode:{src}:144p: {r:?}");
    }

    let run = ws.run_ok();
    let ran = executed(&run);
    assert_steps("run", &ran, &required, &optional);
    assert_eq!(ran, stale, "run executed something other than the plan");
    assert!(!ran.iter().any(|id| id.ends_with(":90p") || id.ends_with(":aac64")));

    let again = ws.run_ok();
    assert_eq!(executed(&again), BTreeSet::new(), "{again:#}");
}

#[test]
fn packaging_only_change_does_not_reencode() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 4.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    let (before, _) = media::media_files(&ws.path("out/media/a/hls/144p/index.m3u8"));
    assert_eq!(before.segments.len(), 2, "4 s in 2 s segments");

    ws.write_manifest(&Manifest::small().output_field("hls", "segment_seconds", "4").yaml());

    let required = set(&["hls:media/a"]);
    let optional = set(&["metadata:media/a"]);
    let plan = ws.plan_ok();
    assert_steps("plan", &planned(&plan), &required, &optional);
    assert!(reason(&plan, "hls:media/a").starts_with("params changed"), "{plan:#}");
    let run = ws.run_ok();
    let ran = executed(&run);
    assert_steps("run", &ran, &required, &optional);
    assert!(!ran.iter().any(|id| id.starts_with("encode:")), "{ran:?}");

    let (after, files) = media::media_files(&ws.path("out/media/a/hls/144p/index.m3u8"));
    assert_eq!(after.segments.len(), 1, "4 s in one 4 s segment");
    assert_eq!(after.target_duration, Some(4.0));
    for f in files {
        assert!(f.is_file(), "playlist names missing {}", f.display());
    }
}

/// A wrapper that reports another version but encodes with the real ffmpeg.
fn fake_ffmpeg(ws: &Workspace) -> String {
    let real = which("ffmpeg");
    let path = ws.path("fakeffmpeg");
    let script = format!(
        r#"#!/bin/sh
for a in "$@"; do
  if [ "$a" = "-version" ]; then
    echo "ffmpeg version 9.9.9-test Copyright (c) 2000-2099 the FFmpeg developers"
    "{real}" -version | sed 1d
    exit 0
  fi
done
exec "{real}" "$@"
"#,
        real = real.display()
    );
    write_executable(&path, &script);
    path.to_string_lossy().into_owned()
}

#[test]
fn different_ffmpeg_version_makes_encodes_stale() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();

    let fake = fake_ffmpeg(&ws);
    let env = [("VODBUILD_FFMPEG", fake.as_str())];
    let plan = ws.plan_ok_env(&env);
    let stale = planned(&plan);
    let encodes: BTreeSet<String> = small_steps("media/a").into_iter().filter(|id| id.starts_with("encode:")).collect();
    assert!(encodes.is_subset(&stale), "every encode must be stale: {plan:#}");
    for id in &encodes {
        let r = reason(&plan, id);
        assert!(r.starts_with("tool changed") && r.contains("9.9.9"), "reason for {id}: {r:?}");
    }
    let run = ws.run_ok_env(&env);
    let ran = executed(&run);
    assert!(encodes.is_subset(&ran), "{run:#}");
    // Early cutoff may spare steps the plan listed as "upstream changed".
    assert!(ran.is_subset(&stale), "ran {ran:?}, planned {stale:?}");
    // The new fingerprint is recorded.
    let again = ws.run_ok_env(&env);
    assert_eq!(executed(&again), BTreeSet::new(), "{again:#}");
}

#[test]
fn manifest_tools_path_is_relative_to_manifest() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    fake_ffmpeg(&ws);
    ws.write_manifest(&Manifest::small().tool("ffmpeg", "./fakeffmpeg").yaml());
    let plan = ws.plan_ok();
    let r = reason(&plan, "encode:media/a:144p");
    assert!(r.starts_with("tool changed"), "{plan:#}");
}
