//! A child's stdout and stderr read together on the calling thread (poll(2)): no thread per
//! stream, so a running tool costs its job one thread. stdout lines `out_time_us=N` (ffmpeg
//! `-progress`) become progress (a [`Tick`], with the `fps=` and `speed=` seen before them), the
//! other lines are kept; of stderr only the last
//! [`STDERR_TAIL`] bytes are kept (a tool that writes without end costs no memory), and at
//! `-vv` every stderr line is logged as it comes.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::process::{ChildStderr, ChildStdout};

pub const STDERR_TAIL: usize = 4000;

/// One `-progress` report: media seconds written, and ffmpeg's latest `fps` and `speed`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tick {
    pub seconds: f64,
    pub fps: Option<f64>,
    pub speed: Option<f64>,
}

/// Reads both streams to their end; returns (stdout without progress lines, stderr tail).
pub fn drain(
    mut stdout: ChildStdout,
    mut stderr: ChildStderr,
    tool: &str,
    on_progress: &mut dyn FnMut(Tick),
) -> (Vec<u8>, Vec<u8>) {
    let mut out = Lines { pending: Vec::new(), kept: Vec::new(), fps: None, speed: None };
    let mut tail = Tail { buf: Vec::new(), logged: 0, verbose: tracing::enabled!(tracing::Level::DEBUG) };
    let fds = [stdout.as_raw_fd(), stderr.as_raw_fd()];
    let mut open = [true, true];
    let mut chunk = [0u8; 8192];
    while open.iter().any(|o| *o) {
        let mut polled =
            [0, 1].map(|i| libc::pollfd { fd: if open[i] { fds[i] } else { -1 }, events: libc::POLLIN, revents: 0 });
        // SAFETY: poll(2) on an array of two pollfd this function owns.
        let r = unsafe { libc::poll(polled.as_mut_ptr(), 2, -1) };
        if r < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        for i in 0..2 {
            if !open[i] || polled[i].revents == 0 {
                continue;
            }
            let n = if i == 0 { stdout.read(&mut chunk) } else { stderr.read(&mut chunk) };
            match n {
                Ok(0) | Err(_) => open[i] = false,
                Ok(n) if i == 0 => out.push(&chunk[..n], on_progress),
                Ok(n) => tail.push(&chunk[..n], tool),
            }
        }
    }
    out.finish(on_progress);
    (out.kept, tail.finish(tool))
}

struct Lines {
    pending: Vec<u8>,
    kept: Vec<u8>,
    fps: Option<f64>,
    speed: Option<f64>,
}

impl Lines {
    fn push(&mut self, bytes: &[u8], on_progress: &mut dyn FnMut(Tick)) {
        self.pending.extend_from_slice(bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.line(line, on_progress);
        }
    }

    fn finish(&mut self, on_progress: &mut dyn FnMut(Tick)) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(line, on_progress);
        }
    }

    fn line(&mut self, line: Vec<u8>, on_progress: &mut dyn FnMut(Tick)) {
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if let Some(fps) = text.strip_prefix("fps=") {
            self.fps = fps.trim().parse().ok();
        } else if let Some(speed) = text.strip_prefix("speed=") {
            self.speed = speed.trim().trim_end_matches('x').parse().ok();
        }
        match text.strip_prefix("out_time_us=") {
            Some(us) => {
                if let Ok(us) = us.parse::<i64>() {
                    on_progress(Tick { seconds: us.max(0) as f64 / 1e6, fps: self.fps, speed: self.speed });
                }
            }
            None => self.kept.extend_from_slice(&line),
        }
    }
}

struct Tail {
    buf: Vec<u8>,
    logged: usize,
    verbose: bool,
}

impl Tail {
    fn push(&mut self, bytes: &[u8], tool: &str) {
        self.buf.extend_from_slice(bytes);
        if self.verbose {
            while let Some(end) = self.buf[self.logged..].iter().position(|b| *b == b'\n' || *b == b'\r') {
                let line = String::from_utf8_lossy(&self.buf[self.logged..self.logged + end]);
                if !line.trim().is_empty() {
                    tracing::debug!("{tool}: {}", line.trim_end());
                }
                self.logged += end + 1;
            }
        }
        if self.buf.len() > 4 * STDERR_TAIL {
            let excess = self.buf.len() - STDERR_TAIL;
            self.buf.drain(..excess);
            self.logged = self.logged.saturating_sub(excess);
        }
    }

    fn finish(self, tool: &str) -> Vec<u8> {
        if self.verbose && self.logged < self.buf.len() {
            tracing::debug!("{tool}: {}", String::from_utf8_lossy(&self.buf[self.logged..]).trim_end());
        }
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn progress_lines_are_taken_out_and_stderr_keeps_its_tail() {
        let script = "printf 'a\\nout_time_us=1500000\\nb'; head -c 20000 /dev/zero | tr '\\0' x >&2; echo END >&2";
        let mut child =
            Command::new("sh").args(["-c", script]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut seen = Vec::new();
        let (out, err) =
            drain(child.stdout.take().unwrap(), child.stderr.take().unwrap(), "sh", &mut |s| seen.push(s.seconds));
        child.wait().unwrap();
        assert_eq!(String::from_utf8_lossy(&out), "a\nb");
        assert_eq!(seen, vec![1.5]);
        assert!(err.len() <= 4 * STDERR_TAIL && err.len() >= STDERR_TAIL, "{}", err.len());
        assert!(err.ends_with(b"END\n"));
    }
}
