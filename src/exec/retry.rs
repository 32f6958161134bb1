//! Retries (the manifest's `retries:`): a job whose failure is *transient* runs again after
//! an exponential backoff, up to its kind's number of retries (default 0 for local work such
//! as encodes, [`NETWORK_DEFAULT`] for network steps: `publish`, `notify`).
//!
//! Transient means the failure says nothing about the inputs: the tool was killed by a
//! signal, an I/O or network error (EIO, a reset or refused connection, a timeout), an
//! object store error opendal marks temporary (or persistent: still temporary after its own
//! retries), or an HTTP 5xx / timeout of a webhook
//! ([`TRANSIENT`] in its message). Only the message's first line is looked at: a response
//! body or a tool's stderr follows it and never makes a failure transient. Everything else (a tool's exit code, a failed output
//! check, an HTTP 4xx) fails at once. Ctrl-C is never retried.
//!
//! The [`super::builder::Builder`] owns the loop: a transient failure puts the job's steps
//! in [`Pending`] (they stay "running" for the scheduler, so nothing downstream moves), the
//! job is built again and started once its backoff has passed and a slot is free (while
//! other jobs run, it starts when the builder next wakes up: a backoff is a minimum). The
//! attempts of each step are reported ([`super::report::StepReport::attempts`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use petgraph::graph::NodeIndex;

use crate::manifest::model::Retries;
use crate::step::StepKind;

/// Retries of network steps when the manifest does not say.
pub const NETWORK_DEFAULT: u32 = 3;
/// The most retries a manifest may ask for.
pub const MAX_RETRIES: u32 = 10;
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Written in an error message by code that knows its failure is transient (webhooks).
pub const TRANSIENT: &str = "(transient)";

/// How many times each kind is retried, and the first wait.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    retries: HashMap<StepKind, u32>,
    network: u32,
    backoff: Duration,
}

impl Default for RetryPolicy {
    /// The defaults: network steps [`NETWORK_DEFAULT`] times, the rest never; 1 s first wait.
    fn default() -> Self {
        RetryPolicy { retries: HashMap::new(), network: NETWORK_DEFAULT, backoff: Duration::from_secs(1) }
    }
}

impl RetryPolicy {
    /// No retry at all.
    pub fn none() -> Self {
        RetryPolicy { network: 0, ..Default::default() }
    }

    /// The manifest's `retries:` over the defaults.
    pub fn of(r: Option<&Retries>) -> Self {
        let mut p = RetryPolicy::default();
        if let Some(r) = r {
            p.retries = r.per_kind().into_iter().map(|(k, n)| (k, n.min(MAX_RETRIES))).collect();
            p.backoff = Duration::from_secs_f64(r.backoff.clamp(0.0, MAX_BACKOFF.as_secs_f64()));
        }
        p
    }

    /// How many times a failed step of `kind` runs again.
    pub fn retries(&self, kind: StepKind) -> u32 {
        let default = if is_network(kind) { self.network } else { 0 };
        self.retries.get(&kind).copied().unwrap_or(default)
    }

    /// The wait before retry number `retry` (1 for the first): the backoff doubled each
    /// time, at most [`MAX_BACKOFF`].
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        self.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }

    /// After attempt number `attempts` of a `kind` step failed with `error`: the wait before
    /// the next attempt, or None when it is not retried.
    pub fn next(&self, kind: StepKind, attempts: u32, error: &str) -> Option<Duration> {
        (is_transient(error) && attempts <= self.retries(kind)).then(|| self.delay(attempts))
    }
}

/// Steps that talk to a server (their failures are often the network's).
pub fn is_network(kind: StepKind) -> bool {
    kind.waits_on_network()
}

/// Whether a job's error is worth another attempt (see the module docs). Only its first
/// line counts: what follows is a response body or a tool's stderr, which must not make a
/// failure transient (a 400 whose body says "timeout" fails at once).
pub fn is_transient(error: &str) -> bool {
    if error == super::runner::INTERRUPTED {
        return false;
    }
    let error = error.lines().next().unwrap_or("");
    const MARKS: &[&str] = &[
        TRANSIENT,
        "exited with a signal",
        // opendal: temporary, or still failing after its own retries.
        "(temporary) at ",
        "(persistent) at ",
        "os error 5)",
        "os error 104)",
        "os error 110)",
        "os error 111)",
    ];
    MARKS.iter().any(|m| error.contains(m))
}

