//! `package_dash`: the encoded renditions remuxed into one MPD with CMAF segments (ffmpeg or
//! Shaka Packager), then vodbuild sets each representation's `codecs` from its init segment
//! and `bandwidth` to the measured peak ([`fix_mpd`]). Several audio renditions go to one
//! AdaptationSet per language and codec ([`crate::audio::dash`]). Params: `outputs.dash` with
//! the renditions built for this source. Inputs: each encoded rendition. Output: the `dash` folder.

use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;
use serde_json::Value;

use super::params_of;
use crate::argv::{ffmpeg, shaka};
use crate::dag::StepGraph;
use crate::job::Action;
use crate::job::ctx::{Builder, built_rungs, with_built_rungs};
use crate::job::promise::Promise;
use crate::manifest::model::{DashOutput, Packager};
use crate::media::probe::ProbeFile;
use crate::media::{master, mp4, mpd};
use crate::step::ToolUse;

/// 2: MPD codecs from init segments, bandwidth = measured peak; 3: static MPD from Shaka.
pub const RECIPE: u32 = 3;

/// The output's settings, with the rungs built for this source (`built`, the fitted ladder).
pub fn params(d: &DashOutput, built: &[String]) -> Value {
    with_built_rungs(params_of(d), built)
}

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<Action, String> {
    let m = b.ctx.m;
    let d = m.raw.outputs.dash.as_ref().ok_or("no dash output")?;
    let vi = probe.info.video.as_ref().ok_or_else(|| b.no("video"))?;
    let mut inputs: Vec<(PathBuf, ffmpeg::SetKey)> = built_rungs(b.first())
        .iter()
        .map(|r| {
            let p = &m.raw.profiles.video[r];
            (b.enc(r), ffmpeg::set_key(p.codec, ffmpeg::target_size(p, vi)))
        })
        .collect();
    let first_audio = inputs.len();
    let picks = b.src.opts.audio_tracks.as_deref().or(d.audio_tracks.as_deref());
    let mut audio_r = crate::audio::for_package(&m.raw, d.audio.as_ref(), picks, &probe.info)
        .map_err(|e| format!("source `{}`: {e}", b.src.id))?;
    let sidecars = crate::audio::files::join(&mut audio_r, &m.raw, d.audio.as_ref(), b.src);
    for r in &audio_r {
        inputs.push((b.enc(&r.name), None));
    }
    let refs: Vec<_> = inputs.iter().map(|(p, c)| (p.as_path(), *c)).collect();
    let dir = b.tmp();
    let (tool, mut args) = match d.packager {
        Packager::Ffmpeg => (ToolUse::Ffmpeg, ffmpeg::dash_args(&refs, d, &dir)),
        Packager::Shaka => {
            let refs: Vec<_> = refs.iter().map(|(p, c)| (*p, c.is_none())).collect();
            (ToolUse::Packager, shaka::dash_args(&refs, d, &dir))
        }
    };
    if sidecars || !crate::audio::is_plain(&audio_r, picks, false) {
        let codecs: Vec<(&crate::audio::Rendition, &str)> =
            audio_r.iter().map(|r| (r, crate::audio::codec_word(&m.raw, &r.profile))).collect();
        crate::audio::dash::dash_args(&mut args, d.packager, first_audio, &codecs);
    }
    let crypt = d.encryption.as_ref().map(|e| crate::crypt::job::CryptJob::new(e, &m.root));
    let storyboard = super::storyboard::for_package(b, probe);
    let subtitles = super::subtitle::packaged(b, probe);
    Ok(Action::Dash { tool, args, dir, crypt, storyboard, subtitles })
}

pub fn promise(sg: &StepGraph, n: NodeIndex, has_audio: bool) -> Promise {
    let (video, audio) = super::packaged(sg, n, has_audio);
    Promise::Dash { video, audio }
}

/// Post-processing: measured values into the MPD in `dir`: `codecs` from each init segment,
/// `bandwidth` = peak segment bitrate.
pub fn fix_mpd(dir: &Path) -> Result<(), String> {
    let path = dir.join(crate::layout::MPD);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let doc = mpd::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let total = doc.duration.unwrap_or(0.0);
    let mut values = std::collections::HashMap::new();
    for r in &doc.representations {
        let mut v = Vec::new();
        if let Some(init) = r.init_path() {
            v.push(("codecs", mp4::track_facts(&dir.join(init))?.codec));
        }
        if let Some(master::Rates { peak, .. }) = mpd::measure(r, dir, total) {
            v.push(("bandwidth", peak.to_string()));
        }
        values.insert(r.id().to_string(), v);
    }
    let fixed = mpd::rewrite(&text, &values)?;
    std::fs::write(&path, fixed.as_bytes()).map_err(|e| format!("writing {}: {e}", path.display()))
}
