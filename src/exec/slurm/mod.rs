//! The Slurm executor (`executor: {kind: slurm}` or `run --executor slurm`), another
//! [`Executor`]: compute jobs (probe, encode, package, thumbnails, audio-only) are submitted
//! to Slurm with `sbatch`, running `vodbuild slurm-task` (→ `exec-job`) on their spec in a job
//! folder under the workspace, which every node sees; publish, verify and metadata jobs run
//! on this machine through the [`LocalPool`] it wraps (nodes may not reach the servers the
//! coordinator reaches).
//!
//! [`session`]: one command's run id, folder, settings and counters; [`submit`]: grouping,
//! arrays, `sbatch`; [`batch`]: the shell-less batch files; [`attempt`]: per-attempt folders
//! and temporaries, results, digest checks; [`poll`]: result files each tick, one `squeue` per
//! status cycle ([`status`] parses it), [`retry`]: what is tried again; [`cancel`]: one
//! `scancel`; [`command`]: how Slurm's commands run (faked in the tests).

pub mod attempt;
pub mod batch;
pub mod cancel;
pub mod command;
pub mod poll;
pub mod retry;
pub mod session;
pub mod status;
pub mod submit;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::cancel::Cancel;
use super::executor::{Executor, Finished, Job};
use super::pool::LocalPool;
use crate::job::{Action, JobSpec};
pub use poll::Timing;
pub use session::Session;

/// Most jobs in flight at once (submitted or waiting for a `max_jobs` slot).
pub const MAX_IN_FLIGHT: usize = 10_000;
/// Result files are looked for every tick: from [`TICK_MIN`], doubling to [`TICK_MAX`] while none arrives.
const TICK_MIN: Duration = Duration::from_millis(25);
const TICK_MAX: Duration = Duration::from_millis(250);

/// Whether a job runs on the coordinator rather than on Slurm: publishing, verifying, files
/// vodbuild writes itself, and packaging whose encryption key (or IV) is in an environment
/// variable — the variable is never passed to Slurm (see [`submit`]), so the job stays where
/// it is. (A key file on the shared filesystem goes to Slurm like any input.)
pub fn runs_here(spec: &JobSpec) -> bool {
    let from_env = |c: &Option<crate::crypt::job::CryptJob>| {
        c.as_ref().is_some_and(|c| c.key.env.is_some() || c.iv.as_ref().is_some_and(|iv| iv.env.is_some()))
    };
    match &spec.action {
        Action::Publish(_) | Action::Verify { .. } | Action::WriteFile { .. } => true,
        Action::Hls { crypt, .. } | Action::Dash { crypt, .. } => from_env(crypt),
        _ => false,
    }
}

pub struct SlurmExecutor<'s, 'p, 'a> {
    tracker: poll::Tracker<'s>,
    local: LocalPool<'p, 'a>,
    cancel: Cancel,
    cancelled: bool,
    done: VecDeque<Finished>,
    tick: Duration,
    /// Ctrl-C waits for this executor's `scancel` before the process ends.
    _hold: crate::signals::Hold,
}

impl<'s, 'p, 'a> SlurmExecutor<'s, 'p, 'a> {
    pub fn new(session: &'s Session, timing: Timing, local: LocalPool<'p, 'a>, cancel: Cancel) -> Self {
        let tracker = poll::Tracker::new(session, timing);
        let _hold = crate::signals::Hold::new();
        SlurmExecutor { tracker, local, cancel, cancelled: false, done: VecDeque::new(), tick: TICK_MIN, _hold }
    }

    /// One turn of the wait loop: submit, wait a tick (for a local job or the clock), poll.
    fn turn(&mut self) -> Option<Finished> {
        if !self.cancelled {
            let failed = self.tracker.submit(Instant::now());
            self.done.extend(failed);
        }
        if self.local.in_flight() > 0 {
            if let Some(f) = self.local.wait_timeout(self.tick) {
                return Some(f);
            }
        } else {
            std::thread::sleep(self.tick);
        }
        let found = self.tracker.poll(Instant::now());
        self.tick = if found.is_empty() { (self.tick * 2).min(TICK_MAX) } else { TICK_MIN };
        self.done.extend(found);
        None
    }
}

impl Executor for SlurmExecutor<'_, '_, '_> {
    /// `-j` limits only the coordinator's own jobs; Slurm's are bounded by `max_jobs`
    /// (applied when submitting) and [`MAX_IN_FLIGHT`].
    fn can_run_more(&self) -> usize {
        MAX_IN_FLIGHT.saturating_sub(self.tracker.in_flight() + self.local.in_flight())
    }

    fn start(&mut self, job: Job) {
        if runs_here(&job.spec) {
            self.local.start(job);
        } else {
            self.tracker.add(job);
        }
    }

    fn wait_any(&mut self) -> Option<Finished> {
        loop {
            if let Some(f) = self.done.pop_front() {
                return Some(f);
            }
            if self.cancel.is_cancelled() && !self.cancelled {
                self.cancel_all();
                continue;
            }
            if self.tracker.in_flight() == 0 {
                return self.local.wait_any();
            }
            if let Some(f) = self.turn() {
                return Some(f);
            }
        }
    }

    fn cancel_all(&mut self) {
        if self.cancelled {
            return;
        }
        self.cancelled = true;
        self.local.cancel_all();
        let stopped = self.tracker.cancel();
        self.done.extend(stopped);
    }
}
