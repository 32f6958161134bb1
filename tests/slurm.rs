//! The Slurm executor against a real cluster (xtask/src/cluster.rs: a controller and compute
//! nodes, each slurmd in its own network namespace): jobs spread over nodes and give the bytes
//! of a local build, a no-op rerun submits nothing, a crashed node's job is retried elsewhere, a
//! failed job's log tail reaches its step, Ctrl-C cancels every job, status is one query per
//! poll cycle with arrays for siblings, and a node with another ffmpeg build is refused.
//!
//! Every call to sbatch/squeue/scontrol/scancel goes through the cluster's wrappers, which
//! count it independently of the run report. Without root or Slurm each test prints
//! `SKIP: <reason>` and returns.

use crate::common;
use crate::slurm_support::{Bed, bed, catalog, copy_workspace, counter, job_names, out_digests, read_report, run_args};

use common::cluster::{Bind, Opts};
use common::{Manifest, Workspace, all_ids, assert_outputs_valid, executed, h264, planned, tools, wait, wait_output};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use vodbuild::exit_codes::{BUILD_FAILED, INTERRUPTED};

/// Longest one run on the cluster may take (a node failure costs Slurm ~20-30 s to notice).
const RUN_TIMEOUT: Duration = Duration::from_secs(420);

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Starts `run --executor slurm` without waiting.
fn spawn_run(bed: &Bed, ws: &Workspace, extra: &[&str]) -> (std::process::Child, Vec<String>) {
    let args = run_args("slurm", extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = bed.env();
    (ws.spawn_env(&refs, &env_refs(&env)), args)
}

/// Two titles whose x264 encodes take seconds (noisy 320x240, preset veryslow).
fn slow_workspace(seconds: f64) -> Workspace {
    let ws = Workspace::new();
    for (k, freq) in [(0, 440), (1, 660)] {
        ws.make_source_with(&format!("media/s{k}.mp4"), seconds, "320x240", freq, true);
    }
    let m = Manifest::small()
        .ladder(&[("240p", &h264("240", "400k", "veryslow")), ("120p", &h264("120", "150k", "veryslow"))]);
    ws.write_manifest(&m.yaml());
    ws
}

#[test]
fn a_catalog_on_slurm_spreads_over_nodes_equals_a_local_build_and_reruns_as_a_no_op() {
    let Some(bed) = bed(3, &Opts::default()) else { return };
    let ws = Workspace::new();
    catalog(&ws, 4);
    let local = copy_workspace(&ws);
    let (out, report) = bed.run(&ws, &[]);
    let run = out.success().json();
    assert_eq!(executed(&run), all_ids(&run), "{run:#}");
    assert_eq!(report["executor"]["kind"], "slurm", "{:#}", report["executor"]);
    let hosts = bed.batch_hosts();
    assert!(hosts.len() >= 2, "jobs ran on {hosts:?} only; jobs: {:#?}", bed.jobs());
    assert_eq!(bed.cluster.count("sbatch") as u64, counter(&report, "sbatch_calls"), "{:?}", bed.cluster.calls());
    let logs: Vec<String> = ws.files_under(".").into_iter().filter(|f| f.ends_with(".log")).collect();
    assert!(logs.is_empty(), "successful jobs' logs are removed: {logs:?}");

    let lout = local.vodbuild(&run_args("local", &[]).iter().map(String::as_str).collect::<Vec<_>>()).success();
    let lreport = read_report(&local, &lout);
    assert_eq!(lreport["executor"]["kind"], "local", "{:#}", lreport["executor"]);
    assert_eq!(out_digests(&ws), out_digests(&local), "a Slurm build and a local build differ");
    let (plan, lplan) = (ws.plan_ok(), local.plan_ok());
    assert_eq!(planned(&plan), BTreeSet::new(), "{plan:#}");
    assert_eq!(plan["summary"], lplan["summary"], "plans differ after the builds");

    bed.cluster.reset_calls();
    let (out, report) = bed.run(&ws, &[]);
    let rerun = out.success().json();
    assert_eq!(executed(&rerun), BTreeSet::new(), "{rerun:#}");
    assert_eq!(bed.cluster.count("sbatch"), 0, "a no-op rerun submitted: {:?}", bed.cluster.calls());
    assert_eq!(counter(&report, "submitted_jobs"), 0, "{:#}", report["executor"]);
}

/// The first node running an x264 encode (polled from its namespace's processes), or None once
/// the run has ended.
fn node_encoding(bed: &Bed, child: &mut std::process::Child) -> Option<String> {
    wait::poll(RUN_TIMEOUT, Duration::from_millis(40), || {
        if child.try_wait().ok().flatten().is_some() {
            return Some(None);
        }
        let nodes = bed.cluster.node_names();
        let busy = nodes.into_iter().find(|n| {
            bed.cluster
                .processes(n)
                .iter()
                .any(|p| p.contains("ffmpeg") && p.contains("libx264") && p.contains("veryslow"))
        });
        busy.map(Some)
    })
    .flatten()
}

#[test]
fn a_node_crashed_mid_encode_has_its_job_retried_elsewhere() {
    let Some(mut bed) = bed(3, &Opts::default()) else { return };
    let ws = slow_workspace(4.0);
    let (mut child, args) = spawn_run(&bed, &ws, &[]);
    let node = node_encoding(&bed, &mut child);
    let Some(node) = node else {
        let out = wait_output(child, &[], RUN_TIMEOUT);
        panic!("the run ended before an encode could be caught running\n{}", out.describe());
    };
    bed.cluster.kill_node(&node).unwrap();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wait_output(child, &refs, RUN_TIMEOUT);
    let report = read_report(&ws, &out);
    let run = out.success().json();
    assert_eq!(executed(&run), all_ids(&run), "{run:#}");
    assert!(counter(&report, "retries") >= 1, "no retry after {node} died: {:#}", report["executor"]);
    let excluded =
        bed.cluster.calls().iter().any(|c| c.starts_with("sbatch ") && c.contains(&node) && c.contains("--exclude"));
    assert!(excluded, "no resubmission excluding {node}: {:?}", bed.cluster.calls());
    for id in ["media/s0", "media/s1"] {
        assert_outputs_valid(&ws, id, 4.0);
    }
    assert_eq!(planned(&ws.plan_ok()), BTreeSet::new());
}

/// The failed step's error carries the tail of the kept job log (its last non-empty line).
fn assert_log_tail_in(ws: &Workspace, error: &str) {
    let logs: Vec<String> = ws.files_under(".").into_iter().filter(|f| f.ends_with(".log")).collect();
    assert!(!logs.is_empty(), "the failed job's log is kept in the workspace");
    let tails: Vec<String> = logs
        .iter()
        .filter_map(|l| ws.read(l).lines().rev().find(|x| !x.trim().is_empty()).map(|x| x.trim().to_string()))
        .collect();
    assert!(tails.iter().any(|t| error.contains(t.as_str())), "error {error:?} has none of the log tails {tails:?}");
}

#[test]
fn a_failing_job_reports_its_log_tail_and_keep_going_finishes_the_rest() {
    let Some(bed) = bed(2, &Opts::default()) else { return };
    let ws = Workspace::new();
    catalog(&ws, 2);
    ws.write("media/bad.mp4", b"this is not a video file".repeat(64));
    let (out, _) = bed.run(&ws, &["--keep-going"]);
    let run = out.assert_code(BUILD_FAILED).json();
    let failed = common::with_status(&run, "failed");
    assert_eq!(failed, common::set(&["probe:media/bad"]), "{run:#}");
    let error = common::step(&run, "probe:media/bad")["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("Invalid data found"), "ffprobe's complaint is in the error: {error}");
    assert_log_tail_in(&ws, &error);
    let good: BTreeSet<String> = all_ids(&run).into_iter().filter(|id| !id.contains("media/bad")).collect();
    assert_eq!(executed(&run), good, "--keep-going builds every other title: {run:#}");
    for id in ["media/t0", "media/t1"] {
        assert_outputs_valid(&ws, id, 1.0);
    }
}

#[test]
fn ctrl_c_cancels_every_job_of_the_run_with_one_scancel() {
    let Some(bed) = bed(2, &Opts::default()) else { return };
    let ws = slow_workspace(4.0);
    let (mut child, args) = spawn_run(&bed, &ws, &[]);
    let running = wait::until(RUN_TIMEOUT, Duration::from_millis(50), || {
        child.try_wait().ok().flatten().is_some() || bed.queue().iter().any(|l| l.contains(" RUNNING "))
    });
    assert!(running && child.try_wait().unwrap().is_none(), "no job ever ran while vodbuild was busy");
    let st = std::process::Command::new("kill").args(["-s", "INT", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wait_output(child, &refs, Duration::from_secs(120));
    assert_eq!(out.code, INTERRUPTED, "{}", out.describe());
    let left = bed.queue();
    assert!(left.is_empty(), "jobs left in squeue after Ctrl-C: {left:?}");
    assert_eq!(bed.cluster.count("scancel"), 1, "one batched scancel: {:?}", bed.cluster.calls());
}

#[test]
fn status_is_one_query_per_poll_cycle_and_siblings_go_as_arrays() {
    let max_array = 4;
    let Some(bed) = bed(2, &Opts { max_array_size: Some(max_array), ..Opts::default() }) else { return };
    let ws = Workspace::new();
    catalog(&ws, 6);
    let (out, report) = bed.run(&ws, &[]);
    let run = out.success().json();
    let calls = bed.cluster.calls();
    let of = |tool: &str| -> Vec<&String> { calls.iter().filter(|c| c.split(' ').next() == Some(tool)).collect() };
    assert_eq!(of("squeue").len() as u64, counter(&report, "status_calls"), "squeue calls vs cycles: {calls:?}");
    let names = job_names(&calls);
    assert_eq!(names.len(), 1, "one job name (the run id) for every job: {names:?}");
    let name = names.iter().next().unwrap();
    for q in of("squeue") {
        assert!(q.contains(name.as_str()) && !q.contains("--jobs") && !q.contains(" -j"), "not a whole-run query: {q}");
    }
    assert!(of("scontrol").iter().all(|c| c.starts_with("scontrol show config")), "scontrol per job: {calls:?}");
    assert!(of("scontrol").len() <= 1, "{calls:?}");
    check_arrays(&report, &of("sbatch"), max_array, &run);
}

/// Arrays for siblings: fewer sbatch calls than jobs, at least one `--array`, none larger than
/// MaxArraySize.
fn check_arrays(report: &Value, sbatch: &[&String], max_array: u32, run: &Value) {
    let (jobs, calls) = (counter(report, "submitted_jobs"), sbatch.len() as u64);
    assert_eq!(calls, counter(report, "sbatch_calls"), "{sbatch:?}");
    assert!(jobs >= 24 && calls < jobs, "{calls} sbatch calls for {jobs} jobs: {sbatch:?}\n{run:#}");
    let sizes: Vec<u32> = sbatch
        .iter()
        .flat_map(|c| c.split(' ').filter_map(|w| w.strip_prefix("--array=")))
        .map(|r| {
            let r = r.split('%').next().unwrap();
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            b.parse::<u32>().unwrap() - a.parse::<u32>().unwrap() + 1
        })
        .collect();
    assert!(!sizes.is_empty(), "no array submission: {sbatch:?}");
    assert!(sizes.iter().all(|&s| s <= max_array), "an array over MaxArraySize={max_array}: {sizes:?}");
}

/// The ffmpeg the coordinator resolves (first on the tests' PATH).
fn coordinator_ffmpeg() -> std::path::PathBuf {
    std::env::split_paths(&tools::path_with_project_tools())
        .map(|d| d.join("ffmpeg"))
        .find(|p| p.is_file())
        .expect("ffmpeg on PATH")
}

const FAKE_VERSION: &str = "ffmpeg version 0.0-other-build Copyright (c) the vodbuild tests\n";

#[test]
fn a_node_with_another_ffmpeg_build_fails_the_job_naming_both_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("ffmpeg");
    let script = format!("#!/bin/sh\nprintf '%s\\n' '{}'\n[ \"$1\" = -version ] || exit 1\n", FAKE_VERSION.trim());
    common::write_executable(&fake, &script);
    let real = coordinator_ffmpeg();
    let bind = Bind { node: 0, src: fake.clone(), dst: real.clone() };
    let Some(bed) = bed(1, &Opts { binds: vec![bind], ..Opts::default() }) else { return };
    let real_version = std::process::Command::new(&real).arg("-version").output().unwrap().stdout;
    let (want_real, want_fake) = (blake3::hash(&real_version).to_hex(), blake3::hash(FAKE_VERSION.as_bytes()).to_hex());
    let ws = Workspace::new();
    catalog(&ws, 1);
    let (out, _) = bed.run(&ws, &["--keep-going"]);
    let run = out.assert_code(BUILD_FAILED).json();
    let errors: Vec<&str> = run["steps"].as_array().unwrap().iter().filter_map(|s| s["error"].as_str()).collect();
    let named = errors.iter().any(|e| e.contains(want_real.as_str()) && e.contains(want_fake.as_str()));
    assert!(named, "no error names both {want_real} (coordinator) and {want_fake} (node): {errors:#?}");
    assert!(!ws.path("out/media/t0/hls/master.m3u8").exists(), "nothing is published from a refused node");
}
