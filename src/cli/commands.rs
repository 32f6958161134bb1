//! The commands: load the manifest, build the graph, then plan, run, draw, report or clean.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

use petgraph::graph::NodeIndex;
use serde_json::json;

use super::{Cli, Command, fitting};
use crate::digests::{self, Digests, HashStats};
use crate::error::{Error, IoContext, Result};
use crate::exec::report::{Counts, LadderSkip, RunDocument, RunStats};
use crate::exec::{self, RunOptions, Status, local::LocalExecutor, progress};
use crate::graph::{StepGraph, render};
use crate::ladder::Fits;
use crate::manifest::Manifest;
use crate::plan::{self, Context};
use crate::shard::Shard;
use crate::state::{State, lock::WorkspaceLock};
use crate::storage::remote_state::RemoteState;
use crate::storage::sync::PublishParams;
use crate::tools::Toolset;
use crate::{say, term};

pub fn dispatch(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Run(a) => run(cli, a),
        Command::Plan(a) => plan_cmd(a),
        Command::Graph(a) => graph_cmd(a),
        Command::Status(a) => status_cmd(a),
        Command::Clean(a) => clean_cmd(a),
        Command::Verify(a) => verify_cmd(a),
        Command::Watch(a) => super::watch::watch(cli, a),
        Command::Serve(a) => serve_cmd(a),
        Command::ExecJob(a) => super::exec_job::exec_job(a),
        Command::Init(a) => super::init::init(a),
        Command::Completions(a) => super::shell::completions(a),
        Command::Schema => super::shell::schema(),
        Command::Man => super::shell::man(),
        Command::SlurmTask(a) => super::slurm_task::slurm_task(a),
    }
}

/// Everything a command needs: manifest, state, tools, graph, selection, source digests.
struct Loaded {
    m: Manifest,
    state: State,
    tools: Toolset,
    /// Until [`refit`]: only the probe steps, or the unfitted graph when a selection is given.
    sg: StepGraph,
    selected: Vec<bool>,
    /// Each probed source's ladder (see [`crate::ladder`]).
    fits: Fits,
}

/// The steps a command works on: `--only` and `--shard` (both apply).
#[derive(Clone, Copy)]
struct Sel<'a> {
    only: Option<&'a str>,
    shard: Option<Shard>,
}

impl Sel<'_> {
    const ALL: Sel<'static> = Sel { only: None, shard: None };
}

fn load(file: &Path, sel: Sel) -> Result<Loaded> {
    load_manifest(Manifest::load(file)?, sel)
}

fn load_manifest(m: Manifest, sel: Sel) -> Result<Loaded> {
    let mut state = State::load(&m.state_dir())?;
    crate::lifecycle::check_absent(&m, &state)?;
    let before = state.data.tools.len();
    let tools = Toolset::discover(&m, &mut state.data.tools)?;
    if let Some(spec) = &m.raw.state {
        let backend = m.backend(&spec.backend);
        let remote = RemoteState::open(&backend, &spec.prefix).map_err(|message| Error::Storage { message })?;
        state.attach_remote(remote).map_err(|message| Error::Storage { message })?;
    }
    if state.data.tools.len() != before {
        state.mark_dirty();
    }
    // With no selection every probe is selected, and the probes are all the fitting needs:
    // the whole graph is then built once, fitted ([`refit`]). A selection is resolved on the
    // whole unfitted graph (it selects the probes its steps depend on).
    let sg = if sel.only.is_none() && sel.shard.is_none() { StepGraph::build_probes(&m) } else { StepGraph::build(&m) };
    let selected = super::failed::select_in(&sg, &m.state_dir(), sel.only, sel.shard).map_err(Error::Usage)?;
    Ok(Loaded { m, state, tools, sg, selected, fits: Fits::new() })
}

