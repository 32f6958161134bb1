//! `subtitle`: one subtitle track of a source (an SRT or WebVTT sidecar, see
//! [`crate::manifest::subtitles`]) converted to WebVTT by vodbuild ([`crate::media::webvtt`]),
//! in the source's work folder (`subtitles/LANG.vtt`). Params: the file's BLAKE3, its format,
//! language and forced flag. No tool; no probe. The packages read the converted file
//! ([`super::subtitle_hls`], [`super::subtitle_dash`]); its name and default flag are in the
//! package steps' params ([`package_params`]).

use std::path::Path;

use serde_json::{Value, json};

use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::paths::resolve;
use crate::job::subtitle::{PackagedSubtitle, SubtitleJob};
use crate::manifest::Manifest;
use crate::manifest::subtitles::SubtitleTrack;
use crate::media::webvtt::{self, Format};

pub const RECIPE: u32 = 1;

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Srt => "srt",
        Format::Vtt => "vtt",
    }
}

pub fn params(t: &SubtitleTrack) -> Value {
    json!({"digest": t.digest, "format": format_name(t.format), "lang": t.lang, "forced": t.forced})
}

/// What a package says about its subtitle tracks (added to its params only when it has some,
/// so the keys of packages without subtitles are unchanged).
pub fn package_params(tracks: &[SubtitleTrack]) -> Value {
    let list: Vec<Value> = tracks
        .iter()
        .map(|t| json!({"lang": t.lang, "name": t.name, "default": t.default, "forced": t.forced}))
        .collect();
    json!(list)
}

/// The track of `b`'s step.
fn track<'a>(b: &'a Builder) -> Result<&'a SubtitleTrack, String> {
    let id = b.first().subject.name().unwrap_or_default();
    b.src.opts.subtitles.iter().find(|t| t.id() == id).ok_or_else(|| format!("no subtitle track `{id}`"))
}

pub(crate) fn action(b: &Builder) -> Result<Action, String> {
    let t = track(b)?;
    Ok(Action::Subtitle(SubtitleJob {
        input: b.port(&t.path),
        shown: t.rel.clone(),
        format: format_name(t.format).into(),
        digest: t.digest.clone(),
        out: b.tmp(),
    }))
}

/// The converted tracks a package of `b`'s source shows: its sidecars, then its text
/// streams ([`super::subtitle_embedded::tracks`]).
pub(crate) fn packaged(b: &Builder, probe: &crate::media::probe::ProbeFile) -> Vec<PackagedSubtitle> {
    if b.ctx.m.raw.outputs.subtitles.is_none() {
        return Vec::new();
    }
    let mut tracks = sidecars(b);
    let embedded = super::subtitle_embedded::tracks(b, probe, &tracks);
    tracks.extend(embedded);
    tracks
}

fn sidecars(b: &Builder) -> Vec<PackagedSubtitle> {
    b.src
        .opts
        .subtitles
        .iter()
        .map(|t| PackagedSubtitle {
            id: t.id(),
            lang: t.lang.clone(),
            name: t.name.clone(),
            default: t.default,
            forced: t.forced,
            vtt: b.port(&converted(b.ctx.m, &b.src.id, &t.id())),
            shown: t.rel.clone(),
        })
        .collect()
}

/// Where a track's WebVTT goes: `.vodbuild/MANIFEST/work/SOURCE/subtitles/ID.vtt`.
pub fn converted(m: &Manifest, source: &str, id: &str) -> std::path::PathBuf {
    crate::layout::work(m, source).join("subtitles").join(format!("{id}.vtt"))
}

/// Performs the conversion: the file must still have the digest the step was keyed on.
pub fn convert(j: &SubtitleJob, root: &Path) -> Result<(), String> {
    let input = resolve(root, &j.input);
    let meta = std::fs::metadata(&input).map_err(|e| format!("subtitle file {}: {e}", j.shown))?;
    if meta.len() > webvtt::MAX_BYTES {
        return Err(format!("subtitle file {} is larger than {} bytes", j.shown, webvtt::MAX_BYTES));
    }
    let bytes = std::fs::read(&input).map_err(|e| format!("reading {}: {e}", j.shown))?;
    if blake3::hash(&bytes).to_hex().as_str() != j.digest {
        return Err(format!("subtitle file {} changed since the run was planned; run again", j.shown));
    }
    let format = Format::of(&format!(".{}", j.format)).ok_or("unknown subtitle format")?;
    let cues = webvtt::parse(&bytes, format).map_err(|e| format!("malformed subtitle file {}", e.located(&j.shown)))?;
    let out = resolve(root, &j.out);
    std::fs::write(&out, webvtt::write(&cues, &[])).map_err(|e| format!("writing {}: {e}", out.display()))
}

/// The output check: a WebVTT file that parses (the embedded step: a folder of at least one).
pub fn check(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| format!("cannot be read: {e}"))?;
        let files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        if files.is_empty() {
            return Err("no WebVTT file".into());
        }
        return files.iter().try_for_each(|f| check(f).map_err(|e| format!("{}: {e}", f.display())));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    webvtt::parse(&bytes, Format::Vtt).map(drop).map_err(|e| e.located("WebVTT"))
}
