//! The step DAG as data (petgraph): steps are nodes, edges point from a dependency to its
//! dependent; queries in dependency order. Built by [`crate::graph`]; read by the kinds, the
//! plan and execution. Imports no kind or graph building.

use std::collections::HashMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::shard::Shard;
use crate::step::Step;

pub struct StepGraph {
    pub g: DiGraph<Step, ()>,
    pub by_id: HashMap<String, NodeIndex>,
}

impl StepGraph {
    pub(crate) fn add(&mut self, step: Step, deps: &[NodeIndex]) -> NodeIndex {
        let id = step.id.clone();
        let n = self.g.add_node(step);
        for d in deps {
            self.g.add_edge(*d, n, ());
        }
        self.by_id.insert(id, n);
        n
    }

    /// Dependencies of a step, in a stable order (by step id).
    pub fn deps(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut d: Vec<NodeIndex> = self.g.neighbors_directed(n, Direction::Incoming).collect();
        d.sort_by(|a, b| self.g[*a].id.cmp(&self.g[*b].id));
        d
    }

    pub fn dependents(&self, n: NodeIndex) -> Vec<NodeIndex> {
        self.g.neighbors_directed(n, Direction::Outgoing).collect()
    }

    /// Steps in dependency order (the graph is acyclic by construction).
    pub fn topo(&self) -> Vec<NodeIndex> {
        petgraph::algo::toposort(&self.g, None).expect("step graph is acyclic")
    }

    /// The steps matching `selector` (a glob over step ids and source ids), plus everything
    /// they depend on. None selects all.
    pub fn select(&self, selector: Option<&str>) -> Result<Vec<bool>, String> {
        let Some(sel) = selector else {
            return Ok(vec![true; self.g.node_count()]);
        };
        let pat = glob::Pattern::new(sel).map_err(|e| format!("invalid --only pattern `{sel}`: {e}"))?;
        let mut keep = vec![false; self.g.node_count()];
        let mut stack: Vec<NodeIndex> = self
            .g
            .node_indices()
            .filter(|n| {
                let s = &self.g[*n];
                pat.matches(&s.id) || pat.matches(&s.source)
            })
            .collect();
        if stack.is_empty() {
            return Err(format!("--only `{sel}` matches no step or source"));
        }
        while let Some(n) = stack.pop() {
            if !keep[n.index()] {
                keep[n.index()] = true;
                stack.extend(self.g.neighbors_directed(n, Direction::Incoming));
            }
        }
        Ok(keep)
    }

    /// [`select`](Self::select), then only the steps of `shard`'s sources (and what they
    /// depend on). A shard may hold no source: then nothing is selected.
    pub fn select_in(&self, selector: Option<&str>, shard: Option<Shard>) -> Result<Vec<bool>, String> {
        let keep = self.select(selector)?;
        let Some(shard) = shard else {
            return Ok(keep);
        };
        let mut out = vec![false; keep.len()];
        let mut stack: Vec<NodeIndex> =
            self.g.node_indices().filter(|n| keep[n.index()] && shard.contains(&self.g[*n].source)).collect();
        while let Some(n) = stack.pop() {
            if !out[n.index()] {
                out[n.index()] = true;
                stack.extend(self.g.neighbors_directed(n, Direction::Incoming));
            }
        }
        Ok(out)
    }
}