/// Rebuilds the graph with each probed source's ladder fitted, and selects again.
fn refit(l: &mut Loaded, infos: &fitting::Infos, sel: Sel) -> Result<()> {
    l.fits = crate::ladder::fit_all(&l.m, &StepGraph::rungs_in_use(&l.m), infos);
    l.sg = StepGraph::build_fitted(&l.m, &l.fits);
    l.selected = super::failed::select_in(&l.sg, &l.m.state_dir(), sel.only, sel.shard).map_err(Error::Usage)?;
    Ok(())
}

/// For commands that run nothing: probes from the cache or run in memory, then the fitted graph.
fn fit_dry(l: &mut Loaded, sources: &HashMap<String, String>, sel: Sel) -> Result<()> {
    let infos = fitting::probe_dry(&l.m, &l.sg, &l.tools, sources, &l.state, &l.selected);
    refit(l, &infos, sel)
}

/// The rungs fitting left out for the selected sources: (encode step id, source, reason).
fn skipped_rungs(l: &Loaded) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    // One pass over the steps (not one per source: 10,000 sources × 60,000 steps).
    let with_selected: std::collections::HashSet<&str> =
        l.sg.g.node_indices().filter(|n| l.selected[n.index()]).map(|n| l.sg.g[n].source.as_str()).collect();
    for s in &l.m.sources {
        let selected = with_selected.contains(s.id.as_str());
        for (rung, why) in l.fits.get(&s.id).filter(|_| selected).map(|f| &f.skipped[..]).unwrap_or_default() {
            out.push((format!("encode:{}:{rung}", s.id), s.id.clone(), format!("skipped: {why}")));
        }
    }
    out
}

/// The selected sources' digests, read only: a remote source is never downloaded here.
fn scan_sources(l: &Loaded) -> Result<Digests> {
    let mut wanted: Vec<&str> =
        l.sg.g.node_indices().filter(|n| l.selected[n.index()]).map(|n| l.sg.g[n].source.as_str()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut d = digests::scan(&l.m, &wanted, &l.state)?;
    super::audio_files::scan(&l.m, &wanted, &l.state, &l.tools.ffprobe.path, &mut d)?;
    Ok(d)
}

/// For commands that run nothing: the digests, nothing fetched or recorded.
fn digests_dry(l: &Loaded) -> Result<HashMap<String, String>> {
    Ok(scan_sources(l)?.by_source)
}

/// For `run`: changed remote sources are downloaded first, and the stat cache updated.
fn digests_for_run(l: &mut Loaded) -> Result<Digests> {
    let mut d = scan_sources(l)?;
    d.fetch_changed(&l.m)?;
    d.record(&mut l.state);
    Ok(d)
}

pub(super) fn run(cli: &Cli, a: &super::RunArgs) -> Result<()> {
    run_then(cli, a, &mut None, Then::Exit)
}

/// What follows a run in this process.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Then {
    /// The process ends: the graph, state and report are left to the OS, which frees them
    /// faster than dropping them one by one (8% of a 1,000-title no-op's instructions).
    Exit,
    /// More runs follow (`watch`): everything is freed.
    More,
}

