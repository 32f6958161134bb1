//! Incremental rebuilds driven by sources: no-op reruns, touched files,
//! changed bytes, new files, and plan/run agreement.

use crate::common;

use common::*;
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

fn small_workspace(sources: &[&str]) -> Workspace {
    let ws = Workspace::new();
    for s in sources {
        ws.make_source(s, 3.0, "320x180");
    }
    ws.write_manifest(SMALL);
    ws
}

#[test]
fn second_run_is_a_noop_and_hashes_nothing() {
    let ws = small_workspace(&["media/a.mp4"]);
    let first = ws.run_ok();
    assert_eq!(executed(&first), small_steps("media/a"));
    assert!(first["stats"]["source_bytes_hashed"].as_u64().unwrap() > 0, "first run must hash the source: {first:#}");

    let second = ws.run_ok();
    assert_eq!(executed(&second), BTreeSet::new(), "{second:#}");
    assert_eq!(with_status(&second, "fresh"), small_steps("media/a"));
    assert_eq!(second["fresh"].as_u64(), Some(8), "{second:#}");
    assert_eq!(
        second["stats"]["source_bytes_hashed"].as_u64(),
        Some(0),
        "an unchanged source must not be re-hashed: {second:#}"
    );
}

#[test]
fn touched_source_with_same_bytes_runs_nothing() {
    let ws = small_workspace(&["media/a.mp4"]);
    ws.run_ok();
    set_mtime(&ws.path("media/a.mp4"), SystemTime::now() - Duration::from_secs(1800));
    let plan = ws.plan_ok();
    assert_eq!(planned(&plan), BTreeSet::new(), "{plan:#}");
    let run = ws.run_ok();
    assert_eq!(executed(&run), BTreeSet::new(), "{run:#}");
    // The stat cache saw a new mtime: it re-hashes, finds the same digest and
    // remembers the new stat, so a further run hashes nothing.
    let again = ws.run_ok();
    assert_eq!(executed(&again), BTreeSet::new());
    assert_eq!(again["stats"]["source_bytes_hashed"].as_u64(), Some(0));
}

#[test]
fn changing_one_source_reruns_only_its_steps() {
    let ws = small_workspace(&["media/a.mp4", "media/b.mp4"]);
    let first = ws.run_ok();
    let mut all = small_steps("media/a");
    all.extend(small_steps("media/b"));
    assert_eq!(executed(&first), all);

    // Same duration and size, other audio tone: other bytes.
    ws.make_source_with("media/a.mp4", 3.0, "320x180", 660, false);
    let plan = ws.plan_ok();
    let run = ws.run_ok();
    let ran = executed(&run);
    assert!(!ran.is_empty(), "changed source must rebuild: {run:#}");
    for id in &ran {
        assert_eq!(source_of(&run, id), "media/a", "step {id} ran: {run:#}");
    }
    assert!(
        ran.contains("encode:media/a:144p") && ran.contains("encode:media/a:aac64"),
        "encodes of the changed source must re-run: {ran:?}"
    );
    // Their packages read the new audio: judged with the encodes' new outputs, not their
    // records' (a run judges steps ahead with the recorded ones, see plan/ahead.rs).
    for id in ["hls:media/a", "dash:media/a"] {
        assert!(ran.contains(id), "{id} must re-run after its audio changed: {ran:?}");
        assert!(reason(&run, id).starts_with("upstream changed"), "{id}: {run:#}");
    }
    assert!(reason(&plan, "probe:media/a").starts_with("source changed"), "{plan:#}");
    for id in small_steps("media/b") {
        assert_eq!(step(&run, &id)["status"], "fresh", "{run:#}");
    }
}

#[test]
fn new_file_matching_glob_runs_only_its_steps() {
    let ws = small_workspace(&["media/a.mp4"]);
    ws.run_ok();
    ws.make_source_with("media/b.mp4", 2.0, "320x180", 550, false);
    // A file the glob does not match must be ignored.
    ws.make_source("other/c.mp4", 2.0, "160x90");

    let plan = ws.plan_ok();
    assert_eq!(planned(&plan), small_steps("media/b"), "{plan:#}");
    for id in small_steps("media/b") {
        assert!(reason(&plan, &id).starts_with("new"), "{plan:#}");
    }
    let run = ws.run_ok();
    assert_eq!(executed(&run), small_steps("media/b"), "{run:#}");
    assert_eq!(with_status(&run, "fresh"), small_steps("media/a"));
    assert!(ws.path("out/media/b/hls/master.m3u8").is_file());
    assert!(!ws.path("out/other").exists());
}

#[test]
fn plan_lists_exactly_what_run_executes() {
    let ws = small_workspace(&["media/a.mp4", "media/b.mp4"]);
    let plan = ws.plan_ok();
    let stale = planned(&plan);
    let mut expected = small_steps("media/a");
    expected.extend(small_steps("media/b"));
    assert_eq!(stale, expected, "{plan:#}");
    assert_eq!(plan["summary"]["fresh"].as_u64(), Some(0), "{plan:#}");
    for s in plan["steps"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let kind = s["kind"].as_str().unwrap();
        let expected_kind = match id.split(':').next().unwrap() {
            "hls" => "package_hls",
            "dash" => "package_dash",
            other => other,
        };
        assert_eq!(kind, expected_kind, "kind of {id}");
    }
    // plan is a dry run: it builds nothing.
    assert!(!ws.path("out/media/a/hls/master.m3u8").exists());

    let run = ws.run_ok();
    assert_eq!(executed(&run), stale, "{run:#}");
    assert_eq!(all_ids(&run), stale);

    let after = ws.plan_ok();
    assert_eq!(planned(&after), BTreeSet::new(), "{after:#}");
    assert_eq!(after["summary"]["fresh"].as_u64(), Some(16), "{after:#}");
}

#[test]
fn only_selects_a_source() {
    let ws = small_workspace(&["media/a.mp4", "media/b.mp4"]);
    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--only", "media/b"]).success();
    let run = out.json();
    let ran = executed(&run);
    assert!(!ran.is_empty(), "{run:#}");
    for id in &ran {
        assert_eq!(source_of(&run, id), "media/b", "{run:#}");
    }
    assert!(!ws.path("out/media/a").exists());
}

#[test]
fn graph_json_has_every_step_and_probe_edges() {
    let ws = small_workspace(&["media/a.mp4"]);
    let out = ws.vodbuild(&["graph", "pipeline.yaml", "--format", "json"]).success();
    let g = out.json();
    let nodes: BTreeSet<String> = g["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            assert_eq!(n["stale"], true, "nothing is built yet: {n}");
            n["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(nodes, small_steps("media/a"));
    let edges: BTreeSet<(String, String)> = g["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let f = e["from"].as_str().unwrap().to_string();
            (f, e["to"].as_str().unwrap().to_string())
        })
        .collect();
    for (from, to) in [
        ("encode:media/a:144p", "hls:media/a"),
        ("encode:media/a:90p", "dash:media/a"),
        ("encode:media/a:aac64", "hls:media/a"),
    ] {
        assert!(edges.contains(&(from.to_string(), to.to_string())), "missing edge {from} -> {to}: {edges:?}");
    }
}
