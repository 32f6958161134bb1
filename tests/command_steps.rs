//! Command steps (`steps:`): tools the manifest declares, run per source like the built-in
//! steps. The real recogniser (pocketsphinx, through examples/transcribe/transcribe.py) turns
//! speech made with espeak-ng into WebVTT captions; small shell tools check what is kept,
//! what fails and what is refused; `exec-job` runs a command job from its spec elsewhere.

use crate::common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use vodbuild::exit_codes::{BUILD_FAILED, MANIFEST_ERROR, TOOL_ERROR};

/// The transcribe example's two steps: 16 kHz WAV from `audio_only`, then captions.
fn transcribe_steps(words_per_cue: u32) -> String {
    format!(
        r#"steps:
  speech_wav:
    program: ffmpeg
    version_args: [-version]
    args: [-nostdin, -v, error, -i, "{{input:audio_only}}", -ac, "1", -ar, "16000", "{{output:speech.wav}}"]
    outputs: [speech.wav]
  captions:
    program: ./transcribe.py
    version_args: [--version]
    args: [--wav, "{{input:speech_wav}}", --out, "{{output:captions.vtt}}", --lang, "{{param:lang}}", --words-per-cue, "{{param:words_per_cue}}"]
    outputs: [captions.vtt]
    params: {{lang: en-us, words_per_cue: {words_per_cue}}}
"#
    )
}

/// One tiny rung + AAC in HLS, `audio_only`, and `steps` (no metadata: a changed caption
/// re-runs nothing else).
fn manifest(steps: &str) -> String {
    Manifest::new()
        .output_dir("out")
        .source("media/talk.mp4", "talk")
        .video("90p", &h264("90", "100k", "ultrafast"))
        .audio("aac64", &[("codec", "aac"), ("bitrate", "64k"), ("channels", "1"), ("sample_rate", "48000")])
        .hls(&[("renditions", "[90p]"), ("audio", "aac64"), ("segment_seconds", "2")])
        .output("audio_only", &[("format", "aac")])
        .section(steps)
        .yaml()
}

/// Fails (never skips) when `cargo xtask setup` has not installed the recogniser.
fn require_speech_tools() {
    let model = Path::new("/usr/share/pocketsphinx/model/en-us/en-us.lm.bin");
    for tool in ["espeak-ng", "pocketsphinx_continuous"] {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap()).any(|d| d.join(tool).is_file());
        assert!(found, "{tool} is missing: run `cargo xtask setup` (apt pocketsphinx pocketsphinx-en-us espeak-ng)");
    }
    assert!(model.is_file(), "{} is missing: run `cargo xtask setup`", model.display());
}

