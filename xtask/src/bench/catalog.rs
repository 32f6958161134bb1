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
use super::report::Report;
use super::{Config, say};
use super::{churn, fixture, media};

/// A catalog P2 built (P4 publishes each).
pub struct Catalog {
    pub ws: PathBuf,
    pub n: usize,
    /// Median of its `run` no-op samples.
    pub noop: Sample,
}

/// What the catalog's manifest asks for, per title: video rungs and audio.
const PROFILES: [&str; 3] = ["180p", "90p", "aac64"];
/// probe, one encode per profile, HLS, DASH.
pub const STEPS_PER_TITLE: usize = 3 + PROFILES.len();

pub fn p2(cfg: &Config, tools: &Tools, rep: &mut Report) -> Result<Vec<Catalog>, String> {
    let ninja = tools.ninja.clone().ok_or("ninja is not installed")?;
    let mut titles = cfg.titles.clone();
    titles.sort_unstable();
    titles.dedup();
    let mut per_n = Vec::new();
    let mut built = Vec::new();
    for &n in &titles {
        let cat = fixture::ensure(&cfg.out, &cfg.work, tools, n)?;
        let ws = cat.ws.clone();
        let edges = write_ninja(&ws, n)?;
        if ws.join(".ninja_log").is_file() {
            // The files' times may have been set since the log was written (fixture::ensure).
            timed_ok(
                "ninja -t restat",
                Command::new(&ninja).args(["-f", "build.ninja", "-t", "restat"]).current_dir(&ws),
            )?;
        } else {
            say(&format!("P2: ninja's first build of the {n}-title catalog (records its log)"));
            timed_ok("ninja (first build)", Command::new(&ninja).args(["-f", "build.ninja"]).current_dir(&ws))?;
        }
        let (run, plan, nin) = noop_rounds(cfg, tools, &ninja, &ws, n)?;
        let note = format!("{} steps", cat.steps);
        rep.row("P2", &format!("`vodbuild run` no-op, {n} titles"), &run, &note);
        rep.row("P2", &format!("`vodbuild plan`, {n} titles"), &plan, "");
        rep.row("P2", &format!("ninja no-op, {n} titles"), &nin, &format!("{edges} edges"));
        let (mr, mp, mn) = (median_sample(&run), median_sample(&plan), median_sample(&nin));
        say(&format!("P2 N={n}: run {:.3} s, plan {:.3} s, ninja {:.3} s", mr.wall, mp.wall, mn.wall));
        per_n.push((n, mr, mp, mn, pair_ratio(&run, &nin)));
        rep.data(
            "P2",
            json!({ format!("n{n}"): {"steps": cat.steps, "ninja_edges": edges, "first_build_s": cat.first_build_s,
                "catalog": ws.display().to_string(),
                "run_noop_s": mr.wall, "run_noop_rss_mb": mr.rss_mb, "plan_s": mp.wall, "plan_rss_mb": mp.rss_mb,
                "ninja_noop_s": mn.wall, "ninja_rss_mb": mn.rss_mb,
                "run_per_title_ms": mr.wall * 1000.0 / n as f64, "ninja_per_title_ms": mn.wall * 1000.0 / n as f64}}),
        );
        built.push(Catalog { ws, n, noop: mr });
    }
    targets(&per_n, rep);
    let Some(largest) = built.last() else { return Err("no catalog size given".into()) };
    churn::churn(cfg, tools, largest, rep)?;
    Ok(built)
}

/// Samples of `vodbuild run`, `vodbuild plan` and ninja.
type Rounds = (Vec<Sample>, Vec<Sample>, Vec<Sample>);

