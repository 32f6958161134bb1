//! `run --junit PATH`, `run --metrics PATH` (checked by the real `promtool check metrics`,
//! from Debian's `prometheus`, installed by `cargo xtask setup`) and the Markdown summary
//! appended to `$GITHUB_STEP_SUMMARY`, on a run with one broken source (`--keep-going`).

use crate::common;

use common::*;
use quick_xml::events::Event;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use vodbuild::exit_codes::BUILD_FAILED;

/// One `<testcase>`: its attributes, and the failure message if it failed.
#[derive(Debug, Default)]
struct Case {
    name: String,
    classname: String,
    time: f64,
    failure: Option<String>,
    skipped: bool,
}

/// Parses the JUnit document (a malformed one fails the test) into its testcases and the
/// `<testsuites>` attributes.
fn parse_junit(xml: &str) -> (Vec<Case>, BTreeMap<String, String>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases: Vec<Case> = Vec::new();
    let mut totals = BTreeMap::new();
    let mut depth = 0usize;
    loop {
        let event = reader.read_event().unwrap_or_else(|e| panic!("invalid XML ({e}):\n{xml}"));
        let (start, empty) = match &event {
            Event::Start(s) => (Some(s.clone()), false),
            Event::Empty(s) => (Some(s.clone()), true),
            Event::End(_) => {
                depth -= 1;
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        let Some(s) = start else { continue };
        if !empty {
            depth += 1;
        }
        let attrs: BTreeMap<String, String> = s
            .attributes()
            .map(|a| a.expect("attribute"))
            .map(|a| {
                let v = a.unescape_value().expect("escaped value").into_owned();
                (String::from_utf8_lossy(a.key.as_ref()).into_owned(), v)
            })
            .collect();
        match s.name().as_ref() {
            b"testsuites" => totals = attrs,
            b"testcase" => cases.push(Case {
                name: attrs["name"].clone(),
                classname: attrs["classname"].clone(),
                time: attrs["time"].parse().expect("time is seconds"),
                ..Case::default()
            }),
            b"failure" => cases.last_mut().expect("inside a testcase").failure = Some(attrs["message"].clone()),
            b"skipped" => cases.last_mut().expect("inside a testcase").skipped = true,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every element is closed:\n{xml}");
    (cases, totals)
}

fn promtool() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file())
        .expect("promtool is not installed: run `cargo xtask setup` (Debian package prometheus)")
}

/// `promtool check metrics` on `text` (it reads stdin): (success, its output).
fn promtool_check(text: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), said)
}

/// `name{labels} value` lines of a textfile.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').expect("`name value`");
            (k.to_string(), v.parse().unwrap_or_else(|_| panic!("a number in {l}")))
        })
        .collect()
}

fn count(doc: &Value, kind: &str, status: &str) -> f64 {
    doc["steps"].as_array().unwrap().iter().filter(|s| s["kind"] == kind && s["status"] == status).count() as f64
}

