//! The P2 catalogs, built once and kept under `target/bench/catalog/` between bench runs
//! (each folder's name carries its parameters: `n10000-tiny2s-b100`).
//!
//! Building 10,000 titles with ffmpeg would take hours on 2 cores (about 0.75 s a title
//! here), so only `DISTINCT` titles are built by vodbuild from distinct sources (the base
//! catalog); title `i` of a larger catalog is a byte copy of base title `i % DISTINCT`.
//! Step records name no source id or path (see `src/key.rs`), so a copy's steps have the
//! very records vodbuild would write for it: the base's outputs are copied into the copy's
//! folders and the base's records are appended to the workspace's journal under the copy's
//! step ids. The first `vodbuild run` then re-hashes every copied file (the stat cache
//! misses) and must execute nothing: vodbuild itself checks that the copy is fully built.
//! Nothing about the copies is faster to check than distinct titles: every output is a file
//! of its own, with its own inode.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::encode::vodbuild_run;
use super::install::Tools;
use super::{media, say};

/// Titles built from distinct sources; larger catalogs repeat them.
pub const DISTINCT: usize = 100;
/// Titles are named t00000 .. t99999.
pub const MAX_TITLES: usize = 99_999;
/// Written last: the catalog is complete and was checked by a no-op run.
const DONE: &str = "catalog-ok.json";
/// How a copied catalog's file times are set (see [`settle_mtimes`]).
const MTIMES: &str = "source+1s probe, +2s encodes, +3s packages";

/// A built catalog's workspace and the wall time of its first (checking) build.
pub struct Built {
    pub ws: PathBuf,
    pub first_build_s: f64,
    pub steps: usize,
}

pub fn catalog_dir(out: &Path, n: usize) -> PathBuf {
    if n <= DISTINCT {
        out.join(format!("catalog/n{n}-tiny2s"))
    } else {
        out.join(format!("catalog/n{n}-tiny2s-b{DISTINCT}"))
    }
}

/// The catalog of `n` titles, built (or copied from the base and checked) when missing.
pub fn ensure(out: &Path, work: &Path, tools: &Tools, n: usize) -> Result<Built, String> {
    if n == 0 || n > MAX_TITLES {
        return Err(format!("--titles: {n} is not in 1..={MAX_TITLES}"));
    }
    let ws = catalog_dir(out, n);
    media::write(&ws.join("pipeline.yaml"), &media::catalog_manifest(tools))?;
    if let Some(done) = read_done(&ws).filter(|d| n <= DISTINCT || d["mtimes"] == MTIMES) {
        let (_, v) = vodbuild_run(tools, &ws, None)?;
        if v["executed"].as_u64() == Some(0) {
            let first = done["first_build_s"].as_f64().unwrap_or(f64::NAN);
            return Ok(Built { ws, first_build_s: first, steps: steps_of(&v) });
        }
        say(&format!("P2: the kept {n}-title catalog was not fresh; it is brought up to date"));
    }
    let t = std::time::Instant::now();
    if n <= DISTINCT {
        media::tiny_titles(tools, &work.join("media"), &ws.join("media"), n)?;
        say(&format!("P2: building the {n}-title catalog once (ffmpeg for every title)"));
    } else {
        let base = ensure(out, work, tools, DISTINCT)?;
        if read_done(&ws).is_some() {
            say(&format!("P2: putting the {n}-title catalog's file times in build order"));
        } else {
            say(&format!("P2: copying the {DISTINCT}-title catalog into {n} titles"));
            replicate(&base.ws, &ws, n)?;
        }
        settle_mtimes(&ws, n)?;
    }
    let (s, v) = vodbuild_run(tools, &ws, None)?;
    if n > DISTINCT && v["executed"].as_u64() != Some(0) {
        return Err(format!("the copied {n}-title catalog was not fresh: {} steps executed", v["executed"]));
    }
    let first = t.elapsed().as_secs_f64();
    let steps = steps_of(&v);
    say(&format!("P2: {n} titles, {steps} steps: first build {first:.1} s (its vodbuild run {:.1} s)", s.wall));
    let first = read_done(&ws).and_then(|d| d["first_build_s"].as_f64()).unwrap_or(first);
    let done =
        json!({"titles": n, "distinct": n.min(DISTINCT), "first_build_s": first, "steps": steps, "mtimes": MTIMES});
    media::write(&ws.join(DONE), &done.to_string())?;
    Ok(Built { ws, first_build_s: first, steps })
}

fn read_done(ws: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(ws.join(DONE)).ok()?).ok()
}

fn steps_of(v: &Value) -> usize {
    v["steps"].as_array().map(|a| a.len()).unwrap_or(0)
}

