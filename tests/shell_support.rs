//! Editor and shell support: `vodbuild completions`, the man page, `vodbuild schema` (the
//! committed `schema/vodbuild.schema.json` is its output, every shipped manifest names it and
//! validates against it with Python's jsonschema from the project venv) and `vodbuild init`.

use crate::common;

use common::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use vodbuild::exit_codes::{SUCCESS, USAGE_ERROR};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// pipelines/*.yaml and examples/**/pipeline*.yaml.
fn shipped_manifests() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    let mut dirs = vec![repo().join("examples")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() && name != "media" && name != "out" && !name.starts_with('.') {
                dirs.push(p);
            } else if name.starts_with("pipeline") && name.ends_with(".yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 6, "pipelines/ and examples/ hold manifests: {out:?}");
    out
}

const VALIDATE: &str = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
bad = 0
for path in sys.argv[2:]:
    for e in validator.iter_errors(yaml.safe_load(open(path))):
        bad += 1
        print(f"{path}: {'/'.join(map(str, e.path))}: {e.message}")
sys.exit(1 if bad else 0)
"#;

/// Validates `files` against the committed schema: (all valid, what the validator said).
fn validate(files: &[PathBuf]) -> (bool, String) {
    let python = repo().join("target/venv/bin/python");
    assert!(python.is_file(), "no project venv at {}: run `cargo xtask setup`", python.display());
    let out = Command::new(&python)
        .args(["-c", VALIDATE])
        .arg(repo().join("schema/vodbuild.schema.json"))
        .args(files)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!said.contains("ModuleNotFoundError"), "jsonschema/PyYAML missing: run `cargo xtask setup`\n{said}");
    (out.status.success(), said)
}

#[test]
fn the_committed_schema_is_what_vodbuild_schema_prints() {
    let ws = Workspace::new();
    let out = ws.vodbuild(&["schema"]).success();
    let committed = std::fs::read_to_string(repo().join("schema/vodbuild.schema.json")).unwrap();
    assert!(
        out.stdout == committed,
        "schema/vodbuild.schema.json is stale: run `vodbuild schema > schema/vodbuild.schema.json`"
    );
}

#[test]
fn every_shipped_manifest_names_the_schema_and_validates_against_it() {
    let files = shipped_manifests();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let first = text.lines().next().unwrap_or("");
        let rel = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} does not start with the yaml-language-server line", f.display()));
        let target = f.parent().unwrap().join(rel);
        assert_eq!(
            target.canonicalize().ok(),
            repo().join("schema/vodbuild.schema.json").canonicalize().ok(),
            "{}: {rel}",
            f.display()
        );
    }
    let (ok, said) = validate(&files);
    assert!(ok, "{said}");
}

#[test]
fn the_schema_refuses_what_the_loader_refuses_and_accepts_the_test_manifests() {
    let ws = Workspace::new();
    let good = ws.write("good.yaml", SMALL);
    let scalars = ws.write(
        "scalars.yaml",
        "version: 1\nsources: [{path: a.mp4}]\nprofiles:\n  video:\n    v: {codec: h264, height: 240, bitrate: 3.5M, \
         level: 4.0, preset: 8, frame_rate: 30000/1001}\n  audio:\n    a: {codec: aac, bitrate: 128000}\n\
         storage:\n  s3: {service: s3, bucket: b, port: 9000, enable_virtual_host_style: true}\n",
    );
    let (ok, said) = validate(&[good, scalars]);
    assert!(ok, "{said}");
    for (name, yaml) in [
        ("unknown-key.yaml", format!("{SMALL}colour: blue\n")),
        ("bad-bitrate.yaml", SMALL.replace("bitrate: 200k", "bitrate: fast")),
        ("bad-codec.yaml", SMALL.replace("codec: h264", "codec: h263")),
        ("no-sources.yaml", "version: 1\n".to_string()),
    ] {
        let p = ws.write(name, &yaml);
        let (ok, said) = validate(&[p]);
        assert!(!ok, "the schema accepts {name}: {said}");
        ws.write("pipeline.yaml", &yaml);
        let code = ws.vodbuild(&["plan", "pipeline.yaml"]).code;
        assert_ne!(code, SUCCESS, "vodbuild accepts {name} too");
    }
}