/// `run`, also handing back its `--json` document (for `watch`, which keeps it in memory).
pub(super) fn run_then(cli: &Cli, a: &super::RunArgs, out: &mut Option<serde_json::Value>, then: Then) -> Result<()> {
    let start = Instant::now();
    let m = Manifest::load(&a.file)?;
    let _lock = WorkspaceLock::acquire(&m.state_dir())?;
    let sweep = crate::exec::sweep::take_clean_mark(&m.state_dir());
    let mut l = load_manifest(m, Sel { only: a.only.as_deref(), shard: a.shard })?;
    let Digests { by_source: sources, stats: hs, .. } = digests_for_run(&mut l)?;
    let mut opts = RunOptions { sweep, ..run_options(cli, a) };
    opts.slurm = super::executor::session(&l.m, a.executor)?;
    let building = crate::signals::Building::start();
    let report = run_fitted(&mut l, sources, a, &opts);
    // Still in the build phase, holding signals: a source's removal is saved before its file
    // goes, and a signal lets the current one finish.
    let removed = report.as_ref().map_or_else(
        |_| Vec::new(),
        |r| {
            let _hold = crate::signals::Hold::new();
            crate::lifecycle::after_run(&l.m, &l.sg, &l.selected, r, &mut l.state)
        },
    );
    drop(building);
    opts.slurm.iter().for_each(|s| s.finish());
    let report = report?;
    if !cli.quiet && !a.json {
        for id in &removed {
            say!("deleted the source of {id}: published and verified (after_publish)");
        }
    }
    let clean_run = report.steps.iter().all(|s| s.status != Status::Failed) && !report.interrupted;
    let pruned = if a.prune && clean_run && a.only.is_none() && a.shard.is_none() {
        prune_dropped(&l.m, &l.sg, &mut l.state)?
    } else {
        0
    };
    l.state.save()?;
    // Only a run over everything swept every folder (a selection sweeps only its own).
    if clean_run && report.count(Status::Executed) == 0 && a.only.is_none() && a.shard.is_none() {
        crate::exec::sweep::put_clean_mark(&l.m.state_dir());
    }
    super::failed::record(&l.m.state_dir(), &report, a.only.is_none() && a.shard.is_none())
        .map_err(|message| Error::State { path: l.m.state_dir(), message })?;
    let mut doc = run_document(&report, start.elapsed().as_millis() as u64, &hs, pruned, skipped_rungs(&l));
    doc.executor = opts.slurm.as_ref().map(|s| s.report()).unwrap_or_default();
    if let Some(p) = &a.report {
        std::fs::write(p, serde_json::to_vec_pretty(&doc).expect("json")).ctx(|| format!("writing {}", p.display()))?;
    }
    if then == Then::More {
        // Only `watch` keeps the document (a tree of every step: not built for one run).
        *out = Some(serde_json::to_value(&doc).expect("json"));
    }
    super::ci_reports::write(a, &doc, &l.state)?;
    tell_run(cli, a, &l, &report, &doc, start);
    let outcome = run_outcome(&report);
    if then == Then::Exit {
        // Saved and reported above; nothing in them has a destructor with an effect.
        std::mem::forget(doc);
        std::mem::forget(report);
        std::mem::forget(l);
    }
    outcome
}

/// `-j` (default: the cores) and how progress is shown.
fn run_options(cli: &Cli, a: &super::RunArgs) -> RunOptions {
    let jobs = a.jobs.unwrap_or_else(super::cores);
    if jobs > super::cores() {
        tracing::warn!("-j {jobs} is more than the {} cores: the jobs will compete for them", super::cores());
    }
    let mode = if cli.quiet || a.json || cli.log_format == super::LogFormat::Json {
        progress::Mode::Quiet
    } else {
        progress::Mode::Auto
    };
    let cancel = crate::signals::token();
    RunOptions {
        jobs,
        keep_going: a.keep_going,
        force: a.force,
        prune: a.prune,
        progress: mode,
        cancel,
        keep_jobs: a.keep_jobs.clone(),
        slurm: None,
        sweep: true,
    }
}

/// The run's outcome as a typed error: interrupted, or some steps failed.
fn run_outcome(report: &exec::RunReport) -> Result<()> {
    let failed = report.count(Status::Failed);
    if report.interrupted {
        Err(Error::Interrupted)
    } else if failed > 0 {
        Err(Error::BuildFailed { failed })
    } else {
        Ok(())
    }
}

