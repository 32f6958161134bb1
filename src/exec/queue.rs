//! The stale jobs not started yet, in the order they were found, with the jobs that only
//! wait on the network (publish, notify: [`crate::step::StepKind::waits_on_network`]) kept apart: an
//! executor with network slots of its own starts them while its `-j` slots are busy with
//! encodes, and an executor without takes them in order with the rest.

use std::collections::VecDeque;

use petgraph::graph::NodeIndex;

use crate::dag::StepGraph;

/// Which slots an executor has free right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// A `-j` slot: takes any job.
    pub any: bool,
    /// A network slot: takes only a job that waits on the network.
    pub network: bool,
}

impl Room {
    pub fn none(&self) -> bool {
        !self.any && !self.network
    }
}

#[derive(Default)]
pub struct JobQueue {
    /// (order found, the job's steps)
    compute: VecDeque<(u64, Vec<NodeIndex>)>,
    network: VecDeque<(u64, Vec<NodeIndex>)>,
    found: u64,
}

impl JobQueue {
    /// Queues a job; it waits on the network when every step of it does.
    pub fn push(&mut self, sg: &StepGraph, group: Vec<NodeIndex>) {
        self.found += 1;
        let queue =
            if group.iter().all(|n| sg.g[*n].kind.waits_on_network()) { &mut self.network } else { &mut self.compute };
        queue.push_back((self.found, group));
    }

    /// The earliest-found job that fits `room`.
    pub fn pop(&mut self, room: Room) -> Option<Vec<NodeIndex>> {
        let compute = self.compute.front().filter(|_| room.any).map(|(seq, _)| *seq);
        let network = self.network.front().filter(|_| room.any || room.network).map(|(seq, _)| *seq);
        let queue = match (compute, network) {
            (Some(c), Some(n)) if n < c => &mut self.network,
            (Some(_), _) => &mut self.compute,
            (None, Some(_)) => &mut self.network,
            (None, None) => return None,
        };
        queue.pop_front().map(|(_, g)| g)
    }

    pub fn len(&self) -> usize {
        self.compute.len() + self.network.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use petgraph::graph::DiGraph;
    use serde_json::json;

    use super::*;
    use crate::step::{OutputLoc, Step, StepKind, Subject, ToolUse};

    /// One unconnected step of each kind.
    fn graph_of_kinds(kinds: &[StepKind]) -> (StepGraph, Vec<NodeIndex>) {
        let mut sg = StepGraph { g: DiGraph::new(), by_id: HashMap::new() };
        let nodes = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let step = Step {
                    id: format!("{}:{i}", kind.as_str()),
                    kind: *kind,
                    source: "s".into(),
                    subject: Subject::Source,
                    params: json!({}).into(),
                    tool: ToolUse::Builtin,
                    reads_source: false,
                    output: OutputLoc::File(format!("/nonexistent/{i}").into()),
                    intermediate: false,
                };
                sg.add(step, &[])
            })
            .collect();
        (sg, nodes)
    }

    const ANY: Room = Room { any: true, network: false };
    const NET: Room = Room { any: false, network: true };

    #[test]
    fn any_slot_takes_jobs_in_the_order_found_and_a_network_slot_only_network_jobs() {
        let (sg, n) = graph_of_kinds(&[StepKind::Encode, StepKind::Publish, StepKind::PackageHls, StepKind::Notify]);
        let mut q = JobQueue::default();
        for node in &n {
            q.push(&sg, vec![*node]);
        }
        assert_eq!(q.pop(NET), Some(vec![n[1]]), "a network slot skips the encode");
        assert_eq!(q.pop(ANY), Some(vec![n[0]]));
        assert_eq!(q.pop(ANY), Some(vec![n[2]]));
        assert_eq!(q.pop(Room { any: false, network: false }), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(ANY), Some(vec![n[3]]), "a -j slot takes a network job too");
        assert_eq!(q.pop(NET), None);
    }

    #[test]
    fn a_group_with_any_compute_step_needs_a_compute_slot() {
        let (sg, n) = graph_of_kinds(&[StepKind::PackageDash, StepKind::Publish]);
        let mut q = JobQueue::default();
        q.push(&sg, vec![n[0], n[1]]);
        assert_eq!(q.pop(NET), None);
        assert_eq!(q.pop(ANY), Some(vec![n[0], n[1]]));
    }
}
