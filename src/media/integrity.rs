//! Is the source whole? The probe reads every packet's timestamps (a demux, no decode) and
//! compares the media actually present with the duration the container declares. A
//! half-copied faststart MP4 (`moov` at the front, `mdat` cut) declares the full length but
//! holds less: that is an error naming both durations, or with `source_checks: lenient` a
//! warning, and the measured duration is then used downstream.

use std::path::Path;

use super::probe::ProbeInfo;
use crate::manifest::model::SourceChecks;

/// ffprobe arguments that list every packet's stream, timestamps and duration as CSV.
pub fn packet_args(source: &Path) -> Vec<String> {
    ["-v", "error", "-show_entries", "packet=stream_index,pts_time,dts_time,duration_time", "-of", "csv=p=0"]
        .iter()
        .map(|s| s.to_string())
        .chain([source.to_string_lossy().into_owned()])
        .collect()
}

/// Seconds from the earliest packet start to the latest packet end, over all streams.
/// None when no packet has a timestamp.
pub fn measured_duration(csv: &[u8]) -> Option<f64> {
    let text = String::from_utf8_lossy(csv);
    let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f.get(i).and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite());
        let Some(t) = num(1).or_else(|| num(2)) else { continue };
        first = first.min(t);
        last = last.max(t + num(3).unwrap_or(0.0).max(0.0));
    }
    (last >= first).then_some(last - first)
}

/// How much shorter than declared a source may measure and still count as whole: half a
/// second or 1 %, whichever is more (stream ends differ by a frame or an audio packet).
pub fn shortfall_tolerance(declared: f64) -> f64 {
    (declared * 0.01).max(0.5)
}

/// Applies the check to `info` (the probe of `source`, shown as `who`): an error in strict
/// mode, or a warning and the measured duration in lenient mode.
pub fn check(info: &mut ProbeInfo, measured: Option<f64>, mode: SourceChecks, who: &str) -> Result<(), String> {
    info.measured_duration = measured;
    let Some(measured) = measured else { return Ok(()) };
    let declared = info.duration;
    if declared - measured <= shortfall_tolerance(declared) {
        return Ok(());
    }
    let what = format!(
        "source {who} is truncated or damaged: its media lasts {measured:.2}s but the container declares {declared:.2}s"
    );
    match mode {
        SourceChecks::Strict => Err(format!(
            "{what} (re-copy the file, or set `source_checks: lenient` to build the {measured:.2}s that can be read)"
        )),
        SourceChecks::Lenient => {
            info.warnings
                .push(format!("{what}; building the {measured:.2}s that can be read (source_checks: lenient)"));
            info.duration = measured;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_from_first_start_to_last_end() {
        let csv = b"1,-0.021333,-0.021333,0.021333,\n\n0,0.000000,0.000000,0.033333\n0,1.900000,N/A,0.033333\n";
        let d = measured_duration(csv).unwrap();
        assert!((d - 1.954666).abs() < 1e-5, "{d}");
        assert_eq!(measured_duration(b"0,N/A,N/A,N/A\n"), None);
    }

    #[test]
    fn strict_fails_lenient_warns() {
        let mut info = crate::media::probe::parse(
            br#"{"streams":[{"codec_type":"audio","codec_name":"aac","channels":2,"sample_rate":"48000"}],
            "format":{"duration":"3.0","format_name":"mov"}}"#,
        )
        .unwrap()
        .info;
        assert!(check(&mut info.clone(), Some(2.9), SourceChecks::Strict, "`a`").is_ok());
        let e = check(&mut info.clone(), Some(1.95), SourceChecks::Strict, "`a`").unwrap_err();
        assert!(e.contains("1.95s") && e.contains("3.00s"), "{e}");
        check(&mut info, Some(1.95), SourceChecks::Lenient, "`a`").unwrap();
        assert_eq!(info.duration, 1.95);
        assert_eq!(info.warnings.len(), 1);
    }
}
