//! Loudness in `metadata.json` (see [`crate::kinds::loudness`]): for every normalised audio
//! profile a package uses, the source's metadata must hold its entry, with the manifest's
//! target, and a normalised output's integrated loudness within
//! [`TOLERANCE_LU`](crate::manifest::loudness::TOLERANCE_LU) of it; a skipped normalisation
//! (silent source) has no integrated value. The claimed value is then re-measured on the
//! packaged HLS audio rendition (one `ebur128` pass over the audio only, read from its media
//! playlist) and must agree within [`REMEASURE_LU`]. DASH-only packages are checked for
//! consistency only, and so are encrypted HLS packages (their audio is ciphertext to ffmpeg).

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

use super::Findings;
use crate::manifest::Manifest;
use crate::manifest::loudness::TOLERANCE_LU;
use crate::step::PackageKind;

/// How far a re-measurement of the packaged audio may be from metadata.json's value (LU).
pub const REMEASURE_LU: f64 = 0.5;

/// The normalised audio profiles the packages use.
fn profiles(m: &Manifest) -> Vec<(&str, f64)> {
    let o = &m.raw.outputs;
    let sels = o.hls.iter().filter_map(|h| h.audio.as_ref()).chain(o.dash.iter().filter_map(|d| d.audio.as_ref()));
    let mut out: Vec<(&str, f64)> = Vec::new();
    for name in sels.flat_map(|s| s.names()).map(String::as_str) {
        let target = m.raw.profiles.audio.get(name).and_then(|p| p.loudness).map(|l| l.target);
        if let Some(t) = target
            && !out.iter().any(|(n, _)| *n == name)
        {
            out.push((name, t));
        }
    }
    out
}

/// Checks source `source`'s metadata.json loudness entries (nothing without `outputs.metadata`).
pub fn check(m: &Manifest, source: &str, f: &mut Findings) {
    let loud = profiles(m);
    if loud.is_empty() || !m.raw.outputs.metadata {
        return;
    }
    let path = crate::layout::metadata(m, source);
    let Some(doc) = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
        f.add(&path, "loudness", "metadata.json is missing or not JSON: the measured loudness cannot be checked");
        return;
    };
    if doc["source"]["has_audio"] == false {
        return;
    }
    // A profile of two channels or fewer is built from every source with audio (on the first
    // track `PROFILE`, on the Nth `PROFILE-aN`: `audio_tracks` may skip the first); a wider one
    // only from wide enough streams, so it may be absent.
    let built = |name: &str| {
        doc["loudness"].as_object().is_some_and(|o| o.keys().any(|k| crate::audio::split_name(&m.raw, k).0 == name))
    };
    for (name, _) in &loud {
        let narrow = m.raw.profiles.audio.get(*name).is_some_and(|p| p.channels <= 2);
        if narrow && !built(name) {
            f.add(&path, &format!("loudness.{name}"), "missing: the profile asks for loudness normalisation");
        }
    }
    let entries = doc["loudness"].as_object().cloned().unwrap_or_default();
    for (rendition, e) in &entries {
        let (profile, track) = crate::audio::split_name(&m.raw, rendition);
        let Some((_, target)) = loud.iter().find(|(n, _)| *n == profile) else {
            f.add(&path, &format!("loudness.{rendition}"), "names no normalised audio profile of the manifest");
            continue;
        };
        check_entry(m, source, (&path, rendition, track), e, *target, f);
    }
}

/// One metadata.json loudness entry against its profile's `target`.
fn check_entry(
    m: &Manifest,
    source: &str,
    (path, name, track): (&Path, &str, u32),
    e: &Value,
    target: f64,
    f: &mut Findings,
) {
    if e["target"].as_f64() != Some(target) {
        f.add(path, &format!("loudness.{name}.target"), format!("is {}, the manifest says {target}", e["target"]));
    }
    match (e["normalized"].as_bool(), e["integrated"].as_f64()) {
        // The packaged rendition is re-measured for a source's first track.
        (Some(true), Some(i)) if (i - target).abs() <= TOLERANCE_LU => {
            if track == 0 {
                remeasure(m, source, name, i, f)
            }
        }
        (Some(true), Some(i)) => f.add(
            path,
            &format!("loudness.{name}.integrated"),
            format!("{i} LUFS is more than {TOLERANCE_LU} LU from the target {target}"),
        ),
        (Some(false), None) => {}
        _ => f.add(
            path,
            &format!("loudness.{name}"),
            format!("inconsistent: normalized {} with integrated {}", e["normalized"], e["integrated"]),
        ),
    }
}

/// The packaged HLS audio rendition of profile `name` (its media playlist: an
/// `EXT-X-MEDIA:TYPE=AUDIO` URI in `NAME/`, a plain relative path).
fn hls_audio(m: &Manifest, source: &str, name: &str) -> Option<PathBuf> {
    m.raw.outputs.hls.as_ref().filter(|h| h.audio.as_ref().is_some_and(|a| a.names().iter().any(|n| *n == name)))?;
    m.raw.outputs.hls.as_ref().filter(|h| h.encryption.is_none())?;
    let dir = crate::layout::package(m, source, PackageKind::Hls);
    let master = std::fs::read_to_string(dir.join(crate::layout::MASTER)).ok()?;
    let uris = master.lines().filter(|l| l.starts_with("#EXT-X-MEDIA:TYPE=AUDIO")).filter_map(|l| {
        let rest = &l[l.find("URI=\"")? + 5..];
        Some(rest[..rest.find('"')?].to_string())
    });
    let plain = |u: &String| Path::new(u).components().all(|c| matches!(c, Component::Normal(_)));
    uris.filter(plain).find(|u| u.split('/').next() == Some(name)).map(|u| dir.join(u))
}

/// Re-measures profile `name`'s packaged audio and compares it with the `claimed` value.
fn remeasure(m: &Manifest, source: &str, name: &str, claimed: f64, f: &mut Findings) {
    let Some(playlist) = hls_audio(m, source, name) else { return };
    let what = format!("loudness.{name}.integrated");
    let measured = crate::tools::locate("ffmpeg", m.raw.tools.ffmpeg.as_deref(), &m.root)
        .map_err(|e| e.to_string())
        .and_then(|ff| crate::media::loudness::measure_file(&ff.path, &playlist));
    match measured.map(|l| l.integrated) {
        Ok(Some(i)) if (i - claimed).abs() <= REMEASURE_LU => {}
        Ok(i) => f.add(
            &playlist,
            &what,
            format!("measures {} LUFS, metadata.json claims {claimed}", i.map_or("no".into(), |i| i.to_string())),
        ),
        Err(e) => f.add(&playlist, &what, format!("cannot re-measure: {e}")),
    }
}
