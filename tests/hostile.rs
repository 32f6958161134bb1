//! Hostile surroundings: symlinks leading out of the output folder, two manifests in one
//! folder, absurd `-j`, signals in every phase with a tool that ignores SIGTERM, closed
//! pipes, `-q`, colour and `-v`.

use crate::common;

use common::*;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vodbuild::exit_codes::{BUILD_FAILED, INTERRUPTED, MANIFEST_ERROR, SUCCESS, USAGE_ERROR};

/// One source `PATH` with id `t` and a 90p H.264 profile; no outputs yet.
fn one_source(path: &str) -> Manifest {
    Manifest::new().output_dir("out").source(path, "t").video("90p", &h264("90", "100k", "ultrafast"))
}

/// One source with id `t`: thumbnails and metadata (no encodes, so it builds in a second).
fn light() -> Manifest {
    one_source("media/a.mp4").output("thumbnails", &[("interval", "1"), ("width", "64"), ("format", "jpg")]).metadata()
}

/// One source with id `t`, one encode and an HLS package.
fn encoding_manifest(path: &str) -> Manifest {
    one_source(path).hls(&[("renditions", "[90p]"), ("segment_seconds", "2"), ("segment_type", "fmp4")])
}

fn light_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(&light().yaml());
    ws
}

// ------------------------------------------------------------------ confinement

#[test]
fn run_never_writes_through_a_symlink_leading_out_of_the_output_folder() {
    let ws = light_workspace();
    ws.write("elsewhere/metadata.json", "theirs");
    std::fs::create_dir_all(ws.path("out")).unwrap();
    symlink("../elsewhere", ws.path("out/t")).unwrap();
    let out = ws.vodbuild(&["run", "pipeline.yaml"]).assert_code(BUILD_FAILED);
    assert!(
        out.stderr.contains("refusing to write") && out.stderr.contains("out/t is a symlink (to ../elsewhere)"),
        "the error names the path and the symlink\n{}",
        out.describe()
    );
    assert_eq!(ws.files_under("elsewhere"), vec!["elsewhere/metadata.json".to_string()], "{}", out.describe());
    assert_eq!(ws.read("elsewhere/metadata.json"), "theirs");
}

#[test]
fn a_symlink_that_stays_inside_the_output_folder_is_followed() {
    let ws = light_workspace();
    std::fs::create_dir_all(ws.path("out/real")).unwrap();
    symlink("real", ws.path("out/t")).unwrap();
    ws.run_ok();
    assert!(ws.path("out/real/metadata.json").is_file(), "{:?}", ws.files_under("out"));
}

#[test]
fn clean_never_deletes_through_a_symlink_leading_out() {
    let ws = light_workspace();
    ws.run_ok();
    // The built package moves elsewhere, and a symlink takes its place.
    std::fs::rename(ws.path("out/t"), ws.path("elsewhere")).unwrap();
    symlink("../elsewhere", ws.path("out/t")).unwrap();
    let before = ws.files_under("elsewhere");
    assert!(before.contains(&"elsewhere/metadata.json".to_string()), "{before:?}");
    let out = ws.vodbuild(&["clean", "pipeline.yaml"]).assert_code(BUILD_FAILED);
    assert!(
        out.stderr.contains("refusing to delete") && out.stderr.contains("out/t is a symlink"),
        "{}",
        out.describe()
    );
    assert_eq!(ws.files_under("elsewhere"), before, "nothing outside the output folder is deleted");
    assert!(ws.path("out/t").symlink_metadata().is_ok(), "the symlink itself stays too");
}

#[test]
fn clean_removes_only_what_vodbuild_wrote() {
    let ws = light_workspace();
    ws.run_ok();
    ws.write("out/t/notes.txt", "mine");
    ws.write("out/t/thumbnails/keep.txt", "mine");
    ws.write("out/other/file.txt", "mine");
    let out = ws.vodbuild(&["clean", "pipeline.yaml"]).success();
    assert_eq!(
        ws.files_under("out"),
        vec!["out/other/file.txt".to_string(), "out/t/notes.txt".into(), "out/t/thumbnails/keep.txt".into()],
        "{}",
        out.describe()
    );
    assert!(!ws.path(".vodbuild/pipeline.yaml").exists(), "the workspace is removed");
}

// ------------------------------------------------------------------ workspaces

