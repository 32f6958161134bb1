//! P2's near-no-op runs on the largest catalog, each against that catalog's no-op:
//! - touched: 1% of the sources get a new mtime (bytes unchanged); `vodbuild run` must
//!   re-hash exactly those (bytes hashed reported) and execute nothing;
//! - new titles: 10 sources appear (distinct bytes each round); `vodbuild run` must execute
//!   their steps and only theirs. Afterwards their files are removed and the state file put
//!   back as it was, so the kept catalog does not grow from one bench run to the next.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::catalog::Catalog;
use super::catalog::STEPS_PER_TITLE;
use super::encode::vodbuild_run;
use super::fixture::title;
use super::install::Tools;
use super::measure::{Sample, median, median_sample, timed_ok};
use super::report::Report;
use super::{Config, media, say};

/// How many titles appear in the new-titles run.
const NEW_TITLES: usize = 10;

pub fn churn(cfg: &Config, tools: &Tools, cat: &Catalog, rep: &mut Report) -> Result<(), String> {
    touched(cfg, tools, cat, rep)?;
    new_titles(cfg, tools, cat, rep)
}

fn stat(v: &Value, k: &str) -> u64 {
    v["stats"][k].as_u64().unwrap_or(0)
}

fn touched(cfg: &Config, tools: &Tools, cat: &Catalog, rep: &mut Report) -> Result<(), String> {
    let every = 100;
    let picked: Vec<PathBuf> =
        (0..cat.n).step_by(every).map(|i| cat.ws.join(format!("media/{}.mp4", title(i)))).collect();
    let bytes: u64 = picked.iter().map(|p| p.metadata().map(|m| m.len()).unwrap_or(0)).sum();
    let mut samples = Vec::new();
    for r in 0..cfg.warmup + cfg.reps {
        for p in &picked {
            // Back in time (a new mtime all the same): the source stays older than what was
            // built from it, so ninja's view of the catalog is not disturbed.
            let f = std::fs::File::options().write(true).open(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let was = f.metadata().and_then(|m| m.modified()).map_err(|e| format!("{}: {e}", p.display()))?;
            let when = was.checked_sub(Duration::from_secs(1 + r as u64)).unwrap_or(SystemTime::UNIX_EPOCH);
            f.set_modified(when).map_err(|e| format!("touching {}: {e}", p.display()))?;
        }
        let (s, v) = vodbuild_run(tools, &cat.ws, None)?;
        let (hashed, executed) = (stat(&v, "source_bytes_hashed"), v["executed"].as_u64().unwrap_or(u64::MAX));
        if executed != 0 || stat(&v, "sources_hashed") != picked.len() as u64 || hashed != bytes {
            return Err(format!(
                "touched run: {executed} steps executed, {} sources ({hashed} B) hashed; expected 0, {} ({bytes} B)",
                stat(&v, "sources_hashed"),
                picked.len()
            ));
        }
        if r >= cfg.warmup {
            samples.push(s);
        }
    }
    let n = cat.n;
    let what = format!("{} of {n} sources touched: {} B re-hashed, 0 steps executed", picked.len(), bytes);
    say(&format!("P2 touched: {what}, {:.3} s", median_sample(&samples).wall));
    rep.row("P2", &format!("`vodbuild run`, 1% touched, {n} titles"), &samples, &what);
    let ratio = median(&samples.iter().map(|s| s.wall / cat.noop.wall).collect::<Vec<_>>());
    rep.note("P2", &format!("1% touched at {n} titles: {ratio:.2}× the no-op wall ({what})"));
    rep.data(
        "P2",
        json!({"touched": {"titles": n, "sources": picked.len(), "bytes_hashed": bytes,
        "wall_s": median_sample(&samples).wall, "over_noop": ratio}}),
    );
    Ok(())
}

fn new_titles(cfg: &Config, tools: &Tools, cat: &Catalog, rep: &mut Report) -> Result<(), String> {
    let snapshot = cat.ws.join(".vodbuild/pipeline.yaml/state.json");
    let backup = cat.ws.join(".vodbuild/bench-state-backup.json");
    std::fs::copy(&snapshot, &backup).map_err(|e| format!("{}: {e}", snapshot.display()))?;
    let result = new_title_rounds(cfg, tools, cat);
    // Put the catalog back as it was, whatever happened.
    let restored = std::fs::rename(&backup, &snapshot).map_err(|e| format!("restoring {}: {e}", snapshot.display()));
    let _ = std::fs::remove_file(cat.ws.join(".vodbuild/pipeline.yaml/journal.jsonl"));
    let (samples, steps) = result?;
    restored?;
    let n = cat.n;
    let what = format!("{NEW_TITLES} new titles: {steps} steps executed, only theirs");
    say(&format!("P2 new titles: {what}, {:.2} s", median_sample(&samples).wall));
    rep.row("P2", &format!("`vodbuild run`, {NEW_TITLES} new titles, {n} titles"), &samples, &what);
    let ratio = median(&samples.iter().map(|s| s.wall / cat.noop.wall).collect::<Vec<_>>());
    rep.note("P2", &format!("{NEW_TITLES} new titles at {n} titles: {ratio:.1}× the no-op wall ({what})"));
    rep.data(
        "P2",
        json!({"new_titles": {"titles": n, "new": NEW_TITLES, "steps_executed": steps,
        "wall_s": median_sample(&samples).wall, "over_noop": ratio}}),
    );
    Ok(())
}

/// The timed rounds: each adds `NEW_TITLES` distinct sources, runs, checks, removes them.
fn new_title_rounds(cfg: &Config, tools: &Tools, cat: &Catalog) -> Result<(Vec<Sample>, usize), String> {
    let base = cat.ws.join(format!("media/{}.mp4", title(0)));
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let (mut samples, mut steps) = (Vec::new(), 0);
    for r in 0..cfg.warmup + cfg.reps {
        let ids: Vec<String> = (0..NEW_TITLES).map(|k| format!("new{r}-{k}")).collect();
        let mut c = media::ffmpeg(tools);
        c.arg("-i").arg(&base);
        for id in &ids {
            c.args(["-map", "0", "-c", "copy", "-metadata", &format!("comment=bench new title {stamp} {id}")]);
            c.arg(cat.ws.join(format!("media/{id}.mp4")));
        }
        timed_ok("ffmpeg (new titles)", &mut c)?;
        let run = vodbuild_run(tools, &cat.ws, None);
        remove_titles(&cat.ws, &ids);
        let (s, v) = run?;
        let executed: Vec<&str> = v["steps"]
            .as_array()
            .map(|a| a.iter().filter(|s| s["status"] == "executed").filter_map(|s| s["id"].as_str()).collect())
            .unwrap_or_default();
        let theirs = |id: &str| ids.iter().any(|t| id.contains(&format!("media/{t}")));
        if executed.is_empty()
            || !executed.iter().all(|id| theirs(id))
            || executed.len() != STEPS_PER_TITLE * NEW_TITLES
        {
            return Err(format!("new-titles run executed {} steps: {executed:?}", executed.len()));
        }
        steps = executed.len();
        if r >= cfg.warmup {
            samples.push(s);
        }
    }
    Ok((samples, steps))
}

fn remove_titles(ws: &Path, ids: &[String]) {
    for id in ids {
        let _ = std::fs::remove_file(ws.join(format!("media/{id}.mp4")));
        let _ = std::fs::remove_dir_all(ws.join(format!("out/media/{id}")));
        let _ = std::fs::remove_dir_all(ws.join(format!(".vodbuild/pipeline.yaml/work/media/{id}")));
    }
}
