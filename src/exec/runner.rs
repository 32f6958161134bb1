//! Running child processes: argument vectors (never a shell), each child in its own process
//! group and killed if vodbuild dies (PR_SET_PDEATHSIG), ffmpeg `-progress` parsed from
//! stdout, the tail of stderr kept for error messages. Each child is registered with the
//! caller's [`Cancel`] handle, which stops it (Ctrl-C / SIGTERM cancel the process's handle,
//! see [`crate::signals`]). `-v` logs each command line (shell-quoted), `-vv` the tool's stderr.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::cancel::Cancel;

/// Whether Ctrl-C / SIGTERM asked vodbuild to stop (see [`crate::signals`]), for code not
/// handed a [`Cancel`] (the output checks' decoder).
pub fn interrupted() -> bool {
    crate::signals::interrupted()
}

/// The error of a tool run stopped by cancellation (the executor reports it as interrupted).
pub const INTERRUPTED: &str = "interrupted";

const STDERR_TAIL: usize = 4000;

/// Runs `program args...`; `on_progress` gets ffmpeg's `out_time` in seconds.
pub fn run(
    cancel: &Cancel,
    program: &Path,
    args: &[String],
    mut on_progress: impl FnMut(f64),
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
    let stderr = child.stderr.take().expect("piped");
    let tool = name.clone();
    let tail = std::thread::spawn(move || stderr_tail(stderr, &tool));
    let mut stdout_bytes = Vec::new();
    if let Some(out) = child.stdout.take() {
        let mut reader = BufReader::new(out);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(us) = line.trim_end().strip_prefix("out_time_us=") {
                if let Ok(us) = us.parse::<i64>() {
                    on_progress(us.max(0) as f64 / 1e6);
                }
            } else {
                stdout_bytes.extend_from_slice(line.as_bytes());
            }
            line.clear();
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for {name}: {e}"));
    cancel.remove_child(pid);
    let status = status?;
    let err = tail.join().unwrap_or_default();
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

/// Reads a child's stderr to the end, keeping the last [`STDERR_TAIL`] bytes (a tool that
/// writes without end costs no memory); at `-vv` every line is logged as it comes.
fn stderr_tail(mut stderr: impl Read, tool: &str) -> Vec<u8> {
    let verbose = tracing::enabled!(tracing::Level::DEBUG);
    let mut tail: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut logged = 0;
    loop {
        let n = match stderr.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        tail.extend_from_slice(&chunk[..n]);
        if verbose {
            while let Some(end) = tail[logged..].iter().position(|b| *b == b'\n' || *b == b'\r') {
                let line = String::from_utf8_lossy(&tail[logged..logged + end]);
                if !line.trim().is_empty() {
                    tracing::debug!("{tool}: {}", line.trim_end());
                }
                logged += end + 1;
            }
        }
        if tail.len() > 4 * STDERR_TAIL {
            let excess = tail.len() - STDERR_TAIL;
            tail.drain(..excess);
            logged = logged.saturating_sub(excess);
        }
    }
    if verbose && logged < tail.len() {
        tracing::debug!("{tool}: {}", String::from_utf8_lossy(&tail[logged..]).trim_end());
    }
    tail
}
