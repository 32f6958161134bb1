//! The workspace side of a build ([`Work`] for [`super::builder::Builder`]): freshness from
//! the state and the files ([`Context::evaluate`], with `--force` and the steps that do not
//! apply to their source, [`crate::skip`]), the job of a group of steps ([`job::build`]),
//! and recording ([`recorder`]). A fresh step refreshes its outputs' stat cache, and a
//! publish step found in its backend is marked verified.

use petgraph::graph::NodeIndex;

use super::builder::Work;
use super::job::{self, JobCtx};
use super::recorder;
use super::scheduler::{Judge, Verdict};
use crate::job::JobSpec;
use crate::plan::{Context, Evaluation, Reason, Upstream};
use crate::state::{OutputFile, State};

pub struct StateWork<'a, 'c> {
    pub ctx: &'a Context<'c>,
    pub state: &'a mut State,
    pub force: bool,
    pub jctx: JobCtx<'a>,
}

impl Judge for StateWork<'_, '_> {
    fn judge<'u>(&mut self, n: NodeIndex, upstream: &dyn Fn(NodeIndex) -> Upstream<'u>) -> Verdict {
        // Judged ahead on all cores when the dependencies are as recorded; `--force` needs
        // the inputs, which a fresh guess does not keep.
        let guess = if self.force { None } else { self.ctx.guessed(n, upstream) };
        let ev = guess.unwrap_or_else(|| self.ctx.evaluate(self.state, n, upstream));
        let step = &self.ctx.sg.g[n];
        let reason = if self.force { Some(Reason::Forced) } else { ev.stale.clone() };
        if let Some(reason) = reason {
            return match crate::skip::reason(self.ctx.m, step) {
                Some(why) => Verdict::Skip(why),
                None => Verdict::Stale { reason, eval: ev },
            };
        }
        tracing::debug!(step = %step.id, "fresh");
        self.state.refresh_output_stats(&step.id, &ev.restat);
        if let (true, Some(key)) = (ev.remote_seen, &ev.key) {
            self.state.mark_verified(&step.id, key);
        }
        let outputs = self.state.data.steps[&step.id].outputs.clone();
        match ev.absent.clone() {
            Some(reason) => Verdict::Absent { outputs, reason, eval: ev },
            None => Verdict::Fresh(outputs),
        }
    }
}

impl Work for StateWork<'_, '_> {
    fn job<'o>(
        &mut self,
        group: &[NodeIndex],
        outputs_of: &dyn Fn(NodeIndex) -> &'o [OutputFile],
    ) -> Result<JobSpec, String> {
        let previous = self.state.data.steps.get(&self.ctx.sg.g[group[0]].id);
        job::build(&self.jctx, group, outputs_of, previous)
    }

    fn record(&mut self, n: NodeIndex, eval: &Evaluation, outputs: &[OutputFile]) -> Result<(), String> {
        recorder::record(self.ctx, self.state, n, eval, outputs)
    }
}
