//! ffmpeg arguments of loudness normalisation (two-pass `loudnorm`, EBU R128 / ITU BS.1770).
//!
//! Pass 1 ([`measure_args`]) runs `loudnorm=print_format=json` on the audio as the encode will
//! see it: the source track downmixed to the profile's channel layout first
//! ([`downmix`]), so the measured signal is the normalised one. Its log carries the report
//! (`-loglevel info`; [`crate::media::loudness::parse`]). Pass 2 is the encode with
//! [`encode_filter`] inserted before its codec options ([`insert_filter`]): `loudnorm` in
//! linear mode with the measured values (it falls back to dynamic mode by itself when the
//! true-peak ceiling or the range target would be exceeded), then `aresample` back to the
//! profile's rate (loudnorm's dynamic mode works at 192 kHz). An audio profile without
//! `loudness` gets no filter: its argv is exactly what it was.

use std::path::Path;

use crate::manifest::loudness::Loudness;
use crate::media::loudness::Measurement;

/// The channel layout an N-channel profile is downmixed to before loudnorm.
pub fn layout(channels: u32) -> &'static str {
    match channels {
        1 => "mono",
        2 => "stereo",
        3 => "3.0",
        4 => "quad",
        5 => "5.0",
        6 => "5.1",
        7 => "6.1",
        _ => "7.1",
    }
}

/// The filter giving the profile's channel layout.
pub fn downmix(channels: u32) -> String {
    format!("aformat=channel_layouts={}", layout(channels))
}

/// Pass 1 over audio stream `track` of `input` (`downmix`: the pre-filter, if any); the
/// report ends ffmpeg's stderr.
pub fn measure_args(input: &Path, track: u32, downmix: Option<&str>) -> Vec<String> {
    let mut a: Vec<String> =
        ["-hide_banner", "-nostdin", "-loglevel", "info", "-nostats", "-progress", "pipe:1"].map(String::from).to_vec();
    let filter = match downmix {
        Some(d) => format!("{d},loudnorm=print_format=json"),
        None => "loudnorm=print_format=json".into(),
    };
    let map = format!("0:a:{track}");
    for s in ["-i", &input.to_string_lossy(), "-map", &map, "-vn", "-sn", "-dn", "-af", &filter, "-f", "null", "-"] {
        a.push(s.to_string());
    }
    a
}

/// The cheaper measurement of an output (`ebur128` with true peak; its per-frame lines are
/// logged at verbose level, so only the summary is written at `info`).
pub fn ebur128_args(input: &Path) -> Vec<String> {
    let mut a = measure_args(input, 0, None);
    let at = a.iter().position(|x| x == "loudnorm=print_format=json").expect("the measurement filter");
    a[at] = "ebur128=peak=true:framelog=40".into();
    a
}

/// Pass 2's filter for a profile of `channels` at `rate` Hz, from the source's measurement.
/// None for a silent (or too short) source: nothing to normalise, and loudnorm would get
/// infinite values.
pub fn encode_filter(l: &Loudness, m: &Measurement, channels: u32, rate: u32) -> Option<String> {
    if m.silent() {
        return None;
    }
    let (i, thresh) = (m.integrated?.clamp(-99.0, 0.0), m.threshold?.clamp(-99.0, 0.0));
    let tp = m.true_peak.unwrap_or(-99.0).clamp(-99.0, 99.0);
    // An LRA of 0 (a steady tone) turns linear mode off: loudnorm reads 0 as "not measured".
    let lra = m.lra.unwrap_or(0.0).clamp(0.01, 99.0);
    let offset = m.offset.unwrap_or(0.0).clamp(-99.0, 99.0);
    Some(format!(
        "{},loudnorm=I={}:TP={}:LRA={}:measured_I={i:.2}:measured_TP={tp:.2}:measured_LRA={lra:.2}:\
         measured_thresh={thresh:.2}:offset={offset:.2}:linear=true:print_format=none,aresample={rate}",
        downmix(channels),
        l.target,
        l.true_peak,
        l.lra,
    ))
}

/// `args` (one audio encode) with `-af filter` before its audio codec options.
pub fn insert_filter(args: &mut Vec<String>, filter: &str) {
    let at = args.iter().position(|a| a == "-c:a").unwrap_or(args.len().saturating_sub(3));
    args.splice(at..at, ["-af".to_string(), filter.to_string()]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(i: Option<f64>) -> Measurement {
        Measurement { integrated: i, true_peak: Some(-30.0), lra: Some(0.0), threshold: Some(-40.0), offset: Some(0.1) }
    }

    #[test]
    fn filter_carries_the_measurement_and_clamps_lra() {
        let l = Loudness { target: -16.0, true_peak: -1.5, lra: 11.0 };
        let f = encode_filter(&l, &measured(Some(-30.04)), 2, 48_000).unwrap();
        assert_eq!(
            f,
            "aformat=channel_layouts=stereo,loudnorm=I=-16:TP=-1.5:LRA=11:measured_I=-30.04:measured_TP=-30.00:\
             measured_LRA=0.01:measured_thresh=-40.00:offset=0.10:linear=true:print_format=none,aresample=48000"
        );
        assert_eq!(encode_filter(&l, &measured(None), 2, 48_000), None, "silence is not normalised");
        assert_eq!(encode_filter(&l, &measured(Some(-80.0)), 2, 48_000), None, "below the absolute gate");
    }

    #[test]
    fn filter_goes_before_the_codec_options() {
        let mut a: Vec<String> =
            ["-i", "s.mp4", "-map", "0:a:0", "-vn", "-c:a", "aac", "-f", "mp4", "o.mp4"].map(String::from).to_vec();
        insert_filter(&mut a, "F");
        assert_eq!(a[5..8], ["-af", "F", "-c:a"]);
    }

    #[test]
    fn measurement_maps_the_track_and_downmixes_first() {
        let a = measure_args(Path::new("s.mp4"), 1, Some(&downmix(6)));
        let s = a.join(" ");
        assert!(s.contains("-map 0:a:1 "), "{s}");
        assert!(s.contains("-af aformat=channel_layouts=5.1,loudnorm=print_format=json -f null -"), "{s}");
        assert!(s.contains("-loglevel info"), "{s}");
    }
}