/// Speech (espeak-ng) muxed with a lavfi picture into `media/talk.mp4`; returns the speech's duration.
fn make_speech(ws: &Workspace) -> f64 {
    let wav = ws.path("speech.wav");
    let text = "Hello world. This is a test of the speech recognition system. The weather is nice today.";
    let out = Command::new("espeak-ng").args(["-s", "140", "-w"]).arg(&wav).arg(text).output().unwrap();
    assert!(out.status.success(), "espeak-ng: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::create_dir_all(ws.path("media")).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&wav)
        .args(["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-shortest"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k"])
        .arg(ws.path("media/talk.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    common::media::duration(&wav)
}

/// The cues of a WebVTT file as (start, end, text); panics on anything that is not WebVTT.
fn cues(vtt: &str) -> Vec<(f64, f64, String)> {
    let mut blocks = vtt.split("\n\n");
    let header = blocks.next().unwrap_or_default();
    assert!(header.starts_with("WEBVTT"), "no WEBVTT header:\n{vtt}");
    let time = |t: &str| -> f64 {
        let parts: Vec<f64> = t.trim().split(':').map(|p| p.parse().unwrap_or_else(|_| panic!("time {t}"))).collect();
        assert_eq!(parts.len(), 3, "HH:MM:SS.mmm expected: {t}");
        parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
    };
    let mut out = Vec::new();
    for block in blocks.map(str::trim).filter(|b| !b.is_empty()) {
        let lines: Vec<&str> = block.lines().collect();
        let at = lines.iter().position(|l| l.contains("-->")).unwrap_or_else(|| panic!("cue without timing: {block}"));
        let (start, end) = lines[at].split_once("-->").unwrap();
        let text = lines[at + 1..].join(" ");
        assert!(!text.trim().is_empty(), "empty cue: {block}");
        out.push((time(start), time(end), text));
    }
    out
}

fn assert_captions(ws: &Workspace, duration: f64) -> Vec<(f64, f64, String)> {
    assert_eq!(ws.files_under("out/talk/captions"), vec!["out/talk/captions/captions.vtt"]);
    let found = cues(&ws.read("out/talk/captions/captions.vtt"));
    assert!(!found.is_empty(), "no cue recognised");
    let mut last = 0.0;
    for (start, end, text) in &found {
        assert!(
            *start >= last && start < end && *end <= duration + 0.001,
            "cue {start}..{end} {text:?} of {duration} s"
        );
        last = *end;
    }
    found
}

#[test]
fn speech_becomes_webvtt_captions_and_a_param_change_reruns_only_that_step() {
    require_speech_tools();
    let ws = Workspace::new();
    let duration = make_speech(&ws);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/transcribe/transcribe.py");
    std::fs::copy(&script, ws.path("transcribe.py")).unwrap();
    ws.write_manifest(&manifest(&transcribe_steps(7)));

    let run = ws.run_ok();
    let ran = executed(&run);
    assert!(ran.contains("command:talk:speech_wav") && ran.contains("command:talk:captions"), "{run:#}");
    let first = assert_captions(&ws, duration);
    assert!(ws.files_under(".vodbuild/pipeline.yaml/work/talk/speech_wav").iter().all(|f| f.ends_with("/speech.wav")));

    let again = ws.run_ok();
    assert_eq!(executed(&again), set(&[]), "a second run must be a no-op: {again:#}");

    ws.write_manifest(&manifest(&transcribe_steps(2)));
    let plan = ws.plan_ok();
    assert_eq!(planned(&plan), set(&["command:talk:captions"]), "{plan:#}");
    assert!(reason(&plan, "command:talk:captions").contains("param:words_per_cue of steps.captions (7 -> 2)"));
    let rerun = ws.run_ok();
    assert_eq!(executed(&rerun), set(&["command:talk:captions"]), "{rerun:#}");
    let second = assert_captions(&ws, duration);
    assert!(second.len() >= first.len(), "2 words a cue gives at least as many cues: {first:?} {second:?}");
}

/// A block-style manifest whose `steps.tool.args` is `args` (one YAML list).
fn tool_manifest(args: &str, extra: &str) -> String {
    let steps = format!(
        "steps:\n  other:\n    program: ./tool.sh\n    args: [\"{{output:o.txt}}\"]\n    outputs: [o.txt]\n  tool:\n    program: ./tool.sh\n    args:\n{args}    outputs: [out.txt]\n    params:\n      lang: en\n{extra}"
    );
    manifest(&steps)
}

#[test]
fn template_errors_name_the_file_line_and_field() {
    let ws = Workspace::new();
    ws.write("media/talk.mp4", b"not read: the manifest is rejected first");
    let cases = [
        ("      - \"{sourse}\"\n", "", "unknown placeholder `{sourse}`"),
        ("      - \"{param:lnag}\"\n", "", "`{param:lnag}` is not in this step's `params`"),
        ("      - \"--out={output:other.txt}\"\n", "", "`{output:other.txt}` is not in this step's `outputs`"),
        ("      - \"{input:nothing}\"\n", "", "`{input:nothing}` names nothing"),
        ("      - \"{input:thumbnails}\"\n", "", "`{input:thumbnails}` names nothing"),
        ("      - \"{{root}}/x\"\n", "", "`{root}` is reserved"),
    ];
    for (arg, extra, message) in cases {
        let yaml = tool_manifest(&format!("      - \"{{source}}\"\n{arg}"), extra);
        ws.write_manifest(&yaml);
        let line = yaml.lines().position(|l| l == arg.trim_end()).unwrap() + 1;
        let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
        assert!(out.stderr.contains(&format!("pipeline.yaml:{line}:")), "line {line}: {}", out.describe());
        assert!(out.stderr.contains("steps.tool.args[1]"), "{}", out.describe());
        assert!(out.stderr.contains(message), "{message}: {}", out.describe());
    }
    // Steps that read each other in a cycle.
    let cycle = manifest(
        "steps:\n  a:\n    program: cat\n    args: [\"{input:b}\"]\n    outputs: [a.txt]\n  b:\n    program: cat\n    args: [\"{input:a}\"]\n    outputs: [b.txt]\n",
    );
    ws.write_manifest(&cycle);
    let out = ws.vodbuild(&["run", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("cycle: a -> b -> a"), "{}", out.describe());
    let line = cycle.lines().position(|l| l.contains("{input:b}")).unwrap() + 1;
    assert!(out.stderr.contains(&format!("pipeline.yaml:{line}:")), "{}", out.describe());
    assert!(out.stderr.contains("steps.a.args[0]"), "{}", out.describe());
    // An output that is not a plain file name.
    let escape = manifest("steps:\n  a:\n    program: cat\n    outputs: [../x.txt]\n");
    ws.write_manifest(&escape);
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("steps.a.outputs[0]") && out.stderr.contains("invalid output `../x.txt`"));
    assert!(!ws.path("out").exists() && !ws.path(".vodbuild/pipeline.yaml/state.json").exists());
    // A program that is not there, or whose version command fails, is a tool error.
    for (program, version) in [("./missing.sh", ""), ("cat", "    version_args: [--no-such-flag]\n")] {
        ws.write_manifest(&manifest(&format!("steps:\n  a:\n    program: {program}\n{version}    outputs: [a.txt]\n")));
        let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(TOOL_ERROR);
        assert!(out.stderr.contains("of command step `a` is not usable"), "{}", out.describe());
    }
}

/// A workspace with a 1 s source, `tool.sh` (its text given) and a step running it.
fn with_tool(script: &str) -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/talk.mp4", 1.0, "160x90");
    write_executable(&ws.path("tool.sh"), script);
    let steps = "steps:\n  tool:\n    program: ./tool.sh\n    args: [\"{source}\", \"{output:out.txt}\", \"{input:audio_only}\"]\n    outputs: [out.txt]\n";
    ws.write_manifest(&manifest(steps));
    ws
}

const TOOL_FOLDER: &str = ".vodbuild/pipeline.yaml/work/talk/tool";

#[test]
fn only_declared_outputs_are_kept_and_the_tool_cannot_write_elsewhere() {
    let ws = with_tool(
        "#!/bin/sh\nset -e\necho \"read $(wc -c < \"$3\") bytes\" > \"$2\"\necho junk > junk.txt\nmkdir -p sub && echo x > sub/y\necho t > \"$TMPDIR/t\"\n\
         echo escaped > ../escaped.txt || true\necho escaped > \"$(dirname \"$1\")/../escaped.txt\" || true\n",
    );
    let run = ws.run_ok();
    assert!(executed(&run).contains("command:talk:tool"), "{run:#}");
    assert_eq!(ws.files_under(TOOL_FOLDER), vec![format!("{TOOL_FOLDER}/out.txt")]);
    assert!(ws.read(&format!("{TOOL_FOLDER}/out.txt")).starts_with("read "));
    let leftovers: Vec<String> =
        ws.files_under(".vodbuild").into_iter().filter(|f| f.contains(".tmp-") || f.contains("junk")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    if vodbuild::exec::landlock::abi() >= 1 {
        assert!(!ws.path(".vodbuild/pipeline.yaml/work/talk/escaped.txt").exists(), "wrote beside its folder");
        assert!(!ws.path("escaped.txt").exists(), "wrote into the workspace");
    } else {
        eprintln!("skipping the write-confinement checks: this kernel has no Landlock");
    }
    assert_eq!(executed(&ws.run_ok()), set(&[]));
}

#[test]
fn a_failing_tool_records_nothing_and_its_error_shows_the_tail() {
    let ws = with_tool("#!/bin/sh\necho partial > \"$2\"\necho 'recogniser: model not found' >&2\nexit 3\n");
    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json"]).assert_code(BUILD_FAILED);
    let run = out.json();
    let step = step(&run, "command:talk:tool");
    assert_eq!(step["status"], "failed", "{run:#}");
    let error = step["error"].as_str().unwrap();
    assert!(error.contains("tool.sh exited with 3") && error.contains("model not found"), "{error}");
    assert!(!ws.path(TOOL_FOLDER).exists(), "{:?}", ws.files_under(".vodbuild"));
    assert_eq!(reason(&ws.plan_ok(), "command:talk:tool"), "new", "nothing may be recorded");
}

#[test]
fn a_missing_or_empty_declared_output_fails_the_step() {
    for (script, message) in [
        ("#!/bin/sh\necho forgot > other.txt\n", "did not write this declared output"),
        ("#!/bin/sh\n: > \"$2\"\n", "empty"),
    ] {
        let ws = with_tool(script);
        let out = ws.vodbuild(&["run", "pipeline.yaml", "--json"]).assert_code(BUILD_FAILED);
        let run = out.json();
        let error = step(&run, "command:talk:tool")["error"].as_str().unwrap().to_string();
        assert!(error.contains("out.txt") && error.contains(message), "{message}: {error}");
        assert!(!ws.path(TOOL_FOLDER).exists());
        assert_eq!(reason(&ws.plan_ok(), "command:talk:tool"), "new", "nothing may be recorded");
    }
}

#[test]
fn a_command_job_runs_from_its_spec_in_a_moved_workspace() {
    let ws = with_tool("#!/bin/sh\ncat \"$3\" | wc -c > \"$2\"\n");
    let jobs = tempfile::tempdir().unwrap();
    ws.vodbuild(&["run", "pipeline.yaml", "--keep-jobs", jobs.path().to_str().unwrap()]).success();
    let spec = std::fs::read_dir(jobs.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::read_to_string(p).unwrap().contains("\"command:talk:tool\"")
                && !p.to_string_lossy().ends_with(".result.json")
        })
        .expect("the command step's spec");
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(!text.contains(ws.root().to_str().unwrap()), "the spec names the workspace's path:\n{text}");
    let recorded = ws.read(&format!("{TOOL_FOLDER}/out.txt"));
    let other = Workspace::new();
    let root = other.path("moved");
    std::fs::rename(ws.root(), &root).unwrap();
    let result = other.path("result.json");
    let args =
        ["exec-job", spec.to_str().unwrap(), "--root", root.to_str().unwrap(), "--result", result.to_str().unwrap()];
    other.vodbuild(&args).success();
    let doc: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(doc["status"], "succeeded", "{doc:#}");
    let files = &doc["outputs"][0]["files"];
    assert_eq!(files.as_array().map(Vec::len), Some(1), "{doc:#}");
    assert_eq!(files[0]["path"], "out.txt");
    let tmp = std::fs::read_dir(root.join(".vodbuild/pipeline.yaml/work/talk"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(".tool.tmp-"))
        .expect("the output waits in its temporary");
    assert_eq!(std::fs::read_to_string(tmp.path().join("out.txt")).unwrap(), recorded);

    // Another build of the tool is refused.
    write_executable(&root.join("tool.sh"), "#!/bin/sh\necho other > \"$2\"\n");
    let out = other.vodbuild(&args).assert_code(BUILD_FAILED);
    assert!(out.stderr.contains("not the build the job was planned with"), "{}", out.describe());
}

#[test]
fn a_step_reading_audio_is_skipped_for_a_source_without_audio() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("media")).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25"])
        .args(["-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .arg(ws.path("media/talk.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    write_executable(&ws.path("tool.sh"), "#!/bin/sh\necho x > \"$1\"\n");
    let steps = "steps:\n  heard:\n    program: ./tool.sh\n    args: [\"{output:a.txt}\", \"{input:audio_only}\"]\n    outputs: [a.txt]\n  seen:\n    program: ./tool.sh\n    args: [\"{output:v.txt}\", \"{input:90p}\"]\n    outputs: [v.txt]\n";
    ws.write_manifest(&manifest(steps));
    let run = ws.run_ok();
    assert!(with_status(&run, "skipped").contains("command:talk:heard"), "{run:#}");
    assert_eq!(reason(&run, "command:talk:heard"), "source has no audio");
    assert!(executed(&run).contains("command:talk:seen"), "{run:#}");
    assert_eq!(executed(&ws.run_ok()), set(&[]));
}

#[test]
fn a_webvtt_output_is_a_sidecar_listed_in_metadata_and_published() {
    let ws = Workspace::new();
    ws.make_source("media/talk.mp4", 1.0, "160x90");
    write_executable(&ws.path("tool.sh"), "#!/bin/sh\nprintf 'WEBVTT\\n\\n00:00.000 --> 00:00.500\\nhi\\n' > \"$1\"\n");
    let yaml = Manifest::new()
        .output_dir("out")
        .source("media/talk.mp4", "talk")
        .video("90p", &h264("90", "100k", "ultrafast"))
        .hls(&[("renditions", "[90p]"), ("segment_seconds", "2")])
        .metadata()
        .section(
            "steps:\n  subs:\n    program: ./tool.sh\n    args: [\"{output:subs.vtt}\"]\n    outputs: [subs.vtt]\n",
        )
        .section("storage:\n  disk: {service: fs, root: published}\npublish: {to: disk}\n")
        .yaml();
    ws.write_manifest(&yaml);
    let run = ws.run_ok();
    assert!(executed(&run).contains("publish_command:talk:subs"), "{run:#}");
    assert_eq!(ws.files_under("out/talk/subs"), vec!["out/talk/subs/subs.vtt"]);
    assert_eq!(ws.read("published/talk/subs/subs.vtt"), ws.read("out/talk/subs/subs.vtt"));
    let meta: Value = serde_json::from_str(&ws.read("out/talk/metadata.json")).unwrap();
    let listed = meta["outputs"].as_array().unwrap().iter().any(|o| o["path"] == "subs/subs.vtt");
    assert!(listed, "{meta:#}");
    // A tool whose .vtt is not WebVTT fails its check.
    write_executable(&ws.path("tool.sh"), "#!/bin/sh\necho 'not captions' > \"$1\"\n");
    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json"]).assert_code(BUILD_FAILED);
    let error = step(&out.json(), "command:talk:subs")["error"].as_str().unwrap().to_string();
    assert!(error.contains("subs.vtt") && error.contains("WEBVTT"), "{error}");
}

#[test]
fn editing_a_script_with_version_args_reruns_its_step() {
    let ws = Workspace::new();
    ws.make_source("media/talk.mp4", 1.0, "160x90");
    let script = |text: &str| {
        format!("#!/bin/sh\nif [ \"$1\" = --version ]; then echo tool 1.0; exit 0; fi\necho {text} > \"$1\"\n")
    };
    write_executable(&ws.path("tool.sh"), &script("first"));
    let steps = "steps:\n  tool:\n    program: ./tool.sh\n    version_args: [--version]\n    args: [\"{output:out.txt}\"]\n    outputs: [out.txt]\n";
    ws.write_manifest(&manifest(steps));
    assert!(executed(&ws.run_ok()).contains("command:talk:tool"));
    assert_eq!(executed(&ws.run_ok()), set(&[]), "an unchanged script is fresh");
    write_executable(&ws.path("tool.sh"), &script("second"));
    assert!(executed(&ws.run_ok()).contains("command:talk:tool"), "the edited script must re-run its step");
    assert_eq!(ws.read(&format!("{TOOL_FOLDER}/out.txt")).trim(), "second");
}

#[test]
fn a_tool_sees_none_of_vodbuilds_secrets() {
    let ws = with_tool("#!/bin/sh\nenv > \"$2\"\n");
    ws.run_ok_env(&[
        ("AWS_SECRET_ACCESS_KEY", "s3cr3t-value"),
        ("VODBUILD_NOTIFY_TOKEN", "n0tify"),
        ("LANG", "C.UTF-8"),
    ]);
    let seen = ws.read(&format!("{TOOL_FOLDER}/out.txt"));
    assert!(!seen.contains("AWS_SECRET_ACCESS_KEY") && !seen.contains("s3cr3t"), "{seen}");
    assert!(!seen.contains("VODBUILD_NOTIFY_TOKEN") && !seen.contains("n0tify"), "{seen}");
    for kept in ["PATH=", "LANG=C.UTF-8", "TMPDIR="] {
        assert!(seen.lines().any(|l| l.starts_with(kept)), "{kept} missing: {seen}");
    }
}
