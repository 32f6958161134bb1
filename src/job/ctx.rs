//! What a step kind's job builder ([`crate::kinds`]) is given: the coordinator's context
//! ([`JobCtx`]) and the steps of one job (`Builder`). Below the kinds; [`crate::exec::job::build()`]
//! calls them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;

use super::JobOutput;
use super::paths::portable;
use crate::dag::StepGraph;
use crate::manifest::{Manifest, Source};
use crate::step::{Step, Subject};
use crate::tools::Toolset;

pub struct JobCtx<'a> {
    pub m: &'a Manifest,
    pub sg: &'a StepGraph,
    pub tools: &'a Toolset,
    /// Source id → content digest (the digest a job's source input must have).
    pub sources: &'a HashMap<String, String>,
    /// `--prune`: publish steps delete what their package no longer has.
    pub prune: bool,
}

/// The job's id: a digest of its step ids (names its temporaries on every machine).
pub(crate) fn job_id(steps: &[String]) -> String {
    blake3::hash(steps.join("\n").as_bytes()).to_hex()[..16].to_string()
}

/// What a step kind's job builder ([`crate::kinds`]) is given.
pub(crate) struct Builder<'a> {
    pub ctx: &'a JobCtx<'a>,
    pub nodes: &'a [NodeIndex],
    pub src: &'a Source,
    pub outputs: &'a [JobOutput],
}

impl Builder<'_> {
    pub fn first(&self) -> &Step {
        &self.ctx.sg.g[self.nodes[0]]
    }

    /// A workspace path as the job names it.
    pub fn port(&self, p: &Path) -> PathBuf {
        portable(&self.ctx.m.root, p)
    }

    /// An encoded rendition's file (the encode step's output).
    pub fn enc(&self, name: &str) -> PathBuf {
        self.port(&crate::layout::encoded(self.ctx.m, &self.src.id, name))
    }

    /// The first step's temporary output.
    pub fn tmp(&self) -> PathBuf {
        self.outputs[0].tmp.clone()
    }

    /// "source has no {what} stream".
    pub fn no(&self, what: &str) -> String {
        format!("source `{}` ({}) has no {what} stream", self.src.id, self.src.path.display())
    }
}

/// A package output's settings (`output`, canonical JSON) with the rungs built for this
/// source in place of the listed ones: the params of `package_hls` and `package_dash`.
pub fn with_built_rungs(mut output: serde_json::Value, built: &[String]) -> serde_json::Value {
    output["renditions"] = serde_json::json!(built);
    output
}

/// The rungs a package step packages (the ladder fitted to the source).
pub(crate) fn built_rungs(step: &Step) -> &[String] {
    match &step.subject {
        Subject::Package { renditions, .. } => renditions,
        _ => &[],
    }
}
