//! Execution: evaluates steps as their dependencies finish (so a re-run step with
//! byte-identical outputs leaves its dependents fresh), fuses the stale encodes of one
//! source into one job, and runs jobs on a rayon pool with `-j` slots and a thread budget
//! per ffmpeg. Each finished step is recorded in the state before its dependents start.

pub mod check;
pub mod ffmpeg;
pub mod filters;
pub mod job;
pub mod local;
pub mod place;
pub mod probe_source;
pub mod progress;
pub mod run_job;
pub mod runner;
pub mod shaka;
pub mod sweep;

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use petgraph::graph::NodeIndex;
use serde::Serialize;

use crate::graph::StepKind;
use crate::plan::{Context, Evaluation, Reason, Upstream};
use crate::state::{OutputFile, State, StepRecord};
use crate::storage::sync::SyncStats;
use job::{JobCtx, JobSpec};
use local::Executor;
use progress::Progress;

pub struct RunOptions {
    pub jobs: usize,
    pub keep_going: bool,
    pub force: bool,
    /// Delete published objects the manifest no longer produces.
    pub prune: bool,
    pub progress: progress::Mode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Executed,
    Fresh,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: String,
    pub kind: &'static str,
    pub source: String,
    pub status: Status,
    pub reason: Option<String>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub struct RunReport {
    pub steps: Vec<StepReport>,
    pub interrupted: bool,
    /// What publishing moved.
    pub sync: SyncStats,
}

impl RunReport {
    pub fn count(&self, s: Status) -> usize {
        self.steps.iter().filter(|r| r.status == s).count()
    }
}

enum NodeState {
    Waiting,
    Done(Vec<OutputFile>),
    /// Fresh by its record, but its (intermediate) files are missing; rebuilt on demand.
    Absent(Vec<OutputFile>),
    /// An absent step being rebuilt because a consumer has to run.
    Rebuilding,
    Failed,
}

impl NodeState {
    /// Recorded outputs, when the step counts as done for its consumers' keys.
    fn outputs(&self) -> Option<&[OutputFile]> {
        match self {
            NodeState::Done(o) | NodeState::Absent(o) => Some(o),
            _ => None,
        }
    }
}

type JobResult = (usize, Result<(Vec<Vec<OutputFile>>, SyncStats), String>, u64);

pub fn run(
    ctx: &Context,
    state: &mut State,
    selected: &[bool],
    opts: &RunOptions,
    executor: &dyn Executor,
) -> RunReport {
    let sg = ctx.sg;
    sweep::remove_stale_temporaries(sg, selected);
    let jobs = opts.jobs.max(1);
    let jctx = JobCtx { m: ctx.m, sg, tools: ctx.tools, sources: &ctx.sources, prune: opts.prune };
    let env =
        run_job::JobEnv { root: ctx.m.root.clone(), tools: run_job::ToolPaths::of(ctx.tools), verify_inputs: false };
    let n_nodes = sg.g.node_count();
    let mut node: Vec<NodeState> = (0..n_nodes).map(|_| NodeState::Waiting).collect();
    let mut reports: HashMap<NodeIndex, StepReport> = HashMap::new();
    let mut remaining: Vec<usize> = vec![0; n_nodes];
    let mut ready: VecDeque<NodeIndex> = VecDeque::new();
    for n in sg.topo() {
        if selected[n.index()] {
            remaining[n.index()] = sg.deps(n).len();
            if remaining[n.index()] == 0 {
                ready.push_back(n);
            }
        }
    }
    let progress = Progress::new(opts.progress);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().expect("thread pool");
    let (tx, rx) = mpsc::channel::<JobResult>();
    let mut queue: VecDeque<Vec<NodeIndex>> = VecDeque::new();
    let mut evals: HashMap<NodeIndex, (Evaluation, Reason)> = HashMap::new();
    // Rebuilding absent intermediates: who waits for whom.
    let mut blocked: Vec<usize> = vec![0; n_nodes];
    let mut waiters: HashMap<NodeIndex, Vec<NodeIndex>> = HashMap::new();
    let mut released: Vec<bool> = vec![false; n_nodes];
    let mut in_flight: HashMap<usize, JobSpec> = HashMap::new();
    let mut next_job = 0usize;
    let mut stop = false;
    let mut sync_total = SyncStats::default();

    let report = |n: NodeIndex, status, reason: Option<String>, ms, error| {
        let s = &sg.g[n];
        StepReport {
            id: s.id.clone(),
            kind: s.kind.as_str(),
            source: s.source.clone(),
            status,
            reason,
            duration_ms: ms,
            error,
        }
    };

    pool.in_place_scope(|scope| {
        loop {
            // 1. Evaluate every step whose dependencies are finished.
            let mut stale_now: Vec<NodeIndex> = Vec::new();
            while let Some(n) = ready.pop_front() {
                let deps = sg.deps(n);
                if let Some(d) = deps.iter().find(|d| matches!(node[d.index()], NodeState::Failed)) {
                    node[n.index()] = NodeState::Failed;
                    let why = format!("upstream failed: {}", sg.g[*d].id);
                    reports.insert(n, report(n, Status::Skipped, Some(why), 0, None));
                    release(sg, n, selected, &mut remaining, &mut ready);
                    continue;
                }
                let ev = ctx.evaluate(state, n, |d| match node[d.index()].outputs() {
                    Some(o) => Upstream::Done(o),
                    None => Upstream::Pending,
                });
                let reason = if opts.force { Some(Reason::Forced) } else { ev.stale.clone() };
                let id = &sg.g[n].id;
                // A stale step that does not apply to its source (see `skip`) is skipped.
                let skip = reason.as_ref().and_then(|_| crate::skip::reason(ctx.m, &sg.g[n]));
                match (reason, ev.absent.clone(), skip) {
                    (None, absent, _) => {
                        tracing::debug!(step = %id, "fresh");
                        state.refresh_output_stats(id, &ev.restat);
                        if let (true, Some(key)) = (ev.remote_seen, &ev.key) {
                            state.mark_verified(id, key);
                        }
                        let outs = state.data.steps[id].outputs.clone();
                        reports.insert(n, report(n, Status::Fresh, None, 0, None));
                        match absent {
                            Some(r) => {
                                node[n.index()] = NodeState::Absent(outs);
                                evals.insert(n, (ev, r));
                            }
                            None => node[n.index()] = NodeState::Done(outs),
                        }
                        if !released[n.index()] {
                            released[n.index()] = true;
                            release(sg, n, selected, &mut remaining, &mut ready);
                        }
                    }
                    (Some(_), _, Some(why)) => {
                        // Done, with nothing made.
                        tracing::debug!(step = %id, reason = why, "skipped");
                        node[n.index()] = NodeState::Done(Vec::new());
                        reports.insert(n, report(n, Status::Skipped, Some(why.to_string()), 0, None));
                        if !released[n.index()] {
                            released[n.index()] = true;
                            release(sg, n, selected, &mut remaining, &mut ready);
                        }
                        wake(n, &mut waiters, &mut blocked, &mut ready);
                    }
                    (Some(r), _, None) => {
                        if released[n.index()] {
                            // Found fresh before, stale now that a rebuilt input changed: its
                            // consumers must wait for it.
                            node[n.index()] = NodeState::Rebuilding;
                        }
                        evals.insert(n, (ev, r));
                        if demand(sg, n, &mut node, &mut evals, &mut blocked, &mut waiters, &mut stale_now) {
                            stale_now.push(n);
                        }
                    }
                }
            }
            // 2. Group: the stale video encodes of one source become one job (one decode);
            // each audio encode is a job of its own, after them, so it never fails a video.
            let mut encodes: Vec<(String, Vec<NodeIndex>)> = Vec::new();
            let mut audio: Vec<Vec<NodeIndex>> = Vec::new();
            for n in stale_now {
                let s = &sg.g[n];
                if s.kind == StepKind::Encode && crate::skip::needs_audio(s) {
                    audio.push(vec![n]);
                } else if s.kind == StepKind::Encode {
                    match encodes.iter_mut().find(|(src, _)| *src == s.source) {
                        Some((_, v)) => v.push(n),
                        None => encodes.push((s.source.clone(), vec![n])),
                    }
                } else {
                    queue.push_back(vec![n]);
                }
            }
            queue.extend(encodes.into_iter().map(|(_, v)| v));
            queue.extend(audio);

            // 3. Dispatch into free slots.
            while in_flight.len() < jobs && !stop && !runner::interrupted() {
                let Some(group) = queue.pop_front() else { break };
                let previous = state.data.steps.get(&sg.g[group[0]].id);
                let built = job::build(&jctx, &group, |d| node[d.index()].outputs().unwrap_or(&[]), previous);
                let spec = match built {
                    Ok(s) => s,
                    Err(e) => {
                        progress.println(&format!("error: {}: {e}", sg.g[group[0]].id));
                        for n in &group {
                            fail(sg, *n, &e, &mut node, &mut reports, &evals, selected, &mut remaining, &mut ready);
                            wake(*n, &mut waiters, &mut blocked, &mut ready);
                        }
                        stop |= !opts.keep_going;
                        continue;
                    }
                };
                let id = next_job;
                next_job += 1;
                let tx = tx.clone();
                let job = spec.clone();
                let (progress, env) = (&progress, &env);
                scope.spawn(move |_| {
                    let start = Instant::now();
                    let mut bar = progress.start(&job.label, job.duration);
                    // A panic in a job fails that job; it must not leave the scheduler waiting.
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let result = executor.execute(env, &job, &mut |s| bar.update(s));
                        run_job::place(&job, &env.root, result)
                    }))
                    .unwrap_or_else(|_| Err("internal error (a panic) while running the step".into()));
                    bar.finish(result.is_ok());
                    let _ = tx.send((id, result, start.elapsed().as_millis() as u64));
                });
                in_flight.insert(id, spec);
            }
            if in_flight.is_empty() && ready.is_empty() && (queue.is_empty() || stop || runner::interrupted()) {
                break;
            }
            if in_flight.is_empty() {
                continue;
            }
            // 4. Collect one finished job and record its steps.
            let Ok((id, result, ms)) = rx.recv() else { break };
            let spec = in_flight.remove(&id).expect("known job");
            let group: Vec<NodeIndex> = spec.steps.iter().map(|s| sg.by_id[s]).collect();
            match result {
                Ok((outputs, stats)) => {
                    sync_total += stats;
                    for (n, outs) in group.iter().zip(outputs) {
                        let (ev, reason) = evals.remove(n).expect("evaluated");
                        let step = &sg.g[*n];
                        let rec = StepRecord {
                            key: ev.key.clone().unwrap_or_default(),
                            kind: step.kind,
                            recipe: crate::kinds::recipe(step.kind),
                            params: step.params.clone(),
                            tool: ctx.tool_ref(step),
                            inputs: ev.inputs,
                            outputs: outs.clone(),
                            finished_unix: SystemTime::now()
                                .duration_since(UNIX_EPOCH)
                                .map(|d| d.as_secs())
                                .unwrap_or(0),
                        };
                        if let Err(e) = state.record_step(&step.id, rec) {
                            let msg = e.to_string();
                            fail(sg, *n, &msg, &mut node, &mut reports, &evals, selected, &mut remaining, &mut ready);
                            stop = true;
                            continue;
                        }
                        tracing::info!(step = %step.id, reason = %reason, duration_ms = ms, "executed");
                        if step.kind == StepKind::Publish {
                            state.mark_verified(&step.id, &state.data.steps[&step.id].key.clone());
                        }
                        node[n.index()] = NodeState::Done(outs);
                        reports.insert(*n, report(*n, Status::Executed, Some(reason.to_string()), ms, None));
                        if !released[n.index()] {
                            released[n.index()] = true;
                            release(sg, *n, selected, &mut remaining, &mut ready);
                        } else {
                            // A rebuilt step whose consumers were already judged fresh against
                            // its old record: judge them again (early cutoff keeps them fresh
                            // when the bytes came out the same).
                            for d in sg.dependents(*n) {
                                let judged = matches!(node[d.index()], NodeState::Done(_) | NodeState::Absent(_));
                                if selected[d.index()]
                                    && judged
                                    && reports.get(&d).is_some_and(|r| r.status == Status::Fresh)
                                {
                                    ready.push_back(d);
                                }
                            }
                        }
                        wake(*n, &mut waiters, &mut blocked, &mut ready);
                    }
                }
                Err(e) => {
                    tracing::info!(job = %spec.label, error = %e, "failed");
                    if !runner::interrupted() {
                        progress.println(&format!("error: {} failed: {e}", spec.label));
                    }
                    for n in &group {
                        fail(sg, *n, &e, &mut node, &mut reports, &evals, selected, &mut remaining, &mut ready);
                        wake(*n, &mut waiters, &mut blocked, &mut ready);
                    }
                    stop |= !opts.keep_going;
                }
            }
        }
    });

    let mut out = RunReport { interrupted: runner::interrupted(), sync: sync_total, ..Default::default() };
    for n in sg.topo() {
        if !selected[n.index()] {
            continue;
        }
        let r = reports.remove(&n).unwrap_or_else(|| {
            let why = if out.interrupted { "interrupted" } else { "not run after a failure" };
            report(n, Status::Skipped, Some(why.into()), 0, None)
        });
        out.steps.push(r);
    }
    out
}

