//! P2: no-op at scale. A catalog of N tiny titles is built once; then `vodbuild run` and
//! `vodbuild plan` with nothing to do are timed against ninja's no-op on a generated
//! `build.ninja` that has the same steps (one edge per vodbuild step) over the same files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::encode::vodbuild_run;
use super::install::Tools;
use super::measure::{Sample, median, median_sample, pair_ratio, timed_ok};
use super::media;
use super::report::Report;
use super::{Config, say};

/// A catalog P2 built (P4 publishes each).
pub struct Catalog {
    pub ws: PathBuf,
    pub n: usize,
}

/// What the catalog's manifest asks for, per title: video rungs and audio.
const PROFILES: [&str; 3] = ["180p", "90p", "aac64"];

pub fn p2(cfg: &Config, tools: &Tools, rep: &mut Report) -> Result<Vec<Catalog>, String> {
    let ninja = tools.ninja.clone().ok_or("ninja is not installed")?;
    let mut titles = cfg.titles.clone();
    titles.sort_unstable();
    titles.dedup();
    let mut per_n = Vec::new();
    let mut built = Vec::new();
    for &n in &titles {
        let ws = cfg.work.join(format!("p2/n{n}"));
        media::tiny_titles(tools, &cfg.work.join("media"), &ws.join("media"), n)?;
        media::write(&ws.join("pipeline.yaml"), &media::catalog_manifest(tools))?;
        say(&format!("P2: building the {n}-title catalog once"));
        let (build, v) = vodbuild_run(tools, &ws, None)?;
        let steps = v["steps"].as_array().map(|a| a.len()).unwrap_or(0);
        say(&format!("P2: {n} titles, {steps} steps: built in {:.1} s", build.wall));
        let edges = write_ninja(&ws, n)?;
        timed_ok("ninja (first build)", Command::new(&ninja).args(["-f", "build.ninja"]).current_dir(&ws))?;

        let (mut run, mut plan, mut nin) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..cfg.warmup + cfg.reps {
            let (s_run, v) = vodbuild_run(tools, &ws, None)?;
            if v["executed"].as_u64() != Some(0) {
                return Err(format!("no-op run at N={n} executed {} steps", v["executed"]));
            }
            let s_plan = plan_noop(tools, &ws)?;
            let o = timed_ok("ninja no-op", Command::new(&ninja).args(["-f", "build.ninja"]).current_dir(&ws))?;
            if !o.stdout.contains("no work to do") {
                return Err(format!("ninja no-op did work: {}", o.stdout.chars().take(500).collect::<String>()));
            }
            if r >= cfg.warmup {
                run.push(s_run);
                plan.push(s_plan);
                nin.push(o.sample);
            }
        }
        let note = format!("{steps} steps");
        rep.row("P2", &format!("`vodbuild run` no-op, {n} titles"), &run, &note);
        rep.row("P2", &format!("`vodbuild plan`, {n} titles"), &plan, "");
        rep.row("P2", &format!("ninja no-op, {n} titles"), &nin, &format!("{edges} edges"));
        let (mr, mp, mn) = (median_sample(&run), median_sample(&plan), median_sample(&nin));
        say(&format!("P2 N={n}: run {:.3} s, plan {:.3} s, ninja {:.3} s", mr.wall, mp.wall, mn.wall));
        per_n.push((n, mr, mp, mn, pair_ratio(&run, &nin)));
        rep.data(
            "P2",
            json!({ format!("n{n}"): {"steps": steps, "ninja_edges": edges, "initial_build_s": build.wall,
                "run_noop_s": mr.wall, "run_noop_rss_mb": mr.rss_mb, "plan_s": mp.wall, "ninja_noop_s": mn.wall,
                "run_per_title_ms": mr.wall * 1000.0 / n as f64, "ninja_per_title_ms": mn.wall * 1000.0 / n as f64}}),
        );
        built.push(Catalog { ws, n });
    }
    targets(&per_n, rep);
    if built.is_empty() {
        return Err("no catalog size given".into());
    }
    Ok(built)
}

