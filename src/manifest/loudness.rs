//! `loudness:` of an audio profile (EBU R128 / ITU BS.1770): the integrated loudness target,
//! the true-peak ceiling and the loudness range of ffmpeg's two-pass `loudnorm`. The ranges are
//! `loudnorm`'s own (ffmpeg 5.1), checked at load time and located at the value.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ErrCtx;
use super::model::RawManifest;
use crate::error::Result;
use crate::p;

/// Integrated loudness targets (LUFS) `loudnorm` accepts.
pub const TARGET_RANGE: (f64, f64) = (-70.0, -5.0);
/// True-peak ceilings (dBTP).
pub const TRUE_PEAK_RANGE: (f64, f64) = (-9.0, 0.0);
/// Loudness range targets (LU).
pub const LRA_RANGE: (f64, f64) = (1.0, 20.0);
/// How far the output's integrated loudness may land from the target (LU).
pub const TOLERANCE_LU: f64 = 1.0;

/// Loudness normalisation of an audio profile.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Loudness {
    /// Integrated loudness target, LUFS (-70..-5; -16 for streaming, -23 for EBU R128 broadcast).
    #[schemars(range(min = -70.0, max = -5.0))]
    pub target: f64,
    /// Maximum true peak, dBTP (-9..0).
    #[serde(default = "default_true_peak")]
    #[schemars(range(min = -9.0, max = 0.0))]
    pub true_peak: f64,
    /// Loudness range target, LU (1..20).
    #[serde(default = "default_lra")]
    #[schemars(range(min = 1.0, max = 20.0))]
    pub lra: f64,
}

fn default_true_peak() -> f64 {
    -1.5
}
fn default_lra() -> f64 {
    11.0
}

/// Every audio profile's `loudness` values lie in their ranges.
pub fn check(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    for (name, a) in &m.profiles.audio {
        let Some(l) = &a.loudness else { continue };
        let fields = [
            ("target", l.target, TARGET_RANGE, "LUFS", "-16 for streaming, -23 for EBU R128 broadcast"),
            ("true_peak", l.true_peak, TRUE_PEAK_RANGE, "dBTP", "-1.5 or -1 are usual"),
            ("lra", l.lra, LRA_RANGE, "LU", "11 keeps most dynamics"),
        ];
        for (field, v, (lo, hi), unit, help) in fields {
            if !(lo..=hi).contains(&v) {
                return Err(ctx.err(
                    &p!["profiles", "audio", name.as_str(), "loudness", field],
                    format!("loudness {field} {v} {unit} is out of range {lo}..{hi}"),
                    Some(help.into()),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::model::AudioProfile;

    /// A profile without `loudness` serializes (so enters encode keys) exactly as before it
    /// existed; one with it carries all three values.
    #[test]
    fn params_without_loudness_are_unchanged() {
        let p: AudioProfile = serde_json::from_str(r#"{"codec": "aac", "bitrate": "64k"}"#).unwrap();
        let v = serde_json::to_value(&p).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["bitrate", "channels", "codec", "sample_rate"]);
        let p: AudioProfile = serde_json::from_str(r#"{"codec": "aac", "loudness": {"target": -23}}"#).unwrap();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["loudness"], serde_json::json!({"target": -23.0, "true_peak": -1.5, "lra": 11.0}));
    }
}
