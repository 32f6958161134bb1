//! Probe first. Which rungs a source gets depends on its probe ([`crate::ladder`]), so the
//! probes are settled before the graph that `plan` and `run` use is built: a fresh
//! `probe.json` is read; a stale probe is run — by `run` as the probe step itself (recorded,
//! so it costs once per source version), by `plan`/`status`/`graph` in memory and headers
//! only (ffprobe's streams, no packet read; nothing written). A source whose probe fails keeps the whole ladder in a plan; in a run its steps
//! are not attempted.

use std::collections::{HashMap, HashSet};

use petgraph::graph::NodeIndex;
use rayon::prelude::*;

use crate::dag::StepGraph;
use crate::exec::{self, RunOptions, RunReport, Status, local::LocalExecutor, probe_source::stream_facts};
use crate::manifest::Manifest;
use crate::media::probe::ProbeInfo;
use crate::plan::Context;
use crate::state::State;
use crate::step::StepKind;
use crate::tools::Toolset;

/// Probe facts per source id.
pub type Infos = HashMap<String, ProbeInfo>;

/// The selected probe steps: fresh with their probe.json here; fresh by their record but
/// probe.json absent (a fresh runner with remote state: rebuilt only if a step needs it);
/// stale.
struct ProbeSteps {
    fresh: Vec<NodeIndex>,
    absent: Vec<NodeIndex>,
    stale: Vec<NodeIndex>,
}

fn probe_steps(ctx: &Context, state: &State, selected: &[bool]) -> ProbeSteps {
    let mut p = ProbeSteps { fresh: Vec::new(), absent: Vec::new(), stale: Vec::new() };
    let probes: Vec<NodeIndex> =
        ctx.sg.g.node_indices().filter(|n| selected[n.index()] && ctx.sg.g[*n].kind == StepKind::Probe).collect();
    // On all cores: each is a stat of its probe.json (10,000 of them in a large catalog).
    let judged: Vec<(NodeIndex, crate::plan::Evaluation)> =
        probes.par_iter().map(|&n| (n, ctx.evaluate(state, n, |_| crate::plan::Upstream::Pending))).collect();
    for (n, ev) in judged {
        match (ev.stale, ev.absent) {
            (Some(_), _) => p.stale.push(n),
            (None, Some(_)) => p.absent.push(n),
            (None, None) => p.fresh.push(n),
        }
    }
    p
}

/// Headers only, in memory: enough to fit the ladder. One ffprobe per source, on all cores
/// (each costs a process start, about 0.1 s of CPU: a catalog of new or unreadable sources
/// must not wait for them one by one).
fn read_headers(m: &Manifest, sg: &StepGraph, tools: &Toolset, nodes: &[NodeIndex], infos: &mut Infos) {
    let cancel = crate::signals::token();
    let read = nodes.par_iter().filter_map(|n| {
        let src = m.source(&sg.g[*n].source)?;
        let p = stream_facts(&cancel, &tools.ffprobe.path, &src.path, &src.id).ok()?;
        Some((src.id.clone(), p.info))
    });
    infos.par_extend(read);
}

/// The normalized facts of a probe.json, ffprobe's own output skipped unparsed: the ladder
/// needs only these (a catalog reads one probe.json per source on every run).
#[derive(serde::Deserialize)]
struct ProbeFacts {
    info: ProbeInfo,
}

fn read_probe(m: &Manifest, source: &str) -> Option<ProbeInfo> {
    let bytes = std::fs::read(m.work_dir(source).join("probe.json")).ok()?;
    serde_json::from_slice::<ProbeFacts>(&bytes).ok().map(|p| p.info)
}

/// For a dry command: cached probe.json files, and the stream headers of absent or stale ones
/// read in memory.
pub fn probe_dry(
    m: &Manifest,
    sg: &StepGraph,
    tools: &Toolset,
    sources: &HashMap<String, String>,
    state: &State,
    selected: &[bool],
) -> Infos {
    let ctx = Context::new(m, sg, tools, sources.clone());
    let p = probe_steps(&ctx, state, selected);
    let mut infos: Infos =
        p.fresh.par_iter().filter_map(|n| Some((sg.g[*n].source.clone(), read_probe(m, &sg.g[*n].source)?))).collect();
    read_headers(m, sg, tools, &p.absent, &mut infos);
    read_headers(m, sg, tools, &p.stale, &mut infos);
    infos
}

