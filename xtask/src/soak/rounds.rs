//! One round of the soak: a SIGKILL of `vodbuild run` at a random moment, or a kill of the S3
//! server mid-publish; each followed by the bucket check, a rerun to completion, and the checks.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::proc::{Rng, Run, Server};
use super::{Soak, Totals, bucket, check, say};
use crate::wait;

const LIMIT: Duration = Duration::from_secs(900);

/// `vodbuild clean` (a full build follows) or nothing (the run gets `--force`).
fn prepare(soak: &Soak, clean: bool) -> Result<Vec<&'static str>, String> {
    if !clean {
        return Ok(vec!["--force"]);
    }
    let st = Command::new(&soak.vodbuild)
        .args(["-q", "clean", "pipeline.yaml"])
        .current_dir(&soak.ws)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("vodbuild clean: {e}"))?;
    if !st.success() {
        return Err(format!("vodbuild clean exited with {st}"));
    }
    Ok(vec![])
}

fn start(soak: &Soak, args: &[&str]) -> Result<Run, String> {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(soak.jobs.iter().map(String::as_str));
    Run::start(&soak.vodbuild, &soak.ws, &a, &soak.log)
}

/// Lists the bucket and counts playlists/MPDs naming a missing object.
fn check_bucket(soak: &Soak, t: &mut Totals) -> Vec<String> {
    let v = bucket::violations(&soak.server_bucket);
    t.bucket_checks += 1;
    t.bucket_violations += v.len();
    v
}

/// Reruns to completion; Ok(wall seconds) when it exited 0 with no failed step.
fn rerun(soak: &Soak, t: &mut Totals) -> Result<Result<f64, String>, String> {
    let report = soak.work.join("rerun.json");
    let _ = std::fs::remove_file(&report);
    let rep = report.display().to_string();
    let started = Instant::now();
    t.reruns += 1;
    let st = match start(soak, &["--report", &rep])?.wait(LIMIT) {
        Ok(st) => st,
        Err(e) => return Ok(Err(e)),
    };
    let failed = check::read_report(&report).and_then(|v| v["failed"].as_u64());
    if !st.success() || failed != Some(0) {
        return Ok(Err(format!("rerun exited with {st}, failed steps: {failed:?} (see {})", soak.log.display())));
    }
    t.reruns_ok += 1;
    Ok(Ok(started.elapsed().as_secs_f64()))
}

/// The rerun and the checks after it; returns the line to print.
fn rerun_and_check(soak: &Soak, t: &mut Totals) -> Result<(String, Option<f64>), String> {
    match rerun(soak, t)? {
        Err(e) => Ok((format!("RERUN FAILED: {e}"), None)),
        Ok(secs) => {
            let found = check::after_rerun(soak)?;
            found.add_to(t);
            Ok((format!("rerun ok in {secs:.1} s; {}", found.summary()), Some(secs)))
        }
    }
}

/// A random publish step number, 1..=the number a full run has.
fn pick_publish(soak: &Soak, rng: &mut Rng) -> usize {
    1 + (rng.next_u64() % soak.publish_steps.max(1) as u64) as usize
}

/// Waits until the `k`-th publish step has started (or the run ended), then up to 20 ms more.
fn at_publish(run: &mut Run, k: usize, rng: &mut Rng) {
    let left = LIMIT.saturating_sub(run.started.elapsed());
    wait::until(left, Duration::from_millis(1), || run.publish_started() >= k || run.exited());
    std::thread::sleep(Duration::from_secs_f64(rng.unit() * 0.02));
}

