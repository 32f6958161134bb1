//! The `loudness` steps of a source ([`crate::kinds::loudness`]): one measurement of the
//! source per channel count of the normalised audio profiles (after the probe, before their
//! encodes), and, with `outputs.metadata`, one measurement of each normalised encode (before
//! metadata). A manifest without `loudness` gets none, so its graph and keys are unchanged.

use std::collections::HashMap;

use petgraph::graph::NodeIndex;

use super::{Media, OutputLoc, Step, StepGraph, StepKind, Subject, ToolUse};
use crate::kinds::loudness as kind;
use crate::layout;
use crate::manifest::Manifest;

fn step(m: &Manifest, source: &str, id: String, name: String, params: serde_json::Value, file: String) -> Step {
    Step {
        id,
        kind: StepKind::Loudness,
        source: source.to_string(),
        subject: Subject::Rendition { name, media: Media::Audio },
        params: params.into(),
        tool: ToolUse::Ffmpeg,
        reads_source: false,
        output: OutputLoc::File(layout::loudness(m, source, &file)),
        intermediate: true,
    }
}

/// The source measurement an encode of rendition `name` (`PROFILE` or `PROFILE-aN`, see
/// [`crate::audio::split_name`]) reads (added once per track and channel count).
pub fn for_encode(sg: &mut StepGraph, m: &Manifest, source: &str, probe: NodeIndex, name: &str) -> Option<NodeIndex> {
    let (profile, track) = crate::audio::split_name(&m.raw, name);
    let p = m.raw.profiles.audio.get(profile).filter(|p| p.loudness.is_some())?;
    let sub = kind::source_name(track, p.channels);
    let id = format!("loudness:{source}:{sub}");
    if let Some(n) = sg.by_id.get(&id) {
        return Some(*n);
    }
    let mut s = step(m, source, id, sub.clone(), kind::source_params(track, p.channels), sub);
    s.reads_source = true;
    Some(sg.add(s, &[probe]))
}

/// The measurements of the normalised audio encodes, for metadata.json.
pub fn of_outputs(
    sg: &mut StepGraph,
    m: &Manifest,
    source: &str,
    encodes: &HashMap<&str, NodeIndex>,
) -> Vec<NodeIndex> {
    let mut names: Vec<&str> = encodes
        .keys()
        .copied()
        .filter(|n| {
            m.raw.profiles.audio.get(crate::audio::split_name(&m.raw, n).0).is_some_and(|p| p.loudness.is_some())
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let id = format!("{}:{source}:{name}", kind::OUT_PREFIX);
            let s = step(m, source, id, name.to_string(), kind::output_params(), kind::output_name(name));
            sg.add(s, &[encodes[name]])
        })
        .collect()
}
