//! Building a [`JobSpec`] from the step graph: one step, or several encode steps of the same
//! source. Reads the manifest, the dependencies' recorded outputs and `probe.json`; writes
//! and downloads nothing (a missing remote source is fetched by the job's runner).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;
use serde_json::json;

use super::paths::portable;
use super::{Action, Fetch, JobInput, JobOutput, JobSpec, ToolPin};
use crate::exec::{check, ffmpeg, shaka};
use crate::graph::{OutputLoc, Step, StepGraph, StepKind, ToolUse};
use crate::manifest::model::Packager;
use crate::manifest::{Manifest, Source};
use crate::media::probe::ProbeFile;
use crate::plan::output_path;
use crate::state::{OutputFile, StepRecord};
use crate::storage::sync::PublishJob;
use crate::tools::Toolset;

pub struct JobCtx<'a> {
    pub m: &'a Manifest,
    pub sg: &'a StepGraph,
    pub tools: &'a Toolset,
    /// Source id → content digest (the digest a job's source input must have).
    pub sources: &'a HashMap<String, String>,
    /// `--prune`: publish steps delete what their package no longer has.
    pub prune: bool,
}

/// The job's id: a digest of its step ids (names its temporaries on every machine).
fn job_id(steps: &[String]) -> String {
    blake3::hash(steps.join("\n").as_bytes()).to_hex()[..16].to_string()
}

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
    let mut inputs = Vec::new();
    if nodes.iter().any(|n| ctx.sg.g[*n].reads_source) {
        inputs.push(JobInput {
            path: portable(&m.root, &src.path),
            digest: ctx.sources.get(&src.id).cloned().unwrap_or_default(),
            fetch: src.remote.as_ref().map(|r| Fetch { backend: r.backend.clone(), object: r.object.clone() }),
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
        Action::WriteFile { .. } | Action::Verify { .. } | Action::Publish(_) => None,
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
                ToolUse::Builtin => (None, &None),
            };
            Some(ToolPin { tool: u, configured: configured.clone(), digest: tool?.digest.clone() })
        })
        .collect()
}

fn load_probe(m: &Manifest, source: &str) -> Result<ProbeFile, String> {
    let p = m.work_dir(source).join("probe.json");
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
        return publish_job(ctx, nodes[0], outputs_of, previous);
    }
    let src = m.source(&first.source).ok_or("unknown source")?;
    let steps: Vec<String> = nodes.iter().map(|n| ctx.sg.g[*n].id.clone()).collect();
    let id = job_id(&steps);
    let outputs: Vec<JobOutput> = nodes.iter().filter_map(|n| job_output(m, &ctx.sg.g[*n], &id)).collect();
    let b = Builder { ctx, nodes, src, outputs: &outputs };
    let (action, label, duration) = if first.kind == StepKind::Probe {
        (b.probe(), first.id.clone(), 0.0)
    } else {
        let probe = load_probe(m, &src.id)?;
        let (action, label) = b.action(&probe, &outputs_of)?;
        (action, label, probe.info.duration)
    };
    Ok(JobSpec {
        inputs: job_inputs(ctx, nodes, &outputs_of, src),
        tools: tool_pins(ctx, &action),
        checks: check::expectations(ctx, nodes),
        id,
        label,
        steps,
        duration,
        action,
        outputs,
        remote_outputs: None,
    })
}

struct Builder<'a> {
    ctx: &'a JobCtx<'a>,
    nodes: &'a [NodeIndex],
    src: &'a Source,
    outputs: &'a [JobOutput],
}