/// A stale step is about to run: every absent input must be rebuilt first. Returns whether
/// `n` can run now; otherwise it waits (and is re-evaluated when its inputs are back).
fn demand(
    sg: &crate::graph::StepGraph,
    n: NodeIndex,
    node: &mut [NodeState],
    evals: &mut HashMap<NodeIndex, (Evaluation, Reason)>,
    blocked: &mut [usize],
    waiters: &mut HashMap<NodeIndex, Vec<NodeIndex>>,
    stale_now: &mut Vec<NodeIndex>,
) -> bool {
    for d in sg.deps(n) {
        match node[d.index()] {
            NodeState::Absent(_) => {
                node[d.index()] = NodeState::Rebuilding;
                if let Some((_, r)) = evals.get_mut(&d) {
                    let what = r.to_string();
                    let what = what.trim_start_matches("output missing: ");
                    *r = Reason::OutputMissing(format!("{what} (needed by {})", sg.g[n].id));
                }
                if demand(sg, d, node, evals, blocked, waiters, stale_now) {
                    stale_now.push(d);
                }
            }
            NodeState::Rebuilding => {}
            _ => continue,
        }
        blocked[n.index()] += 1;
        waiters.entry(d).or_default().push(n);
    }
    blocked[n.index()] == 0
}

