//! The scheduler (ninja's `Plan`): one [`Node`] per step holding its whole state — where it
//! is ([`Phase`]), the evaluation a run of it records, and its report. The builder asks
//! [`Scheduler::next_job`] for work and reports each step with [`Scheduler::finished`].
//!
//! - A step is judged once its dependencies have settled, in dependency order; the verdict
//!   comes from a [`Judge`] (the real one evaluates keys and files, tests use a fake).
//! - Stale steps found together become jobs by the fusion policy ([`super::fusion`]).
//! - A step fresh by its record whose intermediate outputs are missing is *absent*: rebuilt
//!   only when a stale consumer needs it; the consumer waits for it (`Blocked`).
//! - Early cutoff: when a step is rebuilt after its consumers were judged fresh, they are
//!   judged again against its new outputs (byte-identical outputs keep them fresh).
//! - A failure fails its dependents ("upstream failed: ID"); without `--keep-going` no new
//!   job starts. After [`Scheduler::interrupt`] neither. Steps judged fresh are still
//!   reported; steps never reached are reported skipped at the end.

use std::collections::VecDeque;

use petgraph::graph::NodeIndex;

use super::fusion;
use super::queue::{JobQueue, Room};
use super::report::{RunReport, Status, StepReport};
use crate::dag::StepGraph;
use crate::plan::{Evaluation, Reason, Upstream};
use crate::state::OutputFile;

/// A step's outputs as its record holds them (shared, not copied, for fresh steps).
pub type Outputs = std::sync::Arc<Vec<OutputFile>>;

/// What a [`Judge`] says about a step whose inputs are known.
pub enum Verdict {
    Fresh(Outputs),
    /// Fresh by its record, but its intermediate outputs are missing: rebuilt on demand.
    Absent {
        outputs: Outputs,
        reason: Reason,
        eval: Evaluation,
    },
    Stale {
        reason: Reason,
        eval: Evaluation,
    },
    /// Does not apply to its source (see [`crate::skip`]): done, with nothing made.
    Skip(&'static str),
}

/// Freshness, kept behind a trait so the scheduler can be tested without files.
pub trait Judge {
    /// Judges `n`; `upstream` gives each dependency's outputs, or pending when unknown.
    fn judge<'a>(&mut self, n: NodeIndex, upstream: &dyn Fn(NodeIndex) -> Upstream<'a>) -> Verdict;
}

/// How a step of a finished job ended.
pub enum StepOutcome {
    Built { outputs: Vec<OutputFile>, duration_ms: u64 },
    Failed(String),
    Interrupted,
}

/// Where a step is.
#[derive(Debug)]
enum Phase {
    /// Not part of this run.
    Unselected,
    /// Waiting for its dependencies to settle.
    Waiting,
    /// To be judged (or judged again after the inputs it waited for were rebuilt).
    Ready,
    /// Judged fresh: its consumers read these outputs.
    Fresh(Outputs),
    /// Fresh by its record, its intermediate outputs missing (see [`Verdict::Absent`]).
    Absent(Outputs),
    /// Stale (or absent and needed), queued in a job.
    Queued,
    /// Stale, waiting for these inputs to be rebuilt first.
    Blocked(Vec<NodeIndex>),
    Running,
    /// Executed in this run (or not applicable: no outputs).
    Done(Outputs),
    /// Failed, or not run because a dependency failed: its consumers are not run either.
    Failed,
}

struct Node {
    phase: Phase,
    /// Dependencies not settled yet.
    remaining: usize,
    /// Its consumers were counted down (it settled once).
    released: bool,
    /// A stale consumer needs its outputs: an absent verdict means rebuild.
    demanded: bool,
    /// What a run of it records, and why it runs.
    job: Option<(Evaluation, Reason)>,
    report: Option<StepReport>,
}

pub struct Scheduler<'g> {
    sg: &'g StepGraph,
    nodes: Vec<Node>,
    ready: VecDeque<NodeIndex>,
    queue: JobQueue,
    keep_going: bool,
    stopped: bool,
    /// Steps settled at least once (for progress).
    settled: usize,
}

impl<'g> Scheduler<'g> {
    pub fn new(sg: &'g StepGraph, selected: &[bool], keep_going: bool) -> Self {
        let nodes =
            sg.g.node_indices()
                .map(|n| Node {
                    phase: if selected[n.index()] { Phase::Waiting } else { Phase::Unselected },
                    remaining: sg.deps(n).len(),
                    released: false,
                    demanded: false,
                    job: None,
                    report: None,
                })
                .collect();
        let mut s = Scheduler {
            sg,
            nodes,
            ready: VecDeque::new(),
            queue: JobQueue::default(),
            keep_going,
            stopped: false,
            settled: 0,
        };
        for n in sg.topo() {
            if s.selected(n) && s.nodes[n.index()].remaining == 0 {
                s.make_ready(n);
            }
        }
        s
    }