#[test]
fn junit_metrics_and_step_summary_describe_a_run_with_a_failure() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write("media/b.mp4", b"not a video at all");
    ws.write_manifest(SMALL);
    ws.write("summary.md", "earlier step's summary\n");
    let summary = ws.path("summary.md");
    let args = ["run", "pipeline.yaml", "-k", "--json", "--junit", "junit.xml", "--metrics", "run.prom"];
    let out = ws.vodbuild_env(&args, &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())]).assert_code(BUILD_FAILED);
    let doc = out.json();
    let steps = doc["steps"].as_array().unwrap();
    let failed: Vec<&str> =
        steps.iter().filter(|s| s["status"] == "failed").map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(failed, ["probe:media/b"], "{doc:#}");

    // JUnit: one testcase per step, named by the step, classed kind/source; the failure says why.
    let (cases, totals) = parse_junit(&ws.read("junit.xml"));
    assert_eq!(cases.len(), steps.len());
    for (case, step) in cases.iter().zip(steps) {
        assert_eq!(case.name, step["id"].as_str().unwrap());
        assert_eq!(case.classname, format!("{}/{}", step["kind"].as_str().unwrap(), step["source"].as_str().unwrap()));
        assert!(case.time >= 0.0);
        assert_eq!(case.failure.is_some(), step["status"] == "failed", "{case:?}");
        assert_eq!(case.skipped, step["status"] == "skipped", "{case:?}");
    }
    let failure = cases.iter().find_map(|c| c.failure.as_deref()).unwrap();
    assert!(failure.contains("media/b") && !failure.contains('\n'), "the message is the error's first line: {failure}");
    assert_eq!(totals["tests"], steps.len().to_string());
    assert_eq!(totals["failures"], "1");

    // Metrics: valid for promtool, and the figures are the run's.
    let prom = ws.read("run.prom");
    let (ok, said) = promtool_check(&prom);
    assert!(ok && said.trim().is_empty(), "promtool check metrics: {said}\n{prom}");
    let m = samples(&prom);
    for kind in ["probe", "encode", "package_hls", "package_dash", "thumbnails", "metadata"] {
        for status in ["executed", "fresh", "failed", "skipped"] {
            let key = format!("vodbuild_steps{{kind=\"{kind}\",status=\"{status}\"}}");
            assert_eq!(m[&key], count(&doc, kind, status), "{key}\n{prom}");
        }
    }
    assert_eq!(m["vodbuild_sources"], 2.0);
    assert_eq!(m["vodbuild_sources_failed"], 1.0);
    assert_eq!(m["vodbuild_run_success"], 0.0);
    assert!(m["vodbuild_encoded_bytes"] > 1000.0, "{prom}");
    assert_eq!(m["vodbuild_source_hashed_bytes"], doc["stats"]["source_bytes_hashed"].as_f64().unwrap());
    let temporaries: Vec<String> = ws.files_under(".").into_iter().filter(|f| f.contains(".run.prom.")).collect();
    assert!(temporaries.is_empty(), "the textfile is renamed into place: {temporaries:?}");

    // The step summary is appended: the earlier text stays, the failed step is listed.
    let md = ws.read("summary.md");
    assert!(md.starts_with("earlier step's summary\n### vodbuild run failed in "), "{md}");
    assert!(md.contains("| `probe:media/b` | media/b | source 'media/b'"), "{md}");
    assert!(md.contains("#### Slowest steps"), "{md}");
}

#[test]
fn a_no_op_run_reports_fresh_steps_and_promtool_refuses_a_broken_textfile() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    let args = ["run", "pipeline.yaml", "--junit", "junit.xml", "--metrics", "run.prom"];
    ws.vodbuild_env(&args, &[("GITHUB_STEP_SUMMARY", "")]).success();
    let (cases, totals) = parse_junit(&ws.read("junit.xml"));
    assert!(!cases.is_empty() && cases.iter().all(|c| c.failure.is_none() && !c.skipped));
    assert_eq!(totals["failures"], "0");
    let prom = ws.read("run.prom");
    let (ok, said) = promtool_check(&prom);
    assert!(ok, "{said}\n{prom}");
    let m = samples(&prom);
    assert_eq!(m["vodbuild_steps{kind=\"encode\",status=\"fresh\"}"], 3.0, "{prom}");
    assert_eq!(m["vodbuild_steps{kind=\"encode\",status=\"executed\"}"], 0.0, "{prom}");
    assert_eq!(m["vodbuild_encoded_bytes"], 0.0);
    assert_eq!(m["vodbuild_run_success"], 1.0);
    // The check can fail: a textfile with a sample of no declared type and a bad value.
    let (ok, _) = promtool_check(&format!("{prom}vodbuild_steps{{kind=\"x\" 1\n"));
    assert!(!ok, "promtool refuses a malformed textfile");
}
