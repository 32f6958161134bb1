//! The no-op and dry paths over many sources: a run with no selection builds only the probe
//! steps before the probes are read, then the fitted graph once (it must decide exactly what
//! a run selecting every step decides); a plan over unreadable sources runs one ffprobe per
//! source, never more.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{Manifest, Workspace, which, write_executable};

/// (id, status) of every step of a `run --json` document, and its skipped rungs.
fn outcome(doc: &Value) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let steps = doc["steps"].as_array().expect("steps");
    let steps = steps
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string()))
        .collect();
    let rungs =
        doc["ladder_skipped"].as_array().map(|a| a.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect());
    (steps, rungs.unwrap_or_default())
}

#[test]
fn a_run_without_a_selection_decides_what_a_run_selecting_every_step_decides() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.make_source("media/b.mp4", 2.0, "160x90");
    // 144p is taller than b: fitting leaves it out for b only.
    ws.write_manifest(&Manifest::small().video_field("144p", "upscale", "false").yaml());
    let first = ws.run_ok();
    let (steps, rungs) = outcome(&first);
    assert!(steps.contains(&("encode:media/a:144p".into(), "executed".into())), "{first:#}");
    assert!(!steps.iter().any(|(id, _)| id == "encode:media/b:144p"), "{first:#}");
    assert_eq!(rungs, BTreeSet::from(["encode:media/b:144p".to_string()]), "{first:#}");

    let noop = ws.run_ok();
    let every = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--only", "*"]).success().json();
    assert_eq!(noop["executed"], 0, "{noop:#}");
    assert_eq!(outcome(&noop), outcome(&every), "no selection:\n{noop:#}\nevery step selected:\n{every:#}");
    assert_eq!(outcome(&noop).0.len(), steps.len(), "the no-op reports every step of the first run");

    // A changed source: only its steps run, with or without a selection.
    ws.make_source_with("media/b.mp4", 2.0, "160x90", 880, false);
    let again = ws.run_ok();
    let ran: BTreeSet<String> = outcome(&again).0.into_iter().filter(|(_, s)| s == "executed").map(|x| x.0).collect();
    assert!(ran.contains("probe:media/b") && ran.iter().all(|id| id.ends_with("media/b") || id.contains("media/b:")));
    assert!(!ran.contains("encode:media/b:144p"), "{again:#}");
}

#[test]
fn a_plan_over_unreadable_sources_probes_each_once() {
    const N: usize = 12;
    let ws = Workspace::new();
    for i in 0..N {
        ws.write(&format!("media/f{i:02}.mp4"), b"xx");
    }
    ws.write_manifest(&Manifest::small().yaml());
    // ffprobe, counting the probes (not `-version`) in a log.
    let log = ws.path("probes.log");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in -version) ;; *) echo x >> '{}' ;; esac\nexec '{}' \"$@\"\n",
        log.display(),
        which("ffprobe").display()
    );
    let fake = ws.path("countingffprobe");
    write_executable(&fake, &script);
    let env = [("VODBUILD_FFPROBE", fake.to_str().unwrap())];
    let plan = ws.plan_ok_env(&env);
    let probes = std::fs::read_to_string(&log).unwrap_or_default().lines().count();
    assert_eq!(probes, N, "one ffprobe per unreadable source");
    assert_eq!(plan["summary"]["fresh"], 0, "{plan:#}");
    let stale = plan["steps"].as_array().unwrap();
    for i in 0..N {
        let id = format!("probe:media/f{i:02}");
        assert!(stale.iter().any(|s| s["id"] == id.as_str() && s["reason"] == "new"), "{id} is new: {plan:#}");
    }
}