/// The run as the chosen output says it: the JSON document on stdout, log lines, or text.
/// Failures always reach stderr; an interruption is said by the error report.
fn tell_run(cli: &Cli, a: &super::RunArgs, l: &Loaded, report: &exec::RunReport, doc: &RunDocument, start: Instant) {
    let Counts { executed, fresh, failed, skipped } = report.counts();
    if a.json {
        term::out_json(doc);
        // stdout stays one JSON document; failures are still said on stderr.
        say_failures(report);
    } else if cli.log_format == super::LogFormat::Json {
        for s in report.steps.iter().filter(|s| s.status == Status::Failed) {
            tracing::error!(step = %s.id, error = s.error.as_deref().unwrap_or(""), "step failed");
        }
        let ms = start.elapsed().as_millis() as u64;
        tracing::info!(executed, fresh, failed, skipped, duration_ms = ms, output_dir = %l.m.output_dir.display(), "run finished");
    } else {
        // Quiet hides progress and the summary, never errors.
        say_failures(report);
        if !cli.quiet {
            say!(
                "{executed} executed, {fresh} fresh, {failed} failed, {skipped} skipped in {:.1}s; outputs in {}",
                start.elapsed().as_secs_f64(),
                l.m.output_dir.display()
            );
        }
    }
}

/// The `run --json` document (also written by `--report`).
fn run_document<'a>(
    report: &'a exec::RunReport,
    duration_ms: u64,
    hs: &HashStats,
    pruned: u64,
    rungs: Vec<(String, String, String)>,
) -> RunDocument<'a> {
    RunDocument {
        counts: report.counts(),
        interrupted: report.interrupted,
        duration_ms,
        stats: RunStats {
            source_bytes_hashed: hs.bytes_hashed,
            sources_hashed: hs.sources_hashed,
            uploaded_bytes: report.sync.uploaded_bytes,
            uploaded_objects: report.sync.uploaded_objects,
            deleted_objects: report.sync.deleted_objects + pruned,
            downloaded_bytes: crate::storage::sources::downloaded_bytes(),
        },
        steps: &report.steps,
        ladder_skipped: rungs.into_iter().map(|(id, source, reason)| LadderSkip { id, source, reason }).collect(),
        executor: Default::default(),
    }
}

/// Probes first (recorded), then the graph with each source's ladder fitted, then the rest.
fn run_fitted(
    l: &mut Loaded,
    sources: HashMap<String, String>,
    a: &super::RunArgs,
    opts: &RunOptions,
) -> Result<exec::RunReport> {
    let (infos, probed, failed) = fitting::probe_run(&l.m, &l.sg, &l.tools, &sources, &mut l.state, &l.selected, opts);
    refit(l, &infos, Sel { only: a.only.as_deref(), shard: a.shard })?;
    let stopped = probed.interrupted || (!a.keep_going && probed.count(Status::Failed) > 0);
    let unattempted = fitting::unattempted(&l.sg, &l.selected, &failed, stopped, probed.interrupted);
    for n in l.sg.g.node_indices() {
        if stopped || failed.contains(&l.sg.g[n].source) {
            l.selected[n.index()] = false;
        }
    }
    let ctx = Context { prune: a.prune, check_remote: a.check_remote, ..Context::new(&l.m, &l.sg, &l.tools, sources) };
    let later = if stopped {
        exec::RunReport::default()
    } else {
        exec::run(&ctx, &mut l.state, &l.selected, opts, &LocalExecutor::keeping(opts.keep_jobs.clone()))
    };
    let mut report = fitting::merge(probed, later);
    report.steps.extend(unattempted);
    Ok(report)
}

fn say_failures(report: &exec::RunReport) {
    for s in report.steps.iter().filter(|s| s.status == Status::Failed) {
        say!("failed: {}: {}", s.id, s.error.as_deref().unwrap_or(""));
    }
}

