//! Loudness measurements (EBU R128 / ITU BS.1770) from ffmpeg's log, parsed robustly and
//! from a bounded tail of it: `loudnorm=print_format=json` ([`parse`]: the last `{ … }` block,
//! values as strings, `"-inf"` for silence) for the source (pass 1 needs its threshold and
//! offset), and the `ebur128` summary ([`parse_ebur128`]: about 3× cheaper) for outputs.
//! A [`Measurement`] is what the `loudness` step writes and what the encode's filter and the
//! output checks read. [`measure_file`] runs the `ebur128` pass itself (outside a job: the
//! output checks and `vodbuild verify`), keeping a bounded tail of ffmpeg's log.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// Most bytes of ffmpeg's log searched for the report (the report is ~400 bytes, at the end).
pub const MAX_LOG: usize = 16_000;
/// Loudness at or below this (LUFS) is silence: BS.1770's absolute gate.
pub const SILENCE_LUFS: f64 = -70.0;

/// One measured signal. `None` where loudnorm had no finite value (silence, or shorter than
/// one 400 ms gating block).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Integrated loudness, LUFS.
    pub integrated: Option<f64>,
    /// True peak, dBTP.
    pub true_peak: Option<f64>,
    /// Loudness range, LU.
    pub lra: Option<f64>,
    /// The relative gating threshold, LUFS.
    pub threshold: Option<f64>,
    /// loudnorm's `target_offset` (the gain its dynamic mode still lacked), LU.
    pub offset: Option<f64>,
}

impl Measurement {
    /// No usable integrated loudness: silence, or too short to measure.
    pub fn silent(&self) -> bool {
        self.integrated.is_none_or(|i| i <= SILENCE_LUFS) || self.threshold.is_none()
    }
}

/// The report in ffmpeg's log `log` (its last `{ … }` block holding `input_i`).
pub fn parse(log: &[u8]) -> Result<Measurement, String> {
    let log = &log[log.len().saturating_sub(MAX_LOG)..];
    let text = String::from_utf8_lossy(log);
    let end = text.rfind('}').ok_or("no loudnorm report in ffmpeg's output")?;
    let start = text[..end].rfind('{').ok_or("no loudnorm report in ffmpeg's output")?;
    let doc: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text[start..=end])
        .map_err(|e| format!("loudnorm report is not JSON ({e}): {}", &text[start..=end]))?;
    let num = |k: &str| -> Result<Option<f64>, String> {
        let v = doc.get(k).ok_or_else(|| format!("loudnorm report has no `{k}`"))?;
        let s = match v {
            serde_json::Value::String(s) => s.trim().to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(format!("loudnorm report: `{k}` is {v}")),
        };
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            Ok(_) => Ok(None),
            Err(_) => Err(format!("loudnorm report: `{k}` is {s:?}, not a number")),
        }
    };
    Ok(Measurement {
        integrated: num("input_i")?,
        true_peak: num("input_tp")?,
        lra: num("input_lra")?,
        threshold: num("input_thresh")?,
        offset: num("target_offset")?,
    })
}

/// The `Summary:` that ends ffmpeg's log of `ebur128=peak=true` (no offset; true peak from
/// its `Peak:` line).
pub fn parse_ebur128(log: &[u8]) -> Result<Measurement, String> {
    let log = &log[log.len().saturating_sub(MAX_LOG)..];
    let text = String::from_utf8_lossy(log);
    let summary = &text[text.rfind("Summary:").ok_or("no ebur128 summary in ffmpeg's output")?..];
    let value = |label: &str| -> Result<Option<f64>, String> {
        let line = summary.lines().map(str::trim).find(|l| l.starts_with(label));
        let line = line.ok_or_else(|| format!("ebur128 summary has no `{label}`"))?;
        let token = line[label.len()..].split_whitespace().next().unwrap_or_default();
        match token.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            Ok(_) => Ok(None),
            Err(_) => Err(format!("ebur128 summary: `{line}` has no number")),
        }
    };
    Ok(Measurement {
        integrated: value("I:")?,
        true_peak: value("Peak:")?,
        lra: value("LRA:")?,
        threshold: value("Threshold:")?,
        offset: None,
    })
}

/// Either report: loudnorm's JSON when the log has one, else the ebur128 summary.
pub fn parse_any(log: &[u8]) -> Result<Measurement, String> {
    let tail = &log[log.len().saturating_sub(MAX_LOG)..];
    if String::from_utf8_lossy(tail).contains("\"input_i\"") { parse(log) } else { parse_ebur128(log) }
}

