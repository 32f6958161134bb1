//! Jobs: self-contained, serializable descriptions of the work for one step, or for several
//! encodes of one source fused into one ffmpeg (one decode). An executor needs nothing but
//! the [`JobSpec`] to run it, so a cluster executor can run it elsewhere.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ffmpeg, shaka};
use crate::graph::{OutputLoc, StepGraph, StepKind};
use crate::manifest::Manifest;
use crate::manifest::model::Packager;
use crate::media::probe::ProbeFile;
use crate::plan::output_path;
use crate::state::{OutputFile, StepRecord};
use crate::storage;
use crate::storage::sync::PublishJob;
use crate::tools::Toolset;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    pub label: String,
    pub steps: Vec<String>,
    /// Media duration in seconds (for progress).
    pub duration: f64,
    pub action: Action,
    /// Where each step's output is written first, and where it goes on success.
    pub placements: Vec<Placement>,
    /// For steps whose outputs are not local files (publish): what they record on success.
    #[serde(default)]
    pub remote_outputs: Option<Vec<OutputFile>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Placement {
    pub step: String,
    pub tmp: PathBuf,
    pub dest: PathBuf,
    pub dir: bool,
    /// The root `dest` must stay inside (the output folder or the workspace), see [`crate::confine`].
    #[serde(default)]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Action {
    Probe {
        ffprobe: PathBuf,
        source: PathBuf,
        source_id: String,
        out: PathBuf,
        /// What a truncated or damaged source is: an error, or a warning.
        #[serde(default)]
        checks: crate::manifest::model::SourceChecks,
    },
    Ffmpeg {
        program: PathBuf,
        args: Vec<String>,
    },
    /// The packager writes the variant playlists; vodbuild then writes `master.m3u8` from measurements.
    Hls {
        program: PathBuf,
        args: Vec<String>,
        dir: PathBuf,
        variants: Vec<(String, PathBuf)>,
        audio: Option<(String, PathBuf, u32)>,
        /// Whether `NAME/iframes.m3u8` I-frame playlists were written.
        iframes: bool,
    },
    /// The packager writes the MPD; vodbuild then sets each representation's `codecs` from its init
    /// segment and `bandwidth` to the measured peak segment bitrate.
    Dash {
        program: PathBuf,
        args: Vec<String>,
        dir: PathBuf,
    },
    WriteFile {
        path: PathBuf,
        contents: String,
    },
    /// Upload a package to a backend (see [`crate::storage::sync`]).
    Publish(PublishJob),
    /// Check a package; the step fails with one line per problem.
    Verify {
        package: String,
        path: PathBuf,
        duration: f64,
        base: PathBuf,
        out: PathBuf,
        /// The source's displayed aspect (width / height), when it has video.
        #[serde(default)]
        aspect: Option<f64>,
    },
}

pub struct JobCtx<'a> {
    pub m: &'a Manifest,
    pub sg: &'a StepGraph,
    pub tools: &'a Toolset,
    /// `--prune`: publish steps delete what their package no longer has.
    pub prune: bool,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A unique temporary sibling of `dest` (same folder, so the final rename is atomic).
pub fn temp_for(dest: &Path) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    dest.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

fn placement(m: &Manifest, id: &str, loc: &OutputLoc) -> Option<Placement> {
    let dest = loc.local()?.clone();
    let state_dir = m.state_dir();
    let root = crate::confine::root_of(&[&m.output_dir, &state_dir], &dest).map(Path::to_path_buf);
    Some(Placement { step: id.to_string(), tmp: temp_for(&dest), dest, dir: matches!(loc, OutputLoc::Dir(_)), root })
}

fn load_probe(m: &Manifest, source: &str) -> Result<ProbeFile, String> {
    let p = m.work_dir(source).join("probe.json");
    let bytes = std::fs::read(&p).map_err(|e| format!("reading {}: {e}", p.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))
}

