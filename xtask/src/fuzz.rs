//! `cargo xtask fuzz [--seconds N] [--target T]...`: builds the cargo-fuzz targets of
//! `fuzz/` (cargo-fuzz pinned, installed into target/tools) and runs each target for N
//! seconds with libFuzzer in fork mode, so a crash, timeout or out-of-memory input is saved
//! and fuzzing goes on. Prints executions and findings per target; fails if any were found.
//!
//! Inputs: the committed seeds (`fuzz/seeds/T`) and earlier findings
//! (`fuzz/regressions/T`), read only; the growing corpus lives in `target/fuzz/corpus/T`,
//! findings in `target/fuzz/artifacts/T`, libFuzzer's output in `target/fuzz/logs/T.log`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Result, banner, fail, local, repo_root};

const CARGO_FUZZ: &str = "cargo-fuzz@0.13.2";
const TARGETS: &[&str] = &["manifest", "hls", "dash"];
const DEFAULT_SECONDS: u64 = 60;
/// An input that runs longer than this is a finding (a hang).
const TIMEOUT_SECONDS: u32 = 10;
/// An input whose process grows past this is a finding (unbounded memory).
const RSS_LIMIT_MB: u32 = 2048;

/// What one target's run found.
struct Summary {
    target: String,
    seconds: u64,
    executions: u64,
    /// (ooms, timeouts, crashes) as libFuzzer counted them.
    findings: (u64, u64, u64),
    artifacts: Vec<PathBuf>,
}

pub fn run(args: &[String]) -> Result {
    let (seconds, targets) = parse_args(args)?;
    let cargo_fuzz = local::cargo_tool("cargo-fuzz", CARGO_FUZZ, &[], &["fuzz", "--version"])?;
    let root = repo_root();
    let target_dir = root.join("target/fuzz");
    // cargo-fuzz passes nightly-only flags (-Z); RUSTC_BOOTSTRAP lets the stable toolchain take them.
    super::run(
        "fuzz: cargo fuzz build (libFuzzer, debug assertions on)",
        Command::new(&cargo_fuzz)
            .args(["fuzz", "build", "--sanitizer", "none", "--debug-assertions", "--target-dir"])
            .arg(&target_dir)
            .current_dir(&root)
            .env("RUSTC_BOOTSTRAP", "1"),
    )?;
    let bin_dir = target_dir.join(host_triple()?).join("release");
    let mut summaries = Vec::new();
    for t in &targets {
        summaries.push(fuzz_one(&bin_dir.join(t), t, seconds)?);
    }
    report(&summaries)
}

