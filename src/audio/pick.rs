//! The manifest side of audio: `audio:` (one profile or a list) and `audio_tracks:` (which
//! source audio streams, by language tag or index), resolved against a source's probe.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::media::probe::AudioInfo;

/// `audio:` on hls/dash: one profile name (serialized as before, so existing keys hold) or a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AudioSel {
    One(String),
    Many(Vec<String>),
}

impl AudioSel {
    /// The profile names, in order.
    pub fn names(&self) -> Vec<&String> {
        match self {
            AudioSel::One(a) => vec![a],
            AudioSel::Many(v) => v.iter().collect(),
        }
    }
}

/// One entry of `audio_tracks:`: a source audio stream by `index` (among its audio streams)
/// or by `language` tag, with the LANGUAGE and NAME the players show.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudioPick {
    /// The source's Nth audio stream (0-based). Without it, the first stream tagged `language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The language (BCP-47 or ISO 639-2, as in the stream's tag); overrides the tag with `index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The NAME players list (default: the language's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// This language is the DEFAULT one (default: the first track).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

/// At most this many audio tracks per source.
pub const MAX_TRACKS: usize = 32;

/// A source audio stream as packaged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// Among the source's audio streams.
    pub index: u32,
    /// BCP-47 (ISO 639-2 tags mapped to their 2-letter form), `und` when unknown.
    pub language: String,
    /// NAME shown by players.
    pub name: String,
    pub default: bool,
    /// Channels of the source stream (0 when not probed yet).
    pub channels: u32,
}

/// The tracks `picks` select among the source's `streams` (None: not probed yet: only the
/// first stream, so the graph before probing keeps today's steps). Default: every stream.
pub fn resolve(picks: Option<&[AudioPick]>, streams: Option<&[AudioInfo]>) -> Vec<Track> {
    let Some(streams) = streams else {
        let first = picks.and_then(|p| p.first()).cloned().unwrap_or_default();
        return vec![track(0, None, &AudioPick { index: Some(0), ..first })];
    };
    let mut out: Vec<Track> = Vec::new();
    match picks {
        None => {
            for (i, s) in streams.iter().enumerate().take(MAX_TRACKS) {
                out.push(track(i as u32, Some(s), &AudioPick::default()));
            }
        }
        Some(picks) => {
            for p in picks.iter().take(MAX_TRACKS) {
                let found = match p.index {
                    Some(i) => streams.get(i as usize).map(|s| (i, s)),
                    None => streams.iter().enumerate().map(|(i, s)| (i as u32, s)).find(|(i, s)| {
                        !out.iter().any(|t| t.index == *i)
                            && s.language.as_deref().map(super::lang::normalize)
                                == p.language.as_deref().map(super::lang::normalize)
                    }),
                };
                if let Some((i, s)) = found
                    && !out.iter().any(|t| t.index == i)
                {
                    out.push(track(i, Some(s), p));
                }
            }
        }
    }
    if !out.iter().any(|t| t.default)
        && let Some(t) = out.first_mut()
    {
        t.default = true;
    }
    out
}

fn track(index: u32, s: Option<&AudioInfo>, p: &AudioPick) -> Track {
    let tag = p.language.as_deref().or(s.and_then(|s| s.language.as_deref())).unwrap_or("und");
    let language = super::lang::normalize(tag);
    let name = p.name.clone().unwrap_or_else(|| super::lang::display_name(&language));
    Track { index, language, name, default: p.default, channels: s.map_or(0, |s| s.channels) }
}

/// What is wrong with an output's `audio`/`audio_tracks`, if anything: (field, message).
pub fn problem(sel: Option<&AudioSel>, picks: Option<&[AudioPick]>) -> Option<(&'static str, String)> {
    if let Some(names) = sel.map(AudioSel::names) {
        if names.is_empty() {
            return Some(("audio", "the audio list is empty".into()));
        }
        if let Some(twice) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
            return Some(("audio", format!("audio `{}` is listed twice", twice.1)));
        }
    }
    let picks = picks?;
    if sel.is_none() {
        return Some(("audio_tracks", "audio_tracks needs `audio` (the profiles to encode them with)".into()));
    }
    if picks.is_empty() || picks.len() > MAX_TRACKS {
        return Some(("audio_tracks", format!("audio_tracks must list 1 to {MAX_TRACKS} tracks")));
    }
    for (i, p) in picks.iter().enumerate() {
        if p.index.is_none() && p.language.is_none() {
            return Some(("audio_tracks", format!("track {i}: give an `index` or a `language`")));
        }
        // The text as written must be a tag (normalize turns a malformed one into `und`).
        if let Some(l) = p.language.as_deref().map(str::trim)
            && !super::lang::is_bcp47(l)
        {
            return Some(("audio_tracks", format!("track {i}: `{l}` is not a BCP-47 language tag")));
        }
        if p.index.is_some_and(|x| x as usize >= MAX_TRACKS) {
            return Some(("audio_tracks", format!("track {i}: index must be below {MAX_TRACKS}")));
        }
        if p.name
            .as_deref()
            .is_some_and(|n| n.is_empty() || n.len() > 100 || n.chars().any(|c| c == '"' || c.is_control()))
        {
            return Some(("audio_tracks", format!("track {i}: name must be 1-100 characters, no quotes")));
        }
    }
    if picks.iter().filter(|p| p.default).count() > 1 {
        return Some(("audio_tracks", "more than one track says `default: true`".into()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(lang: Option<&str>, channels: u32) -> AudioInfo {
        AudioInfo {
            codec: "aac".into(),
            channels,
            sample_rate: 48_000,
            layout: String::new(),
            language: lang.map(String::from),
        }
    }

    #[test]
    fn default_is_every_stream_with_its_tag() {
        let s = [stream(Some("eng"), 2), stream(None, 2), stream(Some("fra"), 6)];
        let t = resolve(None, Some(&s));
        let langs: Vec<&str> = t.iter().map(|t| t.language.as_str()).collect();
        assert_eq!(langs, ["en", "und", "fr"]);
        assert!(t[0].default && !t[1].default && !t[2].default);
        assert_eq!(t[2].channels, 6);
        assert_eq!(resolve(None, None).len(), 1, "before probing: the first stream only");
    }

    #[test]
    fn picks_by_language_and_index() {
        let s = [stream(Some("eng"), 2), stream(Some("fra"), 2), stream(Some("deu"), 2)];
        let picks = [
            AudioPick { language: Some("deu".into()), ..Default::default() },
            AudioPick { index: Some(1), language: Some("fr".into()), name: Some("Français".into()), default: true },
            AudioPick { language: Some("spa".into()), ..Default::default() },
        ];
        let t = resolve(Some(&picks), Some(&s));
        assert_eq!(t.len(), 2, "spa is not in the source");
        assert_eq!((t[0].index, t[0].language.as_str(), t[0].default), (2, "de", false));
        assert_eq!((t[1].index, t[1].name.as_str(), t[1].default), (1, "Français", true));
    }
}
