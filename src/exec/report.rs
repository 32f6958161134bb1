//! What a run did, typed: one [`StepReport`] per selected step, the [`RunReport`] of a run,
//! and [`RunDocument`], the document `run --json` prints and `run --report FILE` writes.

use serde::Serialize;

use crate::storage::sync::SyncStats;

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
    /// How many times it ran in this run (shown when retried: more than once).
    #[serde(skip_serializing_if = "not_retried")]
    pub attempts: u32,
}

fn not_retried(attempts: &u32) -> bool {
    *attempts <= 1
}

#[derive(Debug, Default, Serialize)]
pub struct RunReport {
    pub steps: Vec<StepReport>,
    /// Ctrl-C / SIGTERM stopped the run.
    pub interrupted: bool,
    /// What publishing moved.
    #[serde(skip)]
    pub sync: SyncStats,
}

impl RunReport {
    pub fn count(&self, s: Status) -> usize {
        self.steps.iter().filter(|r| r.status == s).count()
    }

    /// Steps per status.
    pub fn counts(&self) -> Counts {
        Counts {
            executed: self.count(Status::Executed),
            fresh: self.count(Status::Fresh),
            failed: self.count(Status::Failed),
            skipped: self.count(Status::Skipped),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Counts {
    pub executed: usize,
    pub fresh: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// Bytes and objects a run hashed, moved and deleted.
#[derive(Debug, Clone, Serialize)]
pub struct RunStats {
    pub source_bytes_hashed: u64,
    pub sources_hashed: usize,
    pub uploaded_bytes: u64,
    pub uploaded_objects: u64,
    pub deleted_objects: u64,
    pub downloaded_bytes: u64,
}

/// A rung the ladder left out for a source (see [`crate::ladder`]).
#[derive(Debug, Clone, Serialize)]
pub struct LadderSkip {
    pub id: String,
    pub source: String,
    pub reason: String,
}

/// The `run --json` document.
#[derive(Debug, Serialize)]
pub struct RunDocument<'a> {
    #[serde(flatten)]
    pub counts: Counts,
    pub interrupted: bool,
    pub duration_ms: u64,
    pub stats: RunStats,
    pub steps: &'a [StepReport],
    pub ladder_skipped: Vec<LadderSkip>,
    /// Where the jobs ran.
    pub executor: ExecutorReport,
}

/// The executor a run used and, for Slurm, what it asked of the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutorReport {
    /// `local` or `slurm`.
    pub kind: &'static str,
    /// Jobs (array tasks) submitted, retries included.
    pub submitted_jobs: u64,
    pub sbatch_calls: u64,
    /// `squeue` calls.
    pub status_calls: u64,
    /// Attempts after a node or limit failure.
    pub retries: u64,
}

impl Default for ExecutorReport {
    fn default() -> Self {
        ExecutorReport { kind: "local", submitted_jobs: 0, sbatch_calls: 0, status_calls: 0, retries: 0 }
    }
}
