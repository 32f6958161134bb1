//! A corpus of malformed and hostile manifests. Each case runs the real binary
//! (`vodbuild plan`) and must: exit 3, name `pipeline.yaml:LINE:COL` of the offending value,
//! finish in under 1 s wall time with under 100 MB peak RSS (measured on the child with
//! wait4), never panic, never echo raw control characters, never name a Rust type, and keep
//! its stderr short.

use crate::common;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Manifest, Workspace};
use vodbuild::exit_codes::MANIFEST_ERROR;

const WALL: Duration = Duration::from_secs(1);
const RSS_KB: i64 = 100 * 1024;
const STDERR_MAX: usize = 8 * 1024;

/// Block style, one value per line (`Manifest::block()`).
fn base() -> String {
    Manifest::block().yaml()
}

/// Where the error must point.
#[derive(Clone, Copy)]
enum At {
    /// The first line containing this text.
    Line(&'static str),
    /// This line number.
    No(usize),
    /// Some line (for bombs, where the exact alias that crosses the bound may vary).
    Any,
}

struct Case {
    name: &'static str,
    manifest: Vec<u8>,
    at: At,
    /// Text stderr must contain (lower-cased match).
    says: &'static str,
    env: Vec<(&'static str, String)>,
    /// The manifest argument, when it is not `pipeline.yaml`.
    arg: Option<String>,
    setup: Option<fn(&Workspace)>,
    /// Text stderr must not contain.
    hides: Option<&'static str>,
}

fn case(name: &'static str, manifest: impl Into<Vec<u8>>, at: At, says: &'static str) -> Case {
    Case { name, manifest: manifest.into(), at, says, env: Vec::new(), arg: None, setup: None, hides: None }
}

/// BASE with exactly one occurrence of `from` replaced.
fn edit(from: &str, to: &str) -> String {
    let base = base();
    assert_eq!(base.matches(from).count(), 1, "{from:?} must be unique in BASE");
    base.replacen(from, to, 1)
}

/// BASE with `text` appended.
fn plus(text: &str) -> String {
    base() + text
}

struct Measured {
    code: i32,
    stderr: String,
    wall: Duration,
    max_rss_kb: i64,
}

/// Runs `vodbuild plan ARG` in the workspace, measuring the child's wall time and peak RSS.
fn run_plan(ws: &Workspace, arg: &str, env: &[(&'static str, String)]) -> Measured {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vodbuild"));
    cmd.args(["plan", arg])
        .current_dir(ws.root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn vodbuild");
    let pid = child.id() as libc::pid_t;
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    // A watchdog: a hung case fails the test instead of hanging it.
    let watchdog = std::thread::spawn(move || {
        // SAFETY: signal 0 only checks that the process exists.
        let gone = || unsafe { libc::kill(pid, 0) } != 0;
        if common::wait::until(Duration::from_secs(20), Duration::from_millis(50), gone) {
            return false;
        }
        // SAFETY: the child is ours and not yet reaped (wait4 below reaps it).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        true
    });
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid out-parameter for wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; status and usage are valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    std::mem::forget(child); // reaped by wait4
    let stderr = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    let killed = watchdog.join().unwrap();
    assert!(!killed, "vodbuild plan {arg} hung (killed after 20 s)\n{stderr}");
    let code = std::process::ExitStatus::from_raw(status).code().unwrap_or(-1);
    Measured { code, stderr, wall, max_rss_kb: usage.ru_maxrss }
}

fn check(c: Case) {
    let ws = Workspace::new();
    ws.write("media/a.mp4", b"not read: the manifest is rejected first");
    ws.write("pipeline.yaml", &c.manifest);
    if let Some(setup) = c.setup {
        setup(&ws);
    }
    let arg = c.arg.clone().unwrap_or_else(|| "pipeline.yaml".into());
    let m = run_plan(&ws, &arg, &c.env);
    let ctx =
        format!("case `{}`: exit {}, {:?}, {} KB\n--- stderr ---\n{}", c.name, m.code, m.wall, m.max_rss_kb, m.stderr);
    assert_eq!(m.code, MANIFEST_ERROR, "{ctx}");
    let text = String::from_utf8_lossy(&c.manifest);
    let line = match c.at {
        At::Line(needle) => Some(text.lines().position(|l| l.contains(needle)).expect(needle) + 1),
        At::No(n) => Some(n),
        At::Any => None,
    };
    let prefix = match line {
        Some(l) => format!("{arg}:{l}:"),
        None => format!("{arg}:"),
    };
    let located = m.stderr.match_indices(&prefix).any(|(i, p)| {
        let rest = &m.stderr[i + p.len()..];
        let digits = |s: &str| s.starts_with(|ch: char| ch.is_ascii_digit());
        if line.is_some() { digits(rest) } else { digits(rest) && rest.contains(':') }
    });
    assert!(located, "stderr must contain `{prefix}COL`\n{ctx}");
    assert!(m.stderr.to_lowercase().contains(&c.says.to_lowercase()), "stderr must say {:?}\n{ctx}", c.says);
    assert!(!m.stderr.contains("panicked"), "panic\n{ctx}");
    assert!(!m.stderr.contains(['\u{1b}', '\u{7}', '\0']), "raw control characters on stderr\n{ctx}");
    for rust in ["alloc::", "::String", " u32", " u64", " usize", " f64", " i64", "struct ", "enum "] {
        assert!(!m.stderr.contains(rust), "stderr names a Rust type ({rust})\n{ctx}");
    }
    if let Some(secret) = c.hides {
        assert!(!m.stderr.contains(secret), "stderr shows {secret:?}\n{ctx}");
    }
    assert!(m.stderr.len() <= STDERR_MAX, "stderr is {} bytes\n{}", m.stderr.len(), &ctx[..2000.min(ctx.len())]);
    eprintln!("corpus: {:<40} {:>7.1} ms {:>7} KB", c.name, m.wall.as_secs_f64() * 1000.0, m.max_rss_kb);
    assert!(m.wall < WALL, "took {:?}\n{ctx}", m.wall);
    assert!(m.max_rss_kb < RSS_KB, "peak RSS {} KB\n{ctx}", m.max_rss_kb);
    assert!(!ws.path("out").exists(), "nothing may be built\n{ctx}");
}

fn check_all(cases: Vec<Case>) {
    for c in cases {
        check(c);
    }
}

/// Writes `head`, `n` bytes `fill`, `tail` to pipeline.yaml in small chunks: the test
/// process never holds the big text, so its memory does not show in the child's peak RSS
/// (after a vfork-style spawn, the child's `ru_maxrss` starts from the parent's high-water mark).
fn write_big(ws: &Workspace, head: &str, fill: u8, n: usize, tail: &str) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(ws.path("pipeline.yaml")).unwrap());
    f.write_all(head.as_bytes()).unwrap();
    let chunk = [fill; 64 << 10];
    for _ in 0..n / chunk.len() {
        f.write_all(&chunk).unwrap();
    }
    f.write_all(tail.as_bytes()).unwrap();
}

/// An alias bomb: ten levels of ten aliases to the level below.
fn bomb() -> String {
    let mut s = String::from("version: 1\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        s.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    s
}

#[test]
fn yaml_structure() {
    let deep_flow = format!("version: 1\noutput_dir: {}x{}\n", "[".repeat(30_000), "]".repeat(30_000));
    let deep_map = format!("version: 1\noutput_dir: {}x{}\n", "{a: ".repeat(10_000), "}".repeat(10_000));
    let deep_lines = format!(
        "version: 1\noutput_dir:\n{}x\n",
        (0..100_000).map(|i| format!("{}[\n", " ".repeat(i % 40 + 1))).collect::<String>()
    );
    let deep_block = format!("version: 1\nsources:\n  {}x\n", "- ".repeat(200));
    let many_keys: String = (0..120_000).map(|i| format!("k{i}: 1\n")).collect();
    check_all(vec![
        case("alias bomb", bomb(), At::Any, "expands"),
        case("alias to itself", plus("loop: &a [*a]\n"), At::Line("loop:"), "anchor"),
        case("alias to nothing", plus("x: *nowhere\n"), At::Line("x: *nowhere"), "anchor"),
        case("deep flow nesting", deep_flow, At::No(2), "nesting"),
        case("deep flow mappings", deep_map, At::No(2), "nesting"),
        case("deep block nesting", deep_block, At::No(3), "nesting"),
        case("deep nesting over many lines", deep_lines, At::Any, "nesting"),
        case("120k keys", format!("version: 1\n{many_keys}"), At::Any, "expands"),
        case(
            "duplicate top-level key",
            plus("output_dir: again\n"),
            At::Line("output_dir: again"),
            "duplicate key `output_dir`",
        ),
        case(
            "duplicate nested key",
            edit("      height: 720\n", "      height: 720\n      height: 360\n"),
            At::Line("height: 360"),
            "duplicate",
        ),
        case("tab indentation", edit("  gop_seconds: 2", "\tgop_seconds: 2"), At::Line("\tgop"), "tab"),
        case("top-level list", "- version: 1\n- sources: []\n", At::No(1), "mapping"),
        case("top-level scalar", "just text\n", At::No(1), "mapping"),
        case("empty file", "", At::No(1), "empty"),
        case("comments only", "# nothing\n", At::No(1), "empty"),
        case("second document", plus("---\nversion: 2\n"), At::Line("---"), "document"),
        case(
            "unknown field",
            edit("output_dir: out", "outptu_dir: out"),
            At::Line("outptu_dir"),
            "did you mean `output_dir`",
        ),
        case("stray bracket", edit("renditions: [720p]", "renditions: [720p"), At::Any, "indicator"),
        case("complex key", plus("? [a, b]\n: 1\n"), At::Line("? [a, b]"), "key"),
    ]);
}

#[test]
fn bytes_and_files() {
    let mut garbage = b"version: 1\noutput_dir: ".to_vec();
    garbage.extend([0xff, 0xfe, 0x00, 0x9c, 0x80, 0xc3]);

    let long_line = format!("version: 1\noutput_dir: [{}\n", "[a, ".repeat(50_000));
    let nested_line = format!("version: 1\noutput_dir: [{}\n", "[a, ".repeat(15_000));
    let mut huge_scalar = case("15 MB scalar", "", At::No(2), "longer than 64 KiB");
    huge_scalar.setup = Some(|ws| {
        let base = base();
        let (head, tail) = base.split_once("output_dir: out").unwrap();
        write_big(ws, &format!("{head}output_dir: "), b'x', 15 << 20, tail);
    });
    let mut too_big = case("over 16 MiB", "", At::No(1), "16 MiB");
    too_big.setup = Some(|ws| write_big(ws, &format!("{}# ", base()), b'p', 17 << 20, "\n"));
    let mut fifo = case("FIFO as manifest", "", At::No(1), "regular file");
    fifo.arg = Some("fifo.yaml".into());
    fifo.setup = Some(|ws| {
        let p = std::ffi::CString::new(ws.path("fifo.yaml").to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(p.as_ptr(), 0o600) }, 0);
    });
    let mut zero = case("/dev/zero as manifest", "", At::No(1), "regular file");
    zero.arg = Some("/dev/zero".into());
    let mut dir = case("folder as manifest", "", At::No(1), "regular file");
    dir.arg = Some("media".into());
    check_all(vec![
        case("binary garbage", garbage, At::No(2), "UTF-8"),
        case("NUL in text", edit("output_dir: out", "output_dir: o\0ut"), At::Line("output_dir"), "U+0000"),
        case("raw ESC/OSC/BEL in a key", plus("\u{1b}]0;pwned\u{7}: 1\n"), At::Line("pwned"), "U+001B"),
        huge_scalar,
        case("200 KB nested line", long_line, At::No(2), "longer than 64 KiB"),
        case("60 KB nested line", nested_line, At::No(2), "nesting"),
        too_big,
        fifo,
        zero,
        dir,
    ]);
}

#[test]
fn wrong_types_and_numbers() {
    check_all(vec![
        case("version as text", edit("version: 1", "version: one"), At::Line("version"), "whole number"),
        case("height as text", edit("height: 720", "height: tall"), At::Line("height"), "whole number"),
        case("negative height", edit("height: 720", "height: -720"), At::Line("height"), "height"),
        case("huge height", edit("height: 720", "height: 99999999999999999999999"), At::Line("height"), "height"),
        case("NaN height", edit("height: 720", "height: .nan"), At::Line("height"), "height"),
        case("zero height", edit("height: 720", "height: 0"), At::Line("height"), "range"),
        case("infinite GOP", edit("gop_seconds: 2", "gop_seconds: .inf"), At::Line("gop_seconds"), "gop_seconds"),
        case("zero GOP", edit("gop_seconds: 2", "gop_seconds: 0"), At::Line("gop_seconds"), "gop_seconds"),
        case("negative GOP", edit("gop_seconds: 2", "gop_seconds: -2"), At::Line("gop_seconds"), "gop_seconds"),
        case(
            "NaN segment",
            edit("segment_seconds: 4", "segment_seconds: .nan"),
            At::Line("segment_seconds"),
            "segment_seconds",
        ),
        case("zero bitrate", edit("bitrate: 3000k", "bitrate: 0"), At::Line("bitrate: 0"), "bitrate"),
        case("negative bitrate", edit("bitrate: 3000k", "bitrate: -5k"), At::Line("bitrate: -5k"), "bitrate"),
        case(
            "sources as a mapping",
            edit("  - path: media/a.mp4\n    id: clip\n", "  a: 1\n"),
            At::Line("a: 1"),
            "list",
        ),
        case("renditions as text", edit("renditions: [720p]", "renditions: 720p"), At::Line("renditions"), "list"),
        case("metadata as a list", edit("metadata: true", "metadata: [yes]"), At::Line("metadata"), "true or false"),
        case("crf out of range", edit("bitrate: 3000k", "crf: 1000"), At::Line("crf"), "crf"),
        case(
            "infinite thumbnail interval",
            plus("  thumbnails: {interval: .inf}\n"),
            At::Line("thumbnails"),
            "interval",
        ),
        case("codec as a mapping", edit("codec: h264", "codec: {name: h264}"), At::Line("codec: {"), "codec"),
        case("null version", edit("version: 1", "version: ~"), At::Line("version"), "version"),
    ]);
}

#[test]
fn ids_paths_and_prefixes() {
    let storage = "storage:\n  disk:\n    service: fs\n    root: published\n";
    let mut escape_id = case("ESC in id", edit("id: clip", "id: \"\\e]0;pwned\\a\""), At::Line("id:"), "not allowed");
    escape_id.hides = Some("\u{1b}]0;");
    let mut collide = case(
        "two files, one id",
        edit("  - path: media/a.mp4\n    id: clip\n", "  - glob: \"media/*.mp4\"\n"),
        At::Line("glob"),
        "a b.mp4",
    );
    collide.setup = Some(|ws| {
        ws.write("media/a b.mp4", b"x");
        ws.write("media/a_b.mp4", b"x");
    });
    check_all(vec![
        case("id with ..", edit("id: clip", "id: ../escape"), At::Line("id:"), "`..`"),
        case("absolute id", edit("id: clip", "id: /etc"), At::Line("id:"), "relative"),
        case("NUL in id", edit("id: clip", "id: \"a\\0b\""), At::Line("id:"), "not allowed"),
        case("newline in id", edit("id: clip", "id: \"a\\nb\""), At::Line("id:"), "not allowed"),
        escape_id,
        case(
            "NUL in output_dir",
            edit("output_dir: out", "output_dir: \"out\\0x\""),
            At::Line("output_dir"),
            "output_dir",
        ),
        case(
            "newline in path",
            edit("path: media/a.mp4", "path: \"media/a\\n.mp4\""),
            At::Line("path:"),
            "not allowed",
        ),
        case(
            "publish prefix ..",
            plus(&format!("{storage}publish:\n  to: disk\n  prefix: ../../x/\n")),
            At::Line("prefix"),
            "`..`",
        ),
        case(
            "publish prefix absolute",
            plus(&format!("{storage}publish:\n  to: disk\n  prefix: /x/\n")),
            At::Line("prefix"),
            "relative",
        ),
        case(
            "state prefix ..",
            plus(&format!("{storage}state:\n  backend: disk\n  prefix: ../../x/\n")),
            At::Line("prefix"),
            "`..`",
        ),
        case(
            "state prefix control",
            plus(&format!("{storage}state:\n  backend: disk\n  prefix: \"a\\tb/\"\n")),
            At::Line("prefix"),
            "not allowed",
        ),
        case(
            "object with ..",
            plus(storage)
                .replace("  - path: media/a.mp4\n    id: clip\n", "  - object: ../../etc/passwd\n    backend: disk\n"),
            At::Line("object"),
            "`..`",
        ),
        case(
            "glob from /",
            edit("  - path: media/a.mp4\n    id: clip\n", "  - glob: \"/**\"\n"),
            At::Line("glob"),
            "relative",
        ),
        case(
            "id inside another id's folder",
            edit("    id: clip\n", "    id: show\n  - path: media/a.mp4\n    id: show/hls\n"),
            At::Line("show/hls"),
            "inside the output folder",
        ),
        collide,
    ]);
}

fn loops(ws: &Workspace) {
    std::os::unix::fs::symlink(".", ws.path("media/l0")).unwrap();
    std::os::unix::fs::symlink(".", ws.path("media/l1")).unwrap();
    std::os::unix::fs::symlink("/", ws.path("media/root")).unwrap();
}

#[test]
fn globs_over_symlinks() {
    // The glob finds media/a.mp4 once (loops and the link to / are not walked), then the
    // explicit source makes the id `media/a` twice: an error naming both, fast.
    let twice = "  - glob: \"media/**/*.mp4\"\n  - path: media/a.mp4\n    id: media/a\n";
    let mut plain = case(
        "symlink loops",
        edit("  - path: media/a.mp4\n    id: clip\n", twice),
        At::Line("id: media/a"),
        "produced twice",
    );
    plain.setup = Some(loops);
    let followed = "  - glob: \"media/**/*.mp4\"\n    follow_symlinks: true\n  - path: media/a.mp4\n    id: media/a\n";
    let mut follow = case(
        "symlink loops, followed",
        edit("  - path: media/a.mp4\n    id: clip\n", followed),
        At::Line("id: media/a"),
        "produced twice",
    );
    follow.setup = Some(|ws| {
        std::os::unix::fs::symlink(".", ws.path("media/l0")).unwrap();
        std::os::unix::fs::symlink(".", ws.path("media/l1")).unwrap();
    });
    check_all(vec![plain, follow]);
}

#[test]
fn tags_env_and_secrets() {
    let with = |c: Case, k: &'static str, v: &str| Case { env: vec![(k, v.to_string())], ..c };
    let s3 = |extra: &str| plus(&format!("storage:\n  cdn:\n    service: s3\n    bucket: vod\n{extra}"));
    let mut userinfo = case(
        "userinfo in endpoint",
        s3("    endpoint: http://admin:hunter2@127.0.0.1:9000\n"),
        At::Line("endpoint"),
        "user name or password",
    );
    userinfo.hides = Some("hunter2");
    let mut ssh = case(
        "userinfo in sftp endpoint",
        plus("storage:\n  box:\n    service: sftp\n    endpoint: ssh://bob:pw@127.0.0.1:22\n"),
        At::Line("endpoint"),
        "not shown",
    );
    ssh.hides = Some("bob:pw");
    check_all(vec![
        case("!include", edit("output_dir: out", "output_dir: !include /etc/passwd"), At::Line("output_dir"), "tag"),
        case("!!binary", edit("output_dir: out", "output_dir: !!binary aGVsbG8="), At::Line("output_dir"), "tag"),
        case("tag on a mapping", edit("  hls:\n", "  hls: !custom\n"), At::Line("hls:"), "tag"),
        with(
            case(
                "env adds keys",
                edit("output_dir: out", "output_dir: ${OUT:-out}"),
                At::Line("output_dir"),
                "output_dir",
            ),
            "OUT",
            "out\ntools: {ffmpeg: ./evil.sh}",
        ),
        with(
            case("env adds a document", edit("version: 1", "version: ${V}"), At::Line("version"), "whole number"),
            "V",
            "1\n---\nversion: 2",
        ),
        with(
            case("env adds a tag", edit("height: 720", "height: ${H}"), At::Line("height"), "whole number"),
            "H",
            "!!int 720",
        ),
        case(
            "unset variable",
            edit("output_dir: out", "output_dir: x${NOPE_NOT_SET}"),
            At::Line("output_dir"),
            "NOPE_NOT_SET",
        ),
        case(
            "bad variable name",
            edit("output_dir: out", "output_dir: ${1BAD}"),
            At::Line("output_dir"),
            "invalid variable name",
        ),
        case("SECRET_ACCESS_KEY", s3("    SECRET_ACCESS_KEY: x\n"), At::Line("SECRET_ACCESS_KEY"), "credential"),
        case("Secret_Access_Key", s3("    Secret_Access_Key: x\n"), At::Line("Secret_Access_Key"), "credential"),
        case(
            "sse customer key",
            s3("    server_side_encryption_customer_key: x\n"),
            At::Line("customer_key"),
            "credential",
        ),
        case("session token", s3("    session_token: x\n"), At::Line("session_token"), "credential"),
        case(
            "webdav Password",
            plus("storage:\n  dav:\n    service: webdav\n    Password: x\n"),
            At::Line("Password"),
            "credential",
        ),
        case(
            "azure account key",
            plus("storage:\n  az:\n    service: azblob\n    ACCOUNT_KEY: x\n"),
            At::Line("ACCOUNT_KEY"),
            "credential",
        ),
        userinfo,
        ssh,
    ]);
}

/// With `--log-format json`, a manifest error is a JSON line too, with its location.
#[test]
fn json_log_format_errors_are_json() {
    let ws = Workspace::new();
    ws.write("media/a.mp4", b"x");
    ws.write("pipeline.yaml", edit("height: 720", "height: \"\\e[31mtall\""));
    let out = ws.vodbuild(&["--log-format", "json", "plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "{}", out.describe());
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert_eq!(v["level"], "ERROR", "{l}");
        let at = v["fields"]["location"].as_str().unwrap_or_default();
        assert!(at.starts_with(&format!("pipeline.yaml:{}:", line_of_base("height: 720"))), "{l}");
    }
    assert!(!out.stderr.contains('\u{1b}'), "raw ESC: {}", out.describe());
}

fn line_of_base(needle: &str) -> usize {
    base().lines().position(|l| l.contains(needle)).expect(needle) + 1
}
