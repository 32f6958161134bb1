//! The HLS master for several audio renditions: one AUDIO group per codec, a rendition per
//! language × profile, each video variant listed once per group, and the opt-in audio-only
//! variant (the lowest-bandwidth fallback: the group's DEFAULT rendition alone).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Rendition;
use crate::media::master::{self, Rates, Variant};
use crate::media::mp4::{self, TrackFacts};

/// What `package_hls` hands to its post-processing when the package is not a plain one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioSet {
    /// Each rendition with its encoded file.
    pub renditions: Vec<(Rendition, PathBuf)>,
    pub audio_only_variant: bool,
}

/// One rendition as measured.
struct Measured<'a> {
    r: &'a Rendition,
    facts: TrackFacts,
    rates: Rates,
    name: String,
    default: bool,
    autoselect: bool,
}

/// Writes `master.m3u8` in `dir`.
pub fn write_master(dir: &Path, variants: &[(String, PathBuf)], set: &AudioSet, iframes: bool) -> Result<(), String> {
    let facts: Vec<TrackFacts> = variants.iter().map(|(_, p)| mp4::track_facts(p)).collect::<Result<_, _>>()?;
    let mut vs = Vec::new();
    for ((name, _), f) in variants.iter().zip(&facts) {
        let rates = master::measure(&dir.join(name).join("index.m3u8"))?;
        let iframe = match iframes {
            true => Some((format!("{name}/iframes.m3u8"), master::measure(&dir.join(name).join("iframes.m3u8"))?)),
            false => None,
        };
        vs.push(Variant { uri: format!("{name}/index.m3u8"), facts: f, rates, iframe });
    }
    let mut audio = Vec::new();
    for (r, file) in &set.renditions {
        let rates = master::measure(&dir.join(&r.name).join("index.m3u8"))?;
        let (name, default, autoselect) = (String::new(), false, false);
        audio.push(Measured { r, facts: mp4::track_facts(file)?, rates, name, default, autoselect });
    }
    let text = render(&vs, &mut audio, set.audio_only_variant);
    let path = dir.join(crate::layout::MASTER);
    std::fs::write(&path, text.as_bytes()).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The groups (codec, members) in order of first appearance, with NAME, DEFAULT and
/// AUTOSELECT decided per group.
fn groups<'m, 'a>(audio: &'m mut [Measured<'a>]) -> Vec<(String, Vec<&'m Measured<'a>>)> {
    let mut codecs: Vec<String> = Vec::new();
    for a in audio.iter() {
        if !codecs.contains(&a.facts.codec) {
            codecs.push(a.facts.codec.clone());
        }
    }
    for codec in &codecs {
        let mut members: Vec<&mut Measured> = audio.iter_mut().filter(|a| &a.facts.codec == codec).collect();
        label(&mut members);
    }
    codecs
        .into_iter()
        .map(|c| {
            let members = audio.iter().filter(|a| a.facts.codec == c).collect();
            (c, members)
        })
        .collect()
}

/// Distinct NAMEs, one DEFAULT (the default track's first rendition, else the first), and
/// AUTOSELECT on the first rendition of each language.
fn label(members: &mut [&mut Measured]) {
    for m in members.iter_mut() {
        m.name = match m.r.channels {
            1 | 2 => m.r.track.name.clone(),
            6 => format!("{} 5.1", m.r.track.name),
            8 => format!("{} 7.1", m.r.track.name),
            n => format!("{} ({n} ch)", m.r.track.name),
        };
    }
    for i in 0..members.len() {
        let taken = members[..i].iter().any(|o| o.name == members[i].name);
        if taken {
            members[i].name = format!("{} ({})", members[i].name, members[i].r.name);
        }
    }
    let default = members.iter().position(|m| m.r.track.default).unwrap_or(0);
    for i in 0..members.len() {
        members[i].default = i == default;
        let lang = &members[i].r.track.language;
        let first_of_lang = !members[..i].iter().any(|o| &o.r.track.language == lang);
        members[i].autoselect = first_of_lang || i == default;
    }
    if let Some(d) = members.get(default).map(|d| d.r.track.language.clone()) {
        // AUTOSELECT languages stay unique: the DEFAULT one wins its language.
        for (i, m) in members.iter_mut().enumerate() {
            if i != default && m.r.track.language == d {
                m.autoselect = false;
            }
        }
    }
}

fn yes(b: bool) -> &'static str {
    if b { "YES" } else { "NO" }
}

fn render(variants: &[Variant], audio: &mut [Measured], audio_only: bool) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let groups = groups(audio);
    for (codec, members) in &groups {
        for m in members {
            s += &format!(
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{}\",LANGUAGE=\"{}\",NAME=\"{}\",DEFAULT={},AUTOSELECT={},CHANNELS=\"{}\",URI=\"{}/index.m3u8\"\n",
                group_id(codec),
                m.r.track.language,
                m.name.replace('"', "'"),
                yes(m.default),
                yes(m.autoselect),
                m.r.channels,
                m.r.name
            );
        }
    }
    for (codec, members) in &groups {
        let peak = members.iter().map(|m| m.rates.peak).max().unwrap_or(0);
        let avg = members.iter().map(|m| m.rates.average).max().unwrap_or(0);
        for v in variants {
            s += &format!(
                "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{},{codec}\",RESOLUTION={}x{}",
                v.rates.peak + peak,
                v.rates.average + avg,
                v.facts.codec,
                v.facts.width,
                v.facts.height
            );
            if let Some(fps) = v.facts.fps {
                s += &format!(",FRAME-RATE={fps:.3}");
            }
            s += &format!(",AUDIO=\"{}\"\n{}\n", group_id(codec), v.uri);
        }
    }
    if audio_only && let Some((codec, members)) = groups.first() {
        let d = members.iter().find(|m| m.default).unwrap_or(&members[0]);
        s += &format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{codec}\",AUDIO=\"{}\"\n{}/index.m3u8\n",
            d.rates.peak,
            d.rates.average,
            group_id(codec),
            d.r.name
        );
    }
    for v in variants {
        if let Some((uri, r)) = &v.iframe {
            s += &format!(
                "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\",RESOLUTION={}x{},URI=\"{uri}\"\n",
                r.peak, r.average, v.facts.codec, v.facts.width, v.facts.height
            );
        }
    }
    s
}

/// `audio-aac`, `audio-opus`, ... from a sample entry's codec string.
fn group_id(codec: &str) -> String {
    let word = match codec.split('.').next().unwrap_or(codec) {
        "mp4a" => "aac",
        "ac-3" => "ac3",
        "ec-3" => "eac3",
        other => other,
    };
    format!("audio-{word}")
}

impl AudioSet {
    /// The same set with each file path passed through `f` (where the job runs).
    pub fn mapped(&self, f: &dyn Fn(&Path) -> PathBuf) -> AudioSet {
        let renditions = self.renditions.iter().map(|(r, p)| (r.clone(), f(p))).collect();
        AudioSet { renditions, audio_only_variant: self.audio_only_variant }
    }
}
