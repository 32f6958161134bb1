//! What becomes of a job that ended without a result file: NODE_FAIL, BOOT_FAIL, TIMEOUT,
//! OUT_OF_MEMORY and PREEMPTED are tried again (at most [`MAX_ATTEMPTS`] attempts in all),
//! away from the node that failed; anything else fails its steps.

use super::status::{State, Task};

/// Attempts a job gets, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Submit again, excluding this node (when Slurm named one).
    Retry { exclude: Option<String> },
    /// The job failed: why.
    Fail(String),
}

/// The verdict on attempt `attempt` of a job that Slurm says ended as `task`.
pub fn after(task: &Task, attempt: u32) -> Verdict {
    let on = if task.node.is_empty() { String::new() } else { format!(" on {}", task.node) };
    let what = format!("Slurm job {} ended {}{on}", task.id, task.state_name);
    match task.state {
        State::Retryable if attempt < MAX_ATTEMPTS => {
            Verdict::Retry { exclude: (!task.node.is_empty()).then(|| task.node.clone()) }
        }
        State::Retryable => Verdict::Fail(format!("{what} (attempt {attempt} of {MAX_ATTEMPTS})")),
        _ => Verdict::Fail(format!("{what} without writing its result")),
    }
}

/// Why a job that [`after`] failed failed, naming neither its job id nor its node (what the
/// failed list keeps; [`after`]'s message goes with the cluster details).
pub fn without_identity(task: &Task, attempt: u32) -> String {
    match task.state {
        State::Retryable => format!("the Slurm job ended {} (attempt {attempt} of {MAX_ATTEMPTS})", task.state_name),
        _ => format!("the Slurm job ended {} without writing its result", task.state_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: &str, node: &str) -> Task {
        Task {
            id: "5_1".into(),
            state_name: state.into(),
            state: State::of(state),
            node: node.into(),
            reason: String::new(),
        }
    }

    #[test]
    fn node_and_limit_failures_are_retried_a_bounded_number_of_times() {
        for s in ["NODE_FAIL", "BOOT_FAIL", "TIMEOUT", "OUT_OF_MEMORY"] {
            assert_eq!(after(&task(s, "n2"), 1), Verdict::Retry { exclude: Some("n2".into()) }, "{s}");
        }
        assert_eq!(after(&task("NODE_FAIL", ""), 2), Verdict::Retry { exclude: None });
        let Verdict::Fail(why) = after(&task("NODE_FAIL", "n1"), MAX_ATTEMPTS) else { panic!("retried forever") };
        assert!(why.contains("NODE_FAIL on n1") && why.contains("attempt 3 of 3"), "{why}");
    }

    #[test]
    fn other_endings_fail() {
        for s in ["FAILED", "CANCELLED by 0", "COMPLETED"] {
            let Verdict::Fail(why) = after(&task(s, "n1"), 1) else { panic!("{s} retried") };
            assert!(why.contains("without writing its result"), "{why}");
        }
    }
}
