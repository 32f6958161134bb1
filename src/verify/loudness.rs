//! Loudness in `metadata.json` (see [`crate::kinds::loudness`]): for every normalised audio
//! profile a package uses, the source's metadata must hold its entry, with the manifest's
//! target, and a normalised output's integrated loudness within
//! [`TOLERANCE_LU`](crate::manifest::loudness::TOLERANCE_LU) of it; a skipped normalisation
//! (silent source) has no integrated value. Cheap: it reads metadata.json only.

use serde_json::Value;

use super::Findings;
use crate::manifest::Manifest;
use crate::manifest::loudness::TOLERANCE_LU;

/// The normalised audio profiles the packages use.
fn profiles(m: &Manifest) -> Vec<(&str, f64)> {
    let o = &m.raw.outputs;
    let used = o.hls.iter().filter_map(|h| h.audio.as_deref()).chain(o.dash.iter().filter_map(|d| d.audio.as_deref()));
    let mut out: Vec<(&str, f64)> = Vec::new();
    for name in used {
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
    for (name, target) in loud {
        let e = &doc["loudness"][name];
        if e.is_null() {
            f.add(&path, &format!("loudness.{name}"), "missing: the profile asks for loudness normalisation");
            continue;
        }
        if e["target"].as_f64() != Some(target) {
            f.add(&path, &format!("loudness.{name}.target"), format!("is {}, the manifest says {target}", e["target"]));
        }
        match (e["normalized"].as_bool(), e["integrated"].as_f64()) {
            (Some(true), Some(i)) if (i - target).abs() <= TOLERANCE_LU => {}
            (Some(true), Some(i)) => f.add(
                &path,
                &format!("loudness.{name}.integrated"),
                format!("{i} LUFS is more than {TOLERANCE_LU} LU from the target {target}"),
            ),
            (Some(false), None) => {}
            _ => f.add(
                &path,
                &format!("loudness.{name}"),
                format!("inconsistent: normalized {} with integrated {}", e["normalized"], e["integrated"]),
            ),
        }
    }
}
