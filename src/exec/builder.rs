//! The builder (ninja's `Builder`): asks the [`Scheduler`] for jobs, has [`Work`] build
//! them, starts them on an [`Executor`] while it has slots, and hands each finished step to
//! [`Work::record`] and back to the scheduler. Cancellation (a [`Cancel`] handle) stops
//! new jobs and cancels those in flight. A transient failure is retried after a backoff
//! when the step's kind allows it ([`super::retry`]); the scheduler only sees the last attempt.

use std::collections::HashMap;

use petgraph::graph::NodeIndex;

use super::cancel::Cancel;
use super::executor::{Executor, Finished, Job, JobId, JobOutcome};
use super::progress::Progress;
use super::queue::Room;
use super::report::RunReport;
use super::retry::{Pending, RetryPolicy};
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
    retry: RetryPolicy,
    pending: Pending,
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
            retry: RetryPolicy::none(),
            pending: Pending::default(),
        }
    }

    /// Retries transient failures as `policy` says (none by default).
    pub fn with_retries(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Runs until nothing more can start and nothing is in flight.
    pub fn build(mut self, executor: &mut dyn Executor) -> RunReport {
        loop {
            self.dispatch(executor);
            self.progress.settled(self.sched.settled());
            match executor.wait_any() {
                Some(f) => self.job_finished(f),
                None if self.wait_for_retry() => {}
                None => break,
            }
        }
        let mut report = self.sched.into_report(self.cancel.is_cancelled());
        report.sync = self.sync;
        for s in &mut report.steps {
            s.attempts = self.sg.by_id.get(&s.id).map_or(0, |n| self.pending.attempts(*n));
        }
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
            self.end_waiting_after_stop();
            let room = Room { any: executor.can_run_more() > 0, network: executor.can_run_more_network() > 0 };
            if room.none() {
                break;
            }
            if room.any
                && !self.cancelled
                && let Some(group) = self.pending.take_due()
            {
                self.start(group, executor);
                continue;
            }
            let Some(group) = self.sched.next_job(&mut *self.work, room) else { break };
            self.start(group, executor);
        }
    }

    /// Once the run stopped after a failure (no `--keep-going`), a job waiting to retry does
    /// not start again: its steps fail with the error it waited on.
    fn end_waiting_after_stop(&mut self) {
        if !self.sched.is_stopped() || self.cancel.is_cancelled() {
            return;
        }
        for (group, error) in self.pending.take_all() {
            group.into_iter().for_each(|n| self.sched.finished(n, StepOutcome::Failed(error.clone())));
        }
    }

    fn start(&mut self, group: Vec<NodeIndex>, executor: &mut dyn Executor) {
        let sched = &self.sched;
        match self.work.job(&group, &|d| sched.outputs(d)) {
            Ok(spec) => {
                let id = self.next_id;
                self.next_id += 1;
                self.pending.started(&group);
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
            JobOutcome::Failed(e) if self.retry_later(&label, &group, &e) => {}
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

    /// Whether the failed job of `group` runs again after a backoff (then it waits in
    /// [`Pending`]; its steps stay running for the scheduler).
    fn retry_later(&mut self, label: &str, group: &[NodeIndex], error: &str) -> bool {
        let attempts = group.iter().map(|n| self.pending.attempts(*n)).max().unwrap_or(0);
        let kind = self.sg.g[group[0]].kind;
        let stopped = self.cancel.is_cancelled() || self.sched.is_stopped();
        let Some(delay) = self.retry.next(kind, attempts, error).filter(|_| !stopped) else {
            return false;
        };
        let first = error.lines().next().unwrap_or("");
        tracing::info!(job = %label, error = %error, attempts, "transient failure, retrying");
        self.progress.println(&format!(
            "retrying {label} in {:.1}s (attempt {} of {}): {first}",
            delay.as_secs_f64(),
            attempts + 1,
            self.retry.retries(kind) + 1
        ));
        self.pending.wait(group.to_vec(), delay, error.to_string());
        true
    }

    /// Nothing is in flight: sleeps until the next retry is due (false when none waits).
    /// On cancellation the waiting jobs end interrupted.
    fn wait_for_retry(&mut self) -> bool {
        while let Some(left) = self.pending.until_next() {
            if self.cancel.is_cancelled() {
                for (group, _) in self.pending.take_all() {
                    group.into_iter().for_each(|n| self.sched.finished(n, StepOutcome::Interrupted));
                }
                return false;
            }
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
        }
        false
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
