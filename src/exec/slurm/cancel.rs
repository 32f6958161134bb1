//! Ctrl-C / SIGTERM: ONE `scancel` naming every array job of the run with tasks unfinished
//! (cancelling an array job cancels all its tasks), then a short bounded wait until `squeue` shows none of
//! the run's jobs still active.

use std::time::Duration;

use super::session::Session;
use super::status::{self, State};

/// Status checks after the `scancel`, [`SETTLE_STEP`] apart.
const SETTLE_CHECKS: usize = 5;
const SETTLE_STEP: Duration = Duration::from_millis(100);

pub fn cancel_all(s: &Session, mut ids: Vec<String>) {
    ids.sort();
    if ids.is_empty() {
        return;
    }
    let out = s.runner.run("scancel", &ids);
    if !out.ok {
        tracing::warn!("scancel: {}", out.stderr.trim());
    }
    for _ in 0..SETTLE_CHECKS {
        s.count(|c| c.status_calls += 1);
        let out = s.runner.run("squeue", &status::squeue_args(&s.run_id));
        let Ok(text) = out.check("squeue") else { return };
        if status::parse_squeue(&text).values().all(|t| t.state != State::Active) {
            return;
        }
        std::thread::sleep(SETTLE_STEP);
    }
}
