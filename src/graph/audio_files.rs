//! A source's sidecar audio encodes ([`crate::audio::files`]): one `encode` step per file ×
//! audio profile, after the source's probe (the video's duration), not reading the source.

use std::collections::HashMap;

use petgraph::graph::NodeIndex;

use super::{Media, OutputLoc, Step, StepGraph, StepKind, Subject, ToolUse};
use crate::audio::files;
use crate::layout;
use crate::manifest::audio_files::AudioFile;
use crate::manifest::{Manifest, Source};

/// The sidecar rendition names of `src` for hls and dash (in package order).
pub(super) fn names(m: &Manifest, src: &Source) -> (Vec<String>, Vec<String>) {
    let (o, f) = (&m.raw.outputs, &src.opts.audio_files);
    let of = |sel| files::renditions(&m.raw, sel, f).into_iter().map(|r| r.name).collect();
    let hls = o.hls.as_ref().map(|h| of(h.audio.as_ref())).unwrap_or_default();
    let dash = o.dash.as_ref().map(|d| of(d.audio.as_ref())).unwrap_or_default();
    (hls, dash)
}

/// A package's params with what it shows of `s`'s sidecar files (language, name, default, in
/// order) when it has some: they are in the master and the MPD, and no encode key holds the
/// name or the default. Without sidecars the params (and so the keys) are unchanged.
pub(super) fn package_params(
    m: &Manifest,
    s: &str,
    mut params: std::sync::Arc<serde_json::Value>,
) -> std::sync::Arc<serde_json::Value> {
    let files = m.source(s).map(|src| src.opts.audio_files.as_slice()).unwrap_or_default();
    if !files.is_empty() {
        let shown: Vec<serde_json::Value> =
            files.iter().map(|f| serde_json::json!({"lang": f.lang, "name": f.name, "default": f.default})).collect();
        std::sync::Arc::make_mut(&mut params)["source_audio_files"] = serde_json::Value::Array(shown);
    }
    params
}

/// One encode step per sidecar rendition `names` of source `s`, into `encodes`.
pub(super) fn add<'n>(
    sg: &mut StepGraph,
    m: &Manifest,
    s: &str,
    probe: NodeIndex,
    names: &'n [String],
    encodes: &mut HashMap<&'n str, NodeIndex>,
) {
    let Some(src) = m.source(s) else { return };
    let profiles = files::profiles_in_use(&m.raw);
    for name in names {
        let of = |f: &&AudioFile| profiles.iter().find(|p| files::rendition_name(p, &f.lang) == *name);
        let Some((f, profile)) = src.opts.audio_files.iter().find_map(|f| Some((f, of(&f)?))) else { continue };
        let step = Step {
            id: format!("encode:{s}:{name}"),
            kind: StepKind::Encode,
            source: s.to_string(),
            subject: Subject::Rendition { name: name.clone(), media: Media::Audio },
            params: files::encode_params(m, profile, &f.lang).into(),
            tool: ToolUse::Ffmpeg,
            reads_source: false,
            output: OutputLoc::File(layout::encoded(m, s, name)),
            intermediate: true,
        };
        let loud = measure(sg, m, s, probe, f, profile);
        encodes.insert(name.as_str(), sg.add(step, &std::iter::once(probe).chain(loud).collect::<Vec<_>>()));
    }
}

/// The loudness measurement of file `f` a normalised `profile`'s encode reads (added once per
/// file and channel count; None without `loudness`).
fn measure(
    sg: &mut StepGraph,
    m: &Manifest,
    s: &str,
    probe: NodeIndex,
    f: &AudioFile,
    profile: &str,
) -> Option<NodeIndex> {
    let p = m.raw.profiles.audio.get(profile).filter(|p| p.loudness.is_some())?;
    let (name, params) = files::measurement(&f.lang, p.channels);
    let id = format!("loudness:{s}:{name}");
    if let Some(n) = sg.by_id.get(&id) {
        return Some(*n);
    }
    let step = Step {
        id,
        kind: StepKind::Loudness,
        source: s.to_string(),
        subject: Subject::Rendition { name: name.clone(), media: Media::Audio },
        params: params.into(),
        tool: ToolUse::Ffmpeg,
        reads_source: false,
        output: OutputLoc::File(layout::loudness(m, s, &name)),
        intermediate: true,
    };
    Some(sg.add(step, &[probe]))
}