/// The timed no-op rounds: `vodbuild run`, `vodbuild plan`, ninja (samples after the warm-up).
fn noop_rounds(cfg: &Config, tools: &Tools, ninja: &Path, ws: &Path, n: usize) -> Result<Rounds, String> {
    let (mut run, mut plan, mut nin) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..cfg.warmup + cfg.reps {
        let (s_run, v) = vodbuild_run(tools, ws, None)?;
        if v["executed"].as_u64() != Some(0) {
            return Err(format!("no-op run at N={n} executed {} steps", v["executed"]));
        }
        let s_plan = plan_noop(tools, ws)?;
        let o = timed_ok("ninja no-op", Command::new(ninja).args(["-f", "build.ninja"]).current_dir(ws))?;
        if !o.stdout.contains("no work to do") {
            return Err(format!("ninja no-op did work: {}", o.stdout.chars().take(500).collect::<String>()));
        }
        if r >= cfg.warmup {
            run.push(s_run);
            plan.push(s_plan);
            nin.push(o.sample);
        }
    }
    Ok((run, plan, nin))
}

/// The P2 targets: at 1,000 titles (measured there, or extrapolated linearly from the two
/// largest sizes measured: the table says which) and at 10,000 titles when measured; the
/// ratio to ninja at every size; the marginal cost per title between consecutive sizes.
fn targets(per_n: &[(usize, Sample, Sample, Sample, f64)], rep: &mut Report) {
    let Some(&(n, run, _, _, _)) = per_n.last() else { return };
    let at = |f: &dyn Fn(&Sample) -> f64| -> f64 {
        if let Some(x) = per_n.iter().find(|x| x.0 == 1000) {
            return f(&x.1);
        }
        if per_n.len() < 2 {
            return f(&run) * 1000.0 / n as f64;
        }
        let (n0, r0) = (per_n[per_n.len() - 2].0 as f64, &per_n[per_n.len() - 2].1);
        let slope = (f(&run) - f(r0)) / (n as f64 - n0);
        f(&run) + slope * (1000.0 - n as f64)
    };
    let how = if per_n.iter().any(|x| x.0 == 1000) {
        "1,000 titles".to_string()
    } else {
        let ns: Vec<String> = per_n.iter().rev().take(2).rev().map(|x| x.0.to_string()).collect();
        format!("1,000 titles, extrapolated from N={}", ns.join(","))
    };
    rep.target("P2", &format!("`run` no-op wall, {how}"), Some(at(&|s| s.wall)), 0.3, true, " s");
    rep.target("P2", &format!("`run` no-op peak RSS, {how}"), Some(at(&|s| s.rss_mb)), 100.0, true, " MB");
    if let Some((_, r, _, _, _)) = per_n.iter().find(|x| x.0 == 10_000) {
        rep.target("P2", "`run` no-op wall, 10,000 titles", Some(r.wall), 1.0, true, " s");
        rep.target("P2", "`run` no-op peak RSS, 10,000 titles", Some(r.rss_mb), 300.0, true, " MB");
    }
    for (n, _, _, _, ratio) in per_n {
        let limit = if *n >= 10_000 { 1.5 } else { 3.0 };
        rep.target("P2", &format!("`run` no-op / ninja no-op, {n} titles"), Some(*ratio), limit, true, "×");
    }
    for w in per_n.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let per = |x: f64, y: f64| (y - x) / (b.0 - a.0) as f64 * 1000.0;
        rep.note(
            "P2",
            &format!(
                "marginal cost per title from {} to {} titles: `run` no-op {:.3} ms, `plan` {:.3} ms, ninja {:.3} ms",
                a.0,
                b.0,
                per(a.1.wall, b.1.wall),
                per(a.2.wall, b.2.wall),
                per(a.3.wall, b.3.wall)
            ),
        );
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
/// files exist already (vodbuild made them); ninja's first build records them in its log
/// (kept with the catalog while `build.ninja` does not change).
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
        edges += STEPS_PER_TITLE;
    }
    // Kept with its log when unchanged: ninja's first build of 60,000 edges takes minutes.
    if std::fs::read_to_string(ws.join("build.ninja")).ok().as_deref() != Some(s.as_str()) {
        media::write(&ws.join("build.ninja"), &s)?;
        let _ = std::fs::remove_file(ws.join(".ninja_log"));
    }
    Ok(edges)
}