/// `file`'s first audio stream measured by `ebur128` (ffmpeg at `ffmpeg`; of its log only the
/// last [`MAX_LOG`] bytes are kept): the output checks and `vodbuild verify`.
pub fn measure_file(ffmpeg: &Path, file: &Path) -> Result<Measurement, String> {
    let mut args = crate::argv::loudness::ebur128_args(file);
    if let Some(i) = args.iter().position(|a| a == "-progress") {
        args.drain(i..i + 2);
    }
    let mut child = Command::new(ffmpeg)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", ffmpeg.display()))?;
    let mut err = child.stderr.take().expect("piped");
    let (mut tail, mut chunk) = (Vec::new(), [0u8; 8192]);
    loop {
        match err.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                tail.extend_from_slice(&chunk[..n]);
                if tail.len() > 2 * MAX_LOG {
                    tail.drain(..tail.len() - MAX_LOG);
                }
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for ffmpeg: {e}"))?;
    if !status.success() {
        let text = String::from_utf8_lossy(&tail);
        return Err(format!("ffmpeg failed: {}", crate::state::failed::tail(text.trim(), 1000)));
    }
    parse_ebur128(&tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = "[Parsed_ebur128_0 @ 0x55] Summary:\n\n  Integrated loudness:\n    I:         -16.0 LUFS\n    Threshold: -26.0 LUFS\n\n  Loudness range:\n    LRA:         0.5 LU\n    Threshold: -36.0 LUFS\n    LRA low:   -16.2 LUFS\n    LRA high:  -15.8 LUFS\n\n  True peak:\n    Peak:      -11.9 dBFS\n";

    #[test]
    fn reads_the_ebur128_summary() {
        let m = parse_any(SUMMARY.as_bytes()).unwrap();
        assert_eq!((m.integrated, m.threshold, m.lra, m.true_peak), (Some(-16.0), Some(-26.0), Some(0.5), Some(-11.9)));
        assert!(!m.silent());
        let silence = SUMMARY
            .replace("-16.0 LUFS\n    Threshold: -26.0", "-70.0 LUFS\n    Threshold: 0.0")
            .replace("-11.9", "-inf");
        let m = parse_ebur128(silence.as_bytes()).unwrap();
        assert_eq!((m.integrated, m.true_peak), (Some(-70.0), None));
        assert!(m.silent(), "-70 LUFS is the absolute gate");
        assert!(parse_ebur128(b"Summary:\n I: x LUFS").is_err());
        assert!(parse_ebur128(b"nothing").is_err());
    }

    const REPORT: &str = "Output #0, null\n[Parsed_loudnorm_1 @ 0x55] \n{\n\t\"input_i\" : \"-27.61\",\n\t\"input_tp\" : \"-30.00\",\n\t\"input_lra\" : \"0.00\",\n\t\"input_thresh\" : \"-37.61\",\n\t\"output_i\" : \"-24.0\",\n\t\"output_tp\" : \"-2.0\",\n\t\"output_lra\" : \"0.0\",\n\t\"output_thresh\" : \"-34.0\",\n\t\"normalization_type\" : \"dynamic\",\n\t\"target_offset\" : \"0.10\"\n}\n";

    #[test]
    fn reads_the_report_at_the_end_of_the_log() {
        let m = parse(REPORT.as_bytes()).unwrap();
        assert_eq!(m.integrated, Some(-27.61));
        assert_eq!(m.true_peak, Some(-30.0));
        assert_eq!(m.lra, Some(0.0));
        assert_eq!(m.threshold, Some(-37.61));
        assert_eq!(m.offset, Some(0.1));
        assert!(!m.silent());
    }

    #[test]
    fn silence_gives_no_values_and_no_nan() {
        let log =
            REPORT.replace("\"-27.61\"", "\"-inf\"").replace("\"-37.61\"", "\"-inf\"").replace("\"0.10\"", "\"inf\"");
        let m = parse(log.as_bytes()).unwrap();
        assert_eq!((m.integrated, m.threshold, m.offset), (None, None, None));
        assert!(m.silent());
        let nan = REPORT.replace("\"-27.61\"", "\"nan\"");
        assert!(parse(nan.as_bytes()).unwrap().silent());
    }

    #[test]
    fn refuses_what_is_not_a_report() {
        assert!(parse(b"").is_err());
        assert!(parse(b"no braces here").is_err());
        assert!(parse(b"{ \"input_i\": \"x\" }").is_err());
        assert!(parse(REPORT.replace("input_tp", "other").as_bytes()).is_err());
        // A huge log is cut to its tail: the report at the end is still found.
        let mut big = vec![b'{'; 10 * MAX_LOG];
        big.extend_from_slice(REPORT.as_bytes());
        assert_eq!(parse(&big).unwrap().integrated, Some(-27.61));
    }
}
