//! The executor interface, the local executor, and what each [`Action`] does on the machine
//! that runs the job: the tool, then vodbuild's post-processing (master playlist, MPD fix,
//! measurements, the verify report).

use std::path::{Path, PathBuf};

use super::job::paths::{resolve, resolve_arg};
use super::job::{Action, JobResult, JobSpec};
use super::run_job::{self, JobEnv};
use super::runner;
use crate::graph::ToolUse;
use crate::media::{master, mp4, mpd};
use crate::storage::sync::{self, SyncStats};

/// Runs a job ([`run_job::run`]: its tool, post-processing and output checks), leaving its
/// outputs in their temporaries. Placement into final position and recording are done by the
/// scheduler after success ([`run_job::place`]).
pub trait Executor: Sync {
    fn execute(&self, env: &JobEnv, job: &JobSpec, progress: &mut dyn FnMut(f64)) -> JobResult;
}

/// Runs jobs as child processes of this vodbuild. With `VODBUILD_JOB_DIR` set, each job's
/// spec (`ID.json`) and result (`ID.result.json`) are also written there, for `vodbuild exec-job`.
pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn execute(&self, env: &JobEnv, job: &JobSpec, progress: &mut dyn FnMut(f64)) -> JobResult {
        let keep = std::env::var_os("VODBUILD_JOB_DIR").filter(|d| !d.is_empty()).map(PathBuf::from);
        let save = |name: String, bytes: Vec<u8>| {
            if let Some(dir) = &keep
                && let Err(e) = std::fs::create_dir_all(dir)
                    .map_err(|e| e.to_string())
                    .and_then(|()| run_job::write_atomic(&dir.join(name), &bytes))
            {
                tracing::warn!("VODBUILD_JOB_DIR: {e}");
            }
        };
        save(format!("{}.json", job.id), serde_json::to_vec_pretty(job).expect("json"));
        let result = run_job::run(job, env, progress);
        save(format!("{}.result.json", job.id), serde_json::to_vec_pretty(&result).expect("json"));
        result
    }
}

/// Performs a job's action, writing into the job's temporary outputs.
pub fn perform(action: &Action, env: &JobEnv, progress: &mut dyn FnMut(f64)) -> Result<SyncStats, String> {
    let root = env.root.as_path();
    let r = |p: &Path| resolve(root, p);
    let argv = |args: &[String]| -> Vec<String> { args.iter().map(|a| resolve_arg(root, a)).collect() };
    match action {
        Action::Publish(p) => {
            let mut p = p.clone();
            p.local = r(&p.local);
            p.backend.base = p.backend.base.as_deref().map(r);
            return sync::publish(&p);
        }
        Action::Probe { source, source_id, out, checks } => {
            let ffprobe = env.tools.get(ToolUse::Ffprobe)?;
            let parsed = super::probe_source::probe_source(ffprobe, &r(source), source_id, *checks)?;
            write(&r(out), &serde_json::to_vec_pretty(&parsed).expect("json"))
        }
        Action::Run { tool, args } => runner::run(env.tools.get(*tool)?, &argv(args), progress).map(drop),
        Action::Hls { tool, args, dir, variants, audio, iframes } => {
            runner::run(env.tools.get(*tool)?, &argv(args), progress)?;
            let variants: Vec<(String, PathBuf)> = variants.iter().map(|(n, p)| (n.clone(), r(p))).collect();
            let audio = audio.as_ref().map(|(n, p, c)| (n.clone(), r(p), *c));
            write_master(&r(dir), &variants, audio.as_ref(), *iframes)
        }
        Action::Dash { tool, args, dir } => {
            runner::run(env.tools.get(*tool)?, &argv(args), progress)?;
            fix_mpd(&r(dir).join("manifest.mpd"))
        }
        Action::WriteFile { path, contents } => write(&r(path), contents.as_bytes()),
        Action::Verify { package, path, duration, out, aspect } => {
            verify(package, &r(path), *duration, *aspect, root, &r(out))
        }
    }
    .map(|()| SyncStats::default())
}

/// Checks a package and writes the problems (a JSON list) to `out`; fails when there are any.
fn verify(
    package: &str,
    path: &Path,
    duration: f64,
    aspect: Option<f64>,
    root: &Path,
    out: &Path,
) -> Result<(), String> {
    let mut f = crate::verify::Findings::new(root);
    crate::verify::check_package(package, path, Some(duration), &mut f);
    if let Some(a) = aspect {
        crate::verify::geometry::check(package, path, a, &mut f);
    }
    write(out, &serde_json::to_vec_pretty(&f.problems).expect("json"))?;
    if f.problems.is_empty() {
        Ok(())
    } else {
        let lines: Vec<String> = f.problems.iter().map(|p| p.to_string()).collect();
        Err(format!("{} problem(s):\n{}", lines.len(), lines.join("\n")))
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn write_master(
    dir: &Path,
    variants: &[(String, std::path::PathBuf)],
    audio: Option<&(String, std::path::PathBuf, u32)>,
    iframes: bool,
) -> Result<(), String> {
    let facts: Vec<mp4::TrackFacts> = variants.iter().map(|(_, p)| mp4::track_facts(p)).collect::<Result<_, _>>()?;
    let mut vs = Vec::new();
    for ((name, _), f) in variants.iter().zip(&facts) {
        let rates = master::measure(&dir.join(name).join("index.m3u8"))?;
        let iframe = if iframes {
            Some((format!("{name}/iframes.m3u8"), master::measure(&dir.join(name).join("iframes.m3u8"))?))
        } else {
            None
        };
        vs.push(master::Variant { uri: format!("{name}/index.m3u8"), facts: f, rates, iframe });
    }
    let audio_facts = audio.map(|(_, p, _)| mp4::track_facts(p)).transpose()?;
    let a = match (audio, &audio_facts) {
        (Some((name, _, channels)), Some(f)) => Some(master::AudioRendition {
            name: name.clone(),
            uri: format!("{name}/index.m3u8"),
            facts: f,
            channels: *channels,
            rates: master::measure(&dir.join(name).join("index.m3u8"))?,
        }),
        _ => None,
    };
    write(&dir.join("master.m3u8"), master::write_master(&vs, a.as_ref()).as_bytes())
}

/// Measured values into the MPD: `codecs` from each init segment, `bandwidth` = peak segment bitrate.
fn fix_mpd(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let doc = mpd::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let total = doc.duration.unwrap_or(0.0);
    let mut values = std::collections::HashMap::new();
    for r in &doc.representations {
        let mut v = Vec::new();
        if let Some(init) = r.init_path() {
            v.push(("codecs", mp4::track_facts(&dir.join(init))?.codec));
        }
        if let Some(master::Rates { peak, .. }) = mpd::measure(r, dir, total) {
            v.push(("bandwidth", peak.to_string()));
        }
        values.insert(r.id().to_string(), v);
    }
    write(path, mpd::rewrite(&text, &values)?.as_bytes())
}
