//! The executor interface, shaped like ninja's `CommandRunner`: the builder starts jobs and
//! waits for any one of them to finish; nothing here needs a thread per job, so an executor
//! that submits jobs to a cluster can keep hundreds in flight and poll for their results.
//! Cancellation is a [`super::cancel::Cancel`] handle the executor is given.
//! [`super::pool::LocalPool`] runs jobs on this machine.

use crate::job::JobSpec;
use crate::state::OutputFile;
use crate::storage::sync::SyncStats;

/// Names a started job in its [`Finished`] report.
pub type JobId = usize;

/// One job to run (its spec says what its outputs must satisfy before they are placed).
pub struct Job {
    pub id: JobId,
    pub spec: JobSpec,
}

#[derive(Debug)]
pub enum JobOutcome {
    /// The outputs of each step of the job (in `spec.steps` order), placed and fingerprinted.
    Built {
        outputs: Vec<Vec<OutputFile>>,
        sync: SyncStats,
    },
    Failed(String),
    /// Stopped by cancellation; nothing was placed.
    Interrupted,
}

#[derive(Debug)]
pub struct Finished {
    pub id: JobId,
    pub outcome: JobOutcome,
    pub duration_ms: u64,
}

pub trait Executor {
    /// How many more jobs it takes now (the `-j` slots left).
    fn can_run_more(&self) -> usize;
    /// How many more jobs that only wait on the network (publish, notify) it takes now beside
    /// the `-j` slots. 0 (the default): they take `-j` slots like any job.
    fn can_run_more_network(&self) -> usize {
        0
    }
    /// Starts a job and returns at once.
    fn start(&mut self, job: Job);
    /// Blocks until a started job finishes; None when no job is in flight.
    fn wait_any(&mut self) -> Option<Finished>;
    /// Asks every job in flight to stop; their outcomes still come from [`Executor::wait_any`].
    fn cancel_all(&mut self);
}
