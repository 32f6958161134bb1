//! Running child processes: argument vectors (never a shell), each child in its own process
//! group and killed if vodbuild dies (PR_SET_PDEATHSIG), ffmpeg `-progress` parsed from
//! stdout, the tail of stderr kept for error messages (both read on the calling thread,
//! [`super::pipes`]). Each child is registered with the caller's [`Cancel`] handle, which
//! stops it (Ctrl-C / SIGTERM cancel the process's handle, see [`crate::signals`]). `-v` logs each command line (shell-quoted), `-vv` the tool's stderr.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::cancel::Cancel;
use super::pipes::STDERR_TAIL;

/// Whether Ctrl-C / SIGTERM asked vodbuild to stop (see [`crate::signals`]), for code not
/// handed a [`Cancel`] (the output checks' decoder).
pub fn interrupted() -> bool {
    crate::signals::interrupted()
}

/// The error of a tool run stopped by cancellation (the executor reports it as interrupted).
pub const INTERRUPTED: &str = "interrupted";

/// Runs `program args...`; `on_progress` gets ffmpeg's `out_time` in seconds, fps and speed.
pub fn run(
    cancel: &Cancel,
    program: &Path,
    args: &[String],
    mut on_progress: impl FnMut(super::pipes::Tick),
) -> Result<Vec<u8>, String> {
    let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if cancel.is_cancelled() {
        return Err(INTERRUPTED.into());
    }
    tracing::info!("{}", crate::term::shell_line(program, args));
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls (setpgid, prctl) run between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let pid = child.id() as i32;
    cancel.add_child(pid);
    let (stdout, stderr) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let (stdout_bytes, err) = super::pipes::drain(stdout, stderr, &name, &mut on_progress);
    let status = child.wait().map_err(|e| format!("waiting for {name}: {e}"));
    cancel.remove_child(pid);
    let status = status?;
    if cancel.is_cancelled() {
        return Err(INTERRUPTED.into());
    }
    if !status.success() {
        let text = String::from_utf8_lossy(&err);
        let text = text.trim();
        let cut = text.len().saturating_sub(STDERR_TAIL);
        let start = (cut..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
        let code = status.code().map(|c| c.to_string()).unwrap_or_else(|| "a signal".into());
        return Err(format!("{name} exited with {code}:\n{}", &text[start..]));
    }
    Ok(stdout_bytes)
}
