//! Progress. On a terminal: an overall bar (steps settled of N, an ETA from the media seconds
//! left and the measured speed) above one bar per running job (percent, ffmpeg's fps and
//! speed), each line fitted to the terminal's width ([`super::progress_line`]) so none wraps;
//! log lines and messages go above the bars ([`crate::term`] suspends them), so no stale
//! frame is left. Elsewhere (CI logs): a plain line when a job starts and finishes, and every
//! 30 s a line per running job (`VODBUILD_PROGRESS_INTERVAL`, seconds, changes the period;
//! for tests). Nothing when quiet.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::pipes::Tick;
use super::progress_line::{self, JobFigures};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Auto,
    Quiet,
}

/// The default period of the plain per-job lines.
const PLAIN_EVERY: Duration = Duration::from_secs(30);

pub struct Progress {
    view: View,
    board: Arc<Mutex<Board>>,
    started: AtomicUsize,
    /// Plain mode: stops the periodic-line thread when dropped.
    ticker: Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

enum View {
    Bars { multi: MultiProgress, overall: ProgressBar },
    Lines,
    Quiet,
}

/// What the run knows: steps settled of N, the jobs in flight, media seconds done.
#[derive(Default)]
struct Board {
    total: usize,
    settled: usize,
    running: BTreeMap<usize, Running>,
    first_start: Option<Instant>,
    finished_media: f64,
    started_media: f64,
    started_steps: usize,
}

struct Running {
    label: String,
    duration: f64,
    steps: usize,
    start: Instant,
    tick: Tick,
}

impl Running {
    fn figures(&self) -> JobFigures {
        let elapsed = self.start.elapsed();
        let measured = (elapsed.as_secs_f64() > 0.5).then(|| self.tick.seconds / elapsed.as_secs_f64());
        JobFigures {
            fraction: (self.duration > 0.0).then(|| (self.tick.seconds / self.duration).clamp(0.0, 1.0)),
            fps: self.tick.fps,
            speed: self.tick.speed.or(measured),
            elapsed,
        }
    }
}

impl Board {
    /// Media seconds left over the measured rate (media seconds per wall second, all jobs
    /// together); steps not started yet count as the mean media length per step so far.
    fn eta(&self) -> Option<Duration> {
        let elapsed = self.first_start?.elapsed().as_secs_f64();
        let running_done: f64 = self.running.values().map(|r| r.tick.seconds.min(r.duration)).sum();
        let rate = (self.finished_media + running_done) / elapsed.max(1e-3);
        if rate <= 0.0 || elapsed < 1.0 {
            return None;
        }
        let running_left: f64 = self.running.values().map(|r| (r.duration - r.tick.seconds).max(0.0)).sum();
        let running_steps: usize = self.running.values().map(|r| r.steps).sum();
        let waiting = self.total.saturating_sub(self.settled + running_steps);
        let mean = if self.started_steps == 0 { 0.0 } else { self.started_media / self.started_steps as f64 };
        let left = running_left + waiting as f64 * mean;
        Some(Duration::from_secs_f64((left / rate).min(360_000.0)))
    }
}

pub struct JobProgress<'a> {
    owner: &'a Progress,
    n: usize,
    bar: Option<ProgressBar>,
    label: String,
    start: Instant,
}

/// A bar drawn from its message alone: the text is fitted to the width beforehand.
fn message_bar() -> ProgressBar {
    let b = ProgressBar::hidden();
    b.set_style(ProgressStyle::with_template("{msg}").expect("template"));
    b
}

