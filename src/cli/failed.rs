//! The failed list on the command line ([`crate::state::failed`]): kept after each `run`,
//! shown by `status --failed`, and `--only failed` selects exactly its steps (with what they
//! depend on, judged fresh or not as always).

use std::fmt::Write;
use std::path::Path;

use crate::dag::StepGraph;
use crate::exec::{RunReport, Status};
use crate::shard::Shard;
use crate::state::failed::{self, FailedList, FailedStep};
use crate::term;

/// The `--only` value that selects the last run's failed steps.
pub const FAILED: &str = "failed";

/// Keeps the run's failed steps as the last run's failed list.
pub fn record(state_dir: &Path, report: &RunReport) -> Result<(), String> {
    let steps = report.steps.iter().filter(|s| s.status == Status::Failed).map(|s| FailedStep {
        id: s.id.clone(),
        kind: s.kind.to_string(),
        source: s.source.clone(),
        error: s.error.clone().unwrap_or_default(),
        attempts: s.attempts.max(1),
    });
    failed::save(state_dir, &FailedList::new(steps))
}

/// `--only` and `--shard` as [`StepGraph::select_in`], with `--only failed` selecting the
/// failed list's steps that the graph still has (none when the last run had no failure).
pub fn select_in(
    sg: &StepGraph,
    state_dir: &Path,
    only: Option<&str>,
    shard: Option<Shard>,
) -> Result<Vec<bool>, String> {
    if only != Some(FAILED) {
        return sg.select_in(only, shard);
    }
    let list = failed::load(state_dir)?;
    let mut keep = vec![false; sg.g.node_count()];
    let mut stack: Vec<_> = list.steps.iter().filter_map(|s| sg.by_id.get(&s.id).copied()).collect();
    while let Some(n) = stack.pop() {
        if !keep[n.index()] {
            keep[n.index()] = true;
            stack.extend(sg.deps(n));
        }
    }
    if shard.is_some() {
        let in_shard = sg.select_in(None, shard)?;
        keep.iter_mut().zip(in_shard).for_each(|(k, s)| *k &= s);
    }
    Ok(keep)
}

/// `status --failed`: the last run's failed steps, their attempts and the end of their error.
pub fn show(state_dir: &Path, json: bool) -> Result<(), String> {
    let list = failed::load(state_dir)?;
    if json {
        term::outln(&serde_json::to_string_pretty(&list).expect("json"));
        return Ok(());
    }
    let mut out = String::new();
    for s in &list.steps {
        let _ = writeln!(out, "{} ({} of {}, {} attempt{}):", s.id, s.kind, s.source, s.attempts, plural(s.attempts));
        let tail: Vec<&str> = s.error.lines().collect();
        for line in &tail[tail.len().saturating_sub(10)..] {
            let _ = writeln!(out, "    {line}");
        }
    }
    if list.more > 0 {
        let _ = writeln!(out, "... and {} more", list.more);
    }
    let n = list.steps.len() + list.more;
    let _ = writeln!(
        out,
        "{n} failed step{} in the last run; `vodbuild run FILE --only failed` re-runs them",
        plural(n as u32)
    );
    term::out(&out);
    Ok(())
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}