    /// Judges every step that can be judged, then hands out the steps of the next job that
    /// fits `room` (now running). None when no job can start now, or the run stopped.
    pub fn next_job(&mut self, judge: &mut dyn Judge, room: Room) -> Option<Vec<NodeIndex>> {
        let mut stale = Vec::new();
        while let Some(n) = self.ready.pop_front() {
            self.judge_one(n, judge, &mut stale);
        }
        for group in fusion::jobs(self.sg, stale) {
            self.queue.push(self.sg, group);
        }
        if self.stopped {
            return None;
        }
        let group = self.queue.pop(room)?;
        group.iter().for_each(|n| self.nodes[n.index()].phase = Phase::Running);
        Some(group)
    }

    /// Selected steps that have settled (their report is known).
    pub fn settled(&self) -> usize {
        self.settled
    }

    /// Jobs judged stale and not started yet.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The outputs a consumer of `n` reads (none when `n` has not settled).
    pub fn outputs(&self, n: NodeIndex) -> &[OutputFile] {
        match &self.nodes[n.index()].phase {
            Phase::Fresh(o) | Phase::Absent(o) | Phase::Done(o) => o,
            _ => &[],
        }
    }

    /// The evaluation a run of `n` records, and why it runs.
    pub fn job_of(&self, n: NodeIndex) -> Option<&(Evaluation, Reason)> {
        self.nodes[n.index()].job.as_ref()
    }

    /// No new job starts (a failure without `--keep-going`, or a state that cannot be saved).
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Whether no new job starts any more.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    pub fn finished(&mut self, n: NodeIndex, outcome: StepOutcome) {
        match outcome {
            StepOutcome::Built { outputs, duration_ms } => {
                let reason = self.nodes[n.index()].job.take().map(|(_, r)| r.to_string());
                let report = self.report(n, Status::Executed, reason, duration_ms, None);
                self.settle(n, Phase::Done(outputs.into()), report);
            }
            StepOutcome::Failed(error) => {
                self.fail(n, error);
                self.stopped |= !self.keep_going;
            }
            StepOutcome::Interrupted => {
                self.fail(n, super::runner::INTERRUPTED.to_string());
                self.stopped = true;
            }
        }
    }

    /// One report per selected step, in dependency order; steps never reached are skipped.
    pub fn into_report(mut self, interrupted: bool) -> RunReport {
        let why = if interrupted { "interrupted" } else { "not run after a failure" };
        let mut out = RunReport { interrupted, ..Default::default() };
        let selected: Vec<NodeIndex> = self.sg.topo().into_iter().filter(|n| self.selected(*n)).collect();
        out.steps.reserve_exact(selected.len());
        for n in selected {
            let r = self.nodes[n.index()].report.take();
            out.steps.push(r.unwrap_or_else(|| self.report(n, Status::Skipped, Some(why.into()), 0, None)));
        }
        out
    }

    fn selected(&self, n: NodeIndex) -> bool {
        !matches!(self.nodes[n.index()].phase, Phase::Unselected)
    }

    fn make_ready(&mut self, n: NodeIndex) {
        self.nodes[n.index()].phase = Phase::Ready;
        self.ready.push_back(n);
    }

    fn judge_one(&mut self, n: NodeIndex, judge: &mut dyn Judge, stale: &mut Vec<NodeIndex>) {
        if !matches!(self.nodes[n.index()].phase, Phase::Ready) {
            return;
        }
        let failed = self.sg.deps(n).into_iter().find(|d| matches!(self.nodes[d.index()].phase, Phase::Failed));
        if let Some(d) = failed {
            let why = format!("upstream failed: {}", self.sg.g[d].id);
            let report = self.report(n, Status::Skipped, Some(why), 0, None);
            return self.settle(n, Phase::Failed, report);
        }
        let nodes = &self.nodes;
        let verdict = judge.judge(n, &|d| match &nodes[d.index()].phase {
            Phase::Fresh(o) | Phase::Absent(o) | Phase::Done(o) => Upstream::Done(o),
            _ => Upstream::Pending,
        });
        let fresh = |s: &Self| s.report(n, Status::Fresh, None, 0, None);
        match verdict {
            Verdict::Fresh(outputs) => self.settle(n, Phase::Fresh(outputs), fresh(self)),
            Verdict::Absent { outputs, reason, eval } if !self.nodes[n.index()].demanded => {
                self.nodes[n.index()].job = Some((eval, reason));
                self.settle(n, Phase::Absent(outputs), fresh(self));
            }
            Verdict::Absent { reason, eval, .. } => {
                // Needed by a consumer: the reason it was demanded with ("needed by") stays.
                let reason = self.nodes[n.index()].job.take().map_or(reason, |(_, r)| r);
                self.stale(n, eval, reason, stale);
            }
            Verdict::Stale { reason, eval } => self.stale(n, eval, reason, stale),
            Verdict::Skip(why) => {
                tracing::debug!(step = %self.sg.g[n].id, reason = why, "skipped");
                let report = self.report(n, Status::Skipped, Some(why.to_string()), 0, None);
                self.settle(n, Phase::Done(Outputs::default()), report);
            }
        }
    }

