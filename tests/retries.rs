//! `retries:` and the failed list with a real tool failure: an ffmpeg wrapper (the manifest's
//! `tools: ffmpeg`) that kills itself with SIGKILL on its first encode, then runs the real
//! ffmpeg. With `retries: {encode: 2}` the encode runs again and the run succeeds; with the
//! default (no retry for encodes) it fails, `status --failed` lists it and
//! `run --only @failed` re-runs exactly it.

use crate::common;
use common::{Manifest, Workspace, h264, which, write_executable};
use serde_json::Value;
use std::collections::BTreeSet;
use vodbuild::exit_codes::BUILD_FAILED;

/// A workspace with source `t` (1 s), one rung in HLS, and the killing wrapper as ffmpeg.
fn workspace(extra: &str) -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    let marker = ws.path("killed-once");
    // Encodes run with `-progress`; `-version` (the fingerprint) and the output checks' decodes do not.
    write_executable(
        &ws.path("flaky-ffmpeg"),
        &format!(
            "#!/bin/sh\ncase \" $* \" in *\" -progress \"*) if [ ! -e {m} ]; then : > {m}; kill -KILL $$; fi;; esac\nexec {ff} \"$@\"\n",
            m = marker.display(),
            ff = which("ffmpeg").display()
        ),
    );
    let m = Manifest::new()
        .output_dir("out")
        .tool("ffmpeg", "./flaky-ffmpeg")
        .source("media/a.mp4", "t")
        .video("90p", &h264("90", "100k", "ultrafast"))
        .hls(&[("renditions", "[90p]"), ("segment_seconds", "2")])
        .section(extra);
    ws.write_manifest(&m.yaml());
    ws
}

fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("{id} in {run:#}"))
}

#[test]
fn an_encode_killed_by_a_signal_is_retried_when_encodes_have_retries() {
    let ws = workspace("retries: {encode: 2, backoff: 0.1}\n");
    let run = ws.vodbuild(&["run", "pipeline.yaml", "--json", "-j", "1"]).success().json();
    assert!(ws.path("killed-once").exists(), "the wrapper was killed once");
    let encode = step(&run, "encode:t:90p");
    assert_eq!((encode["status"].as_str(), encode["attempts"].as_u64()), (Some("executed"), Some(2)), "{run:#}");
    assert_eq!(step(&run, "hls:t")["status"], "executed");
    assert!(ws.path("out/t/hls/master.m3u8").is_file());
    let list = ws.vodbuild(&["status", "pipeline.yaml", "--failed", "--json"]).success().json();
    assert_eq!(list["steps"], serde_json::json!([]));
}

#[test]
fn without_retries_the_killed_encode_fails_and_only_failed_reruns_exactly_it() {
    let ws = workspace("");
    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json", "-j", "1"]).assert_code(BUILD_FAILED);
    let run = out.json();
    let encode = step(&run, "encode:t:90p");
    assert_eq!(encode["status"], "failed");
    assert!(encode["error"].as_str().unwrap().contains("exited with a signal"), "{run:#}");
    assert!(encode.get("attempts").is_none(), "encodes are not retried by default: {encode}");

    let list = ws.vodbuild(&["status", "pipeline.yaml", "--failed", "--json"]).success().json();
    let ids: Vec<&str> = list["steps"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["encode:t:90p"], "{list:#}");
    assert_eq!(list["steps"][0]["attempts"], 1);

    let rerun = ws.vodbuild(&["run", "pipeline.yaml", "--only", "@failed", "--json"]).success().json();
    assert_eq!(common::executed(&rerun), BTreeSet::from(["encode:t:90p".to_string()]), "{rerun:#}");
    assert!(common::all_ids(&rerun).iter().all(|id| !id.starts_with("hls:")), "hls is not selected: {rerun:#}");
    let rest = ws.run_ok();
    assert_eq!(common::executed(&rest), BTreeSet::from(["hls:t".to_string()]), "{rest:#}");
}
