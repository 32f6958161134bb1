//! `audio_only`: the source's audio as `audio.m4a` (AAC) or `audio.mp3`, in the `audio_only`
//! folder. Params: `outputs.audio_only`. Inputs: the source, probe.json. Tool: ffmpeg.
//! Skipped for a source without audio ([`crate::skip`]).

use crate::argv::ffmpeg;
use crate::job::Action;
use crate::job::ctx::Builder;
use crate::media::probe::ProbeFile;
use crate::step::ToolUse;

pub const RECIPE: u32 = 1;

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<Action, String> {
    probe.info.audio.as_ref().ok_or_else(|| b.no("audio"))?;
    let a = b.ctx.m.raw.outputs.audio_only.as_ref().ok_or("no audio_only output")?;
    let args = ffmpeg::audio_only_args(&b.port(&b.src.path), a, &b.tmp());
    Ok(Action::Run { tool: ToolUse::Ffmpeg, args })
}
