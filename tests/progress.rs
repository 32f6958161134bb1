//! Progress as people see it. Without a terminal (CI logs): a plain line when each job
//! starts and finishes, and a periodic line per running job (`VODBUILD_PROGRESS_INTERVAL`
//! shortens the 30 s period). On a terminal (a pty of 80 columns made here): an overall bar
//! and job bars whose frames never exceed the width, and none left behind on the screen
//! once the run is over, log lines intact above them (replayed through a small terminal
//! model below).

use crate::common;

use common::*;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;
use vodbuild::exit_codes::SUCCESS;

const LONG: &str = "media/a-long-season-name/episode-01-title";

#[test]
fn without_a_terminal_each_job_gets_plain_start_finish_and_periodic_lines() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x240");
    ws.write_manifest(SMALL);
    let out =
        ws.vodbuild_env(&["run", "pipeline.yaml", "-j", "1"], &[("VODBUILD_PROGRESS_INTERVAL", "0.05")]).success();
    let lines: Vec<&str> = out.stderr.lines().collect();
    let started: Vec<&str> = lines.iter().filter_map(|l| l.strip_suffix(" started")).collect();
    assert!(started.len() >= 5, "a line per job start\n{}", out.stderr);
    for job in &started {
        let done = format!("{job} done in ");
        assert_eq!(lines.iter().filter(|l| l.starts_with(&done)).count(), 1, "{job} finishes once\n{}", out.stderr);
    }
    assert!(started.iter().any(|j| j.contains("encode:media/a:")), "{}", out.stderr);
    // Periodic lines: `[n] LABEL running [P%] [FPSfps] [S.Sx] M:SS` for a job that has started.
    let running: Vec<&str> = lines.iter().copied().filter(|l| l.contains(" running")).collect();
    assert!(!running.is_empty(), "a 0.05 s period gives lines while jobs run\n{}", out.stderr);
    for l in &running {
        let (job, rest) = l.split_once(" running").unwrap();
        assert!(started.contains(&job), "{l}");
        let clock = rest.rsplit(' ').next().unwrap();
        assert!(clock.split_once(':').is_some_and(|(m, s)| m.parse::<u32>().is_ok() && s.len() == 2), "{l}");
    }
    assert!(!out.stderr.contains('\r') && !out.stderr.contains('\u{1b}'), "plain lines only\n{}", out.stderr);
    assert!(lines.last().unwrap().contains(" executed, "), "{}", out.stderr);
}

/// Runs vodbuild with its stderr on a new pty of `cols` columns; returns (exit code, bytes).
fn run_on_a_pty(ws: &Workspace, args: &[&str], cols: u16) -> (i32, Vec<u8>) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize { ws_row: 24, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: openpty fills two descriptors this function then owns.
    let r = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &size) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned here.
    let (mut master, slave) = unsafe { (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave)) };
    let mut child = Command::new(env!("CARGO_BIN_EXE_vodbuild"))
        .args(args)
        .current_dir(ws.root())
        .env("PATH", common::tools::path_with_project_tools())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        // Log lines while the bars are drawn: one per executed step.
        .env("VODBUILD_LOG", "vodbuild::exec::builder=info")
        .env_remove("VODBUILD_FFMPEG")
        .env_remove("VODBUILD_FFPROBE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(slave)
        .spawn()
        .expect("spawn vodbuild");
    // The parent's copy of the slave went into the Command and is closed with it: reading
    // the master ends (EIO) when the child and its tools have closed theirs.
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let status = common::wait::exit_or_kill(&mut child, TIMEOUT, Duration::from_millis(50))
        .unwrap_or_else(|| panic!("vodbuild did not finish in {TIMEOUT:?}"));
    (status.code().unwrap_or(-1), reader.join().unwrap())
}

/// A small model of a terminal: printable characters (wrapping at the width), CR, LF, and
/// the CSI sequences progress bars use (cursor up/down/column, erase line/screen). Anything
/// else (colours, cursor visibility) is ignored. indicatif pads each bar line with spaces to
/// the full width and lets the terminal wrap to the next row, so a wrap is fine where the
/// last column holds padding; `overflows` keeps the rows that wrapped in the middle of text.
struct Screen {
    cols: usize,
    rows: Vec<Vec<char>>,
    row: usize,
    col: usize,
    overflows: Vec<String>,
}

impl Screen {
    fn new(cols: usize) -> Screen {
        Screen { cols, rows: vec![Vec::new()], row: 0, col: 0, overflows: Vec::new() }
    }

