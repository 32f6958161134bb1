//! One home per step kind. Each module defines its kind: its parameters (the canonical JSON
//! that enters the key), its recipe version, what it reads and writes (see [`crate::layout`]),
//! how its job is built, what post-processing the job does and what its outputs must be.
//! This module registers them: every match below is exhaustive over
//! [`StepKind`], so a new kind that is not wired in everywhere does not compile.
//! The graph ([`crate::graph`]) adds the steps of each kind per source.

pub mod audio_only;
pub mod command;
pub mod dash;
pub mod encode;
pub mod hls;
pub mod loudness;
pub mod metadata;
pub mod notify;
pub mod probe;
pub mod publish;
pub mod storyboard;
pub mod subtitle;
pub mod subtitle_dash;
pub mod subtitle_embedded;
pub mod subtitle_hls;
pub mod thumbnails;
pub mod verify;

use petgraph::graph::NodeIndex;

use crate::dag::StepGraph;
use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::promise::{Durations, Promise};
use crate::manifest::Manifest;
use crate::media::probe::ProbeFile;
use crate::state::OutputFile;
use crate::step::{Step, StepKind, Subject};

/// How vodbuild performs each kind: a kind's `RECIPE` is bumped when its commands or
/// post-processing change, so exactly its steps re-run after an upgrade.
pub fn recipe(kind: StepKind) -> u32 {
    match kind {
        StepKind::Probe => probe::RECIPE,
        StepKind::Encode => encode::RECIPE,
        StepKind::PackageHls => hls::RECIPE,
        StepKind::PackageDash => dash::RECIPE,
        StepKind::Thumbnails => thumbnails::RECIPE,
        StepKind::AudioOnly => audio_only::RECIPE,
        StepKind::Metadata => metadata::RECIPE,
        StepKind::Publish => publish::RECIPE,
        StepKind::Verify => verify::RECIPE,
        StepKind::Command => command::RECIPE,
        StepKind::Notify => notify::RECIPE,
        StepKind::Loudness => loudness::RECIPE,
        StepKind::Storyboard => storyboard::RECIPE,
        StepKind::Subtitle => subtitle::RECIPE,
    }
}

/// The manifest setting a step's parameters come from (named in "params changed" reasons).
pub fn setting(step: &Step) -> String {
    match (step.kind, &step.subject) {
        (StepKind::Encode, Subject::Rendition { name, .. }) => format!("profile {name}"),
        (StepKind::PackageHls, _) => "outputs.hls".into(),
        (StepKind::PackageDash, _) => "outputs.dash".into(),
        (StepKind::Thumbnails, _) => "outputs.thumbnails".into(),
        (StepKind::AudioOnly, _) => "outputs.audio_only".into(),
        (StepKind::Storyboard, _) => "outputs.storyboard".into(),
        (StepKind::Command, _) => format!("steps.{}", command::name(step)),
        (StepKind::Notify, s) => format!("notify {}", s.name().unwrap_or_default()),
        (StepKind::Loudness, s) => format!("loudness {}", s.name().unwrap_or_default()),
        (StepKind::Subtitle, s) => format!("subtitles {}", s.name().unwrap_or_default()),
        (k @ (StepKind::Probe | StepKind::Encode | StepKind::Metadata | StepKind::Publish | StepKind::Verify), _) => {
            k.as_str().to_string()
        }
    }
}

/// Whether a kind's steps read the source file (its digest is then one of their inputs).
pub fn reads_source(kind: StepKind) -> bool {
    match kind {
        StepKind::Probe | StepKind::Encode | StepKind::Thumbnails | StepKind::AudioOnly => true,
        // Per step: the source's measurement reads it, an encode's does not (graph::loudness).
        StepKind::Loudness => true,
        StepKind::Storyboard => true,
        StepKind::PackageHls
        | StepKind::PackageDash
        | StepKind::Metadata
        | StepKind::Publish
        | StepKind::Verify
        | StepKind::Notify
        | StepKind::Subtitle
        // Per step: when its template names `{source}` (see graph::command).
        | StepKind::Command => false,
    }
}

