//! `loudness`: a loudness measurement (EBU R128 / ITU BS.1770, ffmpeg `loudnorm` pass 1,
//! [`crate::argv::loudness`]), its report parsed ([`crate::media::loudness`]) and written as
//! `loudness_NAME.json` in the work folder. Two uses:
//!
//! - `loudness:SOURCE:aT-2ch`: audio track T of the source (0 for the first; the Nth language
//!   track of [`crate::audio`] is `PROFILE-aN`), downmixed to the channel count of the
//!   profiles that ask for `loudness` (one step per track and count, shared by those
//!   profiles). Params: `{"measure": "loudnorm", "track": T, "channels": N}`; inputs: the source,
//!   probe.json. The target is not in it: changing `loudness.target` re-runs only the encode
//!   and what follows. The audio encode of such a profile reads it (its key has the report's
//!   digest) and runs pass 2 with the measured values ([`filter`]); its output check measures
//!   the result, which must land within [`TOLERANCE_LU`] of the target ([`promise`]).
//! - `loudness:SOURCE:file-LANG-2ch`: a sidecar audio file's one stream, likewise
//!   ([`crate::audio::files`]; params `audio_file: LANG` instead of `track`, input the file).
//! - `loudness_out:SOURCE:PROFILE`: the normalised encode itself, by the cheaper `ebur128`
//!   (params `{"measure": "ebur128", "of": "encode"}`, input: the encode), for
//!   `metadata.json` (only when `outputs.metadata` is on).
//!
//! A silent source, or one shorter than a 400 ms gating block, has no integrated loudness:
//! its encode is made without `loudnorm` (a warning says so) and metadata.json says
//! `"normalized": false`. Skipped, like the audio encodes, for a source without audio.

use serde_json::{Value, json};

use crate::argv::loudness as argv;
use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::promise::Promise;
use crate::manifest::Manifest;
use crate::manifest::loudness::TOLERANCE_LU;
use crate::manifest::model::AudioProfile;
use crate::media::loudness::Measurement;
use crate::media::probe::ProbeFile;
use crate::step::{Media, Step, StepKind, Subject};

pub const RECIPE: u32 = 1;
/// Id prefix of the measurement of an encode.
pub const OUT_PREFIX: &str = "loudness_out";

/// The subject name of a source measurement: its track and channel count (`a0-2ch`).
pub fn source_name(track: u32, channels: u32) -> String {
    format!("a{track}-{channels}ch")
}

pub fn source_params(track: u32, channels: u32) -> Value {
    json!({"measure": "loudnorm", "track": track, "channels": channels})
}

pub fn output_params() -> Value {
    json!({"measure": "ebur128", "of": "encode"})
}

/// The file stem of an encode's measurement (`out_PROFILE`).
pub fn output_name(profile: &str) -> String {
    format!("out_{profile}")
}

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Result<Action, String> {
    let step = b.first();
    let Subject::Rendition { name, .. } = &step.subject else {
        return Err(format!("{} is not a loudness measurement", step.id));
    };
    if let Some(f) = crate::audio::files::file_of(b.src, step) {
        // A sidecar audio file's measurement (crate::audio::files): its one stream.
        let channels = step.params["channels"].as_u64().unwrap_or(2) as u32;
        let args = argv::measure_args(&b.port(&f.path), 0, Some(&argv::downmix(channels)));
        return Ok(Action::Loudness { args, out: b.tmp() });
    }
    probe.info.audio.as_ref().ok_or_else(|| b.no("audio"))?;
    let args = if step.reads_source {
        let channels = step.params["channels"].as_u64().unwrap_or(2) as u32;
        let track = step.params["track"].as_u64().unwrap_or(0) as u32;
        argv::measure_args(&b.port(&b.src.path), track, Some(&argv::downmix(channels)))
    } else {
        argv::ebur128_args(&b.enc(name))
    };
    Ok(Action::Loudness { args, out: b.tmp() })
}

/// Writes the report found in ffmpeg's log (the job's post-processing).
pub fn write_report(log: &[u8], out: &std::path::Path) -> Result<(), String> {
    let m = crate::media::loudness::parse_any(log)?;
    let text = serde_json::to_string_pretty(&m).expect("json") + "\n";
    std::fs::write(out, text).map_err(|e| format!("writing {}: {e}", out.display()))
}

/// Reads a written measurement.
pub fn read(path: &std::path::Path) -> Result<Measurement, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The normalised audio profile an encode step makes, if it asks for `loudness`.
fn loud_profile<'m>(m: &'m Manifest, step: &Step) -> Option<&'m AudioProfile> {
    match (&step.kind, &step.subject) {
        (StepKind::Encode, Subject::Rendition { name, media: Media::Audio }) => {
            let profile = crate::audio::files::profile_of(step).unwrap_or(crate::audio::split_name(&m.raw, name).0);
            m.raw.profiles.audio.get(profile).filter(|p| p.loudness.is_some())
        }
        _ => None,
    }
}

/// The source measurement an encode of `step`'s profile reads (None without `loudness`).
fn source_measurement(m: &Manifest, step: &Step) -> Option<Result<Measurement, String>> {
    let p = loud_profile(m, step)?;
    let Subject::Rendition { name, .. } = &step.subject else { return None };
    if let Some(lang) = crate::audio::files::lang_of(step) {
        let file = crate::audio::files::measurement(lang, p.channels).0;
        return Some(read(&crate::layout::loudness(m, &step.source, &file)));
    }
    let track = crate::audio::split_name(&m.raw, name).1;
    Some(read(&crate::layout::loudness(m, &step.source, &source_name(track, p.channels))))
}

/// Pass 2's filter for the audio encode job of `b` (None: not normalised). A silent or too
/// short source is encoded as it is, with a warning.
pub(crate) fn filter(b: &Builder) -> Result<Option<String>, String> {
    let [n] = b.nodes else { return Ok(None) };
    let step = &b.ctx.sg.g[*n];
    let (Some(p), Some(measured)) = (loud_profile(b.ctx.m, step), source_measurement(b.ctx.m, step)) else {
        return Ok(None);
    };
    let (l, measured) = (p.loudness.expect("loud profile"), measured?);
    let f = argv::encode_filter(&l, &measured, p.channels, p.sample_rate);
    if f.is_none() {
        tracing::warn!(
            "source `{}`: the audio is silent or too short to measure; loudness normalisation skipped for {}",
            step.source,
            step.id
        );
    }
    Ok(f)
}

/// What a normalised encode must be: an audio encode within [`TOLERANCE_LU`] of its target
/// (None: not normalised, see [`filter`]).
pub fn promise(m: &Manifest, step: &Step) -> Option<Promise> {
    let target = loud_profile(m, step)?.loudness?.target;
    let measured = source_measurement(m, step)?.ok()?;
    (!measured.silent()).then_some(Promise::Loudness { target, tolerance: TOLERANCE_LU })
}

/// Each normalised profile's entry of metadata.json, from its encode's measurement.
pub fn metadata_entry(m: &Manifest, profile: &str, measured: &Measurement) -> Value {
    let l = m.raw.profiles.audio.get(crate::audio::split_name(&m.raw, profile).0).and_then(|p| p.loudness);
    let mut v = json!({
        "target": l.map(|l| l.target),
        "true_peak_max": l.map(|l| l.true_peak),
        "lra_target": l.map(|l| l.lra),
        "integrated": measured.integrated.filter(|_| !measured.silent()),
        "true_peak": measured.true_peak,
        "normalized": !measured.silent(),
    });
    if measured.silent() {
        v["note"] = json!("the source audio is silent or too short to measure: loudness normalisation was skipped");
    }
    v
}
