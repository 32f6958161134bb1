//! Where publishing goes is part of the publish step's key, wherever it is set, and a
//! relative fs `root` is relative to the manifest's folder; sources keep Unicode names.

use crate::common;

use std::process::{Command, Stdio};

use common::*;

/// `media/*.mp4` in one 90p HLS rendition, published to the fs backend `disk` (a relative root).
fn manifest() -> String {
    Manifest::new()
        .glob("media/*.mp4")
        .video("90p", &h264("90", "100k", "ultrafast"))
        .hls(&[("renditions", "[90p]"), ("segment_seconds", "2")])
        .section("storage:\n  disk: {service: fs, root: published}\npublish:\n  to: disk\n")
        .yaml()
}

#[test]
fn relative_root_and_environment_destinations() {
    let ws = Workspace::new();
    ws.make_source("media/épisode.mp4", 1.0, "160x90");
    ws.write_manifest(&manifest());
    // Run from another folder: the relative root must not follow the current directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vodbuild"))
        .args(["run", "--json"])
        .arg(ws.path("pipeline.yaml"))
        .current_dir(elsewhere.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run vodbuild");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(ws.path("published/media/épisode/hls/master.m3u8").is_file(), "published under the manifest's folder");
    assert!(!elsewhere.path().join("published").exists(), "nothing under the current directory");

    // Same destination: nothing to do. Another root from the environment: publish is stale.
    assert!(planned(&ws.plan_ok()).is_empty(), "a second plan is empty");
    let moved = planned(&ws.plan_ok_env(&[("VODBUILD_DISK_ROOT", "elsewhere")]));
    assert_eq!(moved, set(&["publish_hls:media/épisode"]), "only the publish step is stale");
    // A credential in the environment is not a destination.
    assert!(planned(&ws.plan_ok_env(&[("VODBUILD_DISK_PASSWORD", "x")])).is_empty());
}