/// `--prune`: objects published by steps that the manifest no longer has (a dropped output
/// or source) are deleted, and their records forgotten.
fn prune_dropped(m: &Manifest, sg: &StepGraph, state: &mut State) -> Result<u64> {
    let kept = crate::lifecycle::protected_steps(m, state);
    let dropped: Vec<(String, String, Vec<String>)> = state
        .data
        .steps
        .iter()
        .filter(|(id, r)| r.kind == crate::step::StepKind::Publish && !sg.by_id.contains_key(*id))
        .filter(|(id, _)| !kept.contains(*id))
        .filter_map(|(id, r)| {
            let PublishParams { backend, remote } = serde_json::from_value(r.params.value()).ok()?;
            let paths = r.outputs.iter().map(|o| crate::storage::join(&remote, &o.path)).collect();
            Some((id.clone(), backend.name, paths))
        })
        .filter(|(_, b, _)| m.raw.storage.contains_key(b))
        .collect();
    let mut deleted = 0;
    for (id, backend, paths) in dropped {
        deleted += crate::storage::sync::delete_all(&m.backend(&backend), &paths)
            .map_err(|e| Error::Step { step: id.clone(), message: e })?;
        state.forget_step(&id);
    }
    Ok(deleted)
}

fn plan_cmd(a: &super::PlanArgs) -> Result<()> {
    let sel = Sel { only: a.only.as_deref(), shard: a.shard };
    let mut l = load(&a.file, sel)?;
    let sources = digests_dry(&l)?;
    fit_dry(&mut l, &sources, sel)?;
    let ctx = Context { prune: false, check_remote: a.check_remote, ..Context::new(&l.m, &l.sg, &l.tools, sources) };
    let result = plan::plan(&ctx, &l.state, &l.selected, a.force);
    let listed: Vec<_> = result.iter().filter_map(|(n, r)| r.as_ref().map(|r| (*n, r))).collect();
    let (skipped, stale): (Vec<&(NodeIndex, &plan::Reason)>, Vec<_>) = listed.iter().partition(|(_, r)| r.is_skip());
    let fresh = result.len() - listed.len();
    // Rungs the ladder fitting left out: no step exists for them, so they are listed apart.
    let rungs = skipped_rungs(&l);
    if a.json {
        let rows = |v: &[&(NodeIndex, &plan::Reason)]| -> Vec<serde_json::Value> {
            v.iter()
                .map(|(n, r)| {
                    let s = &l.sg.g[*n];
                    json!({"id": s.id, "kind": s.kind.as_str(), "source": s.source, "reason": r.to_string()})
                })
                .collect()
        };
        let mut skipped_rows = rows(&skipped);
        skipped_rows.extend(
            rungs.iter().map(|(id, src, why)| json!({"id": id, "kind": "encode", "source": src, "reason": why})),
        );
        let summary = json!({"stale": stale.len(), "fresh": fresh, "skipped": skipped_rows.len()});
        let mut doc = json!({"steps": rows(&stale), "skipped": skipped_rows, "summary": summary});
        crate::lifecycle::report::plan_json(&l.m, &l.state, &mut doc);
        term::outln(&serde_json::to_string_pretty(&doc).expect("json"));
    } else {
        let ids = listed.iter().map(|(n, _)| l.sg.g[*n].id.len()).chain(rungs.iter().map(|s| s.0.len()));
        let width = ids.max().unwrap_or(0);
        let mut out = String::new();
        for (n, r) in stale.iter().chain(&skipped) {
            let _ = writeln!(out, "{:width$}  {r}", l.sg.g[*n].id);
        }
        for (id, _, why) in &rungs {
            let _ = writeln!(out, "{id:width$}  {why}");
        }
        crate::lifecycle::report::plan_lines(&l.m, &l.state, width, &mut out);
        let n_skipped = skipped.len() + rungs.len();
        let more = if n_skipped == 0 { String::new() } else { format!(", {n_skipped} skipped") };
        let _ = writeln!(out, "{} stale, {fresh} fresh{more}", stale.len());
        term::out(&out);
    }
    Ok(())
}

