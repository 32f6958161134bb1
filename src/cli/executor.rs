//! Choosing the executor of `run`: `--executor` over the manifest's `executor: {kind}`,
//! local by default. A Slurm run gets its [`Session`] here.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::slurm::{Session, command::System};
use crate::manifest::Manifest;
use crate::manifest::executor::{ExecutorKind, ExecutorSpec};

/// The Slurm session of this run, or None for the local executor.
pub fn session(m: &Manifest, flag: Option<ExecutorKind>) -> Result<Option<Arc<Session>>> {
    let spec = m.raw.executor.clone().unwrap_or_default();
    if flag.unwrap_or(spec.kind) != ExecutorKind::Slurm {
        return Ok(None);
    }
    let spec = ExecutorSpec { kind: ExecutorKind::Slurm, ..spec };
    let s = Session::new(spec, &m.root, &m.state_dir(), Box::new(System)).map_err(Error::Usage)?;
    tracing::info!(run = %s.run_id, "compute jobs go to Slurm");
    Ok(Some(Arc::new(s)))
}
