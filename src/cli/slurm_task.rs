//! `vodbuild slurm-task BATCH_FILE` (hidden): what a Slurm batch file runs — its `#!` line
//! names this binary (see [`crate::exec::slurm::batch`]). It picks its task folder by
//! `SLURM_ARRAY_TASK_ID` and runs `exec-job` on the spec there against the workspace root the
//! batch names. Whatever stops the job before `exec-job` writes its result (an unreadable
//! spec, a tool whose fingerprint differs from the coordinator's) is written as a failed
//! result too, so the coordinator reports the reason rather than a bare exit code.

use std::path::{Path, PathBuf};

use clap::Args;

use super::exec_job::{ExecJobArgs, exec_job};
use crate::error::{Error, Result};
use crate::exec::run_job::write_atomic;
use crate::exec::slurm::batch::{Batch, RESULT, SPEC};
use crate::job::{JobResult, JobStatus};

#[derive(Args, Debug)]
pub struct SlurmTaskArgs {
    /// The batch file (Slurm's copy of it on this node).
    pub batch: PathBuf,
}

pub fn slurm_task(a: &SlurmTaskArgs) -> Result<()> {
    let batch = Batch::read(&a.batch).map_err(Error::Usage)?;
    let index = std::env::var("SLURM_ARRAY_TASK_ID").ok();
    let dir = batch.task(index.as_deref()).map_err(Error::Usage)?;
    let node = std::env::var("SLURMD_NODENAME").unwrap_or_else(|_| "?".into());
    crate::say!("vodbuild slurm-task: {} on node {node}", dir.display());
    let args = ExecJobArgs { spec: dir.join(SPEC), root: batch.root.clone(), result: Some(dir.join(RESULT)) };
    let outcome = exec_job(&args);
    if let Err(e) = &outcome
        && !dir.join(RESULT).exists()
    {
        write_failure(&dir, &e.to_string()); // the node is in the log (issue 12: not in state)
    }
    outcome
}

fn write_failure(dir: &Path, error: &str) {
    let id = std::fs::read(dir.join(SPEC))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_default();
    let result = JobResult {
        id,
        status: JobStatus::Failed,
        error: Some(error.to_string()),
        outputs: Vec::new(),
        sync: Default::default(),
    };
    if let Err(e) = write_atomic(&dir.join(RESULT), &serde_json::to_vec_pretty(&result).expect("json")) {
        crate::say!("vodbuild slurm-task: {e}");
    }
}