#[test]
fn two_manifests_in_one_folder_keep_separate_workspaces() {
    let ws = light_workspace();
    ws.write("a.yaml", light().output_dir("out-a").yaml());
    ws.write("b.yaml", light().output_dir("out-b").yaml());
    for m in ["a.yaml", "b.yaml"] {
        ws.vodbuild(&["run", m, "--json"]).success();
    }
    for m in ["a.yaml", "b.yaml"] {
        let run = ws.vodbuild(&["run", m, "--json"]).success().json();
        assert_eq!(run["executed"], 0, "{m} re-ran work after the other manifest built: {run:#}");
    }
    ws.vodbuild(&["clean", "a.yaml"]).success();
    assert!(ws.files_under("out-a").is_empty());
    assert!(ws.path("out-b/t/metadata.json").is_file(), "cleaning a.yaml left b.yaml's outputs");
    let run = ws.vodbuild(&["run", "b.yaml", "--json"]).success().json();
    assert_eq!(run["executed"], 0, "cleaning a.yaml wiped b.yaml's state: {run:#}");
}

// ------------------------------------------------------------------ -j

#[test]
fn job_slots_outside_one_to_four_per_core_are_usage_errors() {
    let ws = Workspace::new();
    let cores = std::thread::available_parallelism().unwrap().get();
    let too_many = (4 * cores + 1).to_string();
    for j in ["0", too_many.as_str(), "100000", "many"] {
        let out = ws.vodbuild(&["run", "pipeline.yaml", "-j", j]).assert_code(USAGE_ERROR);
        assert!(out.stderr.contains("job slots from 1 to"), "-j {j}\n{}", out.describe());
    }
}

#[test]
fn job_slots_above_the_cores_are_allowed_with_a_warning() {
    let ws = light_workspace();
    let cores = std::thread::available_parallelism().unwrap().get();
    let j = (cores + 1).to_string();
    let out = ws.vodbuild(&["run", "pipeline.yaml", "-j", &j]).success();
    assert!(out.stderr.contains(&format!("-j {j} is more than the {cores} cores")), "{}", out.describe());
}

// ------------------------------------------------------------------ signals

fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: kill(2) on the child's pid; no memory is touched.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

/// Waits for `child` to exit; returns its exit code and how long it took.
fn wait_timed(child: std::process::Child, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = wait_output(child, args, Duration::from_secs(60));
    (out, start.elapsed())
}

fn alive(pid: i32) -> bool {
    // A zombie (exited, not yet reaped) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
}

fn wait_for_file(p: &Path, within: Duration) {
    let appeared = wait::until(within, Duration::from_millis(50), || p.exists());
    assert!(appeared, "{} did not appear within {within:?}", p.display());
}

#[test]
fn sigterm_during_an_encode_ends_a_term_ignoring_tool_and_records_nothing() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 30.0, "64x64");
    let ffmpeg = which("ffmpeg");
    // A tool that ignores SIGTERM and encodes in real time (-re): 30 s unless killed.
    write_executable(
        &ws.path("stubborn-ffmpeg"),
        &format!(
            "#!/bin/sh\ntrap '' TERM\ncase \"$1\" in -version) exec {ff} \"$@\";; esac\necho $$ > {pids}\nexec {ff} -re \"$@\"\n",
            ff = ffmpeg.display(),
            pids = ws.path("encoder.pid").display()
        ),
    );
    ws.write_manifest(&encoding_manifest("media/a.mp4").tool("ffmpeg", "./stubborn-ffmpeg").yaml());
    let args = ["run", "pipeline.yaml", "--json"];
    let child = ws.spawn(&args);
    wait_for_file(&ws.path("encoder.pid"), Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(300));
    let pid: i32 = ws.read("encoder.pid").trim().parse().unwrap();
    assert!(alive(pid), "the encoder should be running");
    signal(&child, libc::SIGTERM);
    let (out, took) = wait_timed(child, &args);
    eprintln!("SIGTERM to exit with a TERM-ignoring encoder: {took:?}");
    let out = out.assert_code(INTERRUPTED);
    assert!(took < Duration::from_secs(8), "exit took {took:?} (grace is 5 s)\n{}", out.describe());
    wait::until(Duration::from_secs(2), Duration::from_millis(50), || !alive(pid));
    assert!(!alive(pid), "the encoder (pid {pid}) outlived vodbuild");
    let plan = ws.plan_ok();
    assert!(planned(&plan).contains("encode:t:90p"), "the interrupted encode was recorded: {plan:#}");
    assert!(ws.files_under("out").is_empty(), "{:?}", ws.files_under("out"));
}

#[test]
fn sigint_while_hashing_a_huge_source_exits_130_at_once() {
    let ws = Workspace::new();
    // 64 GiB of holes: hashing takes far longer than the test waits.
    let f = std::fs::File::create(ws.path("a.mp4")).unwrap();
    f.set_len(64 << 30).unwrap();
    ws.write_manifest(&encoding_manifest("a.mp4").yaml());
    for cmd in ["run", "plan"] {
        let args = [cmd, "pipeline.yaml"];
        let child = ws.spawn(&args);
        std::thread::sleep(Duration::from_millis(1500));
        signal(&child, libc::SIGINT);
        let (out, took) = wait_timed(child, &args);
        eprintln!("SIGINT while hashing ({cmd}) to exit: {took:?}");
        let out = out.assert_code(INTERRUPTED);
        assert!(took < Duration::from_secs(3), "{cmd}: exit took {took:?}\n{}", out.describe());
        assert!(out.stderr.contains("interrupted"), "{}", out.describe());
    }
}

