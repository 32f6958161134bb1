//! Ctrl-C and SIGTERM end everything, in every phase. The first signal stops scheduling and
//! sends SIGTERM to every running child's process group; children still alive after
//! [`GRACE`] get SIGKILL. Outside the build phase (loading, planning, hashing, cleaning)
//! vodbuild exits at once; during the build the scheduler gets [`SETTLE`] to record the
//! steps that finished and save the state, and then vodbuild exits anyway. Exit code 130
//! either way. Nothing partial is recorded: a step is journalled only after its outputs are
//! in place, and a half-written journal line is ignored when loading.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long children get between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);
/// How long the scheduler gets, once the children are gone, to record and save.
pub const SETTLE: Duration = Duration::from_secs(1);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set while the scheduler runs: it, not the handler, ends the process after a signal.
static BUILDING: AtomicBool = AtomicBool::new(false);
/// Process-group ids of the running children (each child leads its own group).
static CHILDREN: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// Installs the SIGINT / SIGTERM handler (once, at start-up).
pub fn install() {
    let _ = ctrlc::set_handler(on_signal);
}

/// Whether a signal asked vodbuild to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Marks the build phase (the scheduler records and saves before exiting) while alive.
pub struct Building(());

impl Building {
    pub fn start() -> Building {
        BUILDING.store(true, Ordering::SeqCst);
        Building(())
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        BUILDING.store(false, Ordering::SeqCst);
    }
}

/// Registers a running child (the leader of its own process group).
pub fn add_child(pid: i32) {
    if let Ok(mut c) = CHILDREN.lock() {
        c.insert(pid);
    }
    if interrupted() {
        kill_group(pid, libc::SIGTERM);
    }
}

pub fn remove_child(pid: i32) {
    if let Ok(mut c) = CHILDREN.lock() {
        c.remove(&pid);
    }
}

fn children() -> Vec<i32> {
    CHILDREN.lock().map(|c| c.iter().copied().collect()).unwrap_or_default()
}

fn kill_group(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
    unsafe {
        libc::kill(-pid, signal);
    }
}

fn on_signal() {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // A second signal while the first is being handled: kill the children now.
        children().into_iter().for_each(|p| kill_group(p, libc::SIGKILL));
        return;
    }
    children().into_iter().for_each(|p| kill_group(p, libc::SIGTERM));
    if BUILDING.load(Ordering::SeqCst) {
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && !children().is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
        children().into_iter().for_each(|p| kill_group(p, libc::SIGKILL));
        // The scheduler normally exits within this; if it is stuck (a publish in flight),
        // the process ends here.
        std::thread::sleep(SETTLE);
    }
    crate::say!("vodbuild: interrupted");
    std::process::exit(crate::error::Error::Interrupted.exit_code());
}
