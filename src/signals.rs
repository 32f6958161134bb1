//! Ctrl-C and SIGTERM end everything, in every phase. The first signal cancels the process's
//! [`Cancel`] handle ([`token`], handed down by the commands): scheduling stops and every
//! running child's process group gets SIGTERM; children still alive after
//! [`GRACE`] get SIGKILL. Outside the build phase (loading, planning, hashing, cleaning)
//! vodbuild exits at once; during the build the scheduler gets [`SETTLE`] to record the
//! steps that finished and save the state, and then vodbuild exits anyway. Exit code 130
//! either way. Nothing partial is recorded: a step is journalled only after its outputs are
//! in place, and a half-written journal line is ignored when loading.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
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

fn on_signal() {
    if TOKEN.cancel() {
        // A second signal while the first is being handled: kill the children now.
        TOKEN.kill();
        return;
    }
    if BUILDING.load(Ordering::SeqCst) {
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline && TOKEN.has_children() {
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