    fn stale(&mut self, n: NodeIndex, eval: Evaluation, reason: Reason, stale: &mut Vec<NodeIndex>) {
        self.nodes[n.index()].job = Some((eval, reason));
        self.nodes[n.index()].phase = Phase::Queued;
        if self.demand(n, stale) {
            stale.push(n);
        }
    }

    /// `n` is about to run: its absent inputs are rebuilt first, and it waits for inputs
    /// being rebuilt. Returns whether it can run now (otherwise it is `Blocked`, and judged
    /// again once they are back).
    fn demand(&mut self, n: NodeIndex, stale: &mut Vec<NodeIndex>) -> bool {
        let mut waits = Vec::new();
        for d in self.sg.deps(n) {
            match self.nodes[d.index()].phase {
                Phase::Absent(_) => {
                    self.rebuild(d, n, stale);
                    waits.push(d);
                }
                Phase::Ready | Phase::Queued | Phase::Blocked(_) | Phase::Running => waits.push(d),
                _ => {}
            }
        }
        if waits.is_empty() {
            return true;
        }
        self.nodes[n.index()].phase = Phase::Blocked(waits);
        false
    }

    /// Rebuilds the absent step `d` because `consumer` has to run.
    fn rebuild(&mut self, d: NodeIndex, consumer: NodeIndex, stale: &mut Vec<NodeIndex>) {
        let node = &mut self.nodes[d.index()];
        node.demanded = true;
        node.phase = Phase::Queued;
        if let Some((_, r)) = &mut node.job {
            let what = r.to_string();
            let what = what.trim_start_matches("output missing: ");
            *r = Reason::OutputMissing(format!("{what} (needed by {})", self.sg.g[consumer].id));
        }
        if self.demand(d, stale) {
            stale.push(d);
        }
    }

    fn fail(&mut self, n: NodeIndex, error: String) {
        let reason = self.nodes[n.index()].job.as_ref().map(|(_, r)| r.to_string());
        let report = self.report(n, Status::Failed, reason, 0, Some(error));
        self.settle(n, Phase::Failed, report);
    }

    /// `n` reached `phase`: the first time its consumers are counted down; a step rebuilt
    /// after that has its consumers judged fresh judged again (early cutoff). Consumers
    /// waiting for it are woken either way.
    fn settle(&mut self, n: NodeIndex, phase: Phase, report: StepReport) {
        let rebuilt = matches!(phase, Phase::Done(_));
        let node = &mut self.nodes[n.index()];
        node.phase = phase;
        node.report = Some(report);
        let first = !std::mem::replace(&mut node.released, true);
        self.settled += usize::from(first);
        for d in self.sg.dependents(n) {
            let (unblocked, rejudge) = match &mut self.nodes[d.index()].phase {
                Phase::Unselected => continue,
                Phase::Blocked(waits) => {
                    waits.retain(|w| *w != n);
                    (waits.is_empty(), false)
                }
                Phase::Fresh(_) | Phase::Absent(_) => (false, !first && rebuilt),
                _ => (false, false),
            };
            // Judged again once, however many of its inputs a fused job rebuilt.
            if unblocked || rejudge {
                self.make_ready(d);
            }
            if first {
                self.count_down(d);
            }
        }
    }

    fn count_down(&mut self, d: NodeIndex) {
        let dep = &mut self.nodes[d.index()];
        dep.remaining -= 1;
        if dep.remaining == 0 && matches!(dep.phase, Phase::Waiting) {
            self.make_ready(d);
        }
    }

    fn report(
        &self,
        n: NodeIndex,
        status: Status,
        reason: Option<String>,
        ms: u64,
        error: Option<String>,
    ) -> StepReport {
        let s = &self.sg.g[n];
        StepReport {
            id: s.id.clone(),
            kind: s.kind.as_str(),
            source: s.source.clone(),
            status,
            reason,
            duration_ms: ms,
            error,
            attempts: 0,
        }
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
