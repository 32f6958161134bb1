//! The failed list on the command line ([`crate::state::failed`]): kept after each `run`,
//! shown by `status --failed`, and `--only @failed` selects exactly its steps (with what they
//! depend on, judged fresh or not as always). A Slurm job's cluster details (job id, node,
//! log) stay out of it: they are in the log and the run report only.

use std::collections::HashSet;
use std::fmt::Write;
use std::path::Path;

use crate::dag::StepGraph;
use crate::exec::slurm::attempt::without_cluster_details;
use crate::exec::{RunReport, Status};
use crate::shard::Shard;
use crate::state::failed::{self, FailedList, FailedStep};
use crate::term;

/// The `--only` value that selects the last run's failed steps.
pub const FAILED: &str = "@failed";

/// Keeps the run's failed steps as the failed list. A `full` run (no `--only`, no
/// `--shard`) replaces the list; a partial one keeps the entries of steps it did not run to
/// success (not selected, or held back by a failure), so their failures are not lost.
pub fn record(state_dir: &Path, report: &RunReport, full: bool) -> Result<(), String> {
    let steps: Vec<FailedStep> = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Failed)
        .map(|s| FailedStep {
            id: s.id.clone(),
            kind: s.kind.to_string(),
            source: s.source.clone(),
            error: s.error.as_deref().map(without_cluster_details).unwrap_or_default().to_string(),
            attempts: s.attempts.max(1),
        })
        .collect();
    if full {
        return failed::save(state_dir, &FailedList::new(steps));
    }
    let old = failed::load(state_dir)?;
    let ran: HashSet<&str> = report
        .steps
        .iter()
        .filter(|s| matches!(s.status, Status::Executed | Status::Fresh | Status::Failed))
        .map(|s| s.id.as_str())
        .collect();
    let kept = old.steps.into_iter().filter(|s| !ran.contains(s.id.as_str()));
    let mut list = FailedList::new(steps.into_iter().chain(kept));
    list.more += old.more;
    failed::save(state_dir, &list)
}

/// `--only` and `--shard` as [`StepGraph::select_in`], with `--only @failed` selecting the
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
        "{n} failed step{} in the last run; `vodbuild run FILE --only @failed` re-runs them",
        plural(n as u32)
    );
    term::out(&out);
    Ok(())
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::report::StepReport;

    fn step(id: &str, status: Status) -> StepReport {
        StepReport {
            id: id.into(),
            kind: "encode",
            source: "s".into(),
            status,
            reason: None,
            duration_ms: 0,
            error: (status == Status::Failed).then(|| format!("{id} broke")),
            attempts: 1,
        }
    }

    fn ids(dir: &Path) -> Vec<String> {
        failed::load(dir).unwrap().steps.into_iter().map(|s| s.id).collect()
    }

    #[test]
    fn a_partial_run_keeps_the_failures_of_steps_it_did_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let full =
            RunReport { steps: vec![step("a", Status::Failed), step("b", Status::Failed)], ..Default::default() };
        record(dir.path(), &full, true).unwrap();
        assert_eq!(ids(dir.path()), ["a", "b"]);
        // `--only a` succeeds: b's failure stays.
        let only_a = RunReport { steps: vec![step("a", Status::Executed)], ..Default::default() };
        record(dir.path(), &only_a, false).unwrap();
        assert_eq!(ids(dir.path()), ["b"]);
        // b fails again (its new error replaces the old), c is held back and new.
        let again =
            RunReport { steps: vec![step("b", Status::Failed), step("c", Status::Skipped)], ..Default::default() };
        record(dir.path(), &again, false).unwrap();
        assert_eq!(ids(dir.path()), ["b"]);
        record(dir.path(), &RunReport { steps: vec![step("b", Status::Fresh)], ..Default::default() }, false).unwrap();
        assert!(failed::load(dir.path()).unwrap().is_empty());
        // A full clean run empties it as before.
        record(dir.path(), &full, true).unwrap();
        record(dir.path(), &RunReport::default(), true).unwrap();
        assert!(failed::load(dir.path()).unwrap().is_empty());
    }
}
