//! Output checks: a step is recorded only after its outputs are what the step promises.
//! Run by the job ([`super::run_job`]) on its temporary outputs, before they are placed; a failed check
//! fails the step with a message naming the file, the temporary output is discarded and the
//! previously placed output stays. What each step kind must produce is listed in
//! [`crate::key`] (beside the key table) and in the README ("Output checks").

mod decode;
mod files;
mod packages;

use std::path::Path;

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use super::job::{JobCtx, Placement};
use crate::media::probe::ProbeFile;

/// What one step's output must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Promise {
    /// probe.json, metadata.json, verify reports: a non-empty JSON document.
    Json,
    /// One MP4 holding a video (or an audio) track with samples, lasting as long as the source.
    Encode { video: bool },
    /// master.m3u8 with `variants` video variants and `audio` audio renditions.
    Hls { variants: usize, audio: usize },
    /// manifest.mpd with `video` video and `audio` audio representations.
    Dash { video: usize, audio: usize },
    /// Images, none empty, the first and last decode; at least one unless the source is
    /// shorter than the thumbnail interval.
    Thumbnails { at_least_one: bool },
    /// `audio.m4a` (an MP4 with an audio track) or `audio.mp3`.
    AudioOnly,
    /// Nothing local to check (publish).
    Nothing,
}

/// The source's durations the outputs are compared with (seconds; 0 = unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    pub video: f64,
    pub audio: f64,
}

/// Everything needed to check one job's outputs (part of its [`JobSpec`](super::job::JobSpec);
/// ffmpeg, to decode first and last frames, is the one of the machine that runs the job).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checks {
    pub durations: Durations,
    /// Allowed difference between an output's duration and the source's.
    pub tolerance: f64,
    /// (step id, promise), matched to the job's placements by step id.
    pub expect: Vec<(String, Promise)>,
}

/// The stated duration tolerance: max(0.5 s, one GOP).
pub fn tolerance(gop_seconds: f64) -> f64 {
    gop_seconds.max(0.5)
}

/// What the steps of a job (`group`) must produce.
pub fn expectations(ctx: &JobCtx, group: &[NodeIndex]) -> Checks {
    let sg = ctx.sg;
    let source = &sg.g[group[0]].source;
    let probe = std::fs::read(crate::layout::probe(ctx.m, source))
        .ok()
        .and_then(|b| serde_json::from_slice::<ProbeFile>(&b).ok());
    let durations = probe.as_ref().map(source_durations).unwrap_or_default();
    // A source without audio is packaged without its audio encodes (see `crate::skip`).
    let has_audio = probe.as_ref().is_none_or(|p| p.info.audio.is_some());
    let expect = group
        .iter()
        .map(|n| (sg.g[*n].id.clone(), crate::kinds::promise(ctx.m, sg, *n, has_audio, durations)))
        .collect();
    Checks { durations, tolerance: tolerance(ctx.m.raw.encoding.gop_seconds), expect }
}

/// The source's video and audio durations from probe.json: the container duration, or a
/// stream's own duration when it is shorter.
fn source_durations(p: &ProbeFile) -> Durations {
    let total = p.info.duration;
    let stream = |kind: &str| {
        let streams = p.ffprobe["streams"].as_array();
        let s = streams.and_then(|v| v.iter().find(|s| s["codec_type"] == kind));
        let d = s.and_then(|s| s["duration"].as_str()).and_then(|d| d.parse::<f64>().ok());
        match d {
            Some(d) if d > 0.0 && (total <= 0.0 || d < total) => d,
            _ => total,
        }
    };
    Durations { video: stream("video"), audio: stream("audio") }
}

/// Checks every placed output of a job against its promise (on the temporary copies).
pub fn outputs(c: &Checks, ffmpeg: &Path, placements: &[Placement]) -> Result<(), String> {
    let mut dec = decode::Decoder::new(ffmpeg);
    for (step, promise) in &c.expect {
        let Some(p) = placements.iter().find(|p| &p.step == step) else { continue };
        let site = Site { tmp: &p.tmp, dest: &p.dest };
        if p.dir {
            files::none_empty(&site, &p.tmp, 0)?;
        }
        match promise {
            Promise::Json => files::json(&site, &p.tmp)?,
            Promise::Encode { video } => {
                let expected = if *video { c.durations.video } else { c.durations.audio };
                files::media_file(&site, &mut dec, &p.tmp, *video, expected, c.tolerance)?
            }
            Promise::Hls { variants, audio } => packages::hls(&site, c, &mut dec, *variants, *audio)?,
            Promise::Dash { video, audio } => packages::dash(&site, c, &mut dec, *video, *audio)?,
            Promise::Thumbnails { at_least_one } => files::thumbnails(&site, &mut dec, *at_least_one)?,
            Promise::AudioOnly => files::audio_only(&site, &mut dec, c.durations.audio, c.tolerance)?,
            Promise::Nothing => {}
        }
    }
    // The first and last frames of everything, in one ffmpeg when all is well.
    dec.run()
}

/// A placement being checked: files are read under `tmp`, and named under `dest`.
pub struct Site<'a> {
    pub tmp: &'a Path,
    pub dest: &'a Path,
}

impl Site<'_> {
    /// The final name of a file inside the temporary output.
    pub fn show(&self, p: &Path) -> String {
        match p.strip_prefix(self.tmp) {
            Ok(rel) if rel.as_os_str().is_empty() => self.dest.display().to_string(),
            Ok(rel) => self.dest.join(rel).display().to_string(),
            Err(_) => p.display().to_string(),
        }
    }
}

/// Free space below which a failed step's output is said to have hit a full disk.
const NEARLY_FULL: u64 = 64 * 1024;

/// Names a full disk: a failure whose message says ENOSPC (an io error's text, or ffmpeg's
/// "No space left on device"), or whose output's file system has (almost) no space left,
/// becomes "disk full at PATH: ...".
pub fn name_disk_full(message: String, placements: &[Placement]) -> String {
    if message.starts_with("disk full at ") || message == "interrupted" {
        return message;
    }
    let enospc = message.contains("No space left on device") || message.contains("Disk quota exceeded");
    let full = placements.iter().find(|p| enospc || available(&p.tmp).is_some_and(|a| a < NEARLY_FULL));
    match full {
        Some(p) => format!("disk full at {}: {message}", p.dest.display()),
        None => message,
    }
}

/// Bytes available to unprivileged users on the file system holding `path` (or its nearest
/// existing ancestor).
#[allow(clippy::unnecessary_cast)] // c_ulong is u64 on 64-bit Linux only
fn available(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let existing = path.ancestors().find(|a| a.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; `c` is a valid NUL-terminated path.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut s) == 0).then(|| s.f_bavail as u64 * s.f_frsize as u64)
    }
}
