//! Self-contained jobs: the job specs a run builds (saved with `run --keep-jobs DIR`) name
//! nothing of the machine that built them, and `vodbuild exec-job SPEC --root DIR` runs each
//! from a copy of the workspace moved to another path, giving exactly the files the run
//! recorded; a job whose input or tool is not the one it was planned with is refused.

use crate::common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vodbuild::exit_codes;

/// A built workspace, and the specs its run saved (step id → spec file).
fn built() -> (Workspace, tempfile::TempDir, BTreeMap<String, PathBuf>) {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    let jobs = tempfile::tempdir().unwrap();
    let dir = jobs.path().to_str().unwrap();
    ws.vodbuild(&["run", "pipeline.yaml", "--json", "--keep-jobs", dir]).success();
    let mut specs = BTreeMap::new();
    for e in std::fs::read_dir(jobs.path()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !name.ends_with(".result.json") {
            let spec: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            for s in spec["steps"].as_array().unwrap() {
                specs.insert(s.as_str().unwrap().to_string(), e.path());
            }
        }
    }
    assert_eq!(specs.keys().cloned().collect::<std::collections::BTreeSet<_>>(), small_steps("media/a"));
    (ws, jobs, specs)
}

/// (path, digest) of each file every step recorded, from the state snapshot.
fn recorded(state_dir: &Path) -> BTreeMap<String, Vec<(String, String)>> {
    let snap: Value = serde_json::from_slice(&std::fs::read(state_dir.join("state.json")).unwrap()).unwrap();
    let steps = snap["steps"].as_object().expect("steps in the snapshot");
    steps
        .iter()
        .map(|(id, rec)| {
            let files = rec["outputs"].as_array().unwrap();
            (
                id.clone(),
                files
                    .iter()
                    .map(|o| (o["path"].as_str().unwrap().into(), o["digest"].as_str().unwrap().into()))
                    .collect(),
            )
        })
        .collect()
}

/// Moves the workspace's folder to `<to>/moved`; returns the new root.
fn moved(ws: &Workspace, to: &Workspace) -> PathBuf {
    let new_root = to.path("moved");
    std::fs::rename(ws.root(), &new_root).unwrap();
    new_root
}

fn exec_job(at: &Workspace, spec: &Path, root: &Path, envs: &[(&str, &str)]) -> (Output, Value) {
    let result = spec.with_extension("moved-result.json");
    let args =
        ["exec-job", spec.to_str().unwrap(), "--root", root.to_str().unwrap(), "--result", result.to_str().unwrap()];
    let out = at.vodbuild_env(&args, envs);
    let doc = serde_json::from_slice(&std::fs::read(&result).unwrap_or_default()).unwrap_or(Value::Null);
    (out, doc)
}

#[test]
fn jobs_built_here_run_from_the_workspace_moved_elsewhere_with_the_recorded_digests() {
    let (ws, _jobs, specs) = built();
    let old_root = ws.root().to_string_lossy().into_owned();
    for spec in specs.values() {
        let text = std::fs::read_to_string(spec).unwrap();
        assert!(!text.contains(&old_root), "{} names the workspace's path {old_root}:\n{text}", spec.display());
        assert!(!text.contains("\"threads\""), "{text}");
    }
    let other = Workspace::new();
    let root = moved(&ws, &other);
    let records = recorded(&root.join(".vodbuild/pipeline.yaml"));
    for (step, spec) in &specs {
        let (out, result) = exec_job(&other, spec, &root, &[]);
        let out = out.success();
        assert_eq!(result["status"], "succeeded", "{step}: {result:#}\n{}", out.describe());
        let files = result["outputs"].as_array().unwrap().iter().find(|s| s["step"] == step.as_str()).unwrap();
        let got: Vec<(String, String)> = files["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["path"].as_str().unwrap().into(), f["digest"].as_str().unwrap().into()))
            .collect();
        assert_eq!(&got, &records[step], "{step}: the job's outputs differ from what the run recorded");
    }
    // The outputs wait in the jobs' temporaries, beside their destinations.
    let temporaries = other.files_under("moved/out").into_iter().filter(|f| f.contains("/.hls.tmp-")).count();
    assert!(temporaries > 0, "{:?}", other.files_under("moved/out"));
}

#[test]
fn a_job_whose_input_or_tool_changed_is_refused() {
    let (ws, _jobs, specs) = built();
    let other = Workspace::new();
    let root = moved(&ws, &other);
    let encode = root.join(".vodbuild/pipeline.yaml/work/media/a/144p.mp4");
    let mut bytes = std::fs::read(&encode).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&encode, bytes).unwrap();
    let (out, result) = exec_job(&other, &specs["hls:media/a"], &root, &[]);
    let out = out.assert_code(exit_codes::BUILD_FAILED);
    assert_eq!(result["status"], "failed", "{result:#}");
    let error = result["error"].as_str().unwrap();
    assert!(error.contains("144p.mp4 is not the file the job was planned with"), "{error}");
    assert!(out.stderr.contains("not the file the job was planned with"), "{}", out.describe());

    let fake = other.path("fake-ffmpeg");
    write_executable(&fake, "#!/bin/sh\necho 'ffmpeg version 0.0-other'\n");
    let envs = [("VODBUILD_FFMPEG", fake.to_str().unwrap())];
    let (out, _) = exec_job(&other, &specs["thumbnails:media/a"], &root, &envs);
    let out = out.assert_code(exit_codes::TOOL_ERROR);
    assert!(out.stderr.contains("not the build the job was planned with"), "{}", out.describe());
}

#[test]
fn a_spec_that_would_write_outside_the_workspace_is_refused_before_anything_runs() {
    let (ws, jobs, specs) = built();
    let spec: Value = serde_json::from_slice(&std::fs::read(&specs["metadata:media/a"]).unwrap()).unwrap();
    let outside = jobs.path().join("outside");
    let escapes = [
        ("/outputs/0/tmp", Value::from("{root}/../escaped")),
        ("/outputs/0/root", Value::from("/")),
        ("/action/WriteFile/path", Value::from(outside.to_str().unwrap())),
    ];
    for (pointer, value) in escapes {
        let mut bad = spec.clone();
        *bad.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} in {spec:#}")) = value;
        let file = jobs.path().join("bad.json");
        std::fs::write(&file, serde_json::to_vec(&bad).unwrap()).unwrap();
        let (out, result) = exec_job(&ws, &file, ws.root(), &[]);
        let out = out.assert_code(exit_codes::USAGE_ERROR);
        assert!(
            out.stderr.contains("inside {root}") || out.stderr.contains("temporaries"),
            "{pointer}: {}",
            out.describe()
        );
        assert_eq!(result, Value::Null, "{pointer}: no result is written for a refused spec");
        assert!(!outside.exists() && !ws.root().parent().unwrap().join("escaped").exists(), "{pointer}");
    }
}
