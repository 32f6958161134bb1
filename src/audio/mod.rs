//! Audio languages and layouts: which source audio streams each package carries, and with
//! which profiles.
//!
//! `audio:` on hls/dash names one audio profile or a list; `audio_tracks:` picks source audio
//! streams by index or language tag (default: every audio stream of the source, its language
//! from its tag, `und` without one). Each track × profile is an audio rendition, one encode
//! step each. The rendition of the source's first audio stream is named after its profile
//! (`aac`: the step, its key and its files are those of a single-audio manifest); the Nth
//! stream's is `PROFILE-aN`, and its encode parameters add `track: N`. A profile with more
//! than two channels is not built from a stream with fewer (no 5.1 upmix of a stereo track).
//! Before a source is probed only its first stream is known (see [`pick::resolve`]).
//!
//! A package with one audio rendition and no `audio_tracks`/`audio_only_variant` is written
//! as before (one `audio` group, NAME the profile). Otherwise [`hls::write_master`] writes one
//! AUDIO group per codec, a rendition per language × profile (LANGUAGE, NAME, DEFAULT,
//! AUTOSELECT, CHANNELS), and the optional audio-only variant; DASH gets one AdaptationSet
//! per language and codec ([`dash`]). Sidecar audio files (a source's `audio_files:`) add
//! their renditions `PROFILE-LANG` after the source's own ([`files`]).

pub mod dash;
pub mod files;
pub mod hls;
pub mod lang;
pub mod pick;
pub mod verify;

use serde::{Deserialize, Serialize};

use crate::manifest::model::RawManifest;
use crate::media::probe::AudioInfo;
pub use pick::{AudioPick, AudioSel, Track};

/// One audio rendition of a package: a track encoded with a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    /// The encode's rendition name (its file and package folder).
    pub name: String,
    pub profile: String,
    pub track: Track,
    /// The profile's channels.
    pub channels: u32,
}

/// The rendition name of `profile` on the source's audio stream `index`.
pub fn rendition_name(profile: &str, index: u32) -> String {
    if index == 0 { profile.to_string() } else { format!("{profile}-a{index}") }
}

/// The profile and stream index of an audio rendition name (the inverse of [`rendition_name`]).
pub fn split_name<'a>(m: &RawManifest, name: &'a str) -> (&'a str, u32) {
    if m.profiles.audio.contains_key(name) {
        return (name, 0);
    }
    if let Some((profile, n)) = name.rsplit_once("-a")
        && let Ok(i) = n.parse::<u32>()
        && m.profiles.audio.contains_key(profile)
    {
        return (profile, i);
    }
    (name, 0)
}

/// The audio renditions of a package for a source whose audio streams are `streams` (None
/// when not probed yet): each picked track × each profile, track by track.
pub fn renditions(
    m: &RawManifest,
    sel: Option<&AudioSel>,
    picks: Option<&[AudioPick]>,
    streams: Option<&[AudioInfo]>,
) -> Vec<Rendition> {
    let Some(sel) = sel else { return Vec::new() };
    // A silent source keeps its first-stream steps: they are skipped (see `crate::skip`).
    let streams = streams.filter(|s| !s.is_empty());
    let mut out = Vec::new();
    for track in pick::resolve(picks, streams) {
        for profile in sel.names() {
            let Some(p) = m.profiles.audio.get(profile) else { continue };
            if p.channels > 2 && track.channels > 0 && p.channels > track.channels {
                continue;
            }
            let name = rendition_name(profile, track.index);
            out.push(Rendition { name, profile: profile.clone(), track: track.clone(), channels: p.channels });
        }
    }
    out
}

/// Whether a package is written as before multi-audio: no audio (a silent source), or one
/// rendition of the first stream with no track list and no audio-only variant.
pub fn is_plain(r: &[Rendition], picks: Option<&[AudioPick]>, audio_only_variant: bool) -> bool {
    r.is_empty() || (r.len() == 1 && r[0].track.index == 0 && picks.is_none() && !audio_only_variant)
}

/// Encode parameters of an audio rendition beyond its profile: the stream index (none for
/// the first stream, so its key is that of a single-audio manifest).
pub fn encode_params(p: &mut serde_json::Value, m: &RawManifest, name: &str) {
    let (_, index) = split_name(m, name);
    if index != 0 {
        p["track"] = serde_json::json!(index);
    }
}

/// An audio encode's ffmpeg arguments read stream `index` instead of the first (`-map 0:a:0`).
pub fn select_stream(args: &mut [String], index: u32) {
    if index == 0 {
        return;
    }
    for w in 1..args.len() {
        if args[w - 1] == "-map" && args[w] == "0:a:0" {
            args[w] = format!("0:a:{index}");
        }
    }
}

/// The audio renditions a package step packages, by the source's probe (none for a silent
/// source: its packages have no audio, see `crate::skip`). An error when the source has
/// audio but `audio_tracks` and the profiles leave none of it (never a silent drop).
pub fn for_package(
    m: &RawManifest,
    sel: Option<&AudioSel>,
    picks: Option<&[AudioPick]>,
    info: &crate::media::probe::ProbeInfo,
) -> Result<Vec<Rendition>, String> {
    if info.audio.is_none() {
        return Ok(Vec::new());
    }
    let r = renditions(m, sel, picks, Some(&info.audio_tracks));
    if r.is_empty() && sel.is_some() {
        let tags: Vec<String> = info
            .audio_tracks
            .iter()
            .map(|t| format!("{} ({} ch)", t.language.as_deref().unwrap_or("und"), t.channels))
            .collect();
        return Err(format!(
            "no audio rendition: `audio_tracks` and the audio profiles match none of the source's audio streams: {}",
            tags.join(", ")
        ));
    }
    Ok(r)
}

/// A profile's codec as a word (what DASH adaptation sets are split by).
pub fn codec_word<'a>(m: &'a RawManifest, profile: &str) -> &'a str {
    match m.profiles.audio.get(profile).map(|p| p.codec) {
        Some(crate::manifest::model::AudioCodec::Opus) => "opus",
        _ => "aac",
    }
}

/// A package's parameters with the source's own `audio_tracks` (when it has some: they
/// decide the package's languages and names).
pub fn with_source_picks(
    mut params: std::sync::Arc<serde_json::Value>,
    picks: Option<&[AudioPick]>,
) -> std::sync::Arc<serde_json::Value> {
    if let Some(p) = picks {
        std::sync::Arc::make_mut(&mut params)["source_audio_tracks"] = serde_json::json!(p);
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let text = r#"{"version": 1, "sources": [], "profiles": {"audio": {"aac": {"codec": "aac"}, "surround": {"codec": "aac", "channels": 6}}}}"#;
        let m: RawManifest = serde_json::from_str(text).unwrap();
        assert_eq!(rendition_name("aac", 0), "aac");
        assert_eq!(split_name(&m, &rendition_name("surround", 3)), ("surround", 3));
        assert_eq!(split_name(&m, "aac"), ("aac", 0));
        let s = |ch: u32, l: &str| AudioInfo {
            codec: "aac".into(),
            channels: ch,
            sample_rate: 48_000,
            layout: String::new(),
            language: Some(l.into()),
        };
        let sel = AudioSel::Many(vec!["aac".into(), "surround".into()]);
        let r = renditions(&m, Some(&sel), None, Some(&[s(2, "eng"), s(6, "fra")]));
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["aac", "aac-a1", "surround-a1"], "no 5.1 from a stereo stream");
        let mut args: Vec<String> = ["-map", "0:a:0"].map(String::from).to_vec();
        select_stream(&mut args, 2);
        assert_eq!(args[1], "0:a:2");
    }
}
