//! Running one job, wherever it runs: the local executor and `vodbuild exec-job` both call
//! [`run`]. It resolves the job's paths against the workspace root, fetches a missing remote
//! source, runs the tool and the post-processing ([`super::perform`]), checks the
//! outputs ([`super::check`]) and digests them in their temporaries. The coordinator then moves
//! them into position and records them ([`place()`]).

use std::path::Path;

pub use super::env::{JobEnv, ToolPaths};

use super::cancel::Cancel;
use super::pipes::Tick;
use super::{check, perform, place, runner};
use crate::hash::{FileStat, hash_file};
use crate::job::{FileDigest, JobResult, JobSpec, JobStatus, Placement, StepFiles};
use crate::state::OutputFile;
use crate::step::ToolUse;
use crate::storage::sync::SyncStats;

/// Runs `spec`: on success its outputs are checked and digested in their temporaries; on
/// failure the temporaries are removed.
pub fn run(spec: &JobSpec, env: &JobEnv, cancel: &Cancel, progress: &mut dyn FnMut(Tick)) -> JobResult {
    let placements = spec.placements(&env.root);
    let outcome = attempt(spec, env, &placements, cancel, progress);
    let interrupted = cancel.is_cancelled() || matches!(&outcome, Err(e) if e == runner::INTERRUPTED);
    match outcome {
        Ok((outputs, sync)) if !interrupted => {
            JobResult { id: spec.id.clone(), status: JobStatus::Succeeded, error: None, outputs, sync }
        }
        other => {
            // Named before the temporaries are discarded: that frees the space.
            let (status, error) = match other {
                _ if interrupted => (JobStatus::Interrupted, runner::INTERRUPTED.to_string()),
                Err(e) => (JobStatus::Failed, check::name_disk_full(e, &placements)),
                Ok(_) => unreachable!("handled above"),
            };
            placements.iter().for_each(place::discard);
            JobResult {
                id: spec.id.clone(),
                status,
                error: Some(error),
                outputs: Vec::new(),
                sync: SyncStats::default(),
            }
        }
    }
}

fn attempt(
    spec: &JobSpec,
    env: &JobEnv,
    placements: &[Placement],
    cancel: &Cancel,
    progress: &mut dyn FnMut(Tick),
) -> Result<(Vec<StepFiles>, SyncStats), String> {
    for p in placements {
        place::confine(p)?;
        place::remove_leftovers(&p.dest);
        let dir = if p.dir { Some(p.tmp.as_path()) } else { p.tmp.parent() };
        if let Some(d) = dir {
            std::fs::create_dir_all(d).map_err(|e| format!("creating {}: {e}", d.display()))?;
        }
    }
    prepare_inputs(spec, env)?;
    let sync = perform::perform(&spec.action, env, cancel, progress)?;
    if cancel.is_cancelled() {
        return Err(runner::INTERRUPTED.into());
    }
    if let Some(remote) = &spec.remote_outputs {
        let files = remote.iter().map(|o| FileDigest { path: o.path.clone(), size: o.size, digest: o.digest.clone() });
        return Ok((vec![StepFiles { step: spec.steps[0].clone(), files: files.collect() }], sync));
    }
    // Nothing is reported (so placed or recorded) that is not what the step promises.
    check::outputs(&spec.checks, env.tools.get(ToolUse::Ffmpeg)?, placements)?;
    let outputs = placements
        .iter()
        .map(|p| Ok(StepFiles { step: p.step.clone(), files: place::digest(p)? }))
        .collect::<Result<_, String>>()?;
    Ok((outputs, sync))
}

/// Fetches a missing remote source; with `verify_inputs`, every input must have its digest.
fn prepare_inputs(spec: &JobSpec, env: &JobEnv) -> Result<(), String> {
    for i in &spec.inputs {
        let path = crate::job::paths::resolve(&env.root, &i.path);
        if let Some(f) = &i.fetch
            && !path.exists()
        {
            let mut backend = f.backend.clone();
            backend.base = backend.base.map(|b| crate::job::paths::resolve(&env.root, &b));
            crate::storage::sources::download(&backend, &f.object, &path)?;
        }
        if env.verify_inputs {
            let stat = FileStat::of(&path).map_err(|e| format!("input {}: {e}", path.display()))?;
            let digest = hash_file(&path, stat.size).map_err(|e| format!("input {}: {e}", path.display()))?;
            if digest != i.digest {
                return Err(format!("input {} is not the file the job was planned with", path.display()));
            }
        }
    }
    Ok(())
}

/// Moves a succeeded job's outputs into position (on the coordinator) and returns each step's
/// files with their digests and stats (for the stat cache); a failed job's error otherwise.
pub fn place(spec: &JobSpec, root: &Path, result: JobResult) -> Result<(Vec<Vec<OutputFile>>, SyncStats), String> {
    if result.status != JobStatus::Succeeded {
        return Err(result.error.unwrap_or_else(|| runner::INTERRUPTED.into()));
    }
    if let Some(remote) = &spec.remote_outputs {
        return Ok((vec![remote.clone()], result.sync));
    }
    let mut outputs = Vec::new();
    for p in spec.placements(root) {
        let files = result.outputs.iter().find(|s| s.step == p.step).map(|s| &s.files[..]).unwrap_or(&[]);
        place::place(&p)?;
        outputs.push(place::record(&p, files)?);
    }
    Ok((outputs, result.sync))
}

pub use crate::atomic::write as write_atomic;
