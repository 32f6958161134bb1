//! Recording: a step that ran is written to the state (journal, and remote state when the
//! manifest has one) as a [`StepRecord`] before its consumers start; a publish step's key is
//! marked verified (what this workspace uploaded is trusted by later runs).

use std::time::{SystemTime, UNIX_EPOCH};

use petgraph::graph::NodeIndex;

use crate::plan::{Context, Evaluation};
use crate::record::RecordedParams;
use crate::state::{OutputFile, State, StepRecord};
use crate::step::StepKind;

/// Records step `n`, evaluated as `eval`, with the outputs it made.
pub fn record(
    ctx: &Context,
    state: &mut State,
    n: NodeIndex,
    eval: &Evaluation,
    outputs: &[OutputFile],
) -> Result<(), String> {
    let step = &ctx.sg.g[n];
    let rec = StepRecord {
        key: eval.key.clone().unwrap_or_default(),
        kind: step.kind,
        recipe: crate::kinds::recipe(step.kind),
        params: RecordedParams::of(&step.params),
        tool: ctx.tool_ref(step),
        inputs: eval.inputs.clone(),
        outputs: std::sync::Arc::new(outputs.to_vec()),
        finished_unix: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    };
    let key = rec.key.clone();
    state.record_step(&step.id, rec).map_err(|e| e.to_string())?;
    if step.kind == StepKind::Publish {
        state.mark_verified(&step.id, &key);
    }
    Ok(())
}
