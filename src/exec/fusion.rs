//! Encode fusion, the policy that turns the stale steps found together into jobs: the stale
//! video encodes of one source become one job (one ffmpeg, one decode); each audio encode is
//! a job of its own, queued after them, so a failing audio setting never fails a video; every
//! other step is a job of its own, queued first.

use std::collections::HashMap;

use petgraph::graph::NodeIndex;

use crate::dag::StepGraph;
use crate::step::StepKind;

/// The jobs for `stale` (in the order found): other steps, then fused video encodes (by
/// source, in order of first appearance), then audio encodes.
pub fn jobs(sg: &StepGraph, stale: Vec<NodeIndex>) -> Vec<Vec<NodeIndex>> {
    let mut single: Vec<Vec<NodeIndex>> = Vec::new();
    let mut video: Vec<Vec<NodeIndex>> = Vec::new();
    // source → its entry in `video` (a linear search here was quadratic in a catalog's size)
    let mut video_of: HashMap<&str, usize> = HashMap::new();
    let mut audio: Vec<Vec<NodeIndex>> = Vec::new();
    for n in stale {
        let s = &sg.g[n];
        if s.kind != StepKind::Encode {
            single.push(vec![n]);
        } else if crate::skip::needs_audio(s) {
            audio.push(vec![n]);
        } else {
            let i = *video_of.entry(&s.source).or_insert_with(|| {
                video.push(Vec::new());
                video.len() - 1
            });
            video[i].push(n);
        }
    }
    single.extend(video);
    single.extend(audio);
    single
}