    fn feed(&mut self, text: &str) {
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => self.col = 0,
                '\n' => self.down(1),
                '\u{1b}' if chars.peek() == Some(&'[') => {
                    chars.next();
                    let mut params = String::new();
                    let mut fin = ' ';
                    for p in chars.by_ref() {
                        if p.is_ascii_alphabetic() || p == '@' || p == '~' {
                            fin = p;
                            break;
                        }
                        params.push(p);
                    }
                    self.csi(&params, fin);
                }
                c if c.is_control() => {}
                c => self.put(c),
            }
        }
    }

    fn csi(&mut self, params: &str, fin: char) {
        let n: usize = params.trim_start_matches('?').split(';').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        match fin {
            'A' => self.row = self.row.saturating_sub(n.max(1)),
            'B' => self.down(n.max(1)),
            'C' => self.col = (self.col + n.max(1)).min(self.cols - 1),
            'D' => self.col = self.col.saturating_sub(n.max(1)),
            'G' => self.col = n.max(1) - 1,
            'K' => {
                let line = &mut self.rows[self.row];
                match n {
                    0 => line.truncate(self.col),
                    1 => line.iter_mut().take(self.col + 1).for_each(|c| *c = ' '),
                    _ => line.clear(),
                }
            }
            'J' if n == 0 => {
                self.rows[self.row].truncate(self.col);
                self.rows.truncate(self.row + 1);
            }
            _ => {}
        }
    }

    fn down(&mut self, n: usize) {
        self.row += n;
        while self.rows.len() <= self.row {
            self.rows.push(Vec::new());
        }
    }

    fn put(&mut self, c: char) {
        if self.col >= self.cols {
            let full = &self.rows[self.row];
            if full.last().is_some_and(|last| *last != ' ') {
                self.overflows.push(full.iter().collect());
            }
            self.col = 0;
            self.down(1);
        }
        let line = &mut self.rows[self.row];
        while line.len() <= self.col {
            line.push(' ');
        }
        line[self.col] = c;
        self.col += 1;
    }

    fn lines(&self) -> Vec<String> {
        self.rows.iter().map(|r| r.iter().collect::<String>().trim_end().to_string()).collect()
    }
}

/// The text with CSI sequences removed.
fn strip_csi(text: &str) -> String {
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for p in chars.by_ref() {
                if p.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn the_terminal_model_sees_a_line_that_overflows() {
    let mut s = Screen::new(10);
    s.feed("[1] abc   [2] def   ");
    assert!(s.overflows.is_empty(), "padded rows wrap cleanly");
    s.feed("\r\u{1b}[2K[3] a line too long\n");
    assert_eq!(s.overflows, ["[3] a line"]);
    s.feed("\u{1b}[1A\r\u{1b}[2K");
    assert_eq!(s.lines()[2], "", "erased");
}

#[test]
fn on_an_80_column_terminal_bars_fit_and_leave_no_stale_frame() {
    let ws = Workspace::new();
    ws.make_source(&format!("{LONG}.mp4"), 3.0, "320x240");
    ws.make_source("media/b.mp4", 2.0, "320x240");
    ws.write_manifest(SMALL.replace("media/*.mp4", "media/**/*.mp4").as_str());
    let (code, bytes) = run_on_a_pty(&ws, &["run", "pipeline.yaml", "-j", "2"], 80);
    let text = String::from_utf8_lossy(&bytes);
    assert_eq!(code, SUCCESS, "{text}");
    let plain = strip_csi(&text);
    assert!(plain.contains("] steps [") && plain.contains("100%"), "an overall bar was drawn\n{text:?}");
    assert!(plain.contains("] encode:media/"), "job bars were drawn\n{text:?}");
    let mut screen = Screen::new(80);
    screen.feed(&text);
    // The closing summary (it names the output folder) and log lines are messages: they may wrap.
    let bars_overflowing: Vec<&String> =
        screen.overflows.iter().filter(|l| !l.contains(" executed, ") && !l.contains("INFO")).collect();
    assert!(bars_overflowing.is_empty(), "lines wider than 80 columns: {bars_overflowing:#?}\n{text:?}");
    let shown = screen.lines();
    let all = shown.join("\n");
    for l in shown.iter().filter(|l| !l.is_empty()) {
        assert!(!l.contains("] steps ["), "a stale overall bar is left on the screen:\n{all}");
        assert!(!l.contains('%') && !l.contains("fps"), "a stale job bar is left on the screen:\n{all}");
    }
    // Every job's finish line and the summary are on the screen, whole.
    let done = shown.iter().filter(|l| l.starts_with('[') && l.contains(" done in ")).count();
    assert!(done >= 5 && done == plain.matches(" done in ").count(), "{all}");
    assert!(shown.iter().any(|l| l.contains(" executed, 0 fresh, 0 failed")), "{all}");
    // Log lines written while bars were drawn landed above them, none overwritten.
    let logged = plain.matches("INFO executed step=").count();
    assert!(logged >= 5, "{text:?}");
    assert_eq!(shown.iter().filter(|l| l.contains("INFO executed step=")).count(), logged, "{all}");
}
