//! Progress: indicatif bars on a terminal (coloured unless `NO_COLOR`), plain lines otherwise
//! (CI logs), nothing when quiet.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Quiet,
}

pub struct Progress {
    bars: Option<MultiProgress>,
    quiet: bool,
    started: AtomicUsize,
}

pub struct JobProgress<'a> {
    owner: &'a Progress,
    bar: Option<ProgressBar>,
    label: String,
    duration: f64,
    start: Instant,
    last_pct: u64,
}

impl Progress {
    pub fn new(mode: Mode) -> Progress {
        let quiet = mode == Mode::Quiet;
        let bars = (!quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8)));
        Progress { bars, quiet, started: AtomicUsize::new(0) }
    }

    pub fn start(&self, label: &str, duration: f64) -> JobProgress<'_> {
        let n = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let label = format!("[{n}] {label}");
        let bar = self.bars.as_ref().map(|m| {
            let b = m.add(ProgressBar::new((duration * 1000.0).max(1.0) as u64));
            b.set_style(
                ProgressStyle::with_template(if crate::term::color_stderr() {
                    "{prefix:.bold} [{bar:30.cyan/blue}] {percent:>3}% {elapsed}"
                } else {
                    "{prefix} [{bar:30}] {percent:>3}% {elapsed}"
                })
                .expect("template")
                .progress_chars("=> "),
            );
            b.set_prefix(label.clone());
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        if bar.is_none() && !self.quiet {
            crate::say!("{label} started");
        }
        JobProgress { owner: self, bar, label, duration, start: Instant::now(), last_pct: 0 }
    }

    pub fn println(&self, line: &str) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(line);
            }
            None if !self.quiet => crate::say!("{line}"),
            None => {}
        }
    }
}

impl JobProgress<'_> {
    pub fn update(&mut self, seconds: f64) {
        if let Some(b) = &self.bar {
            b.set_position((seconds * 1000.0) as u64);
        } else if !self.owner.quiet && self.duration > 0.0 {
            // Plain mode: a line every 25% for long jobs.
            let pct = ((seconds / self.duration) * 100.0).clamp(0.0, 100.0) as u64;
            if pct / 25 > self.last_pct / 25 && pct < 100 && self.start.elapsed() > Duration::from_secs(5) {
                crate::say!("{} {pct}%", self.label);
            }
            self.last_pct = pct;
        }
    }

    pub fn finish(self, ok: bool) {
        let secs = self.start.elapsed().as_secs_f64();
        let word = if ok { "done" } else { "FAILED" };
        match &self.bar {
            Some(b) => {
                b.finish_and_clear();
                self.owner.println(&format!("{} {word} in {secs:.1}s", self.label));
            }
            None if !self.owner.quiet => crate::say!("{} {word} in {secs:.1}s", self.label),
            None => {}
        }
    }
}
