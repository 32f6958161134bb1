//! `package_hls`: the encoded renditions remuxed into HLS (ffmpeg or Shaka Packager), then
//! vodbuild writes `master.m3u8` from measurements ([`write_master`]). Params: `outputs.hls`
//! with the renditions built for this source. Inputs: each encoded rendition. Output: the
//! `hls` folder.

use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;
use serde_json::Value;

use super::params_of;
use crate::argv::{ffmpeg, shaka};
use crate::dag::StepGraph;
use crate::job::Action;
use crate::job::ctx::{Builder, built_rungs, with_built_rungs};
use crate::job::promise::Promise;
use crate::manifest::model::{HlsOutput, Packager};
use crate::media::probe::ProbeFile;
use crate::media::{master, mp4};
use crate::step::ToolUse;

/// 2: ffmpeg keeps the encoder timeline (no empty edit at the start of init segments).
pub const RECIPE: u32 = 2;

/// The output's settings, with the rungs built for this source (`built`, the fitted ladder).
pub fn params(h: &HlsOutput, built: &[String]) -> Value {
    with_built_rungs(params_of(h), built)
}

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<Action, String> {
    let m = b.ctx.m;
    let h = m.raw.outputs.hls.as_ref().ok_or("no hls output")?;
    let dir = b.tmp();
    let renditions = built_rungs(b.first());
    let mut inputs: Vec<(&str, PathBuf, bool)> = renditions.iter().map(|r| (r.as_str(), b.enc(r), false)).collect();
    // A source without audio: its packages have no audio group (see `crate::skip`).
    let audio_name = h.audio.as_ref().filter(|_| probe.info.audio.is_some());
    if let Some(a) = audio_name {
        inputs.push((a.as_str(), b.enc(a), true));
    }
    let refs: Vec<(&str, &Path, bool)> = inputs.iter().map(|(n, p, a)| (*n, p.as_path(), *a)).collect();
    let (tool, args, iframes) = match h.packager {
        Packager::Ffmpeg => (ToolUse::Ffmpeg, ffmpeg::hls_args(&refs, h, &dir), false),
        Packager::Shaka => (ToolUse::Packager, shaka::hls_args(&refs, h, &dir), true),
    };
    let variants = renditions.iter().map(|r| (r.clone(), b.enc(r))).collect();
    let audio = audio_name.map(|a| (a.clone(), b.enc(a), m.raw.profiles.audio[a].channels));
    let subtitles = super::subtitle::packaged(b, probe);
    Ok(Action::Hls { tool, args, dir, variants, audio, iframes, subtitles })
}

pub fn promise(sg: &StepGraph, n: NodeIndex, has_audio: bool) -> Promise {
    let (variants, audio) = super::packaged(sg, n, has_audio);
    Promise::Hls { variants, audio }
}

/// Post-processing: `master.m3u8` in `dir` from the variants' measured bitrates and their
/// encoded files' sample entries (codecs, resolution, frame rate).
pub fn write_master(
    dir: &Path,
    variants: &[(String, PathBuf)],
    audio: Option<&(String, PathBuf, u32)>,
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
    let path = dir.join(crate::layout::MASTER);
    let text = master::write_master(&vs, a.as_ref());
    std::fs::write(&path, text.as_bytes()).map_err(|e| format!("writing {}: {e}", path.display()))
}
