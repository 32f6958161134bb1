//! P6: the Slurm executor on the test cluster (xtask/src/cluster.rs, 3 compute nodes, each
//! slurmd in its own network namespace) against the local executor, in the same bench run: a
//! catalog of tiny titles (≥ 300 steps) built cold by each, pair by pair. Reported: the wall
//! ratio (target ≤ 1.5×), sbatch calls (target ≤ steps / 20) and status calls, counted by the
//! cluster's wrappers (and checked against the run report's `executor` object); the two
//! builds' outputs must be byte-identical.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::install::Tools;
use super::measure::{Sample, median, median_sample, pair_ratio, timed_ok};
use super::media;
use super::report::Report;
use super::{Config, say};
use crate::cluster::{Cluster, Opts};

const NODES: usize = 3;
/// 6 steps per title (probe, 2 video encodes + AAC, HLS, DASH): 300 and 384 steps.
const TITLES_QUICK: usize = 50;
const TITLES: usize = 64;

/// What one Slurm build asked of the scheduler (wrapper counts).
struct Calls {
    sbatch: usize,
    status: usize,
    jobs: u64,
}

pub fn p6(cfg: &Config, tools: &Tools, rep: &mut Report) -> Result<(), String> {
    if let Err(why) = Cluster::available().and_then(|()| crate::slurm_setup::ensure_slurm().map_err(|e| e.to_string()))
    {
        rep.note("P6", &format!("not run: {why}"));
        return Err(format!("the Slurm test cluster cannot run here: {why}"));
    }
    let n = if cfg.quick { TITLES_QUICK } else { TITLES };
    let dir = cfg.work.join("p6");
    let (local, slurm) = (dir.join("local"), dir.join("slurm"));
    // tiny_titles keeps its base clip here; with `--only P6` nothing else has made the folder.
    std::fs::create_dir_all(cfg.work.join("media")).map_err(|e| format!("{}: {e}", cfg.work.display()))?;
    for ws in [&local, &slurm] {
        media::tiny_titles(tools, &cfg.work.join("media"), &ws.join("media"), n)?;
        media::write(&ws.join("pipeline.yaml"), &media::catalog_manifest(tools))?;
    }
    // Each node offers this machine's CPUs (what `slurmd -C` reports in its namespace).
    let opts = Opts::default();
    let _ = std::fs::remove_dir_all(dir.join("cluster"));
    let cluster = Cluster::start(&dir.join("cluster"), NODES, &opts)?;
    say(&format!("P6: {NODES}-node cluster up; {n} titles, local vs slurm"));
    let (mut l, mut s, mut calls, mut steps) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for r in 0..cfg.encode_warmup + cfg.reps {
        let (ls, lv) = cold_build(tools, &local, None)?;
        cluster.reset_calls();
        let (ss, sv) = cold_build(tools, &slurm, Some(&cluster))?;
        steps = sv["steps"].as_array().map_or(0, Vec::len);
        let c = count(&cluster, &sv)?;
        same_outputs(&local, &slurm)?;
        say(&format!(
            "P6 round {r}: local {:.1} s, slurm {:.1} s, {} sbatch, {} status",
            ls.wall, ss.wall, c.sbatch, c.status
        ));
        if lv["executor"]["kind"] != "local" {
            return Err(format!("the local build reports executor {}", lv["executor"]));
        }
        if r >= cfg.encode_warmup {
            l.push(ls);
            s.push(ss);
            calls.push(c);
        }
    }
    finish(rep, n, steps, &l, &s, &calls);
    Ok(())
}

