//! Interrupted runs: kill -9 and Ctrl-C mid-encode never leave an output a
//! later run takes as fresh, and a second run on a busy workspace is refused.

use crate::common;

use common::*;
use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::time::Duration;
use vodbuild::exit_codes::{INTERRUPTED, LOCKED, SUCCESS};

const SECONDS: f64 = 10.0;

/// Medium preset on a noisy 640x360 source: several seconds of encoding. SMALL's shape with
/// a 360p + 180p ladder, AAC 96k and thumbnails every 2 s.
fn slow() -> String {
    Manifest::small()
        .ladder(&[("360p", &h264("360", "800k", "medium")), ("180p", &h264("180", "300k", "medium"))])
        .only_audio("aac96", &[("codec", "aac"), ("bitrate", "96k"), ("channels", "2"), ("sample_rate", "48000")])
        .output_field("thumbnails", "interval", "2")
        .yaml()
}

fn slow_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.make_source_with("media/long.mp4", SECONDS, "640x360", 440, true);
    ws.write_manifest(&slow());
    ws
}

/// Starts `run` and waits `after`, asserting it is still busy then.
fn start_and_wait(ws: &Workspace, after: Duration) -> Child {
    let mut child = ws.spawn(&["run", "pipeline.yaml"]);
    if let Some(st) = wait::poll(after, Duration::from_millis(20), || child.try_wait().unwrap()) {
        let out = wait_output(child, &["run"], TIMEOUT);
        panic!(
            "run finished ({st}) before it could be interrupted; the source \
             should be longer\n{}",
            out.describe()
        );
    }
    child
}

fn assert_rebuilds_cleanly(ws: &Workspace) {
    let rerun = ws.vodbuild(&["run", "pipeline.yaml", "--json"]).success().json();
    assert_eq!(rerun["failed"].as_u64(), Some(0), "{rerun:#}");
    assert_outputs_valid(ws, "media/long", SECONDS);
    let third = ws.run_ok();
    assert_eq!(executed(&third), BTreeSet::new(), "{third:#}");
}

#[test]
fn sigkill_mid_run_then_rerun_builds_valid_outputs() {
    let ws = slow_workspace();
    let mut child = start_and_wait(&ws, Duration::from_millis(1500));
    child.kill().expect("SIGKILL vodbuild"); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert_rebuilds_cleanly(&ws);
}

#[test]
fn sigint_mid_run_exits_130_and_rerun_builds_valid_outputs() {
    let ws = slow_workspace();
    let child = start_and_wait(&ws, Duration::from_millis(1500));
    let st = Command::new("kill").args(["-s", "INT", &child.id().to_string()]).status().expect("run kill");
    assert!(st.success());
    let out = wait_output(child, &["run"], Duration::from_secs(30));
    assert_eq!(out.code, INTERRUPTED, "interrupted run\n{}", out.describe());
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    assert_rebuilds_cleanly(&ws);
}

#[test]
fn second_run_on_a_busy_workspace_exits_4() {
    let ws = slow_workspace();
    let first = start_and_wait(&ws, Duration::from_millis(1000));
    let second = ws.vodbuild(&["run", "pipeline.yaml"]);
    assert_eq!(second.code, LOCKED, "concurrent run\n{}", second.describe());
    assert!(
        second.stderr.to_lowercase().contains("lock"),
        "stderr should say the workspace is locked\n{}",
        second.describe()
    );
    let first = wait_output(first, &["run"], TIMEOUT);
    assert_eq!(first.code, SUCCESS, "first run\n{}", first.describe());
    assert_outputs_valid(&ws, "media/long", SECONDS);
}

/// A run that ends with nothing executed marks the workspace as holding no temporaries, so
/// the next run skips the sweep; every run takes the mark away before it writes, so a run
/// killed mid-build leaves none and the run after it sweeps.
#[test]
fn a_killed_run_takes_the_clean_mark_with_it_and_the_next_run_sweeps() {
    let ws = slow_workspace();
    let mark = ".vodbuild/pipeline.yaml/no-temporaries";
    ws.write(mark, "");
    let mut child = start_and_wait(&ws, Duration::from_millis(1500));
    assert!(!ws.path(mark).exists(), "a building run still shows the mark");
    child.kill().expect("SIGKILL vodbuild");
    child.wait().unwrap();
    assert!(!ws.path(mark).exists(), "a killed run left the mark");
    let planted = "out/media/long/.metadata.json.tmp-999999-7";
    ws.write(planted, "partial");
    let rerun = ws.run_ok();
    assert!(!executed(&rerun).is_empty(), "{rerun:#}");
    assert!(!ws.path(planted).exists(), "the run after a killed one did not sweep");
    assert!(!ws.path(mark).exists(), "a run that executed steps left the mark");
    let noop = ws.run_ok();
    assert_eq!(executed(&noop), BTreeSet::new(), "{noop:#}");
    assert!(ws.path(mark).exists(), "a run with nothing to do left no mark");
}

/// A run killed while it re-made outputs that are still fresh from before (`run --force`)
/// leaves `.NAME.tmp-*` / `.NAME.old-*` beside them, and one killed mid-save leaves
/// `state.json.tmp-PID`. The next run removes them although no step re-runs (found by
/// `cargo xtask soak`).
#[test]
fn temporaries_of_a_killed_run_are_removed_when_their_steps_are_fresh() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(SMALL);
    ws.run_ok();
    let file = |name: &str| ws.files_under(".").into_iter().find(|f| f.ends_with(name)).expect(name);
    let encode_dir = file("/90p.mp4").trim_end_matches("90p.mp4").to_string();
    let left = [
        "out/media/a/.hls.tmp-999999-3/index.m3u8".to_string(),
        "out/media/a/.dash.old-999999/manifest.mpd".to_string(),
        "out/media/a/.metadata.json.tmp-999999-7".to_string(),
        format!("{encode_dir}.90p.mp4.tmp-999999-1"),
    ];
    for f in &left {
        ws.write(f, "partial");
    }
    let again = ws.run_ok();
    assert_eq!(executed(&again), BTreeSet::new(), "{again:#}");
    let remaining: Vec<&String> = left.iter().filter(|f| ws.path(f).exists()).collect();
    assert!(remaining.is_empty(), "left behind: {remaining:?}");

    let snapshot = file("/state.json");
    let stale = format!("{snapshot}.tmp-999999");
    ws.write(&stale, "{");
    let (folder, _) = snapshot.rsplit_once('/').unwrap();
    let stale_new = format!("{folder}/.state.json.tmp-999998");
    ws.write(&stale_new, "{");
    std::fs::remove_file(ws.path("out/media/a/metadata.json")).unwrap();
    let third = ws.run_ok();
    assert_eq!(executed(&third), set(&["metadata:media/a"]), "{third:#}");
    assert!(!ws.path(&stale).exists(), "{stale} left behind");
    assert!(!ws.path(&stale_new).exists(), "{stale_new} left behind");
}