#[test]
fn completions_are_scripts_for_each_shell() {
    let ws = Workspace::new();
    for (shell, marker, checker) in [
        ("bash", "complete -F _vodbuild", Some(("bash", "-n"))),
        ("zsh", "#compdef vodbuild", Some(("zsh", "-n"))),
        ("fish", "complete -c vodbuild", Some(("fish", "--no-execute"))),
    ] {
        let out = ws.vodbuild(&["completions", shell]).success();
        assert!(out.stdout.contains(marker), "{shell}: {}", out.describe());
        for sub in ["run", "plan", "schema", "init", "completions"] {
            assert!(out.stdout.contains(sub), "{shell} completes `{sub}`");
        }
        let script = ws.write(&format!("vodbuild.{shell}"), &out.stdout);
        match checker.and_then(|(prog, flag)| on_path(prog).map(|p| (p, flag))) {
            Some((prog, flag)) => {
                let check = Command::new(prog).arg(flag).arg(&script).stdin(Stdio::null()).output().unwrap();
                assert!(check.status.success(), "{shell} -n: {}", String::from_utf8_lossy(&check.stderr));
            }
            None => println!("skipped: {shell} is not installed, so its script's syntax is not checked"),
        }
    }
    assert_eq!(ws.vodbuild(&["completions", "tcsh"]).code, USAGE_ERROR);
}

#[test]
fn the_man_page_renders() {
    let ws = Workspace::new();
    let out = ws.vodbuild(&["man"]).success();
    let page = &out.stdout;
    assert!(page.contains(".TH vodbuild 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section} missing:\n{page}");
    }
    let file = ws.write("vodbuild.1", page);
    let Some(groff) = on_path("groff") else {
        println!("skipped: groff is not installed, so the page is checked for structure only");
        return;
    };
    let shown = Command::new(groff).args(["-man", "-Tutf8", "-ww"]).arg(&file).stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    let warnings = String::from_utf8_lossy(&shown.stderr);
    assert!(shown.status.success() && warnings.trim().is_empty(), "groff: {warnings}");
    // grotty's bold and underline: `X\bX` overstrikes, or SGR sequences.
    let mut plain = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\u{8}' => {
                plain.pop();
            }
            '\u{1b}' => {
                chars.by_ref().find(|c| c.is_ascii_alphabetic());
            }
            c => plain.push(c),
        }
    }
    assert!(plain.contains("vodbuild-run(1)") || plain.contains("run"), "{plain}");
    assert!(plain.contains("NAME") && plain.contains("Build HLS/DASH packages"), "{plain}");
}

#[test]
fn init_writes_a_starter_that_plans_and_never_overwrites() {
    let ws = Workspace::new();
    ws.make_source("media/show/a.mp4", 1.0, "320x240");
    ws.make_source("media/b.mp4", 1.0, "160x120");
    ws.write("media/notes.txt", "not media");
    let out = ws.vodbuild(&["init", "media"]);
    assert_eq!(out.code, SUCCESS, "{}", out.describe());
    let text = ws.read("media/pipeline.yaml");
    assert!(text.contains("glob: \"**/*.mp4\""), "{text}");
    assert!(text.contains("240p: {codec: h264, height: 240"), "the ladder stops at the tallest source: {text}");
    assert!(!text.contains("360p"), "no rung above the tallest source: {text}");
    assert!(text.contains("audio: aac128"), "{text}");
    assert!(text.lines().filter(|l| l.trim_start().starts_with('#')).count() >= 3, "commented: {text}");
    let (ok, said) = validate(&[ws.path("media/pipeline.yaml")]);
    assert!(ok, "{said}");
    let plan = ws.vodbuild(&["plan", "media/pipeline.yaml", "--json"]).success().json();
    let ids: Vec<&str> = plan["steps"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    for id in ["encode:show/a:240p", "hls:show/a", "dash:b", "thumbnails:b"] {
        assert!(ids.contains(&id), "{id} is planned: {ids:?}");
    }
    // Never overwrites: the file stays as it was.
    ws.write("media/pipeline.yaml", "# mine\n");
    let again = ws.vodbuild(&["init", "media"]);
    assert_eq!(again.code, USAGE_ERROR, "{}", again.describe());
    assert!(again.stderr.contains("already exists"), "{}", again.describe());
    assert_eq!(ws.read("media/pipeline.yaml"), "# mine\n");
    assert_eq!(ws.vodbuild(&["init", "empty-folder-that-is-missing"]).code, USAGE_ERROR);
}
