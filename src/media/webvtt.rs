//! Subtitle text: SRT and WebVTT read into cues ([`parse`]), written back as WebVTT
//! ([`write`]); cut into HLS segments by [`super::webvtt_segment`].
//!
//! Everything the input controls is bounded: the file size ([`MAX_BYTES`]), the number of
//! cues ([`MAX_CUES`]), the length of a line ([`MAX_LINE`]) and of a cue's text
//! ([`MAX_CUE_LINES`]). A malformed file is an error naming the file and the line.

use std::fmt::Write as _;

/// Largest subtitle file read.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Most cues in one file.
pub const MAX_CUES: usize = 50_000;
/// Longest line, in characters.
pub const MAX_LINE: usize = 4096;
/// Most text lines in one cue.
pub const MAX_CUE_LINES: usize = 32;

/// One cue: times in milliseconds, its settings (WebVTT only) and its text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    pub start: u64,
    pub end: u64,
    pub settings: String,
    pub text: Vec<String>,
}

/// The subtitle formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Srt,
    Vtt,
}

impl Format {
    /// From a file name's extension (`srt`, `vtt`, any case).
    pub fn of(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "srt" => Some(Format::Srt),
            "vtt" => Some(Format::Vtt),
            _ => None,
        }
    }
}

/// A parse failure: the 1-based line and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        ParseError { line, message: message.into() }
    }

    /// `FILE:LINE: MESSAGE`.
    pub fn located(&self, file: &str) -> String {
        format!("{file}:{}: {}", self.line, self.message)
    }
}

/// The cues of `bytes` (an SRT or a WebVTT file).
pub fn parse(bytes: &[u8], format: Format) -> Result<Vec<Cue>, ParseError> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(ParseError::at(1, format!("the file is larger than {MAX_BYTES} bytes")));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        ParseError::at(line, "not UTF-8 text")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    if let Some(i) = lines.iter().position(|l| l.chars().count() > MAX_LINE) {
        return Err(ParseError::at(i + 1, format!("line longer than {MAX_LINE} characters")));
    }
    let start = match format {
        Format::Vtt => {
            let first = lines.first().copied().unwrap_or_default();
            if !(first == "WEBVTT" || first.starts_with("WEBVTT ") || first.starts_with("WEBVTT\t")) {
                return Err(ParseError::at(1, "a WebVTT file starts with `WEBVTT`"));
            }
            // The header block ends at the first blank line.
            lines.iter().position(|l| l.trim().is_empty()).unwrap_or(lines.len())
        }
        Format::Srt => 0,
    };
    let mut cues = Vec::new();
    for (at, block) in blocks(&lines, start) {
        if let Some(cue) = cue(at, block, format)? {
            if cues.len() == MAX_CUES {
                return Err(ParseError::at(at + 1, format!("more than {MAX_CUES} cues")));
            }
            cues.push(cue);
        }
    }
    Ok(cues)
}

/// The blocks of non-blank lines from `start`, each with its 0-based first line.
fn blocks<'a>(lines: &'a [&'a str], start: usize) -> Vec<(usize, &'a [&'a str])> {
    let mut out = Vec::new();
    let mut i = start;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let end = (i..lines.len()).find(|j| lines[*j].trim().is_empty()).unwrap_or(lines.len());
        out.push((i, &lines[i..end]));
        i = end;
    }
    out
}

/// One block as a cue (None for WebVTT NOTE, STYLE and REGION blocks).
fn cue(at: usize, block: &[&str], format: Format) -> Result<Option<Cue>, ParseError> {
    let first = block[0];
    if format == Format::Vtt
        && ["NOTE", "STYLE", "REGION"].iter().any(|k| first == *k || first.starts_with(&format!("{k} ")))
    {
        return Ok(None);
    }
    // An identifier (SRT: the cue number) may precede the timing line.
    let timing_at = if first.contains("-->") { 0 } else { 1 };
    if timing_at == 1 && first.contains("->") && !block.get(1).is_some_and(|l| l.contains("-->")) {
        return Err(ParseError::at(at + 1, "expected `-->` between the start and end times"));
    }
    let Some(timing) = block.get(timing_at) else {
        return Err(ParseError::at(at + 1, "a cue needs a timing line `00:00:01.000 --> 00:00:02.000`"));
    };
    let line = at + timing_at + 1;
    let (start, end, settings) = timing_line(timing, format).map_err(|m| ParseError::at(line, m))?;
    let text: Vec<String> = block[timing_at + 1..].iter().map(|l| l.to_string()).collect();
    if text.len() > MAX_CUE_LINES {
        return Err(ParseError::at(line, format!("a cue of more than {MAX_CUE_LINES} lines")));
    }
    if let Some(i) = text.iter().position(|l| l.contains("-->")) {
        return Err(ParseError::at(line + 1 + i, "`-->` inside a cue's text (a missing blank line?)"));
    }
    Ok(Some(Cue { start, end, settings, text }))
}

