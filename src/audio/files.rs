//! Sidecar audio files ([`crate::manifest::audio_files`]) as audio renditions: each file ×
//! each audio profile of a package is the rendition `PROFILE-LANG` (e.g. `aac-de`), one
//! `encode` step each, which joins the source's own tracks in the package (HLS: the AUDIO
//! group of its codec, DASH: the AdaptationSet of its language).
//!
//! - Key: the encode's params are the profile's plus `audio_file: LANG`; its inputs are the
//!   file's digest (`audio_file`, from the stat cache or hashed, see [`super::files_scan`])
//!   and the source's probe.json (the video's duration). It does not read the source, so a
//!   changed sidecar re-encodes only its own renditions, and a new one adds only its steps.
//! - Duration: audio longer than the video is cut at the video's duration (`-t`); audio
//!   shorter than it by more than the output checks' tolerance fails the encode's check.
//! - Profiles of more than two channels are not applied to sidecar files (their channels are
//!   not known when the graph is built; no upmix).
//! - A loudness-normalised profile measures each file once per channel count
//!   (`loudness:SOURCE:file-LANG-2ch`, keyed on the file's digest) and its encode runs pass 2
//!   with it, as for a source track ([`crate::kinds::loudness`]); metadata.json has no
//!   loudness entry for sidecar renditions.
//! - A sidecar's `default: true` makes it the DEFAULT rendition over the source's tracks.

use petgraph::graph::NodeIndex;
use serde_json::{Value, json};

use super::{AudioSel, Rendition, Track};
use crate::argv::ffmpeg;
use crate::job::ctx::{Builder, JobCtx};
use crate::job::{Action, JobInput};
use crate::manifest::audio_files::AudioFile;
use crate::manifest::model::RawManifest;
use crate::manifest::{Manifest, Source};
use crate::media::probe::ProbeFile;
use crate::step::{Step, StepKind, Subject, ToolUse};

/// The encode params' field naming the sidecar's language.
pub const PARAM: &str = "audio_file";
/// Sidecar tracks are numbered from here (no source stream has such an index).
const FIRST_INDEX: u32 = 1000;

/// `PROFILE-LANG`.
pub fn rendition_name(profile: &str, lang: &str) -> String {
    format!("{profile}-{lang}")
}

/// The audio profiles the packages use, each once (hls, then dash).
pub fn profiles_in_use(m: &RawManifest) -> Vec<&String> {
    let sels =
        [m.outputs.hls.as_ref().and_then(|h| h.audio.as_ref()), m.outputs.dash.as_ref().and_then(|d| d.audio.as_ref())];
    let mut out: Vec<&String> = Vec::new();
    for name in sels.into_iter().flatten().flat_map(AudioSel::names) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The renditions of `files` for a package whose audio profiles are `sel`: file by file,
/// each profile of at most two channels.
pub fn renditions(m: &RawManifest, sel: Option<&AudioSel>, files: &[AudioFile]) -> Vec<Rendition> {
    let Some(sel) = sel else { return Vec::new() };
    let mut out = Vec::new();
    for (j, f) in files.iter().enumerate() {
        for profile in sel.names() {
            let Some(p) = m.profiles.audio.get(profile).filter(|p| p.channels <= 2) else { continue };
            let track = Track {
                index: FIRST_INDEX + j as u32,
                language: f.lang.clone(),
                name: f.name.clone(),
                default: f.default,
                channels: 0,
            };
            let name = rendition_name(profile, &f.lang);
            out.push(Rendition { name, profile: profile.clone(), track, channels: p.channels });
        }
    }
    out
}

/// A package's audio renditions with the source's sidecar ones appended (a sidecar that says
/// `default` takes DEFAULT from the source's tracks). Whether any was appended.
pub fn join(out: &mut Vec<Rendition>, m: &RawManifest, sel: Option<&AudioSel>, src: &Source) -> bool {
    let side = renditions(m, sel, &src.opts.audio_files);
    if side.is_empty() {
        return false;
    }
    if side.iter().any(|r| r.track.default) {
        out.iter_mut().for_each(|r| r.track.default = false);
    }
    out.extend(side);
    true
}

/// An encode step's params: the profile's (with its `loudness`), `type: audio` and the file's
/// language.
pub fn encode_params(m: &Manifest, profile: &str, lang: &str) -> Value {
    let mut p = serde_json::to_value(&m.raw.profiles.audio[profile]).expect("manifest values serialize");
    p["type"] = json!("audio");
    p[PARAM] = json!(lang);
    p
}

/// The language of a sidecar encode or loudness measurement step (None for any other step).
pub fn lang_of(step: &Step) -> Option<&str> {
    matches!(step.kind, StepKind::Encode | StepKind::Loudness).then(|| step.params.get(PARAM)?.as_str()).flatten()
}

/// The audio profile of a sidecar encode step (`PROFILE` of `PROFILE-LANG`).
pub fn profile_of(step: &Step) -> Option<&str> {
    let lang = lang_of(step).filter(|_| step.kind == StepKind::Encode)?;
    let Subject::Rendition { name, .. } = &step.subject else { return None };
    name.strip_suffix(lang)?.strip_suffix('-')
}

/// The loudness measurement of a sidecar file downmixed to `channels`: its subject name
/// (`file-LANG-2ch`) and params.
pub fn measurement(lang: &str, channels: u32) -> (String, Value) {
    let params = json!({"measure": "loudnorm", PARAM: lang, "channels": channels});
    (format!("file-{lang}-{channels}ch"), params)
}

/// The file a sidecar step of source `src` reads.
pub fn file_of<'a>(src: &'a Source, step: &Step) -> Option<&'a AudioFile> {
    let lang = lang_of(step)?;
    src.opts.audio_files.iter().find(|f| f.lang == lang)
}