fn graph_cmd(a: &super::GraphArgs) -> Result<()> {
    let mut l = load(&a.file, Sel::ALL)?;
    if let Some(src) = &a.source
        && l.m.source(src).is_none()
    {
        return Err(Error::Usage(format!("no source with id `{src}`")));
    }
    let sources = digests_dry(&l)?;
    fit_dry(&mut l, &sources, Sel::ALL)?;
    let ctx = Context::new(&l.m, &l.sg, &l.tools, sources);
    let mut stale = vec![false; l.sg.g.node_count()];
    for (n, r) in plan::plan(&ctx, &l.state, &l.selected, false) {
        stale[n.index()] = r.is_some_and(|r| !r.is_skip());
    }
    let keep: Vec<bool> =
        l.sg.g.node_indices().map(|n| a.source.as_ref().is_none_or(|s| *s == l.sg.g[n].source)).collect();
    term::out(&render::render(&l.sg, &stale, &keep, a.format));
    Ok(())
}

fn status_cmd(a: &super::StatusArgs) -> Result<()> {
    if a.failed {
        let m = Manifest::load(&a.file)?;
        return super::failed::show(&m.state_dir(), a.json)
            .map_err(|message| Error::State { path: m.state_dir(), message });
    }
    let mut l = load(&a.file, Sel::ALL)?;
    let sources = digests_dry(&l)?;
    fit_dry(&mut l, &sources, Sel::ALL)?;
    let ctx = Context::new(&l.m, &l.sg, &l.tools, sources);
    let result = plan::plan(&ctx, &l.state, &l.selected, false);
    let mut per: Vec<(String, usize, usize)> = l.m.sources.iter().map(|s| (s.id.clone(), 0, 0)).collect();
    for (n, r) in &result {
        let src = &l.sg.g[*n].source;
        if let Some(e) = per.iter_mut().find(|e| &e.0 == src) {
            match r {
                Some(r) if r.is_skip() => {}
                Some(_) => e.1 += 1,
                None => e.2 += 1,
            }
        }
    }
    let stale: usize = per.iter().map(|e| e.1).sum();
    let fresh: usize = per.iter().map(|e| e.2).sum();
    if a.json {
        let rows: Vec<_> =
            per.iter().map(|(id, s, f)| json!({"id": id, "stale": s, "fresh": f, "up_to_date": *s == 0})).collect();
        let mut doc = json!({"sources": rows, "summary": {"stale": stale, "fresh": fresh}});
        crate::lifecycle::report::status_json(&l.m, &l.state, &mut doc);
        term::outln(&serde_json::to_string_pretty(&doc).expect("json"));
    } else {
        let mut out = String::new();
        for (id, s, f) in &per {
            let word = if *s == 0 { "up to date" } else { "stale" };
            let _ = writeln!(out, "{id}: {word} ({f} fresh, {s} stale)");
        }
        crate::lifecycle::report::status_lines(&l.m, &l.state, &mut out);
        let _ = writeln!(out, "{} sources, {stale} stale steps, {fresh} fresh", per.len());
        term::out(&out);
    }
    Ok(())
}

fn serve_cmd(a: &super::ServeArgs) -> Result<()> {
    crate::serve::serve(&a.file, crate::serve::Options { port: a.port, players: a.players.clone() })
}

fn clean_cmd(a: &super::CleanArgs) -> Result<()> {
    super::clean::clean(&Manifest::load(&a.file)?, a.keep_outputs)
}

fn verify_cmd(a: &super::VerifyArgs) -> Result<()> {
    let m = Manifest::load(&a.file)?;
    let (checked, problems) = crate::verify::verify(&m);
    if a.json {
        let doc = json!({"packages": checked, "problems": problems});
        term::outln(&serde_json::to_string_pretty(&doc).expect("json"));
    } else {
        let mut out = String::new();
        for p in &problems {
            let _ = writeln!(out, "{p}");
        }
        term::out(&out);
        say!("{checked} packages checked, {} problems", problems.len());
    }
    if problems.is_empty() { Ok(()) } else { Err(Error::VerifyFailed { problems: problems.len() }) }
}
