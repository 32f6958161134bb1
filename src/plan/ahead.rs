//! Work done ahead of the scheduler, on all cores: each selected step's output check, and its
//! evaluation made with its dependencies' recorded outputs (a guess at what the scheduler will
//! find when they settle). When little changed, nearly every guess holds: the scheduler then
//! only confirms that each dependency settled with exactly those outputs (the record's own
//! shared list, not an equal copy) instead of evaluating the step again on one core.
//!
//! A guess holds its dependencies' lists, so none of them is freed and reused while it waits.
//! A dependency that runs, or whose stat cache is refreshed, settles with a new list: the
//! guess is then dropped and the step is evaluated as usual (its output check done again).

use std::sync::{Arc, Mutex};

use petgraph::graph::NodeIndex;
use rayon::prelude::*;

use super::{Checked, Context, Evaluation, Upstream, check_outputs};
use crate::state::{OutputFile, State};
use crate::step::OutputLoc;

/// What was found ahead for one step; each part is taken by its first evaluation.
#[derive(Default)]
pub struct Ahead {
    checked: Option<Checked>,
    guess: Option<Guess>,
}

/// An evaluation made with these outputs of the step's dependencies.
struct Guess {
    deps: Vec<(NodeIndex, Arc<Vec<OutputFile>>)>,
    ev: Evaluation,
}

impl Context<'_> {
    /// Checks the recorded local outputs of every selected step in parallel (a stat each, a
    /// hash when the stat cache misses), and evaluates it with its dependencies' recorded
    /// outputs, before the steps are evaluated one by one in dependency order. A step's outputs
    /// are written only by its own job, which starts after its evaluation, so the check is the
    /// one that evaluation would make. Steps published to a backend are left to the scheduler.
    pub fn check_outputs_ahead(&self, state: &State, selected: &[bool]) {
        let nodes: Vec<NodeIndex> = self.sg.g.node_indices().collect();
        let found = nodes.par_iter().map(|&n| Mutex::new(self.ahead_of(state, selected, n))).collect();
        let _ = self.ahead.set(found);
    }

    fn ahead_of(&self, state: &State, selected: &[bool], n: NodeIndex) -> Ahead {
        let step = &self.sg.g[n];
        let rec = state.data.steps.get(&step.id).filter(|_| selected.get(n.index()) == Some(&true));
        let Some(rec) = rec.filter(|_| !matches!(step.output, OutputLoc::Remote { .. })) else {
            return Ahead::default();
        };
        let mut restat = Vec::new();
        let checked = (check_outputs(&self.m.root, &step.output, &rec.outputs, &mut restat), restat);
        let recorded = |d: NodeIndex| state.data.steps.get(&self.sg.g[d].id).map(|r| (d, r.outputs.clone()));
        let Some(deps) = self.sg.deps(n).into_iter().map(recorded).collect::<Option<Vec<_>>>() else {
            return Ahead { checked: Some(checked), guess: None };
        };
        let upstream =
            |d: NodeIndex| deps.iter().find(|(e, _)| *e == d).map_or(Upstream::Pending, |(_, o)| Upstream::Done(o));
        let mut ev = self.evaluate_checked(state, n, upstream, || Some(checked));
        if ev.stale.is_none() && ev.absent.is_none() {
            // A fresh step's inputs are not needed again (only a job records them).
            ev.inputs = Vec::new();
        }
        Ahead { checked: None, guess: Some(Guess { deps, ev }) }
    }

    /// The output check of `n` done ahead, if any (taken: a second evaluation checks again).
    pub(super) fn checked_ahead(&self, n: NodeIndex) -> Option<Checked> {
        self.ahead.get()?.get(n.index())?.lock().ok()?.checked.take()
    }

    /// The evaluation of `n` made ahead, when each dependency settled with the very outputs it
    /// assumed (taken: a second evaluation is made afresh). A fresh guess has no inputs: it is
    /// for judging, not for a job (see `--force`).
    pub fn guessed<'u>(&self, n: NodeIndex, upstream: &dyn Fn(NodeIndex) -> Upstream<'u>) -> Option<Evaluation> {
        let guess = self.ahead.get()?.get(n.index())?.lock().ok()?.guess.take()?;
        let held = |(d, o): &(NodeIndex, Arc<Vec<OutputFile>>)| match upstream(*d) {
            Upstream::Done(u) => std::ptr::eq(u, o.as_slice()),
            Upstream::Pending => false,
        };
        guess.deps.iter().all(held).then_some(guess.ev)
    }
}
