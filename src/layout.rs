//! Where every step's output goes: the one place for vodbuild's path conventions.
//!
//! ```text
//! .vodbuild/MANIFEST/work/SOURCE/probe.json            probe
//! .vodbuild/MANIFEST/work/SOURCE/RENDITION.mp4         encode
//! .vodbuild/MANIFEST/work/SOURCE/verify_PACKAGE.json   verify
//! .vodbuild/MANIFEST/work/SOURCE/notify_TARGET.json    notify (the delivery's receipt)
//! .vodbuild/MANIFEST/work/SOURCE/loudness_NAME.json    loudness (a0-2ch: a source track; out_PROFILE: an encode)
//! .vodbuild/MANIFEST/work/SOURCE/subtitles/LANG.vtt    subtitle (a sidecar; embedded/K.vtt: text streams)
//! OUTPUT_DIR/SOURCE/hls/subs/LANG/, dash/subs/LANG.vtt subtitle tracks in the packages
//! OUTPUT_DIR/SOURCE/hls/master.m3u8 (+ RENDITION/…)    package_hls
//! OUTPUT_DIR/SOURCE/dash/manifest.mpd (+ segments)     package_dash
//! OUTPUT_DIR/SOURCE/thumbnails/, audio_only/           thumbnails, audio_only
//! OUTPUT_DIR/SOURCE/metadata.json                      metadata
//! OUTPUT_DIR/SOURCE/STEP/                              command step with a .vtt output
//! .vodbuild/MANIFEST/work/SOURCE/STEP/                 other command steps
//! ```

use std::path::PathBuf;

use crate::manifest::Manifest;
use crate::step::{OutputLoc, PackageKind};

/// The probe's report, in the source's work folder.
pub const PROBE: &str = "probe.json";
/// The HLS package's master playlist.
pub const MASTER: &str = "master.m3u8";
/// The DASH package's manifest.
pub const MPD: &str = "manifest.mpd";
/// The source's metadata document.
pub const METADATA: &str = "metadata.json";

/// A source's intermediates: `.vodbuild/MANIFEST/work/SOURCE`.
pub fn work(m: &Manifest, source: &str) -> PathBuf {
    m.work_dir(source)
}

/// A source's deliverables: `OUTPUT_DIR/SOURCE`.
pub fn out(m: &Manifest, source: &str) -> PathBuf {
    m.output_dir.join(source)
}

pub fn probe(m: &Manifest, source: &str) -> PathBuf {
    work(m, source).join(PROBE)
}

/// The receipt of a `notify:` target's delivery for one source.
pub fn notify_receipt(m: &Manifest, source: &str, target: &str) -> PathBuf {
    work(m, source).join(format!("notify_{target}.json"))
}

/// An encoded rendition (video or audio profile `name`).
pub fn encoded(m: &Manifest, source: &str, name: &str) -> PathBuf {
    work(m, source).join(format!("{name}.mp4"))
}

/// A loudness measurement: of a source track (`a0-2ch`) or of an audio encode (`out_PROFILE`).
pub fn loudness(m: &Manifest, source: &str, name: &str) -> PathBuf {
    work(m, source).join(format!("loudness_{name}.json"))
}

/// A package's folder (`hls`, `dash`).
pub fn package(m: &Manifest, source: &str, kind: PackageKind) -> PathBuf {
    out(m, source).join(kind.as_str())
}

/// The file a package is read from: its master playlist or MPD, inside the package folder.
pub fn entry_file(kind: PackageKind) -> &'static str {
    match kind {
        PackageKind::Hls => MASTER,
        PackageKind::Dash => MPD,
    }
}

/// A package's master playlist or MPD.
pub fn entry(m: &Manifest, source: &str, kind: PackageKind) -> PathBuf {
    package(m, source, kind).join(entry_file(kind))
}

/// The verify step's report of a package.
pub fn verify_report(m: &Manifest, source: &str, kind: PackageKind) -> PathBuf {
    work(m, source).join(format!("verify_{}.json", kind.as_str()))
}

/// A deliverable folder of the source (`thumbnails`, `audio_only`).
pub fn folder(m: &Manifest, source: &str, name: &str) -> PathBuf {
    out(m, source).join(name)
}

/// A command step's folder: a deliverable beside the packages, or an intermediate.
pub fn command(m: &Manifest, source: &str, step: &str, deliverable: bool) -> PathBuf {
    if deliverable { out(m, source).join(step) } else { work(m, source).join(step) }
}

pub fn metadata(m: &Manifest, source: &str) -> PathBuf {
    out(m, source).join(METADATA)
}

/// Where file `rel` of a step's output is (a local path, or a remote object name).
pub fn output_path(loc: &OutputLoc, rel: &str) -> std::path::PathBuf {
    match loc {
        OutputLoc::File(p) => p.clone(),
        OutputLoc::Dir(d) => d.join(rel),
        OutputLoc::Remote { remote, .. } => crate::storage::join(remote, rel).into(),
    }
}
