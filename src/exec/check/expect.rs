//! What the steps of a job must produce: each step kind's promise ([`crate::kinds::promise`])
//! with the source's durations from `probe.json`. Called when a job is built.

use petgraph::graph::NodeIndex;

use crate::job::ctx::JobCtx;
use crate::job::promise::{Checks, Durations, tolerance};
use crate::media::probe::ProbeFile;

/// What the steps of a job (`group`) must produce.
pub fn expectations(ctx: &JobCtx, group: &[NodeIndex]) -> Checks {
    let sg = ctx.sg;
    let source = &sg.g[group[0]].source;
    let probe = std::fs::read(crate::layout::probe(ctx.m, source))
        .ok()
        .and_then(|b| serde_json::from_slice::<ProbeFile>(&b).ok());
    let durations = probe.as_ref().map(source_durations).unwrap_or_default();
    // A source without audio is packaged without its audio encodes (see `crate::skip`).
    let has_audio = probe.as_ref().is_none_or(|p| p.info.audio.is_some());
    let expect = group
        .iter()
        .map(|n| (sg.g[*n].id.clone(), crate::kinds::promise(ctx.m, sg, *n, has_audio, durations)))
        .collect();
    Checks { durations, tolerance: tolerance(ctx.m.raw.encoding.gop_seconds), expect }
}

/// The source's video and audio durations from probe.json: the container duration, or a
/// stream's own duration when it is shorter.
fn source_durations(p: &ProbeFile) -> Durations {
    let total = p.info.duration;
    let stream = |kind: &str| {
        let streams = p.ffprobe["streams"].as_array();
        let s = streams.and_then(|v| v.iter().find(|s| s["codec_type"] == kind));
        let d = s.and_then(|s| s["duration"].as_str()).and_then(|d| d.parse::<f64>().ok());
        match d {
            Some(d) if d > 0.0 && (total <= 0.0 || d < total) => d,
            _ => total,
        }
    };
    Durations { video: stream("video"), audio: stream("audio") }
}
