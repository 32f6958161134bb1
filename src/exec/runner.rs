//! Running child processes: argument vectors (never a shell), each child in its own process
//! group and killed if vodbuild dies (PR_SET_PDEATHSIG), ffmpeg `-progress` parsed from
//! stdout, the tail of stderr kept for error messages (both read on the calling thread,
//! [`super::pipes`]). Each child is registered with the caller's [`Cancel`] handle, which
//! stops it (Ctrl-C / SIGTERM cancel the process's handle, see [`crate::signals`]). A
//! [`Setup`] may limit the environment a child inherits to an allow-list. A child gets the
//! machine's transparent-huge-page setting, whatever vodbuild's own is. `-v` logs each command line (shell-quoted), `-vv` the tool's stderr.

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
    on_progress: impl FnMut(super::pipes::Tick),
) -> Result<Vec<u8>, String> {
    run_with(cancel, program, args, &Setup::default(), on_progress)
}

/// Where and how a child runs beyond its arguments (a command step's tool).
#[derive(Debug, Default)]
pub struct Setup<'a> {
    /// Working directory (default: vodbuild's).
    pub dir: Option<&'a Path>,
    /// Variables set for the child.
    pub env: Vec<(&'a str, &'a Path)>,
    /// When set, the child gets only these of vodbuild's variables (plus `env`), not its whole
    /// environment (credentials, notify secrets): a command step's tool.
    pub inherit_only: Option<&'a [&'a str]>,
    /// Send stdout where stderr goes (only its bounded tail is kept).
    pub stdout_to_stderr: bool,
    /// A Landlock ruleset the child applies to itself before exec ([`super::landlock`]).
    pub landlock: Option<std::os::fd::RawFd>,
}

/// [`run`] with a [`Setup`].
pub fn run_with(
    cancel: &Cancel,
    program: &Path,
    args: &[String],
    setup: &Setup,
    on_progress: impl FnMut(super::pipes::Tick),
) -> Result<Vec<u8>, String> {
    run_both(cancel, program, args, setup, on_progress).map(|(out, _)| out)
}

/// [`run`], returning the tail of stderr instead of stdout (a filter's report in ffmpeg's
/// log, e.g. `loudnorm`'s): at most 4 × [`STDERR_TAIL`] bytes.
pub fn run_keeping_stderr(
    cancel: &Cancel,
    program: &Path,
    args: &[String],
    on_progress: impl FnMut(super::pipes::Tick),
) -> Result<Vec<u8>, String> {
    run_both(cancel, program, args, &Setup::default(), on_progress).map(|(_, err)| err)
}

/// Runs the child; (stdout without progress lines, stderr tail).
fn run_both(
    cancel: &Cancel,
    program: &Path,
    args: &[String],
    setup: &Setup,
    mut on_progress: impl FnMut(super::pipes::Tick),
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if cancel.is_cancelled() {
        return Err(INTERRUPTED.into());
    }
    tracing::info!("{}", crate::term::shell_line(program, args));
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(d) = setup.dir {
        cmd.current_dir(d);
    }
    if let Some(names) = setup.inherit_only {
        cmd.env_clear();
        cmd.envs(names.iter().filter_map(|n| std::env::var_os(n).map(|v| (n, v))));
    }
    cmd.envs(setup.env.iter().copied());
    let (merge, landlock) = (setup.stdout_to_stderr, setup.landlock);
    // SAFETY: only async-signal-safe calls (setpgid, prctl, dup2, landlock) run between fork
    // and exec (after the standard streams are set up).
    unsafe {
        cmd.pre_exec(move || {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // vodbuild's allocator turns transparent huge pages off for its own process (see
            // main.rs); a tool gets the machine's setting back (x264 asks for them).
            libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0);
            if merge {
                libc::dup2(2, 1);
            }
            match landlock {
                Some(fd) => super::landlock::restrict_self(fd),
                None => Ok(()),
            }
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
        let code = status.code().map(|c| c.to_string()).unwrap_or_else(|| "a signal".into());
        return Err(format!("{name} exited with {code}:\n{}", crate::state::failed::tail(text, STDERR_TAIL)));
    }
    Ok((stdout_bytes, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thp_line(status: &[u8]) -> String {
        let text = String::from_utf8_lossy(status);
        text.lines().find(|l| l.starts_with("THP_enabled:")).unwrap_or("no THP_enabled line").to_string()
    }

    /// The child of a process with huge pages turned off has them back.
    #[test]
    fn a_tool_gets_transparent_huge_pages_back() {
        // SAFETY: a prctl on this process's own flag (the test binary's allocator does not care).
        let was = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        // SAFETY: as above.
        assert_eq!(unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) }, 0);
        let status = std::fs::read("/proc/self/status").unwrap();
        assert_eq!(thp_line(&status).split_whitespace().nth(1), Some("0"), "off in this process");
        let out = run(&Cancel::new(), Path::new("cat"), &["/proc/self/status".into()], |_| {});
        // SAFETY: restores this process's flag.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, was.max(0) as libc::c_ulong, 0, 0, 0) };
        assert_eq!(thp_line(&out.unwrap()).split_whitespace().nth(1), Some("1"), "on again in the child");
    }
}
