//! Progress text, fitted to a width: the overall line (steps done of N, ETA), a running
//! job's line (label, bar, percent, fps, speed) and the plain lines CI logs get. Pure
//! functions: [`super::progress`] decides when to draw them. A line never exceeds the width
//! it is given (a character outside ASCII counts as two columns, so wide scripts fit too),
//! so a bar never wraps and leaves no stale half-line behind.

use std::time::Duration;

/// What ffmpeg's `-progress` said last about a job, and how far it got.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JobFigures {
    /// 0..=1, or None when the job does not report progress.
    pub fraction: Option<f64>,
    pub fps: Option<f64>,
    /// Media seconds per wall second (`2.3x`).
    pub speed: Option<f64>,
    pub elapsed: Duration,
}

/// The overall line: `[3/12] steps ██████░░░░ 25% ETA 1m05s`.
pub fn overall(done: usize, total: usize, eta: Option<Duration>, width: usize) -> String {
    let frac = if total == 0 { 1.0 } else { done as f64 / total as f64 };
    let eta = eta.map(|d| format!(" ETA {}", clock(d))).unwrap_or_default();
    let left = format!("[{done}/{total}] steps ");
    let right = format!(" {:>3}%{eta}", (frac * 100.0).floor() as u64);
    with_bar(&left, frac, &right, width)
}

/// A running job's line: `[2] encode:intro:720p ███░░ 40% 120fps 2.3x 0:04`.
pub fn job(label: &str, f: &JobFigures, width: usize) -> String {
    let mut right = String::new();
    if let Some(frac) = f.fraction {
        right.push_str(&format!(" {:>3}%", (frac * 100.0).floor() as u64));
    }
    right.push_str(&figures(f));
    right.push_str(&format!(" {}", clock(f.elapsed)));
    // The label gets what the figures and a short bar leave; at least 10 columns.
    let room = width.saturating_sub(columns(&right) + 12).max(10);
    let left = format!("{} ", fit(label, room));
    match f.fraction {
        Some(frac) => with_bar(&left, frac, &right, width),
        None => fit(&format!("{left}{}", right.trim_start()), width),
    }
}

/// The plain line a CI log gets for a long job: `[2] encode:intro:720p 40% 120fps 2.3x 0:34`.
pub fn plain(label: &str, f: &JobFigures) -> String {
    let pct = f.fraction.map(|x| format!(" {}%", (x * 100.0).floor() as u64)).unwrap_or_default();
    format!("{label} running{pct}{} {}", figures(f), clock(f.elapsed))
}

fn figures(f: &JobFigures) -> String {
    let mut s = String::new();
    if let Some(fps) = f.fps.filter(|x| x.is_finite() && *x > 0.0) {
        s.push_str(&format!(" {fps:.0}fps"));
    }
    if let Some(speed) = f.speed.filter(|x| x.is_finite() && *x > 0.0) {
        s.push_str(&format!(" {speed:.1}x"));
    }
    s
}

/// `left` + a bar filling what is left of `width` + `right`; without room for a bar of 5
/// cells, no bar.
fn with_bar(left: &str, frac: f64, right: &str, width: usize) -> String {
    let cells = width.saturating_sub(columns(left) + columns(right) + 2);
    if cells < 5 {
        return fit(&format!("{left}{}", right.trim_start()), width);
    }
    let full = ((frac.clamp(0.0, 1.0) * cells as f64).round() as usize).min(cells);
    let bar = format!("[{}{}]", "=".repeat(full), " ".repeat(cells - full));
    fit(&format!("{left}{bar}{right}"), width)
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Columns `text` takes at most: ASCII one, anything else two; control characters none
/// (they are dropped by [`fit`]).
pub fn columns(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if c.is_control() {
                0
            } else if c.is_ascii() {
                1
            } else {
                2
            }
        })
        .sum()
}

/// `text` cut to `width` columns (an ellipsis marks the cut); control characters dropped.
pub fn fit(text: &str, width: usize) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if columns(&clean) <= width {
        return clean;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in clean.chars() {
        let w = columns(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('~');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> JobFigures {
        JobFigures { fraction: Some(0.4), fps: Some(123.4), speed: Some(2.34), elapsed: Duration::from_secs(75) }
    }

    #[test]
    fn lines_never_exceed_their_width() {
        let long = "encode:shows/a-very-long-season-name/episode-with-a-long-title-ßüñ-日本語:1080p+720p+480p";
        for width in [0, 1, 5, 20, 40, 79, 80, 200] {
            for line in [job(long, &figures(), width), overall(3, 12, Some(Duration::from_secs(65)), width)] {
                assert!(columns(&line) <= width, "{width}: {line:?} is {} columns", columns(&line));
            }
        }
        let line = job(long, &figures(), 79);
        assert!(
            line.contains(" 40%") && line.contains("123fps") && line.contains("2.3x") && line.contains("1:15"),
            "{line}"
        );
        assert!(line.contains("[==") && line.starts_with("encode:shows/"), "{line}");
    }

    #[test]
    fn overall_shows_steps_and_eta() {
        let line = overall(3, 12, Some(Duration::from_secs(3725)), 79);
        assert!(line.starts_with("[3/12] steps [") && line.ends_with(" 25% ETA 1:02:05"), "{line}");
        assert_eq!(plain("[1] encode:a:720p", &figures()), "[1] encode:a:720p running 40% 123fps 2.3x 1:15");
    }
}