/// Kill round `i`: clean (even rounds) or `--force` (odd rounds: outputs are replaced in
/// place), start the run, SIGKILL it after a delay uniform over `est`, the estimated length
/// of a run of that mode (updated here). Every fourth round (a clean one, so everything is
/// uploaded) is killed just after its k-th publish step starts instead: publishing is a small
/// part of the run, which a uniform delay would seldom hit.
pub fn kill(soak: &Soak, rng: &mut Rng, i: usize, n: usize, est: &mut f64, t: &mut Totals) -> Result<(), String> {
    let args = prepare(soak, i.is_multiple_of(2))?;
    let delay = rng.unit() * *est;
    let publish_k = (i % 4 == 2).then(|| pick_publish(soak, rng));
    let mut run = start(soak, &args)?;
    match publish_k {
        Some(k) => at_publish(&mut run, k, rng),
        None => {
            let left = Duration::try_from_secs_f64(delay).unwrap_or_default().saturating_sub(run.started.elapsed());
            wait::until(left, Duration::from_millis(5), || run.exited());
        }
    }
    let at = run.started.elapsed().as_secs_f64();
    let mode = match publish_k {
        Some(k) => format!("clean, at publish step {k}"),
        None if args.is_empty() => "clean".to_string(),
        None => "--force".to_string(),
    };
    let (what, killed) = if run.exited() {
        t.finished_before_kill += 1;
        if publish_k.is_none() {
            // The whole run took this long: the estimate moves halfway there.
            *est = 0.5 * *est + 0.5 * at;
        }
        let _ = run.wait(LIMIT);
        ("ended before the kill".to_string(), false)
    } else {
        let phase = run.phase();
        run.kill();
        t.kills += 1;
        *t.by_phase.entry(phase.clone()).or_default() += 1;
        (format!("SIGKILL during {phase}"), true)
    };
    let v = check_bucket(soak, t);
    let (line, secs) = rerun_and_check(soak, t)?;
    match (killed && publish_k.is_none(), secs) {
        // A full build killed, then finished: kill time + the rest is a full run's length.
        (true, Some(s)) if args.is_empty() => *est = 0.8 * *est + 0.2 * (delay + s),
        // After a killed --force run, the steps it did not reach are still fresh: the rerun
        // says nothing about a full run's length, only that it exceeds the kill time.
        (true, _) => *est = est.max(delay),
        _ => {}
    }
    let bucket = if v.is_empty() { String::new() } else { format!(" BUCKET VIOLATIONS: {v:?};") };
    say(&format!("round {} (kill {}/{n}, {mode}, at {at:.2} s): {what};{bucket} {line}", i + 1, t.kills));
    Ok(())
}

/// Server-kill round `i`: clean, sometimes empty the bucket, start the run, kill s3s-fs
/// just after a random publish step starts, restart it after up to 2 s, let the run end,
/// then rerun to completion.
pub fn server_kill(
    soak: &Soak,
    server: &mut Server,
    rng: &mut Rng,
    i: usize,
    n: usize,
    t: &mut Totals,
) -> Result<(), String> {
    prepare(soak, true)?;
    let emptied = rng.unit() < 0.5;
    if emptied {
        let b = server.bucket();
        std::fs::remove_dir_all(&b).map_err(|e| format!("{}: {e}", b.display()))?;
        std::fs::create_dir_all(&b).map_err(|e| format!("{}: {e}", b.display()))?;
    }
    // Kill when the k-th publish step has just started (k spread over the run's publish steps).
    let k = pick_publish(soak, rng);
    let mut run = start(soak, &[])?;
    at_publish(&mut run, k, rng);
    let phase = run.phase();
    server.kill();
    t.server_kills += 1;
    let running = !run.exited();
    let publishing = running && phase.contains("publish");
    t.server_mid_publish += publishing as usize;
    let mut v = check_bucket(soak, t);
    std::thread::sleep(Duration::from_secs_f64(rng.unit() * 2.0));
    server.restart()?;
    let status = run.wait(LIMIT);
    let completed = matches!(&status, Ok(s) if s.success());
    t.server_run_completed += completed as usize;
    v.extend(check_bucket(soak, t));
    let ok_before = t.reruns_ok;
    let (line, _) = rerun_and_check(soak, t)?;
    t.server_next_ok += (t.reruns_ok > ok_before) as usize;
    let run_end = match status {
        Ok(s) => format!("run {}", if s.success() { "completed".to_string() } else { format!("ended with {s}") }),
        Err(e) => format!("RUN HUNG: {e}"),
    };
    let bucket = if v.is_empty() { String::new() } else { format!(" BUCKET VIOLATIONS: {v:?};") };
    let state = match (running, publishing) {
        (true, true) => format!("publish step {k} in flight: {phase}"),
        (true, false) => format!("after publish step {k} started, during {phase}"),
        _ => "after the run ended".to_string(),
    };
    let empty = if emptied { ", bucket emptied first" } else { "" };
    say(&format!("server kill {}/{n} ({state}{empty}): {run_end};{bucket} next {line}", i + 1));
    Ok(())
}
