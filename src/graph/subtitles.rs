//! A source's subtitle steps: one `subtitle` conversion per sidecar track (no dependency: it
//! reads only its file, keyed by digest), one for its text streams with `embedded`, read by each package, whose params then carry the
//! tracks' names and flags (see [`crate::kinds::subtitle`]).

use petgraph::graph::NodeIndex;
use serde_json::Value;

use super::{OutputLoc, Step, StepGraph, StepKind, Subject, ToolUse};
use crate::kinds::{subtitle, subtitle_embedded};
use crate::manifest::Manifest;
use crate::manifest::subtitles::SubtitleTrack;

/// The subtitle steps of source `s` (none without `outputs.subtitles`): one per sidecar,
/// and with `embedded` one for the source's text streams (after `probe`).
pub(super) fn add(sg: &mut StepGraph, m: &Manifest, s: &str, probe: NodeIndex) -> Vec<NodeIndex> {
    let Some(src) = m.source(s).filter(|_| m.raw.outputs.subtitles.is_some()) else { return Vec::new() };
    let mut steps = sidecars(sg, m, s, &src.opts.subtitles);
    if m.raw.outputs.subtitles.as_ref().is_some_and(|o| o.embedded) {
        let step = Step {
            id: format!("subtitle:{s}:{}", subtitle_embedded::ID),
            kind: StepKind::Subtitle,
            source: s.to_string(),
            subject: Subject::Subtitle(subtitle_embedded::ID.into()),
            params: subtitle_embedded::params().into(),
            tool: ToolUse::Ffmpeg,
            reads_source: true,
            output: OutputLoc::Dir(subtitle_embedded::dir(m, s)),
            intermediate: true,
        };
        steps.push(sg.add(step, &[probe]));
    }
    steps
}

fn sidecars(sg: &mut StepGraph, m: &Manifest, s: &str, tracks: &[SubtitleTrack]) -> Vec<NodeIndex> {
    tracks
        .iter()
        .map(|t| {
            let step = Step {
                id: format!("subtitle:{s}:{}", t.id()),
                kind: StepKind::Subtitle,
                source: s.to_string(),
                subject: Subject::Subtitle(t.id()),
                params: subtitle::params(t).into(),
                tool: ToolUse::Builtin,
                reads_source: false,
                output: OutputLoc::File(subtitle::converted(m, s, &t.id())),
                intermediate: true,
            };
            sg.add(step, &[])
        })
        .collect()
}

/// A package's params and deps with the source's subtitle tracks (unchanged without any).
pub(super) fn package_with(
    m: &Manifest,
    s: &str,
    mut params: std::sync::Arc<Value>,
    mut deps: Vec<NodeIndex>,
    steps: &[NodeIndex],
) -> (std::sync::Arc<Value>, Vec<NodeIndex>) {
    if let Some(src) = m.source(s).filter(|_| !steps.is_empty()) {
        std::sync::Arc::make_mut(&mut params)["subtitles"] = subtitle::package_params(&src.opts.subtitles);
        deps.extend_from_slice(steps);
    }
    (params, deps)
}
