//! `vodbuild verify`: checks every package a manifest produces against the files themselves.
//! One [`Problem`] per finding, naming the file and the attribute.
//!
//! HLS: every referenced playlist, init segment and segment exists; CODECS and RESOLUTION
//! match the init segments; BANDWIDTH ≥ the measured peak segment bitrate and
//! AVERAGE-BANDWIDTH within [`AVERAGE_TOLERANCE`] of the measured average; EXTINF ≤
//! TARGETDURATION; every video rendition cuts segments at the same instants; the total
//! duration matches the source. DASH: the MPD parses; every representation's init and media
//! segments exist; `codecs`, `width`, `height` match the init segments; boundaries line up;
//! the duration matches the source. Both: every video rendition shows the source's displayed
//! aspect ([`geometry`]). Loudness claimed in metadata.json matches the manifest's targets
//! ([`loudness`]). Empty (0-byte) segments and init segments,
//! and an MPD with no representations, are reported as such. Subtitle groups, WebVTT
//! segments and text AdaptationSets: [`subtitles`].

mod clear_tracks;
mod dash;
mod encryption;
pub mod geometry;
mod hls;
mod iframes;
mod loudness;
pub mod storyboard;
mod subtitles;
mod ts;

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::manifest::Manifest;
use crate::media::probe::ProbeFile;
use crate::step::PackageKind;

/// AVERAGE-BANDWIDTH may differ from the measured average by this fraction.
pub const AVERAGE_TOLERANCE: f64 = 0.05;
/// Segment boundaries of two renditions may differ by this many seconds.
pub const ALIGN_TOLERANCE: f64 = 0.05;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    pub file: String,
    pub attribute: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.attribute, self.message)
    }
}

/// Collects problems; paths are shown relative to a base folder.
pub struct Findings<'a> {
    base: &'a Path,
    pub problems: Vec<Problem>,
}

impl<'a> Findings<'a> {
    pub fn new(base: &'a Path) -> Self {
        Findings { base, problems: Vec::new() }
    }

    pub fn add(&mut self, file: &Path, attribute: &str, message: impl Into<String>) {
        let shown = file.strip_prefix(self.base).unwrap_or(file).display().to_string();
        self.problems.push(Problem { file: shown, attribute: attribute.into(), message: message.into() });
    }
}

/// Whether `p` is a file of 0 bytes (a write that hit a full disk, for instance).
fn is_empty(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == 0)
}

/// Tolerance for "the duration matches the source".
pub fn duration_tolerance(source: f64) -> f64 {
    (source * 0.02).max(0.5)
}

/// Verifies the packages of every source; returns (packages checked, problems).
pub fn verify(m: &Manifest) -> (usize, Vec<Problem>) {
    let mut f = Findings::new(&m.root);
    let mut checked = 0;
    for src in &m.sources {
        let probe = std::fs::read(crate::layout::probe(m, &src.id))
            .ok()
            .and_then(|b| serde_json::from_slice::<ProbeFile>(&b).ok());
        let duration = probe.as_ref().map(|p| p.info.duration);
        let aspect = probe.as_ref().and_then(|p| p.info.video.as_ref()).map(|v| v.display_aspect());
        let packages = [
            m.raw.outputs.hls.as_ref().map(|_| PackageKind::Hls),
            m.raw.outputs.dash.as_ref().map(|_| PackageKind::Dash),
        ];
        for package in packages.into_iter().flatten() {
            let path = crate::layout::entry(m, &src.id, package);
            checked += 1;
            check_package(package, &path, duration, &mut f);
            check_encryption(m, package, &path, &mut f);
            if let Some(a) = aspect {
                geometry::check(package, &path, a, &mut f);
            }
        }
        loudness::check(m, &src.id, &mut f);
        checked += storyboard::verify_source(m, &src.id, aspect, &mut f);
    }
    (checked, f.problems)
}

/// Checks one package, read from its master playlist or MPD at `path`.
pub fn check_package(package: PackageKind, path: &Path, source_duration: Option<f64>, f: &mut Findings) {
    match package {
        PackageKind::Hls => {
            hls::check(path, source_duration, f);
            iframes::check(path, f);
        }
        PackageKind::Dash => {
            dash::check(path, source_duration, f);
            storyboard::check_mpd(path, f);
            subtitles::check_dash(path, f);
        }
    }
}

/// An encrypted output's key tags and segments ([`encryption`]); AES-128 segments are
/// decrypted with the key when it can be loaded here.
fn check_encryption(m: &Manifest, package: PackageKind, path: &Path, f: &mut Findings) {
    let e = match package {
        PackageKind::Hls => m.raw.outputs.hls.as_ref().and_then(|h| h.encryption.as_ref()),
        PackageKind::Dash => m.raw.outputs.dash.as_ref().and_then(|d| d.encryption.as_ref()),
    };
    let Some(e) = e else { return };
    let key = crate::crypt::job::CryptJob::new(e, &m.root).load().ok().map(|(k, _)| k);
    let tool = |name: &str, configured: &Option<String>| {
        crate::tools::locate(name, configured.as_deref(), &m.root).ok().map(|t| t.path)
    };
    let dec = match (&key, e.key_id.as_deref().and_then(|k| crate::crypt::keys::parse_key_id(k).ok())) {
        (Some(key), Some(key_id)) => tool("packager", &m.raw.tools.packager)
            .zip(tool("ffmpeg", &m.raw.tools.ffmpeg))
            .map(|(packager, ffmpeg)| crate::crypt::decrypt::Decrypter { packager, ffmpeg, key_id, key }),
        _ => None,
    };
    match package {
        PackageKind::Hls => encryption::check_hls(e, path, key.as_ref(), dec.as_ref(), f),
        PackageKind::Dash => encryption::check_dash(e, path, dec.as_ref(), f),
    }
}

/// Compares two renditions' segment boundary lists.
pub fn check_alignment(
    f: &mut Findings,
    file: &Path,
    what: &str,
    reference: &(String, Vec<f64>),
    other: &(String, Vec<f64>),
) {
    let (rname, r) = reference;
    let (oname, o) = other;
    if r.len() != o.len() {
        f.add(
            file,
            what,
            format!("{oname} has {} segments, {rname} has {}: segment boundaries do not line up", o.len(), r.len()),
        );
        return;
    }
    if let Some((i, (a, b))) = r.iter().zip(o).enumerate().find(|(_, (a, b))| (*a - *b).abs() > ALIGN_TOLERANCE) {
        f.add(
            file,
            what,
            format!(
                "segment {i} of {oname} starts at {b:.3}s but at {a:.3}s in {rname}: segment boundaries are misaligned"
            ),
        );
    }
}