/// Whether a kind writes a folder (written whole, then swapped into place) or one file.
pub fn writes_folder(kind: StepKind) -> bool {
    match kind {
        StepKind::PackageHls | StepKind::PackageDash | StepKind::Thumbnails | StepKind::AudioOnly => true,
        StepKind::Command | StepKind::Storyboard => true,
        StepKind::Probe | StepKind::Encode | StepKind::Metadata | StepKind::Publish | StepKind::Verify => false,
        StepKind::Notify | StepKind::Loudness | StepKind::Subtitle => false,
    }
}

/// The action of a job of `b`'s steps (all of one kind), and its label. Probe and publish
/// jobs are built without a probe report ([`probe::action`], [`publish::job`]).
pub(crate) fn action<'o>(
    b: &Builder,
    probe: &ProbeFile,
    outputs_of: &impl Fn(NodeIndex) -> &'o [OutputFile],
) -> Result<(Action, String), String> {
    let first = b.first();
    let action = match first.kind {
        StepKind::Probe | StepKind::Publish => unreachable!("built without a probe report"),
        // Sidecar conversions are built without one too (crate::exec::job::build).
        StepKind::Subtitle => subtitle_embedded::action(b, probe)?,
        StepKind::Encode => return encode::action(b, probe),
        StepKind::PackageHls => hls::action(b, probe)?,
        StepKind::PackageDash => dash::action(b, probe)?,
        StepKind::Thumbnails => thumbnails::action(b, probe)?,
        StepKind::AudioOnly => audio_only::action(b, probe)?,
        StepKind::Verify => verify::action(b, probe),
        StepKind::Metadata => metadata::action(b, probe, outputs_of),
        StepKind::Command => command::action(b)?,
        StepKind::Notify => notify::action(b, probe, outputs_of)?,
        StepKind::Loudness => loudness::action(b, probe)?,
        StepKind::Storyboard => storyboard::action(b, probe)?,
    };
    Ok((action, first.id.clone()))
}

/// What step `n`'s output must be (see [`crate::exec::check`]).
pub fn promise(m: &Manifest, sg: &StepGraph, n: NodeIndex, has_audio: bool, durations: Durations) -> Promise {
    match sg.g[n].kind {
        StepKind::Probe | StepKind::Metadata | StepKind::Verify => Promise::Json,
        StepKind::Encode => loudness::promise(m, &sg.g[n]).unwrap_or_else(|| encode::promise(&sg.g[n])),
        StepKind::PackageHls => hls::promise(sg, n, has_audio),
        StepKind::PackageDash => dash::promise(sg, n, has_audio),
        StepKind::Thumbnails => thumbnails::promise(m, durations),
        StepKind::AudioOnly => Promise::AudioOnly,
        StepKind::Publish => Promise::Nothing,
        StepKind::Command => command::promise(m, &sg.g[n]),
        StepKind::Notify | StepKind::Loudness => Promise::Json,
        StepKind::Storyboard => storyboard::promise(m),
        StepKind::Subtitle => Promise::Subtitle,
    }
}

/// The video and audio encodes a package step reads (one variant or representation each;
/// no audio for a source without audio, see [`crate::skip`]).
fn packaged(sg: &StepGraph, n: NodeIndex, has_audio: bool) -> (usize, usize) {
    let media: Vec<crate::step::Media> = sg
        .deps(n)
        .into_iter()
        .filter_map(|d| match &sg.g[d].subject {
            crate::step::Subject::Rendition { media, .. } => Some(*media),
            _ => None,
        })
        .collect();
    let video = media.iter().filter(|m| **m == crate::step::Media::Video).count();
    // Sidecar audio files' encodes run for a silent source too (crate::audio::files).
    let sidecars = sg.deps(n).into_iter().filter(|d| crate::audio::files::lang_of(&sg.g[*d]).is_some()).count();
    (video, if has_audio { media.len() - video } else { sidecars })
}

/// A manifest value as canonical JSON (a step's parameters).
pub(crate) fn params_of(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(v).expect("manifest values serialize")
}