/// Where a sidecar's digest is kept among the source digests (no source id holds `#`).
pub fn digest_key(source: &str, lang: &str) -> String {
    format!("{source}#{PARAM}:{lang}")
}

/// The file input of a sidecar encode step: (its digest key, its input name).
pub fn input_of(step: &Step) -> Option<(String, String)> {
    let lang = lang_of(step)?;
    Some((digest_key(&step.source, lang), format!("{PARAM}:{lang}")))
}

/// The sidecar files the job of `nodes` reads, with the digests their keys were computed from.
pub(crate) fn job_inputs(ctx: &JobCtx, nodes: &[NodeIndex], src: &Source) -> Vec<JobInput> {
    nodes
        .iter()
        .filter_map(|n| lang_of(&ctx.sg.g[*n]))
        .filter_map(|lang| src.opts.audio_files.iter().find(|f| f.lang == lang))
        .map(|f| JobInput {
            path: crate::job::paths::portable(&ctx.m.root, &f.path),
            digest: ctx.sources.get(&digest_key(&src.id, &f.lang)).cloned().unwrap_or_default(),
            fetch: None,
        })
        .collect()
}

/// The encode job of a sidecar rendition (None when `b`'s step is no sidecar encode): its
/// one audio stream encoded with the profile, cut at the video's duration.
pub(crate) fn encode_action(b: &Builder, probe: &ProbeFile) -> Option<Result<(Action, String), String>> {
    let [n] = b.nodes else { return None };
    let step = &b.ctx.sg.g[*n];
    profile_of(step)?;
    Some(encode(b, probe, step))
}

fn encode(b: &Builder, probe: &ProbeFile, step: &Step) -> Result<(Action, String), String> {
    let m = b.ctx.m;
    let f = file_of(b.src, step).ok_or_else(|| format!("{}: no such audio file", step.id))?;
    let Subject::Rendition { name, .. } = &step.subject else { return Err(format!("{} is not an encode", step.id)) };
    let profile = profile_of(step).unwrap_or_default();
    let p = m.raw.profiles.audio.get(profile).ok_or_else(|| format!("no audio profile `{profile}`"))?;
    let out = b.outputs.first().ok_or("no output")?.tmp.as_path();
    let mut args = ffmpeg::encode_args(&b.port(&f.path), None, &[], &[(p, out)], m.raw.encoding.gop_seconds);
    cut_at(&mut args, probe.info.duration);
    Ok((Action::Run { tool: ToolUse::Ffmpeg, args }, format!("encode:{}:{name}", b.src.id)))
}

/// `-t SECONDS` before the (one) output's `-f`: audio longer than the video is cut there.
fn cut_at(args: &mut Vec<String>, seconds: f64) {
    if !(seconds > 0.0 && seconds.is_finite()) {
        return;
    }
    if let Some(at) = args.iter().rposition(|a| a == "-f") {
        args.splice(at..at, ["-t".to_string(), format!("{seconds:.6}")]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renditions_per_file_and_stereo_profile() {
        let text = r#"{"version": 1, "sources": [], "profiles": {"audio": {"aac": {"codec": "aac"}, "surround": {"codec": "aac", "channels": 6}}}}"#;
        let m: RawManifest = serde_json::from_str(text).unwrap();
        let f = |lang: &str, default: bool| AudioFile {
            path: lang.into(),
            rel: lang.into(),
            lang: lang.into(),
            name: lang.into(),
            default,
        };
        let sel = AudioSel::Many(vec!["aac".into(), "surround".into()]);
        let r = renditions(&m, Some(&sel), &[f("de", false), f("pt-BR", true)]);
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["aac-de", "aac-pt-BR"], "no 5.1 rendition of a sidecar");
        assert_eq!(crate::audio::split_name(&m, "aac-de"), ("aac-de", 0), "not a source stream's name");
        let mut args: Vec<String> = ["-i", "x", "-map", "0:a:0", "-f", "mp4", "o"].map(String::from).to_vec();
        cut_at(&mut args, 2.5);
        assert_eq!(args[4..], ["-t", "2.500000", "-f", "mp4", "o"]);
    }
}
