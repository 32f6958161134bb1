//! `probe`: ffprobe's stream facts, then a packet read that measures how much media the
//! source really holds ([`crate::exec::probe_source`]), written to `probe.json`.
//! Params: `{}`, or `{"source_checks": "lenient"}`. Inputs: the source. Tool: ffprobe.

use serde_json::{Value, json};

use crate::job::Action;
use crate::job::ctx::Builder;
use crate::manifest::Manifest;
use crate::manifest::model::SourceChecks;

/// 2: packet read measures the real duration (truncated sources); rotation, field order,
/// audio tracks in probe.json.
pub const RECIPE: u32 = 2;

/// Empty, or the lenient source check (which changes what it accepts).
pub fn params(m: &Manifest, source: &str) -> Value {
    match m.source(source).map(|s| s.opts.checks) {
        Some(SourceChecks::Lenient) => json!({"source_checks": "lenient"}),
        _ => json!({}),
    }
}

pub(crate) fn action(b: &Builder) -> Action {
    let src = b.src;
    Action::Probe { source: b.port(&src.path), source_id: src.id.clone(), out: b.tmp(), checks: src.opts.checks }
}