impl Builder<'_> {
    fn first(&self) -> &Step {
        &self.ctx.sg.g[self.nodes[0]]
    }

    /// A workspace path as the job names it.
    fn port(&self, p: &Path) -> PathBuf {
        portable(&self.ctx.m.root, p)
    }

    /// An encoded rendition's file (the encode step's output).
    fn enc(&self, name: &str) -> PathBuf {
        self.port(&self.ctx.m.work_dir(&self.src.id).join(format!("{name}.mp4")))
    }

    fn tmp(&self) -> PathBuf {
        self.outputs[0].tmp.clone()
    }

    fn no(&self, what: &str) -> String {
        format!("source `{}` ({}) has no {what} stream", self.src.id, self.src.path.display())
    }

    fn probe(&self) -> Action {
        let src = self.src;
        Action::Probe {
            source: self.port(&src.path),
            source_id: src.id.clone(),
            out: self.tmp(),
            checks: src.opts.checks,
        }
    }

    fn action<'o>(
        &self,
        probe: &ProbeFile,
        outputs_of: &impl Fn(NodeIndex) -> &'o [OutputFile],
    ) -> Result<(Action, String), String> {
        let first = self.first();
        let action = match first.kind {
            StepKind::Probe | StepKind::Publish => unreachable!("built elsewhere"),
            StepKind::Encode => return self.encode(probe),
            StepKind::PackageHls => self.hls(probe)?,
            StepKind::PackageDash => self.dash(probe)?,
            StepKind::Thumbnails => self.thumbnails(probe)?,
            StepKind::AudioOnly => self.audio_only(probe)?,
            StepKind::Verify => self.verify(probe),
            StepKind::Metadata => self.metadata(probe, outputs_of),
        };
        Ok((action, first.id.clone()))
    }

    fn encode(&self, probe: &ProbeFile) -> Result<(Action, String), String> {
        let (m, info) = (self.ctx.m, &probe.info);
        let (mut video, mut audio, mut names) = (Vec::new(), Vec::new(), Vec::new());
        for (n, o) in self.nodes.iter().zip(self.outputs) {
            let name = self.ctx.sg.g[*n].profile.clone().unwrap_or_default();
            if let Some(v) = m.raw.profiles.video.get(&name) {
                info.video.as_ref().ok_or_else(|| self.no("video"))?;
                video.push((v, o.tmp.as_path()));
            } else if let Some(a) = m.raw.profiles.audio.get(&name) {
                info.audio.as_ref().ok_or_else(|| self.no("audio"))?;
                audio.push((a, o.tmp.as_path()));
            }
            names.push(name);
        }
        let source = self.port(&self.src.path);
        let args = ffmpeg::encode_args(&source, info.video.as_ref(), &video, &audio, m.raw.encoding.gop_seconds);
        Ok((Action::Run { tool: ToolUse::Ffmpeg, args }, format!("encode:{}:{}", self.src.id, names.join("+"))))
    }

    fn hls(&self, probe: &ProbeFile) -> Result<Action, String> {
        let m = self.ctx.m;
        let h = m.raw.outputs.hls.as_ref().ok_or("no hls output")?;
        let dir = self.tmp();
        let renditions = built_rungs(self.first(), &h.renditions);
        let mut inputs: Vec<(&str, PathBuf, bool)> =
            renditions.iter().map(|r| (r.as_str(), self.enc(r), false)).collect();
        // A source without audio: its packages have no audio group (see `crate::skip`).
        let audio_name = h.audio.as_ref().filter(|_| probe.info.audio.is_some());
        if let Some(a) = audio_name {
            inputs.push((a.as_str(), self.enc(a), true));
        }
        let refs: Vec<(&str, &Path, bool)> = inputs.iter().map(|(n, p, a)| (*n, p.as_path(), *a)).collect();
        let (tool, args, iframes) = match h.packager {
            Packager::Ffmpeg => (ToolUse::Ffmpeg, ffmpeg::hls_args(&refs, h, &dir), false),
            Packager::Shaka => (ToolUse::Packager, shaka::hls_args(&refs, h, &dir), true),
        };
        let variants = renditions.iter().map(|r| (r.clone(), self.enc(r))).collect();
        let audio = audio_name.map(|a| (a.clone(), self.enc(a), m.raw.profiles.audio[a].channels));
        Ok(Action::Hls { tool, args, dir, variants, audio, iframes })
    }

    fn dash(&self, probe: &ProbeFile) -> Result<Action, String> {
        let m = self.ctx.m;
        let d = m.raw.outputs.dash.as_ref().ok_or("no dash output")?;
        let vi = probe.info.video.as_ref().ok_or_else(|| self.no("video"))?;
        let mut inputs: Vec<(PathBuf, ffmpeg::SetKey)> = built_rungs(self.first(), &d.renditions)
            .iter()
            .map(|r| {
                let p = &m.raw.profiles.video[r];
                (self.enc(r), ffmpeg::set_key(p.codec, ffmpeg::target_size(p, vi)))
            })
            .collect();
        if let Some(a) = d.audio.as_ref().filter(|_| probe.info.audio.is_some()) {
            inputs.push((self.enc(a), None));
        }
        let refs: Vec<_> = inputs.iter().map(|(p, c)| (p.as_path(), *c)).collect();
        let dir = self.tmp();
        let (tool, args) = match d.packager {
            Packager::Ffmpeg => (ToolUse::Ffmpeg, ffmpeg::dash_args(&refs, d, &dir)),
            Packager::Shaka => {
                let refs: Vec<_> = refs.iter().map(|(p, c)| (*p, c.is_none())).collect();
                (ToolUse::Packager, shaka::dash_args(&refs, d, &dir))
            }
        };
        Ok(Action::Dash { tool, args, dir })
    }

    fn thumbnails(&self, probe: &ProbeFile) -> Result<Action, String> {
        probe.info.video.as_ref().ok_or_else(|| self.no("video"))?;
        let t = self.ctx.m.raw.outputs.thumbnails.as_ref().ok_or("no thumbnails output")?;
        let args = ffmpeg::thumbnail_args(&self.port(&self.src.path), t, probe.info.duration, &self.tmp());
        Ok(Action::Run { tool: ToolUse::Ffmpeg, args })
    }

    fn audio_only(&self, probe: &ProbeFile) -> Result<Action, String> {
        probe.info.audio.as_ref().ok_or_else(|| self.no("audio"))?;
        let a = self.ctx.m.raw.outputs.audio_only.as_ref().ok_or("no audio_only output")?;
        let args = ffmpeg::audio_only_args(&self.port(&self.src.path), a, &self.tmp());
        Ok(Action::Run { tool: ToolUse::Ffmpeg, args })
    }

    fn verify(&self, probe: &ProbeFile) -> Action {
        let package = self.first().profile.clone().unwrap_or_default();
        let out = self.ctx.m.output_dir.join(&self.src.id);
        let path = if package == "hls" { out.join("hls/master.m3u8") } else { out.join("dash/manifest.mpd") };
        let aspect = probe.info.video.as_ref().map(|v| v.display_aspect());
        Action::Verify { package, path: self.port(&path), duration: probe.info.duration, out: self.tmp(), aspect }
    }

    fn metadata<'o>(&self, probe: &ProbeFile, outputs_of: &impl Fn(NodeIndex) -> &'o [OutputFile]) -> Action {
        let (m, sg, src) = (self.ctx.m, self.ctx.sg, self.src);
        let mut files = Vec::new();
        for d in sg.deps(self.nodes[0]) {
            let dep = &sg.g[d];
            if dep.kind == StepKind::Probe {
                continue;
            }
            let base = m.output_dir.join(&src.id);
            for o in outputs_of(d) {
                let full = output_path(&dep.output, &o.path);
                let rel = full.strip_prefix(&base).unwrap_or(&full).to_string_lossy().into_owned();
                files.push(json!({"path": rel, "size": o.size, "blake3": o.digest}));
            }
        }
        let info = &probe.info;
        let doc = json!({
            "vodbuild": env!("CARGO_PKG_VERSION"),
            "source": {
                "id": src.id, "duration": info.duration, "video": info.video, "audio": info.audio,
                "has_audio": info.audio.is_some(),
            },
            "ffprobe": probe.ffprobe,
            "outputs": files,
        });
        let contents = serde_json::to_string_pretty(&doc).expect("json") + "\n";
        Action::WriteFile { path: self.tmp(), contents }
    }
}

/// The rungs a package step packages: those its parameters list (the ladder fitted to the
/// source), or the output's whole list.
fn built_rungs(step: &Step, listed: &[String]) -> Vec<String> {
    serde_json::from_value(step.params["renditions"].clone()).unwrap_or_else(|_| listed.to_vec())
}

/// Publishing one package: the files the package step recorded, to the step's remote folder.
fn publish_job<'o>(
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
        checks: check::Checks::default(),
        remote_outputs: Some(recorded),
    })
}