pub fn title(i: usize) -> String {
    format!("t{i:05}")
}

/// Copies the base catalog into `ws` as `n` titles (see the module docs).
fn replicate(base: &Path, ws: &Path, n: usize) -> Result<(), String> {
    let state = ".vodbuild/pipeline.yaml";
    for d in ["media", "out", state] {
        let p = ws.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    let _ = std::fs::remove_file(ws.join(DONE));
    let snapshot = base.join(state).join("state.json");
    let text = std::fs::read_to_string(&snapshot).map_err(|e| format!("{}: {e}", snapshot.display()))?;
    let snap: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", snapshot.display()))?;
    let steps = snap["steps"].as_object().ok_or("the base state has no steps")?;
    std::fs::create_dir_all(ws.join(state)).map_err(|e| e.to_string())?;
    std::fs::write(ws.join(state).join("state.json"), &text).map_err(|e| e.to_string())?;
    let journal = std::fs::File::create(ws.join(state).join("journal.jsonl")).map_err(|e| e.to_string())?;
    let mut journal = std::io::BufWriter::new(journal);
    for i in 0..n {
        let (b, t) = (title(i % DISTINCT), title(i));
        let copy = |rel: &str| copy_tree(&base.join(rel.replace(&t, &b)), &ws.join(rel));
        copy(&format!("media/{t}.mp4"))?;
        copy(&format!("out/media/{t}"))?;
        copy(&format!("{state}/work/media/{t}"))?;
        if i < DISTINCT {
            continue;
        }
        let from = format!("media/{b}");
        for (id, rec) in steps.iter().filter(|(id, _)| owns(id, &from)) {
            let line = json!({"op": "step", "id": id.replace(&from, &format!("media/{t}")), "rec": rec});
            writeln!(journal, "{line}").map_err(|e| e.to_string())?;
        }
        if i % 1000 == 0 {
            say(&format!("P2: copied {i} of {n} titles"));
        }
    }
    journal.flush().map_err(|e| e.to_string())
}

/// Gives each copied title's files modification times in build order, as a build would
/// leave them (copies are made in folder order): its probe.json 1 s after its source, the
/// encodes 2 s after, the package files 3 s after. ninja compares these times; vodbuild's
/// stat cache then misses once and the checking run re-hashes the files.
fn settle_mtimes(ws: &Path, n: usize) -> Result<(), String> {
    let set = |p: &Path, t: SystemTime| -> Result<(), String> {
        let f = std::fs::File::options().write(true).open(p).map_err(|e| format!("{}: {e}", p.display()))?;
        f.set_modified(t).map_err(|e| format!("{}: {e}", p.display()))
    };
    for i in 0..n {
        let t = title(i);
        let src = ws.join(format!("media/{t}.mp4"));
        let base = src.metadata().and_then(|m| m.modified()).map_err(|e| format!("{}: {e}", src.display()))?;
        let work = ws.join(format!(".vodbuild/pipeline.yaml/work/media/{t}"));
        set(&work.join("probe.json"), base + Duration::from_secs(1))?;
        for f in files(&work)?.iter().filter(|p| !p.ends_with("probe.json")) {
            set(f, base + Duration::from_secs(2))?;
        }
        for f in files(&ws.join(format!("out/media/{t}")))? {
            set(&f, base + Duration::from_secs(3))?;
        }
    }
    Ok(())
}

/// Every file under `dir`.
fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(files(&e.path())?),
            Ok(t) if t.is_file() => out.push(e.path()),
            _ => {}
        }
    }
    Ok(out)
}

/// Whether step `id` (`kind:media/t00007` or `kind:media/t00007:rung`) belongs to `source`.
fn owns(id: &str, source: &str) -> bool {
    id.split_once(':')
        .is_some_and(|(_, rest)| rest == source || rest.strip_prefix(source).is_some_and(|r| r.starts_with(':')))
}

/// Copies a file, or a folder recursively (files only; no symlinks are followed or made).
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(from).map_err(|e| format!("{}: {e}", from.display()))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
        for e in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?.flatten() {
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        return Ok(());
    }
    if meta.is_file() {
        if let Some(d) = to.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        std::fs::copy(from, to).map_err(|e| format!("{} → {}: {e}", from.display(), to.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_are_matched_to_their_own_title_only() {
        assert!(owns("probe:media/t00007", "media/t00007"));
        assert!(owns("encode:media/t00007:180p", "media/t00007"));
        assert!(!owns("encode:media/t000070:180p", "media/t00007"));
        assert!(!owns("probe:media/t00070", "media/t00007"));
    }
}