/// `START --> END [SETTINGS]`.
fn timing_line(line: &str, format: Format) -> Result<(u64, u64, String), String> {
    let (a, rest) = line.split_once("-->").ok_or("expected a timing line `00:00:01.000 --> 00:00:02.000`")?;
    let rest = rest.trim_start();
    let (b, settings) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
    let start = timestamp(a.trim(), format).ok_or_else(|| format!("invalid start time `{}`", a.trim()))?;
    let end = timestamp(b, format).ok_or_else(|| format!("invalid end time `{b}`"))?;
    if end < start {
        return Err(format!("the cue ends ({b}) before it starts ({})", a.trim()));
    }
    let settings = settings.trim();
    if format == Format::Srt || settings.chars().any(|c| c.is_control()) {
        return Ok((start, end, String::new()));
    }
    Ok((start, end, settings.to_string()))
}

/// `HH:MM:SS.mmm` or `MM:SS.mmm` (SRT: `,` before the milliseconds) → milliseconds.
fn timestamp(s: &str, format: Format) -> Option<u64> {
    let sep = match format {
        Format::Srt if s.contains(',') => ',',
        _ => '.',
    };
    let (hms, ms) = s.split_once(sep)?;
    if ms.len() != 3 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = hms.split(':').collect();
    let num = |p: &str, max: u64| -> Option<u64> {
        let ok = !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| p.parse().ok()).flatten().filter(|v| *v < max)
    };
    let (h, m, sec) = match parts.as_slice() {
        [h, m, s] if m.len() == 2 && s.len() == 2 => (num(h, 100_000)?, num(m, 60)?, num(s, 60)?),
        [m, s] if m.len() == 2 && s.len() == 2 => (0, num(m, 60)?, num(s, 60)?),
        _ => return None,
    };
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms.parse::<u64>().ok()?)
}

/// `HH:MM:SS.mmm`.
pub fn format_time(ms: u64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    format!("{h:02}:{:02}:{:02}.{:03}", rest / 60_000, (rest % 60_000) / 1000, rest % 1000)
}

/// A WebVTT document: `header` lines after `WEBVTT`, then the cues.
pub fn write(cues: &[Cue], header: &[String]) -> String {
    let mut out = String::from("WEBVTT\n");
    for h in header {
        out.push_str(h);
        out.push('\n');
    }
    for c in cues {
        let settings = if c.settings.is_empty() { String::new() } else { format!(" {}", c.settings) };
        let _ = write!(out, "\n{} --> {}{settings}\n", format_time(c.start), format_time(c.end));
        for line in &c.text {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srt_becomes_webvtt() {
        let srt = "1\r\n00:00:00,500 --> 00:00:01,250\r\nHello\r\n<i>there</i>\r\n\r\n2\r\n00:00:02,000 --> 00:00:03,000\r\nBye\r\n";
        let cues = parse(srt.as_bytes(), Format::Srt).unwrap();
        assert_eq!(cues.len(), 2);
        assert_eq!((cues[0].start, cues[0].end), (500, 1250));
        let vtt = write(&cues, &[]);
        assert_eq!(
            vtt,
            "WEBVTT\n\n00:00:00.500 --> 00:00:01.250\nHello\n<i>there</i>\n\n00:00:02.000 --> 00:00:03.000\nBye\n"
        );
        assert_eq!(parse(vtt.as_bytes(), Format::Vtt).unwrap(), cues);
    }

    #[test]
    fn webvtt_keeps_settings_and_skips_notes() {
        let vtt =
            "\u{feff}WEBVTT - title\n\nNOTE a note\nmore\n\nid-1\n01:02.000 --> 01:03.500 align:start line:0\nA\n";
        let cues = parse(vtt.as_bytes(), Format::Vtt).unwrap();
        assert_eq!(
            cues,
            vec![Cue { start: 62_000, end: 63_500, settings: "align:start line:0".into(), text: vec!["A".into()] }]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let bad = "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03,000 -> 00:00:04,000\nbad\n";
        let e = parse(bad.as_bytes(), Format::Srt).unwrap_err();
        assert_eq!(e.line, 6, "{e:?}");
        assert_eq!(e.located("a.srt"), format!("a.srt:6: {}", e.message));
        let e = parse(b"1\n00:00:05,000 --> 00:00:04,000\nx\n", Format::Srt).unwrap_err();
        assert!(e.message.contains("before it starts"), "{e:?}");
        let e = parse(b"not vtt\n", Format::Vtt).unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse(b"WEBVTT\n\n00:00.000 --> 00:01.000\nok\n\xff\n", Format::Vtt).unwrap_err();
        assert_eq!(e.line, 5);
        let long = format!("WEBVTT\n\n00:00.000 --> 00:01.000\n{}\n", "x".repeat(MAX_LINE + 1));
        assert_eq!(parse(long.as_bytes(), Format::Vtt).unwrap_err().line, 4);
        let e = parse(b"WEBVTT\n\n00:00.000 --> 00:01.000\na --> b\n", Format::Vtt).unwrap_err();
        assert_eq!(e.line, 4);
        let e = parse(b"WEBVTT\n\n00:00.000 -> 00:01.000\ntext\n", Format::Vtt).unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
    }

    #[test]
    fn cue_count_is_bounded() {
        let mut s = String::new();
        for _ in 0..=MAX_CUES {
            s.push_str("00:00:00,000 --> 00:00:01,000\nx\n\n");
        }
        let e = parse(s.as_bytes(), Format::Srt).unwrap_err();
        assert!(e.message.contains("cues"), "{e:?}");
    }
}
