//! The loudness check of a normalised audio encode: its integrated loudness, measured with
//! `ebur128` ([`crate::argv::loudness::ebur128_args`]), lands within the tolerance of the
//! profile's target.

use std::path::Path;

use super::Site;
use crate::exec::runner;
use crate::media::loudness::measure_file;

/// `file`'s integrated loudness is `target` ± `tolerance` LU.
pub fn within(site: &Site, ffmpeg: &Path, file: &Path, target: f64, tolerance: f64) -> Result<(), String> {
    let shown = site.show(file);
    if runner::interrupted() {
        return Err("interrupted".into());
    }
    let m = measure_file(ffmpeg, file).map_err(|e| format!("{shown}: cannot measure its loudness: {e}"))?;
    match m.integrated {
        Some(i) if (i - target).abs() <= tolerance => Ok(()),
        Some(i) => Err(format!(
            "{shown}: integrated loudness {i:.2} LUFS is {:.2} LU from the target {target} LUFS (tolerance ±{tolerance} LU). \
             loudnorm leaves linear mode when the gain would push the true peak above `true_peak`, and its dynamic mode \
             can miss the target on short or very peaky audio: lower `target` or raise `true_peak`",
            (i - target).abs()
        )),
        None => Err(format!("{shown}: no integrated loudness (silent output), the target is {target} LUFS")),
    }
}
