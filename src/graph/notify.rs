//! The notify steps of one source: one per `notify:` target, after every deliverable of
//! the source (its publish step when publishing, otherwise the local step and its verify
//! step) and the probe (for the duration it announces).

use petgraph::graph::NodeIndex;

use super::{OutputLoc, Step, StepGraph, StepKind, Subject, ToolUse};
use crate::kinds;
use crate::layout;
use crate::manifest::Manifest;

/// Adds the notify steps of `source`; `made` are its deliverables and verify steps.
pub(super) fn add(m: &Manifest, source: &str, sg: &mut StepGraph, probe: NodeIndex, made: &[NodeIndex]) {
    if m.raw.notify.is_empty() {
        return;
    }
    let mut deps = vec![probe];
    for n in made {
        match sg.by_id.get(&format!("publish_{}", sg.g[*n].id)) {
            Some(published) => deps.push(*published),
            // A published package's verify step runs before its publish step.
            None if m.raw.publish.is_some() && sg.g[*n].kind == StepKind::Verify => {}
            None => deps.push(*n),
        }
    }
    for t in &m.raw.notify {
        let step = Step {
            id: format!("notify_{}:{source}", t.name),
            kind: StepKind::Notify,
            source: source.to_string(),
            subject: Subject::Notify(t.name.clone()),
            params: kinds::notify::params(t).into(),
            tool: ToolUse::Builtin,
            reads_source: false,
            output: OutputLoc::File(layout::notify_receipt(m, source, &t.name)),
            intermediate: true,
        };
        sg.add(step, &deps);
    }
}
