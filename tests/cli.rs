//! CLI surface beyond plan/run basics: --force, --report, -j, --log-format
//! json, status and clean.

use crate::common;

use common::*;
use std::collections::BTreeSet;

fn built() -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    ws
}

#[test]
fn force_reruns_everything_with_reason_forced() {
    let ws = built();
    let run = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--force", "-j", "1"]).success().json();
    assert_eq!(executed(&run), small_steps("media/a"), "{run:#}");
    for id in small_steps("media/a") {
        assert!(reason(&run, &id).starts_with("forced"), "{run:#}");
    }
    assert_eq!(executed(&ws.run_ok()), BTreeSet::new());
}

#[test]
fn report_file_holds_the_run_json() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    ws.vodbuild(&["run", "pipeline.yaml", "--report", "report.json"]).success();
    let report: serde_json::Value = serde_json::from_str(&ws.read("report.json")).expect("--report writes JSON");
    assert_eq!(executed(&report), small_steps("media/a"), "{report:#}");
    assert!(report["stats"]["source_bytes_hashed"].as_u64().unwrap() > 0);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    let out = ws.vodbuild(&["--log-format", "json", "run", "pipeline.yaml"]).success();
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "expected log lines\n{}", out.describe());
    for l in lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", out.describe()));
        assert!(v.is_object(), "{l}");
    }
}

#[test]
fn status_reports_fresh_then_stale() {
    let ws = built();
    let out = ws.vodbuild(&["status", "pipeline.yaml", "--json"]).success();
    let text = out.json().to_string();
    assert!(text.contains("media/a"), "status names the source\n{}", out.describe());
    ws.make_source_with("media/a.mp4", 2.0, "320x180", 700, false);
    let out = ws.vodbuild(&["status", "pipeline.yaml"]).success();
    assert!(out.stdout.contains("media/a"), "{}", out.describe());
}

#[test]
fn clean_removes_outputs_and_state() {
    let ws = built();
    assert!(ws.path("out/media/a/hls/master.m3u8").is_file());
    ws.vodbuild(&["clean", "pipeline.yaml"]).success();
    assert!(ws.files_under("out").is_empty(), "outputs left: {:?}", ws.files_under("out"));
    assert!(ws.files_under(".vodbuild/pipeline.yaml/work").is_empty(), "intermediates left");
    assert!(ws.path("media/a.mp4").is_file(), "clean must never touch sources");
    assert!(ws.path("pipeline.yaml").is_file());
    let plan = ws.plan_ok();
    assert_eq!(planned(&plan), small_steps("media/a"), "{plan:#}");
    let run = ws.run_ok();
    assert_eq!(executed(&run), small_steps("media/a"));
    assert_outputs_valid(&ws, "media/a", 2.0);
}
