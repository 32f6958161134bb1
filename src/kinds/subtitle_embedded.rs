//! `subtitle` (embedded): the text streams inside a source (mov_text, subrip, webvtt, as the
//! probe lists them) converted to WebVTT by one ffmpeg, one `K.vtt` each, in the folder
//! `.vodbuild/MANIFEST/work/SOURCE/subtitles/embedded/`. With `outputs.subtitles.embedded`;
//! step `subtitle:SOURCE:embedded` after the probe. Params: `{"embedded": true}`. Inputs:
//! the source, probe.json. A source without text streams skips the step ([`skip`]).
//!
//! The packages add one track per stream ([`tracks`]): LANGUAGE from the stream's
//! `language` tag (ISO 639-2 codes with a 2-letter form shortened: `eng` → `en`; `und`
//! without a tag), NAME from its `title` tag (else the language), FORCED from its
//! disposition, never DEFAULT. A stream whose (language, forced) a sidecar already has is
//! left out, and names are made distinct, so the group rules hold.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::argv::ffmpeg::base_args;
use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::subtitle::PackagedSubtitle;
use crate::manifest::Manifest;
use crate::manifest::subtitles::MAX_TRACKS;
use crate::media::bcp47;
use crate::media::probe::ProbeFile;
use crate::step::{Step, Subject, ToolUse};

/// The subject name of the embedded step.
pub const ID: &str = "embedded";
/// Why the step is skipped.
pub const NO_TEXT: &str = "source has no text subtitle stream";
/// The text codecs extracted.
const TEXT_CODECS: [&str; 3] = ["mov_text", "subrip", "webvtt"];

pub fn params() -> Value {
    json!({"embedded": true})
}

/// Whether `step` is the embedded-streams step.
pub fn is(step: &Step) -> bool {
    step.subject == Subject::Subtitle(ID.into())
}

/// Its folder.
pub fn dir(m: &Manifest, source: &str) -> PathBuf {
    crate::layout::work(m, source).join("subtitles").join(ID)
}

/// One text stream of the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// ffprobe's stream index.
    pub index: u64,
    pub lang: String,
    pub title: Option<String>,
    pub forced: bool,
}

/// The source's text streams, by its probe (at most [`MAX_TRACKS`]).
pub fn streams(probe: &ProbeFile) -> Vec<Stream> {
    let all = probe.ffprobe["streams"].as_array().cloned().unwrap_or_default();
    all.iter()
        .filter(|s| {
            s["codec_type"] == "subtitle" && TEXT_CODECS.contains(&s["codec_name"].as_str().unwrap_or_default())
        })
        .take(MAX_TRACKS)
        .filter_map(|s| {
            let tag = s["tags"]["language"].as_str().unwrap_or("und");
            Some(Stream {
                index: s["index"].as_u64()?,
                lang: language(tag),
                title: s["tags"]["title"].as_str().map(|t| t.chars().filter(|c| !c.is_control()).take(128).collect()),
                forced: s["disposition"]["forced"].as_u64() == Some(1),
            })
        })
        .collect()
}

/// A stream's language tag as BCP-47 (the 2-letter form of common ISO 639-2 codes).
fn language(tag: &str) -> String {
    const SHORT: [(&str, &str); 24] = [
        ("eng", "en"),
        ("fra", "fr"),
        ("fre", "fr"),
        ("deu", "de"),
        ("ger", "de"),
        ("spa", "es"),
        ("ita", "it"),
        ("por", "pt"),
        ("jpn", "ja"),
        ("zho", "zh"),
        ("chi", "zh"),
        ("rus", "ru"),
        ("kor", "ko"),
        ("nld", "nl"),
        ("dut", "nl"),
        ("ara", "ar"),
        ("hin", "hi"),
        ("swe", "sv"),
        ("pol", "pl"),
        ("tur", "tr"),
        ("dan", "da"),
        ("fin", "fi"),
        ("nor", "no"),
        ("ces", "cs"),
    ];
    let lower = tag.to_ascii_lowercase();
    let short = SHORT.iter().find(|(l, _)| *l == lower).map(|(_, s)| s.to_string());
    short.unwrap_or_else(|| if bcp47::valid(tag) { tag.to_string() } else { "und".into() })
}

