//! Timing of child processes: wall time, CPU time and peak RSS.
//!
//! Each timed command is spawned with an argument vector and reaped with `wait4(2)`, whose
//! `rusage` covers the child and every descendant it waited for: CPU time is user + system
//! of the whole process tree; peak RSS (`ru_maxrss`) is the largest *single* process of the
//! tree (not a sum). Wall time is measured around spawn .. reap.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

/// One measurement of one command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub wall: f64,
    pub cpu: f64,
    pub rss_mb: f64,
}

/// What a timed command did.
pub struct Outcome {
    pub sample: Sample,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Ok when the exit code was 0; otherwise an error with the tail of stderr.
    pub fn ok(self, what: &str) -> Result<Outcome, String> {
        if self.code == 0 {
            return Ok(self);
        }
        let tail: Vec<&str> = self.stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        let out: String = self.stdout.chars().take(800).collect();
        Err(format!("{what} exited with {}\n{}\n{out}", self.code, tail.join("\n")))
    }
}

/// Runs `cmd` to completion (stdin closed, stdout and stderr captured) and measures it.
pub fn timed(cmd: &mut Command) -> Result<Outcome, String> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("could not start {:?}: {e}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 fills it for our own child `pid`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        // SAFETY: valid pointers to locals; pid is our un-reaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = start.elapsed().as_secs_f64();
    if r != pid {
        return Err(format!("wait4 failed for {:?}: {}", cmd.get_program(), std::io::Error::last_os_error()));
    }
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
    let sample = Sample { wall, cpu: tv(ru.ru_utime) + tv(ru.ru_stime), rss_mb: ru.ru_maxrss as f64 / 1024.0 };
    Ok(Outcome { sample, code, stdout, stderr })
}

/// Runs `cmd`, requiring exit code 0.
pub fn timed_ok(what: &str, cmd: &mut Command) -> Result<Outcome, String> {
    timed(cmd)?.ok(what)
}

pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// The per-field medians of several samples.
pub fn median_sample(s: &[Sample]) -> Sample {
    let f = |g: fn(&Sample) -> f64| median(&s.iter().map(g).collect::<Vec<_>>());
    Sample { wall: f(|x| x.wall), cpu: f(|x| x.cpu), rss_mb: f(|x| x.rss_mb) }
}

/// Median of the pairwise ratios a[i] / b[i] (wall time).
pub fn pair_ratio(a: &[Sample], b: &[Sample]) -> f64 {
    median(&a.iter().zip(b).map(|(x, y)| x.wall / y.wall).collect::<Vec<_>>())
}