/// `vodbuild run --json --executor local|slurm` on a fresh out/ and state; checks it built all.
fn cold_build(tools: &Tools, ws: &Path, cluster: Option<&Cluster>) -> Result<(Sample, Value), String> {
    for d in ["out", ".vodbuild"] {
        let _ = std::fs::remove_dir_all(ws.join(d));
    }
    let mut c = Command::new(&tools.vodbuild);
    let kind = if cluster.is_some() { "slurm" } else { "local" };
    c.args(["-q", "run", "pipeline.yaml", "--json", "--executor", kind]).current_dir(ws);
    c.env_remove("VODBUILD_FFMPEG").env_remove("VODBUILD_FFPROBE");
    if let Some(cl) = cluster {
        c.envs(cl.env());
    }
    let o = timed_ok(&format!("vodbuild run --executor {kind}"), &mut c)?;
    let v: Value = serde_json::from_str(&o.stdout).map_err(|e| format!("vodbuild run --json: {e}"))?;
    if v["failed"].as_u64() != Some(0) || v["executed"].as_u64() == Some(0) {
        return Err(format!("{kind} build: {}", o.stdout.chars().take(2000).collect::<String>()));
    }
    Ok((o.sample, v))
}

/// The wrappers' counts, which must agree with the report's `executor` object.
fn count(cluster: &Cluster, v: &Value) -> Result<Calls, String> {
    let e = &v["executor"];
    let (sbatch, status) = (cluster.count("sbatch"), cluster.count("squeue") + cluster.count("scontrol"));
    if e["kind"] != "slurm" || e["sbatch_calls"].as_u64() != Some(sbatch as u64) {
        return Err(format!("report executor {e} vs {sbatch} sbatch calls seen by the wrappers"));
    }
    Ok(Calls { sbatch, status, jobs: e["submitted_jobs"].as_u64().unwrap_or(0) })
}

fn digests(ws: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = Vec::new();
    walk(&ws.join("out"), &mut files);
    files
        .into_iter()
        .map(|p| {
            Ok((p.strip_prefix(ws).unwrap_or(&p).display().to_string(), std::fs::read(&p).map_err(|e| e.to_string())?))
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { walk(&p, out) } else { out.push(p) }
    }
}

/// The Slurm build's outputs are byte-identical to the local build's.
fn same_outputs(local: &Path, slurm: &Path) -> Result<(), String> {
    let (a, b) = (digests(local)?, digests(slurm)?);
    if a.is_empty() || a != b {
        let differ: Vec<&String> = a.keys().filter(|k| a.get(*k) != b.get(*k)).take(5).collect();
        return Err(format!("Slurm and local outputs differ ({} vs {} files): {differ:?}", a.len(), b.len()));
    }
    Ok(())
}

fn finish(rep: &mut Report, n: usize, steps: usize, l: &[Sample], s: &[Sample], calls: &[Calls]) {
    let med = |f: fn(&Calls) -> f64| median(&calls.iter().map(f).collect::<Vec<_>>());
    let (sbatch, status, jobs) = (med(|c| c.sbatch as f64), med(|c| c.status as f64), med(|c| c.jobs as f64));
    let ratio = pair_ratio(s, l);
    rep.row("P6", &format!("cold build, local executor, {n} titles"), l, &format!("{steps} steps"));
    let cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
    rep.row(
        "P6",
        &format!("cold build, Slurm executor ({NODES} nodes × {cpus} CPUs), {n} titles"),
        s,
        &format!("{sbatch:.0} sbatch, {status:.0} status calls, {jobs:.0} jobs"),
    );
    rep.target("P6", &format!("Slurm / local wall, {n} titles"), Some(ratio), 1.5, true, "×");
    rep.target(
        "P6",
        &format!("sbatch calls, {steps} steps (limit steps / 20)"),
        Some(sbatch),
        steps as f64 / 20.0,
        true,
        "",
    );
    rep.note(
        "P6",
        &format!(
            "status calls (squeue + scontrol) per Slurm build: {status:.0}; outputs byte-identical to the local build"
        ),
    );
    let (ml, ms) = (median_sample(l), median_sample(s));
    rep.data(
        "P6",
        json!({"titles": n, "steps": steps, "nodes": NODES, "local_wall_s": ml.wall, "slurm_wall_s": ms.wall,
        "wall_ratio": ratio, "sbatch_calls": sbatch, "status_calls": status, "submitted_jobs": jobs}),
    );
}
