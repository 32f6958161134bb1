//! Jobs: self-contained, serializable descriptions of the work for one step, or for several
//! encodes of one source fused into one ffmpeg (one decode).
//!
//! A [`JobSpec`] depends on nothing of the coordinator: every path in it (and in its tool
//! arguments) is relative to the workspace root, written `{root}/…` ([`paths`]; only files
//! outside the workspace stay absolute); it names its inputs with their digests, its outputs
//! and their temporaries (`.NAME.tmp-ID`, ID a digest of the step ids, no pid), the tools it
//! needs with their fingerprints, every argument that changes output bytes (no core count: see
//! [`crate::argv::ffmpeg::ENCODER_THREADS`]) and the checks its outputs must pass. So it runs the
//! same on this machine ([`crate::exec::local::LocalExecutor`]) or another one (`vodbuild exec-job
//! SPEC.json --root DIR`), both through [`crate::exec::run_job::run`]. Building a job
//! ([`crate::exec::job::build()`]) reads the graph, records and `probe.json`; it downloads and
//! writes nothing.
//!
//! Below the kinds: this module imports no kind, graph building, check logic or execution.
//! [`paths`]: the job's portable paths; [`promise`]: what its outputs must be; [`ctx`]: what a
//! kind's job builder is given.

pub mod confine;
pub mod ctx;
pub mod notify;
pub mod paths;
pub mod promise;
pub mod subtitle;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::manifest::model::SourceChecks;
use crate::state::OutputFile;
use crate::step::{PackageKind, ToolUse};
use crate::storage::BackendConfig;
use crate::storage::sync::PublishJob;
use promise::Checks;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSpec {
    /// Names the job's temporaries: a digest of its step ids (the same on every machine).
    pub id: String,
    pub label: String,
    pub steps: Vec<String>,
    /// Media duration in seconds (for progress).
    pub duration: f64,
    /// The files the job reads, with the digests its steps' keys were computed from.
    pub inputs: Vec<JobInput>,
    /// The tools it runs, with the fingerprints its steps' keys were computed from.
    pub tools: Vec<ToolPin>,
    pub action: Action,
    /// Each step's output: written to `tmp`, moved to `dest` by the coordinator on success.
    pub outputs: Vec<JobOutput>,
    /// What the outputs must be before they are reported (see [`crate::exec::check`]).
    pub checks: Checks,
    /// For steps whose outputs are not local files (publish): what they record on success.
    #[serde(default)]
    pub remote_outputs: Option<Vec<OutputFile>>,
}

/// A file a job reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobInput {
    pub path: PathBuf,
    pub digest: String,
    /// A remote source: where to fetch it from when the local copy is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch: Option<Fetch>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fetch {
    pub backend: BackendConfig,
    pub object: String,
}

/// A tool a job runs: located on the machine that runs it (`VODBUILD_FFMPEG`, the manifest's
/// `tools.*` setting, PATH) and refused when its fingerprint differs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolPin {
    pub tool: ToolUse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured: Option<String>,
    pub digest: String,
}

/// One step's output as the job names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobOutput {
    pub step: String,
    pub tmp: PathBuf,
    pub dest: PathBuf,
    pub dir: bool,
    /// The root `dest` must stay inside (the output folder or the workspace), see [`crate::confine`].
    #[serde(default)]
    pub root: Option<PathBuf>,
}

/// A [`JobOutput`] resolved on the machine that runs the job.
#[derive(Debug, Clone)]
pub struct Placement {
    pub step: String,
    pub tmp: PathBuf,
    pub dest: PathBuf,
    pub dir: bool,
    pub root: Option<PathBuf>,
}

impl JobOutput {
    pub fn resolve(&self, root: &Path) -> Placement {
        Placement {
            step: self.step.clone(),
            tmp: paths::resolve(root, &self.tmp),
            dest: paths::resolve(root, &self.dest),
            dir: self.dir,
            root: self.root.as_ref().map(|r| paths::resolve(root, r)),
        }
    }
}

impl JobSpec {
    /// Whether the job only waits on the network (publish, notify): see [`crate::step::StepKind::waits_on_network`].
    pub fn waits_on_network(&self) -> bool {
        matches!(self.action, Action::Publish(_) | Action::Notify(_))
    }