/// Skipped when the probe (readable) lists no text stream.
pub fn skip(m: &Manifest, step: &Step) -> Option<&'static str> {
    let bytes = std::fs::read(crate::layout::probe(m, &step.source)).ok()?;
    let probe: ProbeFile = serde_json::from_slice(&bytes).ok()?;
    streams(&probe).is_empty().then_some(NO_TEXT)
}

/// One ffmpeg: each text stream to `K.vtt`.
pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<Action, String> {
    let found = streams(probe);
    if found.is_empty() {
        return Err(b.no("text subtitle"));
    }
    let mut args = base_args();
    args.extend(["-i".into(), b.port(&b.src.path).to_string_lossy().into_owned()]);
    for (k, s) in found.iter().enumerate() {
        let out = b.tmp().join(format!("{k}.vtt"));
        args.extend([
            "-map".into(),
            format!("0:{}", s.index),
            "-c:s".into(),
            "webvtt".into(),
            "-f".into(),
            "webvtt".into(),
        ]);
        args.push(out.to_string_lossy().into_owned());
    }
    Ok(Action::Run { tool: ToolUse::Ffmpeg, args })
}

/// The packaged tracks of the embedded streams, after the sidecars `have`.
pub(crate) fn tracks(b: &Builder, probe: &ProbeFile, have: &[PackagedSubtitle]) -> Vec<PackagedSubtitle> {
    let on = b.ctx.m.raw.outputs.subtitles.as_ref().is_some_and(|o| o.embedded);
    if !on {
        return Vec::new();
    }
    let folder = dir(b.ctx.m, &b.src.id);
    let mut out: Vec<PackagedSubtitle> = Vec::new();
    for (k, s) in streams(probe).into_iter().enumerate() {
        let taken = |p: &PackagedSubtitle| p.lang == s.lang && p.forced == s.forced;
        if have.iter().chain(&out).any(taken) {
            continue;
        }
        let mut name = s.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| s.lang.clone());
        if have.iter().chain(&out).any(|p| p.name == name) {
            name = format!("{name} ({})", k + 1);
        }
        out.push(PackagedSubtitle {
            id: format!("{}-s{k}", s.lang),
            lang: s.lang,
            name,
            default: false,
            forced: s.forced,
            vtt: b.port(&folder.join(format!("{k}.vtt"))),
            shown: format!("text stream {} of source {}", s.index, b.src.id),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages() {
        assert_eq!(language("eng"), "en");
        assert_eq!(language("FRE"), "fr");
        assert_eq!(language("pt-BR"), "pt-BR");
        assert_eq!(language("tlh"), "tlh");
        assert_eq!(language("not a tag"), "und");
    }

    #[test]
    fn text_streams_from_the_probe() {
        let probe: ProbeFile = serde_json::from_value(json!({
            "info": {"duration": 1.0, "format": "mp4", "video": null, "audio": null},
            "ffprobe": {"streams": [
                {"index": 0, "codec_type": "video", "codec_name": "h264"},
                {"index": 2, "codec_type": "subtitle", "codec_name": "mov_text", "tags": {"language": "eng", "title": "English"}},
                {"index": 3, "codec_type": "subtitle", "codec_name": "hdmv_pgs_subtitle"},
                {"index": 4, "codec_type": "subtitle", "codec_name": "subrip", "disposition": {"forced": 1}}
            ]}
        }))
        .unwrap();
        let s = streams(&probe);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].index, s[0].lang.as_str(), s[0].title.as_deref()), (2, "en", Some("English")));
        assert_eq!((s[1].index, s[1].lang.as_str(), s[1].forced), (4, "und", true));
    }
}