fn parse_args(args: &[String]) -> Result<(u64, Vec<String>)> {
    let usage = "usage: cargo xtask fuzz [--seconds N] [--target manifest|hls|dash]...";
    let (mut seconds, mut targets) = (DEFAULT_SECONDS, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = it.next().map(String::as_str);
        match (a.as_str(), value) {
            ("--seconds", Some(v)) => {
                seconds =
                    v.parse().ok().filter(|s| (1..=7 * 24 * 3600).contains(s)).ok_or_else(|| {
                        fail("fuzz: arguments", format!("--seconds wants 1..=604800, got `{v}`\n{usage}"))
                    })?
            }
            ("--target", Some(v)) if TARGETS.contains(&v) => targets.push(v.to_string()),
            ("--target", Some(v)) => {
                return Err(fail(
                    "fuzz: arguments",
                    format!("unknown target `{v}` (have {})\n{usage}", TARGETS.join(", ")),
                ));
            }
            _ => return Err(fail("fuzz: arguments", format!("unexpected `{a}`\n{usage}"))),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    Ok((seconds, targets))
}

fn host_triple() -> Result<String> {
    let out = Command::new("rustc").arg("-vV").output().map_err(|e| fail("fuzz: rustc -vV", e.to_string()))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| fail("fuzz: rustc -vV", "no `host:` line"))
}

/// Runs one target for `seconds` in fork mode; streams libFuzzer's status lines.
fn fuzz_one(bin: &Path, target: &str, seconds: u64) -> Result<Summary> {
    let root = repo_root();
    let step = format!("fuzz: {target} for {seconds} s");
    let dirs = ["corpus", "artifacts", "logs"].map(|d| root.join("target/fuzz").join(d));
    let (corpus, artifacts) = (dirs[0].join(target), dirs[1].join(target));
    for d in [&corpus, &artifacts, &dirs[2]] {
        std::fs::create_dir_all(d).map_err(|e| fail(&step, format!("creating {}: {e}", d.display())))?;
    }
    let before = list(&artifacts);
    let mut cmd = Command::new(bin);
    cmd.arg(&corpus).arg(root.join("fuzz/seeds").join(target));
    let regressions = root.join("fuzz/regressions").join(target);
    if regressions.is_dir() {
        cmd.arg(&regressions);
    }
    cmd.args(["-fork=1", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"])
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={TIMEOUT_SECONDS}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // The hls/dash targets write their package files per execution: keep them (and
    // libFuzzer's fork-mode files) in memory when the machine has a tmpfs.
    if Path::new("/dev/shm").is_dir() {
        cmd.env("TMPDIR", "/dev/shm");
    }
    let dict = root.join("fuzz/dict").join(format!("{target}.dict"));
    if dict.is_file() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    banner(&step);
    let mut child = cmd.spawn().map_err(|e| fail(&step, format!("could not start {}: {e}", bin.display())))?;
    let log_path = dirs[2].join(format!("{target}.log"));
    let mut log = std::fs::File::create(&log_path).map_err(|e| fail(&step, e.to_string()))?;
    let mut last_stats = None;
    for line in BufReader::new(child.stderr.take().expect("piped stderr")).lines().map_while(|l| l.ok()) {
        let _ = writeln!(log, "{line}");
        if let Some(s) = parse_stats(&line) {
            last_stats = Some(s);
        }
        eprintln!("[{target}] {line}");
    }
    let status = child.wait().map_err(|e| fail(&step, e.to_string()))?;
    let (executions, findings) = last_stats.unwrap_or_default();
    if !status.success() && executions == 0 {
        return Err(fail(&step, format!("libFuzzer exited with {status}; see {}", log_path.display())));
    }
    let artifacts = list(&artifacts).into_iter().filter(|p| !before.contains(p)).collect();
    Ok(Summary { target: target.to_string(), seconds, executions, findings, artifacts })
}

/// A fork-mode status line: `#EXECS: cov: … oom/timeout/crash: O/T/C time: …`.
fn parse_stats(line: &str) -> Option<(u64, (u64, u64, u64))> {
    let execs = line.strip_prefix('#')?.split(':').next()?.parse().ok()?;
    let counts = line.split("oom/timeout/crash: ").nth(1)?.split_whitespace().next()?;
    let n: Vec<u64> = counts.split('/').filter_map(|x| x.parse().ok()).collect();
    (n.len() == 3).then_some((execs, (n[0], n[1], n[2])))
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    v.sort();
    v
}

fn report(summaries: &[Summary]) -> Result {
    println!(
        "\n{:<10} {:>8} {:>14} {:>6} {:>8} {:>7}",
        "target", "seconds", "executions", "ooms", "timeouts", "crashes"
    );
    for s in summaries {
        let (o, t, c) = s.findings;
        println!("{:<10} {:>8} {:>14} {:>6} {:>8} {:>7}", s.target, s.seconds, s.executions, o, t, c);
    }
    let found: Vec<&PathBuf> = summaries.iter().flat_map(|s| &s.artifacts).collect();
    let counted: u64 = summaries.iter().map(|s| s.findings.0 + s.findings.1 + s.findings.2).sum();
    if found.is_empty() && counted == 0 {
        return Ok(());
    }
    println!("\nfindings (reproduce with the target binary and the file; keep fixed ones in fuzz/regressions/T/):");
    for p in &found {
        println!("  {}", p.display());
    }
    Err(fail("fuzz", format!("{counted} finding(s), {} new artifact file(s)", found.len())))
}