fn packager_bin(ctx: &JobCtx) -> Result<PathBuf, String> {
    ctx.tools.packager.as_ref().map(|t| t.path.clone()).ok_or_else(|| "Shaka Packager was not found".to_string())
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
    let src = m.source(&first.source).ok_or("unknown source")?;
    let placements: Vec<Placement> =
        nodes.iter().filter_map(|n| placement(m, &ctx.sg.g[*n].id, &ctx.sg.g[*n].output)).collect();
    let ids: Vec<String> = nodes.iter().map(|n| ctx.sg.g[*n].id.clone()).collect();
    let ffmpeg_bin = ctx.tools.ffmpeg.path.clone();
    if first.kind == StepKind::Publish {
        return publish_job(ctx, nodes[0], outputs_of, previous);
    }
    // A remote source whose local copy is gone (a fresh runner) is fetched before it is read.
    if let Some(r) = &src.remote
        && nodes.iter().any(|n| ctx.sg.g[*n].reads_source)
        && !src.path.exists()
    {
        storage::sources::download(&r.backend, &r.object, &src.path)?;
    }
    if first.kind == StepKind::Probe {
        let action = Action::Probe {
            ffprobe: ctx.tools.ffprobe.path.clone(),
            source: src.path.clone(),
            source_id: src.id.clone(),
            out: placements[0].tmp.clone(),
            checks: src.opts.checks,
        };
        return Ok(JobSpec {
            label: first.id.clone(),
            steps: ids,
            duration: 0.0,
            action,
            placements,
            remote_outputs: None,
        });
    }
    let probe = load_probe(m, &src.id)?;
    let info = &probe.info;
    let duration = info.duration;
    // A source without audio: its packages have no audio group (see `crate::skip`).
    let has_audio = info.audio.is_some();
    let no_audio = || format!("source `{}` ({}) has no audio stream", src.id, src.path.display());
    let no_video = || format!("source `{}` ({}) has no video stream", src.id, src.path.display());
    // An encoded rendition's file (the encode step's output).
    let enc = |name: &str| m.work_dir(&src.id).join(format!("{name}.mp4"));
    let (action, label) = match first.kind {
        StepKind::Probe | StepKind::Publish => unreachable!("handled above"),
        StepKind::Encode => {
            let mut video = Vec::new();
            let mut audio = Vec::new();
            let mut names = Vec::new();
            for (n, p) in nodes.iter().zip(&placements) {
                let name = ctx.sg.g[*n].profile.clone().unwrap_or_default();
                if let Some(v) = m.raw.profiles.video.get(&name) {
                    info.video.as_ref().ok_or_else(no_video)?;
                    video.push((v, p.tmp.as_path()));
                } else if let Some(a) = m.raw.profiles.audio.get(&name) {
                    info.audio.as_ref().ok_or_else(no_audio)?;
                    audio.push((a, p.tmp.as_path()));
                }
                names.push(name);
            }
            let args = ffmpeg::encode_args(
                &src.path,
                info.video.as_ref(),
                &video,
                &audio,
                m.raw.encoding.gop_seconds,
            );
            (Action::Ffmpeg { program: ffmpeg_bin, args }, format!("encode:{}:{}", src.id, names.join("+")))
        }
        StepKind::PackageHls => {
            let h = m.raw.outputs.hls.as_ref().ok_or("no hls output")?;
            let dir = placements[0].tmp.clone();
            let renditions = built_rungs(first, &h.renditions);
            let mut inputs: Vec<(&str, PathBuf, bool)> =
                renditions.iter().map(|r| (r.as_str(), enc(r), false)).collect();
            let audio_name = h.audio.as_ref().filter(|_| has_audio);
            if let Some(a) = audio_name {
                inputs.push((a.as_str(), enc(a), true));
            }
            let refs: Vec<(&str, &Path, bool)> = inputs.iter().map(|(n, p, a)| (*n, p.as_path(), *a)).collect();
            let (program, args, iframes) = match h.packager {
                Packager::Ffmpeg => (ffmpeg_bin, ffmpeg::hls_args(&refs, h, &dir), false),
                Packager::Shaka => (packager_bin(ctx)?, shaka::hls_args(&refs, h, &dir), true),
            };
            let variants = renditions.iter().map(|r| (r.clone(), enc(r))).collect();
            let audio = audio_name.map(|a| (a.clone(), enc(a), m.raw.profiles.audio[a].channels));
            (Action::Hls { program, args, dir, variants, audio, iframes }, first.id.clone())
        }
        StepKind::PackageDash => {
            let d = m.raw.outputs.dash.as_ref().ok_or("no dash output")?;
            let vi = info.video.as_ref().ok_or_else(no_video)?;
            let mut inputs: Vec<(PathBuf, ffmpeg::SetKey)> = built_rungs(first, &d.renditions)
                .iter()
                .map(|r| {
                    let p = &m.raw.profiles.video[r];
                    (enc(r), ffmpeg::set_key(p.codec, ffmpeg::target_size(p, vi)))
                })
                .collect();
            if let Some(a) = d.audio.as_ref().filter(|_| has_audio) {
                inputs.push((enc(a), None));
            }
            let refs: Vec<_> = inputs.iter().map(|(p, c)| (p.as_path(), *c)).collect();
            let dir = placements[0].tmp.clone();
            let (program, args) = match d.packager {
                Packager::Ffmpeg => (ffmpeg_bin, ffmpeg::dash_args(&refs, d, &dir)),
                Packager::Shaka => {
                    let refs: Vec<_> = refs.iter().map(|(p, c)| (*p, c.is_none())).collect();
                    (packager_bin(ctx)?, shaka::dash_args(&refs, d, &dir))
                }
            };
            (Action::Dash { program, args, dir }, first.id.clone())
        }
        StepKind::Thumbnails => {
            info.video.as_ref().ok_or_else(no_video)?;
            let t = m.raw.outputs.thumbnails.as_ref().ok_or("no thumbnails output")?;
            let args = ffmpeg::thumbnail_args(&src.path, t, duration, &placements[0].tmp);
            (Action::Ffmpeg { program: ffmpeg_bin, args }, first.id.clone())
        }
        StepKind::AudioOnly => {
            info.audio.as_ref().ok_or_else(no_audio)?;
            let a = m.raw.outputs.audio_only.as_ref().ok_or("no audio_only output")?;
            let args = ffmpeg::audio_only_args(&src.path, a, &placements[0].tmp);
            (Action::Ffmpeg { program: ffmpeg_bin, args }, first.id.clone())
        }
        StepKind::Verify => {
            let package = first.profile.clone().unwrap_or_default();
            let out = m.output_dir.join(&src.id);
            let path = if package == "hls" { out.join("hls/master.m3u8") } else { out.join("dash/manifest.mpd") };
            let aspect = info.video.as_ref().map(|v| v.display_aspect());
            let (base, out) = (m.root.clone(), placements[0].tmp.clone());
            let action = Action::Verify { package, path, duration, base, out, aspect };
            (action, first.id.clone())
        }
        StepKind::Metadata => {
            let mut files = Vec::new();
            for d in ctx.sg.deps(nodes[0]) {
                let dep = &ctx.sg.g[d];
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
            let doc = json!({
                "vodbuild": env!("CARGO_PKG_VERSION"),
                "source": {
                    "id": src.id, "duration": info.duration, "video": info.video, "audio": info.audio,
                    "has_audio": has_audio,
                },
                "ffprobe": probe.ffprobe,
                "outputs": files,
            });
            let contents = serde_json::to_string_pretty(&doc).expect("json") + "\n";
            (Action::WriteFile { path: placements[0].tmp.clone(), contents }, first.id.clone())
        }
    };
    Ok(JobSpec { label, steps: ids, duration, action, placements, remote_outputs: None })
}

/// The rungs a package step packages: those its parameters list (the ladder fitted to the
/// source), or the output's whole list.
fn built_rungs(step: &crate::graph::Step, listed: &[String]) -> Vec<String> {
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
    let outs = outputs_of(dep);
    let job = PublishJob {
        backend: ctx.m.backend(backend),
        remote: remote.clone(),
        local,
        files: outs.iter().map(|o| (o.path.clone(), o.size, o.digest.clone())).collect(),
        previous: previous
            .map(|r| r.outputs.iter().map(|o| (o.path.clone(), o.digest.clone())).collect())
            .unwrap_or_default(),
        owns_folder: *owns_folder,
        concurrency: ctx.m.raw.publish.as_ref().map(|p| p.concurrency).unwrap_or(8),
        prune: ctx.prune,
    };
    let recorded = outs.iter().map(|o| OutputFile { stat: crate::hash::FileStat::default(), ..o.clone() }).collect();
    Ok(JobSpec {
        label: step.id.clone(),
        steps: vec![step.id.clone()],
        duration: 0.0,
        action: Action::Publish(job),
        placements: Vec::new(),
        remote_outputs: Some(recorded),
    })
}
