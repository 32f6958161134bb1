//! `metadata`: `metadata.json` describing the source (from probe.json) and every output file
//! of its other deliverables (path, size, BLAKE3), and with normalised audio profiles the
//! measured loudness of each (`loudness`, from `loudness_out` steps). Params: the format version. Inputs:
//! probe.json and those files. Built in memory by vodbuild (no tool).

use petgraph::graph::NodeIndex;
use serde_json::{Value, json};

use crate::job::Action;
use crate::job::ctx::Builder;
use crate::layout::output_path;
use crate::media::probe::ProbeFile;
use crate::state::OutputFile;
use crate::step::StepKind;

/// 2: `source.has_audio`.
pub const RECIPE: u32 = 2;

pub fn params() -> Value {
    json!({"format": 1})
}

pub(crate) fn action<'o>(
    b: &Builder,
    probe: &ProbeFile,
    outputs_of: &impl Fn(NodeIndex) -> &'o [OutputFile],
) -> Action {
    let (sg, src) = (b.ctx.sg, b.src);
    let base = crate::layout::out(b.ctx.m, &src.id);
    let (mut files, mut loudness) = (Vec::new(), serde_json::Map::new());
    for d in sg.deps(b.nodes[0]) {
        let dep = &sg.g[d];
        if dep.kind == StepKind::Probe {
            continue;
        }
        // A source without audio skips it (crate::skip): no outputs, no entry.
        if dep.kind == StepKind::Loudness && !outputs_of(d).is_empty() {
            let name = dep.subject.name().unwrap_or_default().to_string();
            let measured =
                super::loudness::read(&crate::layout::loudness(b.ctx.m, &src.id, &super::loudness::output_name(&name)));
            let entry = measured.map(|l| super::loudness::metadata_entry(b.ctx.m, &name, &l));
            loudness.insert(name, entry.unwrap_or_else(|e| json!({"error": e})));
            continue;
        }
        for o in outputs_of(d) {
            let full = output_path(&dep.output, &o.path);
            let rel = full.strip_prefix(&base).unwrap_or(&full).to_string_lossy().into_owned();
            files.push(json!({"path": rel, "size": o.size, "blake3": o.digest}));
        }
    }
    let info = &probe.info;
    let mut doc = json!({
        "vodbuild": env!("CARGO_PKG_VERSION"),
        "source": {
            "id": src.id, "duration": info.duration, "video": info.video, "audio": info.audio,
            "has_audio": info.audio.is_some(),
        },
        "ffprobe": probe.ffprobe,
        "outputs": files,
    });
    // Only with normalised audio profiles (crate::kinds::loudness): other documents are unchanged.
    if !loudness.is_empty() {
        doc["loudness"] = Value::Object(loudness);
    }
    let contents = serde_json::to_string_pretty(&doc).expect("json") + "\n";
    Action::WriteFile { path: b.tmp(), contents }
}
