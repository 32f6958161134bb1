//! `encode`: one rendition (a video or audio profile) of a source, `RENDITION.mp4` in the work
//! folder. The stale video encodes of one source are one job (one ffmpeg, one decode); each
//! audio encode is a job of its own. Params: the profile + `gop_seconds` (video) and `type`;
//! an audio rendition of the source's Nth audio stream (`PROFILE-aN`, see [`crate::audio`])
//! adds `track: N` and reads that stream. A sidecar audio file's rendition (`PROFILE-LANG`)
//! reads that file instead of the source ([`crate::audio::files`]).
//! Inputs: the source, probe.json. Tool: ffmpeg ([`crate::argv::ffmpeg::encode_args`]).

use serde_json::{Value, json};

use super::params_of;
use crate::argv::ffmpeg;
use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::promise::Promise;
use crate::manifest::Manifest;
use crate::media::probe::ProbeFile;
use crate::step::{Media, Step, Subject, ToolUse};

/// 2: displayed-picture filters (rotation, bwdif, NTSC frame-rate cap); AV1 maxrate/bufsize.
/// 3: encoder threads fixed (x264/x265/libvpx 4, svt-av1 lp=1): the same bytes on any machine.
pub const RECIPE: u32 = 3;

pub fn video_params(m: &Manifest, name: &str) -> Value {
    let mut p = params_of(&m.raw.profiles.video[name]);
    p["gop_seconds"] = json!(m.raw.encoding.gop_seconds);
    p["type"] = json!("video");
    p
}

pub fn audio_params(m: &Manifest, name: &str) -> Value {
    let mut p = params_of(&m.raw.profiles.audio[crate::audio::split_name(&m.raw, name).0]);
    p["type"] = json!("audio");
    crate::audio::encode_params(&mut p, &m.raw, name);
    p
}

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<(Action, String), String> {
    if let Some(sidecar) = crate::audio::files::encode_action(b, probe) {
        let (mut action, label) = sidecar?;
        if let (Action::Run { args, .. }, Some(f)) = (&mut action, super::loudness::filter(b)?) {
            crate::argv::loudness::insert_filter(args, &f);
        }
        return Ok((action, label));
    }
    let (m, info) = (b.ctx.m, &probe.info);
    let (mut video, mut audio, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for (n, o) in b.nodes.iter().zip(b.outputs) {
        let Subject::Rendition { name, media } = &b.ctx.sg.g[*n].subject else {
            return Err(format!("{} is not an encode", b.ctx.sg.g[*n].id));
        };
        match media {
            Media::Video => {
                info.video.as_ref().ok_or_else(|| b.no("video"))?;
                video.push((&m.raw.profiles.video[name], o.tmp.as_path()));
            }
            Media::Audio => {
                info.audio.as_ref().ok_or_else(|| b.no("audio"))?;
                audio.push((&m.raw.profiles.audio[crate::audio::split_name(&m.raw, name).0], o.tmp.as_path()));
            }
        }
        names.push(name.as_str());
    }
    let source = b.port(&b.src.path);
    let mut args = ffmpeg::encode_args(&source, info.video.as_ref(), &video, &audio, m.raw.encoding.gop_seconds);
    if let [name] = names[..] {
        // An audio encode is alone in its job: the Nth stream for `PROFILE-aN`.
        crate::audio::select_stream(&mut args, crate::audio::split_name(&m.raw, name).1);
    }
    if let Some(f) = super::loudness::filter(b)? {
        crate::argv::loudness::insert_filter(&mut args, &f);
    }
    Ok((Action::Run { tool: ToolUse::Ffmpeg, args }, format!("encode:{}:{}", b.src.id, names.join("+"))))
}

pub fn promise(step: &Step) -> Promise {
    Promise::Encode { video: !matches!(step.subject, Subject::Rendition { media: Media::Audio, .. }) }
}
