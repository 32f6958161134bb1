//! The executor interface and the local executor (child processes on this machine).

use std::path::Path;

use super::cancel::Cancel;
use super::job::{Action, JobSpec};
use super::runner;
use crate::media::{master, mp4, mpd};
use crate::storage::sync::{self, SyncStats};

/// Runs a job's action, writing into the job's temporary locations. Placement into final
/// position and hashing are done by the scheduler after success.
pub trait Executor: Sync {
    fn execute(&self, job: &JobSpec, cancel: &Cancel, progress: &mut dyn FnMut(f64)) -> Result<SyncStats, String>;
}

pub struct LocalExecutor;

impl Executor for LocalExecutor {
    fn execute(&self, job: &JobSpec, cancel: &Cancel, progress: &mut dyn FnMut(f64)) -> Result<SyncStats, String> {
        if let Action::Publish(p) = &job.action {
            return sync::publish(p);
        }
        for p in &job.placements {
            if p.dir {
                std::fs::create_dir_all(&p.tmp).map_err(|e| format!("creating {}: {e}", p.tmp.display()))?;
            } else if let Some(parent) = p.tmp.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
            }
        }
        match &job.action {
            Action::Probe { ffprobe, source, source_id, out, checks } => {
                let parsed = super::probe_source::probe_source(cancel, ffprobe, source, source_id, *checks)?;
                write(out, &serde_json::to_vec_pretty(&parsed).expect("json"))
            }
            Action::Ffmpeg { program, args } => runner::run(cancel, program, args, progress).map(drop),
            Action::Hls { program, args, dir, variants, audio, iframes } => {
                runner::run(cancel, program, args, progress)?;
                write_master(dir, variants, audio.as_ref(), *iframes)
            }
            Action::Dash { program, args, dir } => {
                runner::run(cancel, program, args, progress)?;
                fix_mpd(&dir.join("manifest.mpd"))
            }
            Action::WriteFile { path, contents } => write(path, contents.as_bytes()),
            Action::Publish(_) => unreachable!("handled above"),
            Action::Verify { package, path, duration, base, out, aspect } => {
                let mut f = crate::verify::Findings::new(base);
                crate::verify::check_package(package, path, Some(*duration), &mut f);
                if let Some(a) = aspect {
                    crate::verify::geometry::check(package, path, *a, &mut f);
                }
                write(out, &serde_json::to_vec_pretty(&f.problems).expect("json"))?;
                if f.problems.is_empty() {
                    Ok(())
                } else {
                    let lines: Vec<String> = f.problems.iter().map(|p| p.to_string()).collect();
                    Err(format!("{} problem(s):\n{}", lines.len(), lines.join("\n")))
                }
            }
        }
        .map(|()| SyncStats::default())
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