/// A job waiting for its backoff.
struct Waiting {
    due: Instant,
    group: Vec<NodeIndex>,
    /// The failure it waits to retry (its error if it never runs again).
    error: String,
}

/// Jobs waiting to run again, and how many times each step has run.
#[derive(Default)]
pub struct Pending {
    waiting: Vec<Waiting>,
    attempts: HashMap<NodeIndex, u32>,
}

impl Pending {
    /// A job of `group` starts: counts one attempt for each of its steps; returns the
    /// attempt's number.
    pub fn started(&mut self, group: &[NodeIndex]) -> u32 {
        let mut n = 0;
        for s in group {
            let a = self.attempts.entry(*s).or_insert(0);
            *a += 1;
            n = n.max(*a);
        }
        n
    }

    pub fn attempts(&self, n: NodeIndex) -> u32 {
        self.attempts.get(&n).copied().unwrap_or(0)
    }

    pub fn wait(&mut self, group: Vec<NodeIndex>, delay: Duration, error: String) {
        self.waiting.push(Waiting { due: Instant::now() + delay, group, error });
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The first job whose backoff has passed.
    pub fn take_due(&mut self) -> Option<Vec<NodeIndex>> {
        let now = Instant::now();
        let i = self.waiting.iter().position(|w| w.due <= now)?;
        Some(self.waiting.remove(i).group)
    }

    /// Every waiting job with the failure it waited to retry (on cancellation, or once the
    /// run stopped after a failure).
    pub fn take_all(&mut self) -> Vec<(Vec<NodeIndex>, String)> {
        self.waiting.drain(..).map(|w| (w.group, w.error)).collect()
    }

    /// How long until the next job is due (zero when one is).
    pub fn until_next(&self) -> Option<Duration> {
        let now = Instant::now();
        self.waiting.iter().map(|w| w.due.saturating_duration_since(now)).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(is_transient("ffmpeg exited with a signal:\n"));
        assert!(is_transient("notify cms: HTTP 503 Service Unavailable (transient)"));
        assert!(is_transient("backend `cdn` (s3): Unexpected (Unexpected (persistent) at write, context: x)"));
        assert!(!is_transient("backend `cdn` (s3): PermissionDenied (PermissionDenied (permanent) at write)"));
        assert!(is_transient("reading x: Input/output error (os error 5)"));
        assert!(!is_transient("ffmpeg exited with 1:\nInvalid argument"));
        assert!(!is_transient("notify cms: HTTP 400 Bad Request"));
        assert!(!is_transient("interrupted"));
        // A response body or a tool's stderr (after the first line) never makes it transient.
        assert!(!is_transient("notify cms: HTTP 400 Bad Request:\nupstream timeout (transient)"));
        assert!(!is_transient("ffmpeg exited with 1:\nwriting: Input/output error (os error 5)"));
        assert!(!is_transient("notify cms: HTTP 404 Not Found:\nexited with a signal"));
    }

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1), Duration::from_secs(1));
        assert_eq!(p.delay(2), Duration::from_secs(2));
        assert_eq!(p.delay(3), Duration::from_secs(4));
        assert_eq!(p.delay(40), MAX_BACKOFF);
    }

    #[test]
    fn network_steps_retry_by_default_encodes_do_not() {
        let p = RetryPolicy::default();
        assert_eq!(p.retries(StepKind::Encode), 0);
        assert_eq!(p.retries(StepKind::Publish), NETWORK_DEFAULT);
        assert_eq!(p.next(StepKind::Publish, 3, "x (transient)"), Some(Duration::from_secs(4)));
        assert_eq!(p.next(StepKind::Publish, 4, "x (transient)"), None, "three retries: four attempts");
        assert_eq!(p.next(StepKind::Encode, 1, "ffmpeg exited with a signal:"), None);
    }
}
