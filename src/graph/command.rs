//! The command steps of one source (`command:SOURCE:NAME`), in the order they read each other
//! ([`crate::manifest::steps::order`]), after the built-in steps they read. A step that
//! reads an encode the ladder does not build for this source (or a command step that is
//! therefore absent) is not built for it.

use std::collections::HashMap;

use petgraph::graph::NodeIndex;

use super::{OutputLoc, Step, StepGraph, StepKind, Subject, ToolUse};
use crate::kinds::command;
use crate::manifest::Manifest;
use crate::manifest::steps::{self, InputRef};
use crate::manifest::template::Piece;

/// The built-in steps of one source that command steps can read.
pub(crate) struct Upstream<'a> {
    pub probe: NodeIndex,
    pub encodes: &'a HashMap<&'a str, NodeIndex>,
    pub audio_only: Option<NodeIndex>,
}

/// Adds the source's command steps; returns the deliverable ones (they are published and
/// listed in metadata.json).
pub(crate) fn add(sg: &mut StepGraph, m: &Manifest, source: &str, up: &Upstream) -> Vec<NodeIndex> {
    let mut added: HashMap<&str, NodeIndex> = HashMap::new();
    let mut deliverables = Vec::new();
    for name in steps::order(&m.raw) {
        let spec = &m.raw.steps[name];
        let mut deps = vec![up.probe];
        let mut reads_source = false;
        let mut complete = true;
        for piece in steps::pieces(spec).into_iter().flatten() {
            let dep = match piece {
                Piece::Source => {
                    reads_source = true;
                    continue;
                }
                Piece::Input(n) => match steps::input_ref(&m.raw, &n) {
                    Some(InputRef::AudioOnly) => up.audio_only,
                    Some(InputRef::Encode(p)) => up.encodes.get(p).copied(),
                    Some(InputRef::Step { name, .. }) => added.get(name).copied(),
                    None => None,
                },
                _ => continue,
            };
            match dep {
                Some(d) if !deps.contains(&d) => deps.push(d),
                Some(_) => {}
                None => complete = false,
            }
        }
        if !complete {
            continue;
        }
        let step = Step {
            id: format!("command:{source}:{name}"),
            kind: StepKind::Command,
            source: source.to_string(),
            subject: Subject::Command { name: name.to_string(), audio: steps::reads_audio(&m.raw, name) },
            params: command::params(spec).into(),
            tool: ToolUse::Command,
            reads_source,
            output: OutputLoc::Dir(command::folder(m, source, name)),
            intermediate: !command::delivers(spec),
        };
        let n = sg.add(step, &deps);
        added.insert(name, n);
        if command::delivers(spec) {
            deliverables.push(n);
        }
    }
    deliverables
}
