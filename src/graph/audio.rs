//! The audio renditions each package of a source uses (see [`crate::audio`]).

use crate::audio;
use crate::manifest::Manifest;
use crate::media::probe::AudioInfo;

/// Rendition names per package, in order.
pub(super) struct Audio {
    pub hls: Vec<String>,
    pub dash: Vec<String>,
    /// Those that are sidecar audio files' (see [`crate::audio::files`]).
    pub files: Vec<String>,
}

impl Audio {
    /// For a source whose audio streams are `streams` (None before its probe) and whose own
    /// `audio_tracks` are `picks`.
    pub fn of(m: &Manifest, picks: Option<&[audio::AudioPick]>, streams: Option<&[AudioInfo]>) -> Audio {
        let (raw, o) = (&m.raw, &m.raw.outputs);
        let names = |r: Vec<audio::Rendition>| r.into_iter().map(|r| r.name).collect();
        let hls = o
            .hls
            .as_ref()
            .map(|h| audio::renditions(raw, h.audio.as_ref(), picks.or(h.audio_tracks.as_deref()), streams));
        let dash = o
            .dash
            .as_ref()
            .map(|d| audio::renditions(raw, d.audio.as_ref(), picks.or(d.audio_tracks.as_deref()), streams));
        Audio { hls: hls.map(names).unwrap_or_default(), dash: dash.map(names).unwrap_or_default(), files: Vec::new() }
    }

    /// With the renditions of `src`'s sidecar audio files appended.
    pub fn with_files(mut self, m: &Manifest, src: &crate::manifest::Source) -> Audio {
        let (hls, dash) = super::audio_files::names(m, src);
        for n in hls.iter().chain(&dash) {
            if !self.files.contains(n) {
                self.files.push(n.clone());
            }
        }
        self.hls.extend(hls);
        self.dash.extend(dash);
        self
    }

    /// Every rendition, each once, in order of first use.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in self.hls.iter().chain(&self.dash) {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }
}
