//! `publish`: uploads one deliverable (a package folder, thumbnails, audio_only or
//! metadata.json) to a backend ([`crate::storage::sync`]). Params: the backend (name, service,
//! non-secret config with the environment's destination overrides) and the remote folder.
//! Inputs: every file of the deliverable. Output: the objects (remote; checked by listing).

use std::path::Path;

use petgraph::graph::NodeIndex;
use serde_json::{Value, json};

use crate::job::ctx::{JobCtx, job_id};
use crate::job::paths::portable;
use crate::job::promise::Checks;
use crate::job::{Action, JobInput, JobSpec};
use crate::state::{OutputFile, StepRecord};
use crate::step::{OutputLoc, StepKind};
use crate::storage::BackendConfig;
use crate::storage::sync::PublishJob;

pub const RECIPE: u32 = 1;

pub fn params(backend: &BackendConfig, remote: &str) -> Value {
    json!({
        "backend": {"name": backend.name, "service": backend.service, "config": backend.destination()},
        "remote": remote,
    })
}

/// Publishing one package: the files the package step recorded, to the step's remote folder.
pub(crate) fn job<'o>(
    ctx: &JobCtx,
    n: NodeIndex,
    outputs_of: impl Fn(NodeIndex) -> &'o [OutputFile],
    previous: Option<&StepRecord>,
) -> Result<JobSpec, String> {
    let step = &ctx.sg.g[n];
    let OutputLoc::Remote { backend, remote, owns_folder } = &step.output else {
        return Err(format!("{} is not a publish step", step.id));
    };
    let dep = ctx
        .sg
        .deps(n)
        .into_iter()
        .find(|d| ctx.sg.g[*d].kind != StepKind::Verify)
        .ok_or("publish step without a package")?;
    let local = match &ctx.sg.g[dep].output {
        OutputLoc::Dir(d) => d.clone(),
        OutputLoc::File(f) => f.parent().map(Path::to_path_buf).unwrap_or_default(),
        OutputLoc::Remote { .. } => return Err("cannot publish a remote output".into()),
    };
    let root = &ctx.m.root;
    let outs = outputs_of(dep);
    let mut backend = ctx.m.backend(backend);
    // Where the key says it publishes: the manifest's config with this environment's
    // destination overrides (bucket, root, ...; never a secret), so a job run elsewhere
    // uploads to the same place.
    backend.config = backend.destination();
    backend.base = backend.base.map(|b| portable(root, &b));
    let job = PublishJob {
        backend,
        remote: remote.clone(),
        local: portable(root, &local),
        files: outs.iter().map(|o| (o.path.clone(), o.size, o.digest.clone())).collect(),
        previous: previous
            .map(|r| r.outputs.iter().map(|o| (o.path.clone(), o.digest.clone())).collect())
            .unwrap_or_default(),
        owns_folder: *owns_folder,
        concurrency: ctx.m.raw.publish.as_ref().map(|p| p.concurrency).unwrap_or(8),
        prune: ctx.prune,
    };
    let inputs = outs
        .iter()
        .map(|o| JobInput { path: portable(root, &local.join(&o.path)), digest: o.digest.clone(), fetch: None })
        .collect();
    let recorded = outs.iter().map(|o| OutputFile { stat: crate::hash::FileStat::default(), ..o.clone() }).collect();
    let steps = vec![step.id.clone()];
    Ok(JobSpec {
        id: job_id(&steps),
        label: step.id.clone(),
        steps,
        duration: 0.0,
        inputs,
        tools: Vec::new(),
        action: Action::Publish(job),
        outputs: Vec::new(),
        checks: Checks::default(),
        remote_outputs: Some(recorded),
    })
}
