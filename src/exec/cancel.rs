//! A cancellation handle, passed to whatever starts work (the scheduler, an executor, the
//! child-process runner) instead of a global flag. Cancelling it stops scheduling and sends
//! SIGTERM to the process group of every child started under it; [`Cancel::kill`] sends
//! SIGKILL. Clones share one state. The Ctrl-C / SIGTERM handler cancels the process's
//! token ([`crate::signals::token`]); tests cancel their own.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Cancel(Arc<Inner>);

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    /// Process-group ids of the running children (each child leads its own group).
    children: Mutex<BTreeSet<i32>>,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels: stops new work and sends SIGTERM to the children. Returns whether it was
    /// already cancelled.
    pub fn cancel(&self) -> bool {
        let was = self.0.cancelled.swap(true, Ordering::SeqCst);
        self.signal_children(libc::SIGTERM);
        was
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// SIGKILL to every child still running.
    pub fn kill(&self) {
        self.signal_children(libc::SIGKILL);
    }

    /// Whether children started under this handle are still running.
    pub fn has_children(&self) -> bool {
        self.0.children.lock().map(|c| !c.is_empty()).unwrap_or(false)
    }

    /// Registers a running child (the leader of its own process group); one started after
    /// cancellation is sent SIGTERM at once.
    pub fn add_child(&self, pid: i32) {
        if let Ok(mut c) = self.0.children.lock() {
            c.insert(pid);
        }
        if self.is_cancelled() {
            kill_group(pid, libc::SIGTERM);
        }
    }

    pub fn remove_child(&self, pid: i32) {
        if let Ok(mut c) = self.0.children.lock() {
            c.remove(&pid);
        }
    }

    fn signal_children(&self, signal: i32) {
        let pids: Vec<i32> = self.0.children.lock().map(|c| c.iter().copied().collect()).unwrap_or_default();
        pids.into_iter().for_each(|p| kill_group(p, signal));
    }
}

fn kill_group(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
    unsafe {
        libc::kill(-pid, signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_cancellation() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(!b.is_cancelled());
        assert!(!a.cancel());
        assert!(b.is_cancelled());
        assert!(b.cancel(), "a second cancel reports the first");
    }
}