/// For `run`: the stale probe steps run (and are recorded) first; absent ones are read in
/// memory like `plan` does. Returns the facts, the report of the probes that ran, and the
/// sources whose probe failed.
pub fn probe_run(
    m: &Manifest,
    sg: &StepGraph,
    tools: &Toolset,
    sources: &HashMap<String, String>,
    state: &mut State,
    selected: &[bool],
    opts: &RunOptions,
) -> (Infos, RunReport, HashSet<String>) {
    let ctx = Context::new(m, sg, tools, sources.clone());
    let p = probe_steps(&ctx, state, selected);
    let mut report = RunReport::default();
    if !p.stale.is_empty() {
        let mut only = vec![false; sg.g.node_count()];
        p.stale.iter().for_each(|n| only[n.index()] = true);
        // Not forced: `--force` re-runs them with everything else.
        let popts = RunOptions {
            force: false,
            cancel: opts.cancel.clone(),
            keep_jobs: opts.keep_jobs.clone(),
            slurm: opts.slurm.clone(),
            ..*opts
        };
        report = exec::run(&ctx, state, &only, &popts, &LocalExecutor::keeping(opts.keep_jobs.clone()));
    }
    let failed: HashSet<String> =
        report.steps.iter().filter(|s| s.status != Status::Executed).map(|s| s.source.clone()).collect();
    let ran_or_fresh = p.fresh.iter().chain(&p.stale).map(|n| &sg.g[*n].source).filter(|s| !failed.contains(*s));
    let ran_or_fresh: Vec<&String> = ran_or_fresh.collect();
    let mut infos: Infos = ran_or_fresh.par_iter().filter_map(|s| Some(((*s).clone(), read_probe(m, s)?))).collect();
    read_headers(m, sg, tools, &p.absent, &mut infos);
    (infos, report, failed)
}

/// Report entries for the selected steps that will not be attempted after the probes: those
/// of sources whose probe failed, and when the run stopped, every other one.
pub fn unattempted(
    sg: &StepGraph,
    selected: &[bool],
    failed: &HashSet<String>,
    stopped: bool,
    interrupted: bool,
) -> Vec<exec::StepReport> {
    let mut out = Vec::new();
    for n in sg.topo() {
        let s = &sg.g[n];
        let failed_source = failed.contains(&s.source);
        if !selected[n.index()] || s.kind == StepKind::Probe || !(failed_source || stopped) {
            continue;
        }
        let reason = match (interrupted, failed_source) {
            (true, _) => "interrupted",
            (false, true) => "upstream failed",
            (false, false) => "not run after a failure",
        };
        out.push(exec::StepReport {
            id: s.id.clone(),
            kind: s.kind.as_str(),
            source: s.source.clone(),
            status: Status::Skipped,
            reason: Some(reason.into()),
            duration_ms: 0,
            error: None,
            attempts: 0,
        });
    }
    out
}

/// The run's report: the probes as they ran first, then everything else.
pub fn merge(first: RunReport, mut then: RunReport) -> RunReport {
    // By id: a catalog's first build probes thousands of sources before its other steps.
    let ran_first: HashMap<&str, &exec::StepReport> = first.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    let then_ids: HashSet<&str> = then.steps.iter().map(|t| t.id.as_str()).collect();
    let mut steps: Vec<exec::StepReport> =
        first.steps.iter().filter(|s| !then_ids.contains(s.id.as_str())).cloned().collect();
    drop(then_ids);
    for t in then.steps.drain(..) {
        match ran_first.get(t.id.as_str()) {
            Some(s) if t.status == Status::Fresh => steps.push((*s).clone()),
            _ => steps.push(t),
        }
    }
    let mut sync = first.sync;
    sync += then.sync;
    RunReport { steps, interrupted: first.interrupted || then.interrupted, sync }
}
