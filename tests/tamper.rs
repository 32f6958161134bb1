//! Outputs deleted or edited behind vodbuild's back are rebuilt by the step
//! that made them, and only by it.

use crate::common;

use common::*;
use std::collections::BTreeSet;

fn built() -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 4.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    ws
}

fn hls_segment(ws: &Workspace) -> String {
    ws.files_under("out/media/a/hls/144p")
        .into_iter()
        .find(|f| {
            let name = f.rsplit('/').next().unwrap();
            (name.ends_with(".m4s") || name.ends_with(".ts") || name.ends_with(".mp4")) && !name.contains("init")
        })
        .expect("an HLS media segment under out/media/a/hls/144p")
}

#[test]
fn deleted_segment_is_rebuilt_by_its_packaging_step() {
    let ws = built();
    let seg = hls_segment(&ws);
    std::fs::remove_file(ws.path(&seg)).unwrap();

    let plan = ws.plan_ok();
    let stale = planned(&plan);
    assert!(stale.contains("hls:media/a"), "{plan:#}");
    let r = reason(&plan, "hls:media/a");
    assert!(r.starts_with("output missing"), "reason: {r:?}");
    assert!(!stale.iter().any(|id| id.starts_with("encode:")), "a missing segment must not re-encode: {stale:?}");

    let run = ws.run_ok();
    let ran = executed(&run);
    assert_steps("run", &ran, &set(&["hls:media/a"]), &set(&["metadata:media/a"]));
    assert!(ws.path(&seg).is_file(), "{seg} not rebuilt");
    assert_eq!(executed(&ws.run_ok()), BTreeSet::new());
}

#[test]
fn deleted_dash_manifest_is_rebuilt() {
    let ws = built();
    std::fs::remove_file(ws.path("out/media/a/dash/manifest.mpd")).unwrap();
    let plan = ws.plan_ok();
    assert!(reason(&plan, "dash:media/a").starts_with("output missing"), "{plan:#}");
    let run = ws.run_ok();
    assert_steps("run", &executed(&run), &set(&["dash:media/a"]), &set(&["metadata:media/a"]));
    assert!(ws.path("out/media/a/dash/manifest.mpd").is_file());
}

#[test]
fn edited_thumbnail_is_rebuilt() {
    let ws = built();
    let thumb = "out/media/a/thumbnails/thumb_00001.jpg";
    let original = std::fs::read(ws.path(thumb)).expect("thumbnail 1 exists");
    let marker = b"--tampered--";
    let mut edited = original.clone();
    edited.extend_from_slice(marker);
    std::fs::write(ws.path(thumb), &edited).unwrap();

    let plan = ws.plan_ok();
    // The plan cannot know whether the rebuilt thumbnails will be identical,
    // so it may list metadata as "upstream changed"; the run may then cut it off.
    let stale = planned(&plan);
    assert_steps("plan", &stale, &set(&["thumbnails:media/a"]), &set(&["metadata:media/a"]));
    let r = reason(&plan, "thumbnails:media/a");
    assert!(r.starts_with("output modified"), "reason: {r:?}");
    if stale.contains("metadata:media/a") {
        assert!(reason(&plan, "metadata:media/a").starts_with("upstream changed"), "{plan:#}");
    }

    let run = ws.run_ok();
    assert_steps("run", &executed(&run), &set(&["thumbnails:media/a"]), &set(&["metadata:media/a"]));
    let now = std::fs::read(ws.path(thumb)).unwrap();
    assert!(!now.ends_with(marker), "edited thumbnail left in place");
    assert_eq!(executed(&ws.run_ok()), BTreeSet::new());
}

#[test]
fn deleted_intermediate_encode_is_rebuilt_when_needed() {
    // A work file (.vodbuild/pipeline.yaml/work/<id>/<rung>.mp4) only feeds packaging. Two
    // readings are sound: deleting it makes its encode stale ("output
    // missing"), or it is an intermediate rebuilt only when a consumer must
    // run. Either way, no packaging re-runs for it, and a later
    // packaging change re-creates it instead of failing.
    let ws = built();
    let work = ".vodbuild/pipeline.yaml/work/media/a/90p.mp4";
    assert!(ws.path(work).is_file(), "missing {work}");
    std::fs::remove_file(ws.path(work)).unwrap();

    let plan = ws.plan_ok();
    let stale = planned(&plan);
    assert_steps("plan", &stale, &BTreeSet::new(), &set(&["encode:media/a:90p"]));
    if !stale.is_empty() {
        assert!(reason(&plan, "encode:media/a:90p").starts_with("output missing"), "{plan:#}");
    }
    let run = ws.run_ok();
    assert_eq!(executed(&run), stale, "{run:#}");

    // Now packaging must run: the 90p encode has to exist again.
    ws.write_manifest(&Manifest::small().output_field("hls", "segment_seconds", "4").yaml());
    let plan = ws.plan_ok();
    let stale = planned(&plan);
    if ws.path(work).is_file() {
        assert!(!stale.contains("encode:media/a:90p"), "{plan:#}");
    } else {
        let r = reason(&plan, "encode:media/a:90p");
        assert!(r.starts_with("output missing"), "{plan:#}");
    }
    let run = ws.run_ok();
    assert!(executed(&run).contains("hls:media/a"), "{run:#}");
    assert!(ws.path(work).is_file(), "{work} not rebuilt for packaging");
    assert_outputs_valid(&ws, "media/a", 4.0);
    assert_eq!(executed(&ws.run_ok()), BTreeSet::new());
}