impl Progress {
    pub fn new(mode: Mode) -> Progress {
        let board = Arc::new(Mutex::new(Board::default()));
        let view = match mode {
            Mode::Quiet => View::Quiet,
            Mode::Auto if std::io::stderr().is_terminal() => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
                let overall = multi.add(message_bar());
                crate::term::set_bars(Some(multi.clone()));
                View::Bars { multi, overall }
            }
            Mode::Auto => View::Lines,
        };
        let ticker = matches!(view, View::Lines).then(|| ticker(board.clone(), plain_every()));
        Progress { view, board, started: AtomicUsize::new(0), ticker }
    }

    /// How many selected steps this run settles (the overall bar's N).
    pub fn set_total(&self, total: usize) {
        self.board.lock().expect("progress board").total = total;
        self.redraw_overall();
    }

    /// Steps settled so far (executed, fresh, failed or skipped).
    pub fn settled(&self, settled: usize) {
        self.board.lock().expect("progress board").settled = settled;
        self.redraw_overall();
    }

    pub fn start(&self, label: &str, duration: f64, steps: usize) -> JobProgress<'_> {
        let n = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let label = format!("[{n}] {label}");
        {
            let mut b = self.board.lock().expect("progress board");
            b.first_start.get_or_insert_with(Instant::now);
            b.started_media += duration.max(0.0);
            b.started_steps += steps;
            let running =
                Running { label: label.clone(), duration, steps, start: Instant::now(), tick: Tick::default() };
            b.running.insert(n, running);
        }
        let bar = match &self.view {
            View::Bars { multi, .. } => Some(multi.add(message_bar())),
            View::Lines => {
                crate::say!("{label} started");
                None
            }
            View::Quiet => None,
        };
        let job = JobProgress { owner: self, n, bar, label, start: Instant::now() };
        job.redraw();
        job
    }

    pub fn println(&self, line: &str) {
        match &self.view {
            View::Bars { multi, .. } => {
                let _ = multi.println(line);
            }
            View::Lines => crate::say!("{line}"),
            View::Quiet => {}
        }
    }

    fn redraw_overall(&self) {
        if let View::Bars { overall, .. } = &self.view {
            let b = self.board.lock().expect("progress board");
            overall.set_message(progress_line::overall(b.settled, b.total, b.eta(), width()));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let View::Bars { overall, .. } = &self.view {
            overall.finish_and_clear();
            crate::term::set_bars(None);
        }
        if let Some((stop, handle)) = self.ticker.take() {
            drop(stop);
            let _ = handle.join();
        }
    }
}

impl JobProgress<'_> {
    pub fn update(&mut self, tick: Tick) {
        if let Some(r) = self.owner.board.lock().expect("progress board").running.get_mut(&self.n) {
            r.tick = tick;
        }
        self.redraw();
    }

    fn redraw(&self) {
        if let Some(bar) = &self.bar {
            let figures = self.owner.board.lock().expect("progress board").running.get(&self.n).map(Running::figures);
            bar.set_message(progress_line::job(&self.label, &figures.unwrap_or_default(), width()));
            self.owner.redraw_overall();
        }
    }

    pub fn finish(self, ok: bool) {
        {
            let mut b = self.owner.board.lock().expect("progress board");
            if let Some(r) = b.running.remove(&self.n) {
                b.finished_media += r.duration.max(0.0);
            }
        }
        let secs = self.start.elapsed().as_secs_f64();
        let word = if ok { "done" } else { "FAILED" };
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        self.owner.println(&format!("{} {word} in {secs:.1}s", self.label));
    }
}

/// The terminal's columns less one (a line that fills the last column wraps on some
/// terminals); 79 when it cannot be told.
fn width() -> usize {
    // SAFETY: TIOCGWINSZ fills the winsize this function owns.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    let cols = if ok && ws.ws_col > 0 { ws.ws_col as usize } else { 80 };
    cols.clamp(20, 1000) - 1
}

/// `VODBUILD_PROGRESS_INTERVAL` (seconds, 0.05 to 3600), else 30 s.
fn plain_every() -> Duration {
    std::env::var("VODBUILD_PROGRESS_INTERVAL")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite())
        .map(|s| Duration::from_secs_f64(s.clamp(0.05, 3600.0)))
        .unwrap_or(PLAIN_EVERY)
}

/// Plain mode: every `every`, one line per job running (until the sender is dropped).
fn ticker(board: Arc<Mutex<Board>>, every: Duration) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let handle = std::thread::spawn(move || {
        while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
            let lines: Vec<String> = {
                let b = board.lock().expect("progress board");
                b.running.values().map(|r| progress_line::plain(&r.label, &r.figures())).collect()
            };
            for line in lines {
                crate::say!("{line}");
            }
        }
    });
    (tx, handle)
}
