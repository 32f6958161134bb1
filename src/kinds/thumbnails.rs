//! `thumbnails`: still images from the source every `interval` seconds (or `count` of them),
//! in the `thumbnails` folder. Params: `outputs.thumbnails`. Inputs: the source, probe.json.
//! Tool: ffmpeg ([`crate::argv::ffmpeg::thumbnail_args`]).

use crate::argv::ffmpeg;
use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::promise::{Durations, Promise};
use crate::manifest::Manifest;
use crate::manifest::model::ThumbnailsOutput;
use crate::media::probe::ProbeFile;
use crate::step::ToolUse;

pub const RECIPE: u32 = 1;

/// The `outputs.thumbnails` block, and for an anamorphic source its sample aspect (`W:H`):
/// its images are sized by the displayed aspect (square sources keep the keys they had).
pub fn params(t: &ThumbnailsOutput, anamorphic: Option<(u32, u32)>) -> serde_json::Value {
    let mut p = super::params_of(t);
    if let Some((w, h)) = anamorphic {
        p["sample_aspect"] = format!("{w}:{h}").into();
    }
    p
}

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<Action, String> {
    let video = probe.info.video.as_ref().ok_or_else(|| b.no("video"))?;
    let t = b.ctx.m.raw.outputs.thumbnails.as_ref().ok_or("no thumbnails output")?;
    let anamorphic = video.sar.0 != video.sar.1;
    let args = ffmpeg::thumbnail_args(&b.port(&b.src.path), t, probe.info.duration, anamorphic, &b.tmp());
    Ok(Action::Run { tool: ToolUse::Ffmpeg, args })
}

/// At least one image, unless the source is shorter than the interval.
pub fn promise(m: &Manifest, durations: Durations) -> Promise {
    let interval = m.raw.outputs.thumbnails.as_ref().and_then(|t| t.interval).unwrap_or(0.0);
    Promise::Thumbnails { at_least_one: durations.video >= interval }
}
