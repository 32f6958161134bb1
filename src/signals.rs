//! Ctrl-C and SIGTERM end everything, in every phase. The first signal cancels the process's
//! [`Cancel`] handle ([`token`], handed down by the commands): scheduling stops and every
//! running child's process group gets SIGTERM; children still alive after
//! [`GRACE`] get SIGKILL (work holding a [`Hold`] — the Slurm executor's `scancel` — is
//! waited for too, within the same bound). Outside the build phase (loading, planning, hashing, cleaning)
//! vodbuild exits at once; during the build the scheduler gets [`SETTLE`] to record the
//! steps that finished and save the state, and then vodbuild exits anyway. Exit code 130
//! either way. Nothing partial is recorded: a step is journalled only after its outputs are
//! in place, and a half-written journal line is ignored when loading.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::exec::cancel::Cancel;

/// How long children get between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);
/// How long the scheduler gets, once the children are gone, to record and save.
pub const SETTLE: Duration = Duration::from_secs(1);

/// The process's cancellation handle: the handler cancels it; commands pass it down.
static TOKEN: LazyLock<Cancel> = LazyLock::new(Cancel::new);
/// Set while the scheduler runs: it, not the handler, ends the process after a signal.
static BUILDING: AtomicBool = AtomicBool::new(false);
/// [`Hold`]s alive: work that must finish its own cancellation (a Slurm `scancel`) first.
static HOLDS: AtomicUsize = AtomicUsize::new(0);

/// Installs the SIGINT / SIGTERM handler (once, at start-up).
pub fn install() {
    let _ = ctrlc::set_handler(on_signal);
}

/// The handle a signal cancels; a command hands it to what it runs.
pub fn token() -> Cancel {
    TOKEN.clone()
}

/// Whether a signal asked vodbuild to stop.
pub fn interrupted() -> bool {
    TOKEN.is_cancelled()
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

/// While alive, the handler waits (at most [`GRACE`]) before ending the process: an executor
/// whose jobs are not children (Slurm's) cancels them first.
pub struct Hold(());

impl Hold {
    pub fn new() -> Hold {
        HOLDS.fetch_add(1, Ordering::SeqCst);
        Hold(())
    }
}

impl Default for Hold {
    fn default() -> Self {
        Hold::new()
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        HOLDS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn on_signal() {
    if TOKEN.cancel() {
        // A second signal while the first is being handled: kill the children now.
        TOKEN.kill();
        return;
    }
    if BUILDING.load(Ordering::SeqCst) {
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && (TOKEN.has_children() || HOLDS.load(Ordering::SeqCst) > 0) {
            std::thread::sleep(Duration::from_millis(50));
        }
        TOKEN.kill();
        // The scheduler normally exits within this; if it is stuck (a publish in flight),
        // the process ends here.
        std::thread::sleep(SETTLE);
    }
    crate::say!("vodbuild: interrupted");
    std::process::exit(crate::error::Error::Interrupted.exit_code());
}