/// The P2 targets are stated at 1,000 titles: measured there, or extrapolated linearly from
/// the two largest sizes measured (the table says which).
fn targets(per_n: &[(usize, Sample, Sample, Sample, f64)], rep: &mut Report) {
    let Some(&(n, run, _, _, ratio)) = per_n.last() else { return };
    let at = |f: &dyn Fn(&Sample) -> f64| -> f64 {
        if n == 1000 || per_n.len() < 2 {
            return f(&run) * if n == 1000 { 1.0 } else { 1000.0 / n as f64 };
        }
        let (n0, r0) = (per_n[per_n.len() - 2].0 as f64, &per_n[per_n.len() - 2].1);
        let slope = (f(&run) - f(r0)) / (n as f64 - n0);
        f(&run) + slope * (1000.0 - n as f64)
    };
    let how = if n == 1000 {
        "1,000 titles".to_string()
    } else {
        let ns: Vec<String> = per_n.iter().rev().take(2).rev().map(|x| x.0.to_string()).collect();
        format!("1,000 titles, extrapolated from N={}", ns.join(","))
    };
    rep.target("P2", &format!("`run` no-op wall, {how}"), Some(at(&|s| s.wall)), 0.3, true, " s");
    rep.target("P2", &format!("`run` no-op peak RSS, {how}"), Some(at(&|s| s.rss_mb)), 100.0, true, " MB");
    rep.target("P2", &format!("`run` no-op / ninja no-op, {n} titles"), Some(ratio), 3.0, true, "×");
    if per_n.len() >= 2 {
        let (a, b) = (&per_n[0], &per_n[per_n.len() - 1]);
        let growth = (b.1.wall - a.1.wall) / (b.0 - a.0) as f64 * 1000.0;
        let ng = (b.3.wall - a.3.wall) / (b.0 - a.0) as f64 * 1000.0;
        rep.note("P2", &format!("marginal cost per title: `run` no-op {growth:.2} ms, ninja {ng:.3} ms"));
    }
    let ratios: Vec<f64> = per_n.iter().map(|x| x.4).collect();
    rep.data("P2", json!({"run_over_ninja_median": median(&ratios)}));
}

fn plan_noop(tools: &Tools, ws: &Path) -> Result<Sample, String> {
    let mut c = Command::new(&tools.vodbuild);
    c.args(["-q", "plan", "pipeline.yaml", "--json"]).current_dir(ws);
    let o = timed_ok("vodbuild plan", &mut c)?;
    let v: Value = serde_json::from_str(&o.stdout).map_err(|e| format!("vodbuild plan --json: {e}"))?;
    if v["summary"]["stale"].as_u64() != Some(0) {
        return Err(format!("plan after a build is not empty: {}", o.stdout.chars().take(800).collect::<String>()));
    }
    Ok(o.sample)
}

/// Every file under `dir`, relative to `base`, sorted.
fn files_under(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(base, &p, out)?;
        } else {
            out.push(p.strip_prefix(base).unwrap_or(&p).display().to_string());
        }
    }
    Ok(())
}

/// `build.ninja` with vodbuild's steps per title: probe, one encode per profile, HLS, DASH;
/// each edge lists the same input and output files vodbuild checks. Commands are `true`: the
/// files exist already (vodbuild made them); ninja's first build records them in its log.
fn write_ninja(ws: &Path, n: usize) -> Result<usize, String> {
    let mut s = String::from("rule step\n  command = true\n  description = $out\n\n");
    let mut edges = 0;
    for i in 0..n {
        let id = format!("media/t{i:05}");
        let src = format!("{id}.mp4");
        let work = format!(".vodbuild/pipeline.yaml/work/{id}");
        let probe = format!("{work}/probe.json");
        let _ = writeln!(s, "build {probe}: step {src}");
        let mut encoded = Vec::new();
        for p in PROFILES {
            let f = format!("{work}/{p}.mp4");
            let _ = writeln!(s, "build {f}: step {src} {probe}");
            encoded.push(f);
        }
        for pkg in ["hls", "dash"] {
            let mut outs = Vec::new();
            files_under(ws, &ws.join(format!("out/{id}/{pkg}")), &mut outs)?;
            let _ = writeln!(s, "build {}: step {}", outs.join(" "), encoded.join(" "));
        }
        edges += 2 + PROFILES.len() + 1;
    }
    media::write(&ws.join("build.ninja"), &s)?;
    let _ = std::fs::remove_file(ws.join(".ninja_log"));
    Ok(edges)
}