// ------------------------------------------------------------------ CLI habits

#[test]
fn a_closed_stdout_ends_vodbuild_quietly() {
    let ws = light_workspace();
    for args in [&["graph", "pipeline.yaml"][..], &["plan", "pipeline.yaml", "--json"], &["status", "pipeline.yaml"]] {
        let mut child = ws.spawn(args);
        drop(child.stdout.take()); // the reader is gone before vodbuild writes: `| head -0`
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(SUCCESS), "{args:?}: {status:?}\n{err}");
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_stderr_neither_panics_nor_hangs_a_run() {
    let ws = light_workspace();
    let mut child = ws.spawn(&["-vv", "run", "pipeline.yaml", "--json"]);
    drop(child.stderr.take()); // `vodbuild -vv run ... 2>&1 | head -1`
    let status = wait::exit_or_kill(&mut child, TIMEOUT, Duration::from_millis(50))
        .unwrap_or_else(|| panic!("vodbuild hung with a closed stderr"));
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    assert_eq!(status.code(), Some(SUCCESS), "{status:?}\n{stdout}");
    let run: serde_json::Value = serde_json::from_str(&stdout).expect("the report still reaches stdout");
    assert_eq!(executed(&run), set(&["probe:t", "thumbnails:t", "metadata:t"]), "{run:#}");
}

fn failing_tool_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    let ffmpeg = which("ffmpeg");
    write_executable(
        &ws.path("broken-ffmpeg"),
        &format!(
            "#!/bin/sh\ncase \"$1\" in -version) exec {} \"$@\";; esac\necho 'boom: the encoder broke' >&2\nexit 3\n",
            ffmpeg.display()
        ),
    );
    ws.write_manifest(&encoding_manifest("media/a.mp4").tool("ffmpeg", "./broken-ffmpeg").yaml());
    ws
}

#[test]
fn quiet_hides_progress_but_never_errors() {
    let ws = failing_tool_workspace();
    let out = ws.vodbuild(&["-q", "run", "pipeline.yaml"]).assert_code(BUILD_FAILED);
    assert!(
        out.stderr.contains("failed: encode:t:90p") && out.stderr.contains("boom: the encoder broke"),
        "{}",
        out.describe()
    );
    assert!(!out.stderr.contains("started"), "-q shows no progress\n{}", out.describe());
    let out = ws.vodbuild(&["-q", "run", "missing.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("missing.yaml"), "{}", out.describe());
}

#[test]
fn verbose_shows_each_tool_command_line_and_very_verbose_its_stderr() {
    let ws = failing_tool_workspace();
    let out = ws.vodbuild(&["-v", "run", "pipeline.yaml"]).assert_code(BUILD_FAILED);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("./broken-ffmpeg") || l.contains("broken-ffmpeg -hide_banner"))
        .unwrap_or_else(|| panic!("no command line\n{}", out.describe()));
    assert!(line.contains(" -i ") && line.contains("media/a.mp4"), "{line}");
    assert!(line.contains("'[0:v]") || line.contains("' "), "arguments with shell characters are quoted: {line}");
    let out = ws.vodbuild(&["-vv", "run", "pipeline.yaml"]).assert_code(BUILD_FAILED);
    assert!(out.stderr.contains("broken-ffmpeg: boom: the encoder broke"), "{}", out.describe());
}

#[test]
fn no_colour_unless_stderr_is_a_terminal_or_forced() {
    let ws = Workspace::new();
    ws.write_manifest("version: 1\noutput_dir: out\nsources: 3\n");
    let run = |envs: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vodbuild"));
        cmd.args(["plan", "pipeline.yaml"])
            .current_dir(ws.root())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        wait_output(cmd.spawn().unwrap(), &["plan"], TIMEOUT).assert_code(MANIFEST_ERROR)
    };
    let piped = run(&[]);
    assert!(!piped.stderr.contains('\x1b'), "escape codes in a pipe\n{}", piped.describe());
    assert!(piped.stderr.contains("pipeline.yaml:3"), "{}", piped.describe());
    let forced = run(&[("CLICOLOR_FORCE", "1")]);
    assert!(forced.stderr.contains('\x1b'), "CLICOLOR_FORCE=1 colours\n{}", forced.describe());
    let both = run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!both.stderr.contains('\x1b'), "NO_COLOR wins\n{}", both.describe());
}
