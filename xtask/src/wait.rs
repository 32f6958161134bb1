//! Waiting with a timeout: poll a condition or a child process until it is ready or a deadline
//! passes. One copy for xtask and the integration tests, which include this file with
//! `#[path = "../../xtask/src/wait.rs"] pub mod wait;` in tests/common/mod.rs: it uses std
//! only, so neither side needs a crate (or a dependency) for thirty lines.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Calls `ready` until it gives `Some`, sleeping `every` between calls; `None` when it has
/// not within `within` (`ready` is called at least once, and once more at the deadline).
pub fn poll<T>(within: Duration, every: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = ready() {
            return Some(v);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(every.min(left));
    }
}

/// `poll` for a yes/no condition: true when `cond` held within `within`.
pub fn until(within: Duration, every: Duration, mut cond: impl FnMut() -> bool) -> bool {
    poll(within, every, || cond().then_some(())).is_some()
}

/// Waits for `child` to exit; `None` when it did not within `within` (or could not be waited
/// for), after killing and reaping it, so no timed-out child outlives its caller.
pub fn exit_or_kill(child: &mut Child, within: Duration, every: Duration) -> Option<ExitStatus> {
    let status = poll(within, every, || match child.try_wait() {
        Ok(exited) => exited.map(Some),
        Err(_) => Some(None), // cannot be waited for: stop, and count it as not exited
    })
    .flatten();
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const TICK: Duration = Duration::from_millis(5);

    #[test]
    fn poll_gives_the_first_value_and_none_after_the_deadline() {
        let mut calls = 0;
        let third = poll(Duration::from_secs(5), TICK, || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(third, Some(3));
        assert_eq!(poll(Duration::ZERO, TICK, || None::<()>), None);
        assert!(!until(Duration::from_millis(20), TICK, || false));
    }

    #[test]
    fn a_child_that_outlives_the_wait_is_killed_and_reaped() {
        let mut child = Command::new("sleep").arg("30").spawn().expect("spawn sleep");
        assert_eq!(exit_or_kill(&mut child, Duration::from_millis(50), TICK), None);
        assert!(child.try_wait().expect("try_wait").is_some(), "the child is reaped");
        let mut quick = Command::new("true").spawn().expect("spawn true");
        let status = exit_or_kill(&mut quick, Duration::from_secs(30), TICK).expect("`true` exits");
        assert!(status.success());
    }
}
