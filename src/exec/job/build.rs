//! Building a [`JobSpec`] from the step graph: one step, or several encode steps of the same
//! source. Reads the manifest, the dependencies' recorded outputs and `probe.json`; writes
//! and downloads nothing (a missing remote source is fetched by the job's runner).

use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;

use crate::exec::check;
use crate::job::ctx::{Builder, JobCtx, job_id};
use crate::job::paths::portable;
use crate::job::{Action, Fetch, JobInput, JobOutput, JobSpec, ToolPin};
use crate::layout::output_path;
use crate::manifest::{Manifest, Source};
use crate::media::probe::ProbeFile;
use crate::state::{OutputFile, StepRecord};
use crate::step::{OutputLoc, Step, StepKind, ToolUse};

/// The temporary sibling of `dest` a job writes (same folder, so the final rename is atomic).
pub fn temp_for(dest: &Path, job: &str) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.tmp-{job}"))
}

fn job_output(m: &Manifest, step: &Step, job: &str) -> Option<JobOutput> {
    let dest = step.output.local()?;
    let state_dir = m.state_dir();
    let root = crate::confine::root_of(&[&m.output_dir, &state_dir], dest);
    Some(JobOutput {
        step: step.id.clone(),
        tmp: portable(&m.root, &temp_for(dest, job)),
        dest: portable(&m.root, dest),
        dir: matches!(step.output, OutputLoc::Dir(_)),
        root: root.map(|r| portable(&m.root, r)),
    })
}

/// The source (when a step reads it) and every recorded output file of the steps' dependencies.
fn job_inputs<'o>(
    ctx: &JobCtx,
    nodes: &[NodeIndex],
    outputs_of: &impl Fn(NodeIndex) -> &'o [OutputFile],
    src: &Source,
) -> Vec<JobInput> {
    let m = ctx.m;
    let mut inputs = crate::audio::files::job_inputs(ctx, nodes, src);
    if nodes.iter().any(|n| ctx.sg.g[*n].reads_source) {
        inputs.push(JobInput {
            path: portable(&m.root, &src.path),
            digest: ctx.sources.get(&src.id).cloned().unwrap_or_default(),
            fetch: src.remote.as_ref().map(|r| {
                let mut backend = r.backend.clone();
                backend.base = backend.base.map(|b| portable(&m.root, &b));
                Fetch { backend, object: r.object.clone() }
            }),
        });
    }
    let mut deps: Vec<NodeIndex> = nodes.iter().flat_map(|n| ctx.sg.deps(*n)).collect();
    deps.sort_by(|a, b| ctx.sg.g[*a].id.cmp(&ctx.sg.g[*b].id));
    deps.dedup();
    for d in deps {
        let dep = &ctx.sg.g[d];
        if dep.output.local().is_none() {
            continue;
        }
        for o in outputs_of(d) {
            let path = portable(&m.root, &output_path(&dep.output, &o.path));
            inputs.push(JobInput { path, digest: o.digest.clone(), fetch: None });
        }
    }
    inputs
}

/// The tools the action runs, and ffmpeg for the output checks' decodes.
fn tool_pins(ctx: &JobCtx, action: &Action) -> Vec<ToolPin> {
    let main = match action {
        Action::Probe { .. } => Some(ToolUse::Ffprobe),
        Action::Run { tool, .. } | Action::Hls { tool, .. } | Action::Dash { tool, .. } => Some(*tool),
        Action::Loudness { .. } => Some(ToolUse::Ffmpeg),
        Action::Storyboard { .. } => Some(ToolUse::Ffmpeg),
        // A command step's program is pinned by its action (crate::job::CommandRun::digest).
        Action::WriteFile { .. }
        | Action::Subtitle(_)
        | Action::Verify { .. }
        | Action::Publish(_)
        | Action::Notify(_)
        | Action::Command(_) => None,
    };
    let mut uses = vec![ToolUse::Ffmpeg];
    uses.extend(main.filter(|t| *t != ToolUse::Ffmpeg));
    let t = &ctx.m.raw.tools;
    uses.into_iter()
        .filter_map(|u| {
            let (tool, configured) = match u {
                ToolUse::Ffmpeg => (Some(&ctx.tools.ffmpeg), &t.ffmpeg),
                ToolUse::Ffprobe => (Some(&ctx.tools.ffprobe), &t.ffprobe),
                ToolUse::Packager => (ctx.tools.packager.as_ref(), &t.packager),
                ToolUse::Builtin | ToolUse::Command => (None, &None),
            };
            Some(ToolPin { tool: u, configured: configured.clone(), digest: tool?.digest.clone() })
        })
        .collect()
}

fn load_probe(m: &Manifest, source: &str) -> Result<ProbeFile, String> {
    let p = crate::layout::probe(m, source);
    let bytes = std::fs::read(&p).map_err(|e| format!("reading {}: {e}", p.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))
}

/// Builds the job for `nodes`: one step, or several encode steps of the same source.
/// `outputs_of` gives the finished outputs of a dependency.
pub fn build<'o>(
    ctx: &JobCtx,
    nodes: &[NodeIndex],
    outputs_of: impl Fn(NodeIndex) -> &'o [OutputFile],
    previous: Option<&StepRecord>,
) -> Result<JobSpec, String> {
    let m = ctx.m;
    let first = &ctx.sg.g[nodes[0]];
    if first.kind == StepKind::Publish {
        return crate::kinds::publish::job(ctx, nodes[0], outputs_of, previous);
    }
    let src = m.source(&first.source).ok_or("unknown source")?;
    let steps: Vec<String> = nodes.iter().map(|n| ctx.sg.g[*n].id.clone()).collect();
    let id = job_id(&steps);
    let outputs: Vec<JobOutput> = nodes.iter().filter_map(|n| job_output(m, &ctx.sg.g[*n], &id)).collect();
    let b = Builder { ctx, nodes, src, outputs: &outputs };
    let (action, label, duration) = if first.kind == StepKind::Probe {
        (crate::kinds::probe::action(&b), first.id.clone(), 0.0)
    } else if first.kind == StepKind::Subtitle && !crate::kinds::subtitle_embedded::is(first) {
        (crate::kinds::subtitle::action(&b)?, first.id.clone(), 0.0)
    } else {
        let probe = load_probe(m, &src.id)?;
        let (action, label) = crate::kinds::action(&b, &probe, &outputs_of)?;
        (action, label, probe.info.duration)
    };
    Ok(JobSpec {
        inputs: job_inputs(ctx, nodes, &outputs_of, src),
        tools: tool_pins(ctx, &action),
        checks: check::expect::expectations(ctx, nodes),
        id,
        label,
        steps,
        duration,
        action,
        outputs,
        remote_outputs: None,
    })
}
