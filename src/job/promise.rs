//! What a step's output must be ([`Promise`]) and what a job's outputs are checked against
//! ([`Checks`]): plain data, given by the kinds ([`crate::kinds::promise`]), carried in the
//! [`JobSpec`](crate::job::JobSpec). Imports no kind or check logic.

use serde::{Deserialize, Serialize};

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
    /// An audio encode (as `Encode { video: false }`) whose integrated loudness is within
    /// `tolerance` LU of `target` LUFS ([`crate::kinds::loudness`]).
    Loudness { target: f64, tolerance: f64 },
    /// Images, none empty, the first and last decode; at least one unless the source is
    /// shorter than the thumbnail interval.
    Thumbnails { at_least_one: bool },
    /// `audio.m4a` (an MP4 with an audio track) or `audio.mp3`.
    AudioOnly,
    /// Nothing local to check (publish).
    Nothing,
    /// A command step's folder: exactly these files, none empty; `.vtt` ones start with `WEBVTT`.
    Command { files: Vec<String> },
    /// Sprite sheets of `columns` x `rows` tiles `tile_w` wide and their WebVTT track, every
    /// cue inside its sheet (see [`crate::verify::storyboard`]).
    Storyboard { columns: u32, rows: u32, tile_w: u32 },
    /// A WebVTT file that parses (a converted subtitle track).
    Subtitle,
}

/// The source's durations the outputs are compared with (seconds; 0 = unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    pub video: f64,
    pub audio: f64,
}

/// Everything needed to check one job's outputs (part of its [`JobSpec`](crate::job::JobSpec);
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