/// A rebuilt (or failed) step lets the steps that waited for it be evaluated again.
fn wake(
    n: NodeIndex,
    waiters: &mut HashMap<NodeIndex, Vec<NodeIndex>>,
    blocked: &mut [usize],
    ready: &mut VecDeque<NodeIndex>,
) {
    for w in waiters.remove(&n).unwrap_or_default() {
        blocked[w.index()] -= 1;
        if blocked[w.index()] == 0 {
            ready.push_back(w);
        }
    }
}

fn release(
    sg: &crate::graph::StepGraph,
    n: NodeIndex,
    selected: &[bool],
    remaining: &mut [usize],
    ready: &mut VecDeque<NodeIndex>,
) {
    for d in sg.dependents(n) {
        if selected[d.index()] {
            remaining[d.index()] -= 1;
            if remaining[d.index()] == 0 {
                ready.push_back(d);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn fail(
    sg: &crate::graph::StepGraph,
    n: NodeIndex,
    error: &str,
    node: &mut [NodeState],
    reports: &mut HashMap<NodeIndex, StepReport>,
    evals: &HashMap<NodeIndex, (Evaluation, Reason)>,
    selected: &[bool],
    remaining: &mut [usize],
    ready: &mut VecDeque<NodeIndex>,
) {
    let s = &sg.g[n];
    node[n.index()] = NodeState::Failed;
    let reason = evals.get(&n).map(|(_, r)| r.to_string());
    reports.insert(
        n,
        StepReport {
            id: s.id.clone(),
            kind: s.kind.as_str(),
            source: s.source.clone(),
            status: Status::Failed,
            reason,
            duration_ms: 0,
            error: Some(error.to_string()),
        },
    );
    release(sg, n, selected, remaining, ready);
}
