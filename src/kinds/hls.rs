//! `package_hls`: the encoded renditions remuxed into HLS (ffmpeg or Shaka Packager), then
//! vodbuild writes `master.m3u8` from measurements ([`write_master`]; with several audio
//! renditions or an audio-only variant, [`crate::audio::hls::write_master`]). Params:
//! `outputs.hls` with the renditions built for this source. Inputs: each encoded rendition
//! (every audio track × profile). Output: the `hls` folder.

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
/// With ffmpeg and fMP4, I-frame playlists (vodbuild's, on by default) enter the params, so
/// packages written before vodbuild wrote them are rebuilt.
pub fn params(h: &HlsOutput, built: &[String]) -> Value {
    let mut v = with_built_rungs(params_of(h), built);
    if h.packager == Packager::Ffmpeg && iframes_on(h) {
        v["iframe_playlists"] = Value::Bool(true);
    }
    v
}

/// Whether the package has I-frame playlists (see `HlsOutput::iframe_playlists`): by default
/// with Shaka or fMP4; with ffmpeg's TS when asked (`true`, which enters the params as set).
pub fn iframes_on(h: &HlsOutput) -> bool {
    let by_default = h.packager == Packager::Shaka || h.segment_type == crate::manifest::model::SegmentType::Fmp4;
    h.iframe_playlists.unwrap_or(by_default)
}

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<Action, String> {
    let m = b.ctx.m;
    let h = m.raw.outputs.hls.as_ref().ok_or("no hls output")?;
    let dir = b.tmp();
    let renditions = built_rungs(b.first());
    let mut inputs: Vec<(&str, PathBuf, bool)> = renditions.iter().map(|r| (r.as_str(), b.enc(r), false)).collect();
    // A source without audio: its packages have no audio group (see `crate::skip`).
    let picks = b.src.opts.audio_tracks.as_deref().or(h.audio_tracks.as_deref());
    let mut audio_r = crate::audio::for_package(&m.raw, h.audio.as_ref(), picks, &probe.info)
        .map_err(|e| format!("source `{}`: {e}", b.src.id))?;
    let plain = crate::audio::is_plain(&audio_r, picks, h.audio_only_variant);
    let plain = !crate::audio::files::join(&mut audio_r, &m.raw, h.audio.as_ref(), b.src) && plain;
    for r in &audio_r {
        inputs.push((r.name.as_str(), b.enc(&r.name), true));
    }
    let refs: Vec<(&str, &Path, bool)> = inputs.iter().map(|(n, p, a)| (*n, p.as_path(), *a)).collect();
    let (tool, mut args, iframes) = match h.packager {
        Packager::Ffmpeg => (ToolUse::Ffmpeg, ffmpeg::hls_args(&refs, h, &dir), iframes_on(h)),
        Packager::Shaka => (ToolUse::Packager, shaka::hls_args(&refs, h, &dir), iframes_on(h)),
    };
    if !plain && h.packager == Packager::Shaka {
        crate::audio::dash::shaka_langs(&mut args, renditions.len(), &audio_r.iter().collect::<Vec<_>>());
    }
    let variants = renditions.iter().map(|r| (r.clone(), b.enc(r))).collect();
    let audio = audio_r.first().filter(|_| plain).map(|a| (a.name.clone(), b.enc(&a.name), a.channels));
    let audio_set = (!plain).then(|| crate::audio::hls::AudioSet {
        renditions: audio_r.iter().map(|r| (r.clone(), b.enc(&r.name))).collect(),
        audio_only_variant: h.audio_only_variant,
    });
    let crypt = h.encryption.as_ref().map(|e| crate::crypt::job::CryptJob::new(e, &m.root));
    let subtitles = super::subtitle::packaged(b, probe);
    Ok(Action::Hls { tool, args, dir, variants, audio, iframes, crypt, audio_set, subtitles })
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

/// Post-processing with ffmpeg: `NAME/iframes.m3u8` per video variant from its segments'
/// sample tables ([`crate::media::iframes`]) or, for TS, their video PES ([`crate::media::iframes_ts`]).
pub fn write_iframe_playlists(dir: &Path, variants: &[(String, PathBuf)]) -> Result<(), String> {
    for (name, _) in variants {
        crate::media::iframes_ts::write_for(&dir.join(name).join("index.m3u8"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hls(extra: serde_json::Value) -> HlsOutput {
        let mut v = serde_json::json!({"renditions": ["a"], "segment_seconds": 2.0});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    /// ffmpeg + TS keeps the params (so the key) it had unless `iframe_playlists` is set.
    #[test]
    fn iframe_playlists_enter_the_ts_params_only_when_set() {
        let built = ["a".to_string()];
        let ts = hls(serde_json::json!({"segment_type": "ts"}));
        assert!(!iframes_on(&ts));
        assert!(params(&ts, &built).get("iframe_playlists").is_none(), "{}", params(&ts, &built));
        let asked = hls(serde_json::json!({"segment_type": "ts", "iframe_playlists": true}));
        assert!(iframes_on(&asked));
        assert_eq!(params(&asked, &built)["iframe_playlists"], true);
        let fmp4 = hls(serde_json::json!({"segment_type": "fmp4"}));
        assert!(iframes_on(&fmp4) && params(&fmp4, &built)["iframe_playlists"] == true);
        let off = hls(serde_json::json!({"segment_type": "fmp4", "iframe_playlists": false}));
        assert!(!iframes_on(&off) && params(&off, &built)["iframe_playlists"] == false);
    }
}