    /// The job's outputs on this machine.
    pub fn placements(&self, root: &Path) -> Vec<Placement> {
        self.outputs.iter().map(|o| o.resolve(root)).collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Action {
    Probe {
        source: PathBuf,
        source_id: String,
        out: PathBuf,
        /// What a truncated or damaged source is: an error, or a warning.
        #[serde(default)]
        checks: SourceChecks,
    },
    /// One tool run (ffmpeg) writing the outputs.
    Run {
        tool: ToolUse,
        args: Vec<String>,
    },
    /// The packager writes the variant playlists; vodbuild then writes `master.m3u8` from measurements.
    Hls {
        tool: ToolUse,
        args: Vec<String>,
        dir: PathBuf,
        variants: Vec<(String, PathBuf)>,
        audio: Option<(String, PathBuf, u32)>,
        /// Whether `NAME/iframes.m3u8` I-frame playlists were written.
        iframes: bool,
        /// Encryption: where the key is (never the key), see [`crate::crypt::job`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crypt: Option<crate::crypt::job::CryptJob>,
        /// Several audio renditions (languages, layouts) or an audio-only variant: the master
        /// is written by [`crate::audio::hls::write_master`] (then `audio` is None).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_set: Option<crate::audio::hls::AudioSet>,
        /// Subtitle tracks added after the packager ran ([`crate::kinds::subtitle_hls`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        subtitles: Vec<subtitle::PackagedSubtitle>,
    },
    /// The packager writes the MPD; vodbuild then sets each representation's `codecs` from its init
    /// segment and `bandwidth` to the measured peak segment bitrate.
    Dash {
        tool: ToolUse,
        args: Vec<String>,
        dir: PathBuf,
        /// Encryption: where the key is (never the key), see [`crate::crypt::job`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crypt: Option<crate::crypt::job::CryptJob>,
        /// The source's storyboard folder and grid: its sheets join the package as a DASH-IF
        /// thumbnails AdaptationSet ([`crate::media::storyboard_mpd`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        storyboard: Option<(PathBuf, crate::media::storyboard::Grid)>,
        /// Subtitle tracks added after the packager ran ([`crate::kinds::subtitle_dash`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        subtitles: Vec<subtitle::PackagedSubtitle>,
    },
    /// Convert a subtitle file to WebVTT ([`crate::kinds::subtitle`]).
    Subtitle(subtitle::SubtitleJob),
    WriteFile {
        path: PathBuf,
        contents: String,
    },
    /// ffmpeg's `loudnorm` pass 1; vodbuild writes the report from its log to `out`
    /// ([`crate::kinds::loudness`]).
    Loudness {
        args: Vec<String>,
        out: PathBuf,
    },
    /// Upload a package to a backend (see [`crate::storage::sync`]).
    Publish(PublishJob),
    /// A command step's tool ([`crate::kinds::command`]).
    Command(CommandRun),
    /// Call a webhook (see [`crate::exec::webhook`]); writes its receipt.
    Notify(notify::NotifyJob),
    /// ffmpeg writes the sprite sheets and a frame list; vodbuild then writes the WebVTT track.
    Storyboard {
        args: Vec<String>,
        dir: PathBuf,
        grid: crate::media::storyboard::Grid,
    },
    /// Check a package; the step fails with one line per problem.
    Verify {
        package: PackageKind,
        path: PathBuf,
        duration: f64,
        out: PathBuf,
        /// The source's displayed aspect (width / height), when it has video.
        #[serde(default)]
        aspect: Option<f64>,
    },
}

/// A command step's run: its program, run in `dir` (the step's temporary output folder),
/// keeping only `outputs` there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandRun {
    /// A name on PATH, or a path (`{root}/…` inside the workspace).
    pub program: String,
    pub version_args: Option<Vec<String>>,
    /// The fingerprint the step's key was computed with (checked by `exec-job`).
    pub digest: String,
    /// The expanded template (workspace paths written `{root}/…`).
    pub args: Vec<String>,
    pub dir: PathBuf,
    pub outputs: Vec<String>,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Succeeded,
    Failed,
    Interrupted,
}

/// One file of a step's output (relative to the output: its name, or a path in the folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    pub path: String,
    pub size: u64,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFiles {
    pub step: String,
    pub files: Vec<FileDigest>,
}

/// What running a job gives: written by `vodbuild exec-job` as its result file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobResult {
    pub id: String,
    pub status: JobStatus,
    /// Why it failed; a tool's failure ends with the tail of its stderr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Each step's files, in their temporaries (succeeded jobs only).
    pub outputs: Vec<StepFiles>,
    #[serde(default)]
    pub sync: crate::storage::sync::SyncStats,
}
