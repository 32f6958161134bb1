//! `vodbuild exec-job SPEC.json --root DIR` (hidden): runs one job built elsewhere (a
//! [`JobSpec`], as `run --keep-jobs DIR` saves them) against the workspace at `DIR`, through the
//! same code as a local run ([`run_job::run`]): the inputs must have the spec's digests and the
//! tools its fingerprints; outputs are checked and left in the job's temporaries
//! (`.NAME.tmp-ID` beside their destinations) for the coordinator to move into place. The
//! result (status, each step's files with digests, the error with the tool's stderr tail) is
//! written atomically to `--result` (default: `SPEC.result.json`). A spec that would make
//! vodbuild write outside the workspace is refused first ([`crate::job::confine`]). Exit codes as for `run`
//! ([`crate::error::Error::exit_code`]): 0 done, 1 the job failed, 5 a tool is missing or
//! differs, 130 interrupted.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, IoContext, Result};
use crate::exec::run_job::{self, JobEnv, ToolPaths};
use crate::job::{JobSpec, JobStatus};

#[derive(Args, Debug)]
pub struct ExecJobArgs {
    /// The job: a JobSpec as JSON.
    pub spec: PathBuf,
    /// The workspace root on this machine (`{root}` in the job's paths).
    #[arg(long)]
    pub root: PathBuf,
    /// Where to write the result (default: the spec's path with `.result.json`).
    #[arg(long)]
    pub result: Option<PathBuf>,
}

pub fn exec_job(a: &ExecJobArgs) -> Result<()> {
    let text = std::fs::read(&a.spec).ctx(|| format!("reading {}", a.spec.display()))?;
    let spec: JobSpec =
        serde_json::from_slice(&text).map_err(|e| Error::Usage(format!("{}: not a job: {e}", a.spec.display())))?;
    // A spec is input: it may make vodbuild write only inside the workspace.
    crate::job::confine::check(&spec).map_err(|e| Error::Usage(format!("{}: {e}", a.spec.display())))?;
    let root = a.root.canonicalize().ctx(|| format!("workspace root {}", a.root.display()))?;
    let tools = ToolPaths::locate(&spec.tools, &root)?;
    let env = JobEnv { root, tools, verify_inputs: true };
    let building = crate::signals::Building::start();
    let result = run_job::run(&spec, &env, &crate::signals::token(), &mut |_| {});
    drop(building);
    let out = a.result.clone().unwrap_or_else(|| a.spec.with_extension("result.json"));
    run_job::write_atomic(&out, &serde_json::to_vec_pretty(&result).expect("json"))
        .map_err(|message| Error::Step { step: spec.label.clone(), message })?;
    match result.status {
        JobStatus::Succeeded => Ok(()),
        JobStatus::Interrupted => Err(Error::Interrupted),
        JobStatus::Failed => Err(Error::Step { step: spec.label, message: result.error.unwrap_or_default() }),
    }
}
