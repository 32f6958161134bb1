//! The step types: plain data that every layer above reads (the graph builds them, the
//! kinds give their parameters, jobs and promises, the plan keys them, execution runs them).
//! Imports no kind, graph building or execution.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Probe,
    Encode,
    PackageHls,
    PackageDash,
    Thumbnails,
    AudioOnly,
    Metadata,
    /// Upload one package to a backend.
    Publish,
    /// Check a package (the `verify` command, as a step).
    Verify,
    /// A tool the manifest declares in `steps:` (see [`crate::kinds::command`]).
    Command,
    /// Call a webhook when a source's packages are built (and published).
    Notify,
    /// Measure loudness (`loudnorm` pass 1): a source's audio track, or a normalised encode
    /// (see [`crate::kinds::loudness`]).
    Loudness,
    /// Sprite sheets and a WebVTT thumbnails track (`outputs.storyboard`).
    Storyboard,
    /// Convert one subtitle file to WebVTT (see [`crate::kinds::subtitle`]).
    Subtitle,
}

impl StepKind {
    /// Steps that only wait on the network (no CPU to speak of): retried on transient
    /// errors, and run in an executor's network slots beside the `-j` ones.
    pub fn waits_on_network(&self) -> bool {
        matches!(self, StepKind::Publish | StepKind::Notify)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            StepKind::Probe => "probe",
            StepKind::Encode => "encode",
            StepKind::PackageHls => "package_hls",
            StepKind::PackageDash => "package_dash",
            StepKind::Thumbnails => "thumbnails",
            StepKind::AudioOnly => "audio_only",
            StepKind::Metadata => "metadata",
            StepKind::Publish => "publish",
            StepKind::Verify => "verify",
            StepKind::Command => "command",
            StepKind::Notify => "notify",
            StepKind::Loudness => "loudness",
            StepKind::Storyboard => "storyboard",
            StepKind::Subtitle => "subtitle",
        }
    }
}

/// The two package formats: one `package_*` step (and one verify step) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageKind {
    Hls,
    Dash,
}

impl PackageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Hls => "hls",
            PackageKind::Dash => "dash",
        }
    }

    /// The step kind that builds this package.
    pub fn step_kind(self) -> StepKind {
        match self {
            PackageKind::Hls => StepKind::PackageHls,
            PackageKind::Dash => StepKind::PackageDash,
        }
    }
}

/// A rendition's media: what an encode step makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Video,
    Audio,
}

/// What a step works on beyond its kind and source (typed; its parameters are in
/// [`Step::params`], the canonical JSON of the kind's settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// probe, thumbnails, audio_only, metadata.
    Source,
    /// encode: one video or audio profile.
    Rendition { name: String, media: Media },
    /// package_hls, package_dash: the video rungs built for this source (the ladder fitted to
    /// it, in the output's order).
    Package { package: PackageKind, renditions: Vec<String> },
    /// verify: one package.
    Verify(PackageKind),
    /// publish: the deliverable of a step of this kind (`hls`, `thumbnails`, ...).
    Published(StepKind),
    /// command: the step named `name` in `steps:`; `audio` when it reads the source's audio
    /// (`audio_only` or an audio encode, directly or through another command step).
    Command { name: String, audio: bool },
    /// notify: one `notify:` target (its name).
    Notify(String),
    /// subtitle: one subtitle track (`LANG` or `LANG-forced`).
    Subtitle(String),
}

impl Subject {
    /// The name that qualifies the step in input names (`encode:720p/720p.mp4`) and reasons.
    pub fn name(&self) -> Option<&str> {
        match self {
            Subject::Source | Subject::Package { .. } => None,
            Subject::Rendition { name, .. } => Some(name),
            Subject::Verify(p) => Some(p.as_str()),
            Subject::Command { name, .. } => Some(name),
            Subject::Published(k) => Some(k.as_str().trim_start_matches("package_")),
            Subject::Notify(name) => Some(name),
            Subject::Subtitle(id) => Some(id),
        }
    }
}

/// Which external tool a step runs (its fingerprint enters the step key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolUse {
    Ffmpeg,
    Ffprobe,
    /// Shaka Packager.
    Packager,
    /// Done inside vodbuild; the vodbuild version enters the key instead.
    Builtin,
    /// A command step's program (its fingerprint is the step's, see [`crate::tools::Toolset`]).
    Command,
}

/// Where a step writes: one file or one folder (written whole, then renamed into place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputLoc {
    File(PathBuf),
    Dir(PathBuf),
    /// Objects under `remote` in a backend (a folder the step owns, or beside other objects).
    Remote {
        backend: String,
        remote: String,
        owns_folder: bool,
    },
}

impl OutputLoc {
    /// The local path (for local outputs).
    pub fn local(&self) -> Option<&PathBuf> {
        match self {
            OutputLoc::File(p) | OutputLoc::Dir(p) => Some(p),
            OutputLoc::Remote { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    pub source: String,
    /// The rendition, package or deliverable the step is about.
    pub subject: Subject,
    /// Resolved parameters as canonical JSON (sorted keys); they enter the key.
    pub params: std::sync::Arc<Value>,
    pub tool: ToolUse,
    /// Whether the source file's digest is an input of this step.
    pub reads_source: bool,
    pub output: OutputLoc,
    /// Outputs that only feed other steps (intermediates, or packages whose deliverable is a
    /// published copy): when they are missing but their record still matches, the step is
    /// "absent", and is rebuilt only if a step that reads them has to run.
    pub intermediate: bool,
}
