//! The job data of subtitles: a conversion to WebVTT ([`SubtitleJob`]) and the converted
//! tracks a package job adds to its package ([`PackagedSubtitle`]). Plain data.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Convert one subtitle file to WebVTT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubtitleJob {
    /// The subtitle file (`{root}/…` inside the workspace).
    pub input: PathBuf,
    /// Its name in error messages (relative to the manifest).
    pub shown: String,
    /// `srt` or `vtt`.
    pub format: String,
    /// The BLAKE3 the step's key was computed with: a file changed since is refused.
    pub digest: String,
    pub out: PathBuf,
}

/// One converted track of a package: an `EXT-X-MEDIA:TYPE=SUBTITLES` rendition (HLS) or a
/// text AdaptationSet (DASH).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagedSubtitle {
    /// `LANG` or `LANG-forced`: its folder in the package.
    pub id: String,
    pub lang: String,
    pub name: String,
    pub default: bool,
    pub forced: bool,
    /// The converted WebVTT file (the subtitle step's output).
    pub vtt: PathBuf,
    /// Where the track came from, for messages: the sidecar file as the manifest shows it, or
    /// the source's text stream.
    #[serde(default)]
    pub shown: String,
}
