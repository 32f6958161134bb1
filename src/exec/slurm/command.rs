//! Running Slurm's client commands (`sbatch`, `squeue`, `scontrol`, `scancel`, found on PATH,
//! with only the variables [`super::submit::command_env`] keeps — `SLURM_CONF` among them — as
//! a job inherits sbatch's): argument vectors, never a shell;
//! each in its own process group (a Ctrl-C at the terminal reaches vodbuild, not a `scancel`
//! it is running) and killed after [`TIMEOUT`]. [`Runner`] is the seam the unit tests fake.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a Slurm command may take.
pub const TIMEOUT: Duration = Duration::from_secs(120);
/// Most bytes of a command's output kept.
const MAX_OUTPUT: u64 = 64 << 20;

/// What a command gave.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The output, or an error naming the command and its stderr.
    pub fn check(self, program: &str) -> Result<String, String> {
        if self.ok { Ok(self.stdout) } else { Err(format!("{program} failed: {}", self.stderr.trim())) }
    }
}

/// Runs a program with arguments and returns its output.
pub trait Runner: Send + Sync {
    fn run(&self, program: &str, args: &[String]) -> Output;
}

/// The real commands.
pub struct System;

impl Runner for System {
    fn run(&self, program: &str, args: &[String]) -> Output {
        tracing::debug!("{}", crate::term::shell_line(std::path::Path::new(program), args));
        run(program, args).unwrap_or_else(|e| Output { ok: false, stdout: String::new(), stderr: e })
    }
}

fn run(program: &str, args: &[String]) -> Result<Output, String> {
    let mut cmd = Command::new(program);
    cmd.env_clear().envs(super::submit::command_env(std::env::vars()));
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // SAFETY: only setpgid, async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setpgid(0, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {program}: {e}"))?;
    let (out, err) = (child.stdout.take().expect("piped"), child.stderr.take().expect("piped"));
    let err_reader = std::thread::spawn(move || read_all(err));
    let deadline = Instant::now() + TIMEOUT;
    let out_reader = std::thread::spawn(move || read_all(out));
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(s) => break s,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} took longer than {} s", TIMEOUT.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok(Output { ok: status.success(), stdout, stderr })
}

fn read_all(r: impl Read) -> String {
    let mut buf = Vec::new();
    let _ = r.take(MAX_OUTPUT).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}
