//! The executor interface and the local executor (what each action does is in
//! [`super::perform`]).

use std::path::PathBuf;

use super::cancel::Cancel;
use super::env::JobEnv;
use super::pipes::Tick;
use super::run_job;
use crate::job::{JobResult, JobSpec};

/// Runs a job ([`run_job::run`]: its tool, post-processing and output checks), leaving its
/// outputs in their temporaries. Placement into final position and recording are done by the
/// scheduler after success ([`run_job::place`]).
pub trait Executor: Sync {
    fn execute(&self, env: &JobEnv, job: &JobSpec, cancel: &Cancel, progress: &mut dyn FnMut(Tick)) -> JobResult;
}

/// Runs jobs as child processes of this vodbuild. With `run --keep-jobs DIR`, each job's
/// spec (`ID.json`) and result (`ID.result.json`) are also written there, for `vodbuild exec-job`.
#[derive(Default)]
pub struct LocalExecutor {
    keep: Option<PathBuf>,
}

impl LocalExecutor {
    /// Saving each job's spec and result in `keep`, when given.
    pub fn keeping(keep: Option<PathBuf>) -> Self {
        LocalExecutor { keep }
    }
}

impl Executor for LocalExecutor {
    fn execute(&self, env: &JobEnv, job: &JobSpec, cancel: &Cancel, progress: &mut dyn FnMut(Tick)) -> JobResult {
        let save = |name: String, bytes: Vec<u8>| {
            if let Some(dir) = &self.keep
                && let Err(e) = std::fs::create_dir_all(dir)
                    .map_err(|e| e.to_string())
                    .and_then(|()| run_job::write_atomic(&dir.join(name), &bytes))
            {
                tracing::warn!("--keep-jobs: {e}");
            }
        };
        save(format!("{}.json", job.id), serde_json::to_vec_pretty(job).expect("json"));
        let result = run_job::run(job, env, cancel, progress);
        save(format!("{}.result.json", job.id), serde_json::to_vec_pretty(&result).expect("json"));
        result
    }
}
