//! The builder (ninja's `Builder`): asks the [`Scheduler`] for jobs, has [`Work`] build
//! them, starts them on an [`Executor`] while it has slots, and hands each finished step to
//! [`Work::record`] and back to the scheduler. Cancellation (a [`Cancel`] handle) stops
//! new jobs and cancels those in flight.

use std::collections::HashMap;

use petgraph::graph::NodeIndex;

use super::cancel::Cancel;
use super::executor::{Executor, Finished, Job, JobId, JobOutcome};
use super::progress::Progress;
use super::report::RunReport;
use super::scheduler::{Judge, Scheduler, StepOutcome};
use crate::dag::StepGraph;
use crate::job::JobSpec;
use crate::plan::Evaluation;
use crate::state::OutputFile;
use crate::storage::sync::SyncStats;

/// What a build needs from the workspace: freshness ([`Judge`]), jobs and records.
/// [`super::work::StateWork`] is the real one; tests use fakes.
pub trait Work: Judge {
    /// The job running `group` (its output checks included); `outputs_of` gives a finished
    /// dependency's outputs.
    fn job<'o>(
        &mut self,
        group: &[NodeIndex],
        outputs_of: &dyn Fn(NodeIndex) -> &'o [OutputFile],
    ) -> Result<JobSpec, String>;
    /// Records step `n`, evaluated as `eval`, with the outputs it made.
    fn record(&mut self, n: NodeIndex, eval: &Evaluation, outputs: &[OutputFile]) -> Result<(), String>;
}

pub struct Builder<'r, W: Work> {
    sg: &'r StepGraph,
    work: &'r mut W,
    progress: &'r Progress,
    sched: Scheduler<'r>,
    /// Label and steps of each job in flight.
    in_flight: HashMap<JobId, (String, Vec<NodeIndex>)>,
    next_id: JobId,
    sync: SyncStats,
    cancel: Cancel,
    cancelled: bool,
}

impl<'r, W: Work> Builder<'r, W> {
    pub fn new(
        sched: Scheduler<'r>,
        sg: &'r StepGraph,
        work: &'r mut W,
        progress: &'r Progress,
        cancel: Cancel,
    ) -> Self {
        Builder {
            sg,
            work,
            progress,
            sched,
            in_flight: HashMap::new(),
            next_id: 0,
            sync: SyncStats::default(),
            cancel,
            cancelled: false,
        }
    }

    /// Runs until nothing more can start and nothing is in flight.
    pub fn build(mut self, executor: &mut dyn Executor) -> RunReport {
        loop {
            self.dispatch(executor);
            self.progress.settled(self.sched.settled());
            match executor.wait_any() {
                Some(f) => self.job_finished(f),
                None => break,
            }
        }
        let mut report = self.sched.into_report(self.cancel.is_cancelled());
        report.sync = self.sync;
        report
    }

    /// Starts jobs while the executor has slots (steps found fresh are judged even after a
    /// stop, so they are reported as such).
    fn dispatch(&mut self, executor: &mut dyn Executor) {
        loop {
            if self.cancel.is_cancelled() && !self.cancelled {
                self.cancelled = true;
                self.sched.stop();
                executor.cancel_all();
            }
            if executor.can_run_more() == 0 {
                break;
            }
            let Some(group) = self.sched.next_job(&mut *self.work) else { break };
            self.start(group, executor);
        }
    }

    fn start(&mut self, group: Vec<NodeIndex>, executor: &mut dyn Executor) {
        let sched = &self.sched;
        match self.work.job(&group, &|d| sched.outputs(d)) {
            Ok(spec) => {
                let id = self.next_id;
                self.next_id += 1;
                self.in_flight.insert(id, (spec.label.clone(), group));
                executor.start(Job { id, spec });
            }
            Err(e) => {
                self.progress.println(&format!("error: {}: {e}", self.sg.g[group[0]].id));
                group.into_iter().for_each(|n| self.sched.finished(n, StepOutcome::Failed(e.clone())));
            }
        }
    }

    fn job_finished(&mut self, f: Finished) {
        let (label, group) = self.in_flight.remove(&f.id).expect("known job");
        match f.outcome {
            JobOutcome::Built { outputs, sync } => {
                self.sync += sync;
                for (n, outs) in group.into_iter().zip(outputs) {
                    self.record(n, outs, f.duration_ms);
                }
            }
            JobOutcome::Failed(e) => {
                tracing::info!(job = %label, error = %e, "failed");
                self.progress.println(&format!("error: {label} failed: {e}"));
                group.into_iter().for_each(|n| self.sched.finished(n, StepOutcome::Failed(e.clone())));
            }
            JobOutcome::Interrupted => {
                tracing::info!(job = %label, "interrupted");
                group.into_iter().for_each(|n| self.sched.finished(n, StepOutcome::Interrupted));
            }
        }
    }

    /// Records a step that ran; a state that cannot be written fails it and stops the run.
    fn record(&mut self, n: NodeIndex, outputs: Vec<OutputFile>, duration_ms: u64) {
        let (eval, reason) = self.sched.job_of(n).expect("a running step was evaluated");
        match self.work.record(n, eval, &outputs) {
            Ok(()) => {
                tracing::info!(step = %self.sg.g[n].id, reason = %reason, duration_ms, "executed");
                self.sched.finished(n, StepOutcome::Built { outputs, duration_ms });
            }
            Err(e) => {
                self.sched.finished(n, StepOutcome::Failed(e));
                self.sched.stop();
            }
        }
    }
}
