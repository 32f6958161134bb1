//! What Slurm says about this run's jobs: ONE `squeue` call per poll cycle for the whole run
//! (`--name=RUN_ID`, every state, one line per array task), parsed into [`Task`] rows; and
//! `MaxArraySize` from `scontrol show config`. Slurm's word decides only what a job without
//! a result file became (see [`super::poll`]).

use std::collections::HashMap;

/// The `squeue` arguments: this run's jobs, every state, one line per array task.
pub fn squeue_args(run_id: &str) -> Vec<String> {
    ["--array", "--noheader", "--states=all", &format!("--name={run_id}"), "--format=%i|%T|%N|%r"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A Slurm job state, as far as vodbuild cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Pending, running, completing, suspended, requeued...: wait.
    Active,
    Completed,
    /// Ended by the node or the limits (NODE_FAIL, BOOT_FAIL, TIMEOUT, OUT_OF_MEMORY,
    /// PREEMPTED): worth another attempt elsewhere.
    Retryable,
    /// FAILED, CANCELLED, DEADLINE...: the job itself failed.
    Failed,
}

impl State {
    pub fn of(name: &str) -> State {
        // `CANCELLED by 0` is how squeue writes a cancellation.
        match name.split_whitespace().next().unwrap_or("") {
            "COMPLETED" => State::Completed,
            "NODE_FAIL" | "BOOT_FAIL" | "TIMEOUT" | "OUT_OF_MEMORY" | "PREEMPTED" => State::Retryable,
            "FAILED" | "CANCELLED" | "DEADLINE" | "REVOKED" | "SPECIAL_EXIT" => State::Failed,
            _ => State::Active,
        }
    }
}

/// One job (or array task) of the run, as `squeue` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// `JOB` or `ARRAYJOB_INDEX`.
    pub id: String,
    pub state_name: String,
    pub state: State,
    pub node: String,
    pub reason: String,
}

/// `squeue --format=%i|%T|%N|%r` lines by job id; a collapsed pending range
/// (`12_[3-9%2]`) stands for each of its tasks.
pub fn parse_squeue(text: &str) -> HashMap<String, Task> {
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut f = line.split('|');
        let (Some(id), Some(state)) = (f.next(), f.next()) else { continue };
        let (node, reason) = (f.next().unwrap_or("").to_string(), f.next().unwrap_or("").to_string());
        let task = |id: String| Task {
            id,
            state_name: state.to_string(),
            state: State::of(state),
            node: node.clone(),
            reason: reason.clone(),
        };
        for id in expand(id) {
            out.insert(id.clone(), task(id));
        }
    }
    out
}

/// `12_[3-5,7%2]` → `12_3 12_4 12_5 12_7`; anything else as it is. Bounded by
/// [`super::submit::MAX_ARRAY`] ids per range.
fn expand(id: &str) -> Vec<String> {
    let Some((job, rest)) = id.split_once("_[") else { return vec![id.to_string()] };
    let list = rest.trim_end_matches(']').split('%').next().unwrap_or("");
    let mut ids = Vec::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) else { continue };
        let b = b.min(a + super::submit::MAX_ARRAY);
        ids.extend((a..=b).map(|i| format!("{job}_{i}")));
    }
    ids
}

/// `MaxArraySize` from `scontrol show config` (Slurm's default, 1001, when absent).
pub fn max_array_size(config: &str) -> usize {
    config
        .lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "MaxArraySize")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(1001)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from Slurm 22.05 (`squeue --array --noheader --states=all --name=runX
    /// --format=%i|%T|%N|%r`), plus a collapsed pending range as squeue prints it without `--array`.
    const SQUEUE: &str = "1_0|COMPLETED|vm|None\n1_1|FAILED|vm|NonZeroExitCode\n1_2|RUNNING|vm|None\n\
                          1_3|RUNNING|vm|None\n7|NODE_FAIL|n2|None\n8_[4-6%2]|PENDING||JobArrayTaskLimit\n\
                          9_0|CANCELLED by 0|n1|None\n";

    #[test]
    fn squeue_lines_become_tasks() {
        let t = parse_squeue(SQUEUE);
        assert_eq!(t.len(), 9);
        assert_eq!(t["1_0"].state, State::Completed);
        assert_eq!(t["1_1"].state, State::Failed);
        assert_eq!(t["1_2"].state, State::Active);
        assert_eq!(t["1_2"].node, "vm");
        assert_eq!(t["7"].state, State::Retryable);
        assert_eq!(t["7"].node, "n2");
        assert_eq!(t["8_5"].state, State::Active);
        assert_eq!(t["8_6"].reason, "JobArrayTaskLimit");
        assert_eq!(t["9_0"].state, State::Failed);
    }

    #[test]
    fn retryable_states() {
        for s in ["NODE_FAIL", "BOOT_FAIL", "TIMEOUT", "OUT_OF_MEMORY", "PREEMPTED"] {
            assert_eq!(State::of(s), State::Retryable, "{s}");
        }
        for s in ["PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "REQUEUED", "SUSPENDED", "RESIZING"] {
            assert_eq!(State::of(s), State::Active, "{s}");
        }
    }

    #[test]
    fn max_array_size_from_the_config() {
        let config =
            "Configuration data as of 2026-11-28T00:40:00\nMaxArraySize            = 7\nMinJobAge  = 300 sec\n";
        assert_eq!(max_array_size(config), 7);
        assert_eq!(max_array_size("MinJobAge = 300 sec\n"), 1001);
    }
}
