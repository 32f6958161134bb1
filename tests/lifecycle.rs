//! `after_publish: {source: delete}`: a source is deleted only once every output of it is
//! published (to an `fs` backend here) and its packages verified; a failed publish or a
//! failed verify keeps it; once deleted, the rerun is a no-op, `plan` and `status` say
//! "source removed after publish", and `run --prune` keeps what it published.

use crate::common;

use common::{Manifest, Workspace};
use vodbuild::exit_codes::{BUILD_FAILED, MANIFEST_ERROR};

const AFTER: &str = "after_publish:\n  source: delete\n";

/// SMALL with verified packages, published to the folder `published/`, sources deleted.
fn manifest() -> Manifest {
    Manifest::small()
        .output_field("hls", "verify", "true")
        .output_field("dash", "verify", "true")
        .section("storage:\n  disk: {service: fs, root: published}\npublish:\n  to: disk\n")
        .section(AFTER)
}

#[test]
fn a_failed_publish_keeps_the_source_and_a_published_one_is_deleted_once() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write("media/notes.txt", "not a source");
    ws.write_manifest(&manifest().yaml());
    // The backend's root is a file: every publish step fails.
    ws.write("published", "in the way");
    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--keep-going"]).assert_code(BUILD_FAILED);
    assert_eq!(common::step(&out.json(), "publish_hls:media/a")["status"], "failed", "{}", out.describe());
    assert!(ws.path("media/a.mp4").is_file(), "a source whose publish failed was deleted");

    std::fs::remove_file(ws.path("published")).unwrap();
    std::fs::create_dir_all(ws.path("spare")).unwrap();
    std::fs::copy(ws.path("media/a.mp4"), ws.path("spare/a.mp4")).unwrap();
    let out = ws.vodbuild(&["run", "pipeline.yaml"]).success();
    assert!(out.stderr.contains("deleted the source of media/a"), "{}", out.describe());
    assert!(!ws.path("media/a.mp4").exists(), "a published and verified source was kept");
    assert!(ws.path("media/notes.txt").is_file(), "a file that is no source was touched");
    let published = ws.files_under("published/media/a");
    assert!(published.contains(&"published/media/a/hls/master.m3u8".to_string()), "{published:?}");

    let again = ws.run_ok();
    assert!(common::executed(&again).is_empty(), "the rerun after the delete is not a no-op: {again:#}");
    let plan = ws.plan_ok();
    assert!(common::planned(&plan).is_empty(), "{plan:#}");
    assert_eq!(plan["removed"][0]["id"], "media/a", "{plan:#}");
    assert_eq!(plan["removed"][0]["reason"], "source removed after publish", "{plan:#}");
    let text = ws.vodbuild(&["plan", "pipeline.yaml"]).success().stdout;
    assert!(text.contains("media/a  source removed after publish"), "{text}");
    let status = ws.vodbuild(&["status", "pipeline.yaml"]).success().stdout;
    assert!(status.contains("media/a: source removed after publish"), "{status}");

    // --prune keeps what the removed source published.
    let pruned = ws.vodbuild(&["run", "pipeline.yaml", "--prune", "--json"]).success().json();
    assert_eq!(pruned["stats"]["deleted_objects"], 0, "{pruned:#}");
    assert_eq!(ws.files_under("published/media/a"), published);

    // The same file copied back is a source again: fresh (same bytes), then deleted again.
    std::fs::copy(ws.path("spare/a.mp4"), ws.path("media/a.mp4")).unwrap();
    let back = ws.run_ok();
    assert!(common::executed(&back).is_empty(), "{back:#}");
    assert!(!ws.path("media/a.mp4").exists(), "the source copied back was not deleted again");
}

#[test]
fn a_failed_verify_keeps_the_source() {
    let ws = Workspace::new();
    // Video lasts 2 s but audio 5 s: the packages cannot match the source's duration.
    let src = ws.path("media/a.mp4");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-t", "2", "-i", "testsrc2=size=160x90:rate=30"])
        .args(["-f", "lavfi", "-t", "5", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    ws.write_manifest(&manifest().yaml());
    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--keep-going"]).assert_code(BUILD_FAILED);
    let run = out.json();
    assert_eq!(common::step(&run, "verify_hls:media/a")["status"], "failed", "{run:#}");
    // Its thumbnails and metadata were published: still not every output.
    assert_eq!(common::step(&run, "publish_thumbnails:media/a")["status"], "executed", "{run:#}");
    assert!(ws.path("media/a.mp4").is_file(), "a source whose package failed verify was deleted");
    let status = ws.vodbuild(&["status", "pipeline.yaml"]).assert_code(0).stdout;
    assert!(!status.contains("removed"), "{status}");
}

#[test]
fn a_path_source_deleted_after_publish_still_loads_and_a_missing_one_is_an_error() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    let yaml = manifest().without_sources().source("media/a.mp4", "clip").yaml();
    ws.write_manifest(&yaml);
    ws.vodbuild(&["run", "pipeline.yaml", "-q"]).success();
    assert!(!ws.path("media/a.mp4").exists());
    let plan = ws.plan_ok();
    assert!(common::planned(&plan).is_empty(), "{plan:#}");
    assert_eq!(plan["removed"][0]["id"], "clip", "{plan:#}");
    let status = ws.vodbuild(&["status", "pipeline.yaml", "--json"]).success().json();
    let row = status["sources"].as_array().unwrap().iter().find(|r| r["id"] == "clip").cloned();
    assert_eq!(row.as_ref().map(|r| r["removed"].clone()), Some(true.into()), "{status:#}");

    // A path vodbuild did not delete is still a missing source.
    ws.write_manifest(&yaml.replace("media/a.mp4", "media/typo.mp4"));
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("media/typo.mp4") && out.stderr.contains("does not exist"), "{}", out.describe());
}

#[test]
fn deleting_needs_publish_and_verified_packages() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    ws.write_manifest(&Manifest::small().section(AFTER).yaml());
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("needs `publish:`"), "{}", out.describe());
    let unverified = Manifest::small()
        .output_field("dash", "verify", "true")
        .section("storage:\n  disk: {service: fs, root: published}\npublish:\n  to: disk\n")
        .section(AFTER);
    ws.write_manifest(&unverified.yaml());
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("needs `verify: true` on outputs.hls"), "{}", out.describe());
    let keep = Manifest::small().section("after_publish:\n  source: keep\n");
    ws.write_manifest(&keep.yaml());
    ws.vodbuild(&["run", "pipeline.yaml", "-q"]).success();
    assert!(ws.path("media/a.mp4").is_file());
}
