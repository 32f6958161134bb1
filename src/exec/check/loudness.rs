//! The loudness check of a normalised audio encode: its integrated loudness, measured with
//! `ebur128` ([`crate::argv::loudness::ebur128_args`]), lands within the tolerance of the
//! profile's target.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use super::Site;
use crate::exec::runner;
use crate::media::loudness::{MAX_LOG, parse_ebur128};

/// `file`'s integrated loudness is `target` ± `tolerance` LU.
pub fn within(site: &Site, ffmpeg: &Path, file: &Path, target: f64, tolerance: f64) -> Result<(), String> {
    let shown = site.show(file);
    let log = measure(ffmpeg, file).map_err(|e| format!("{shown}: cannot measure its loudness: {e}"))?;
    let m = parse_ebur128(&log).map_err(|e| format!("{shown}: {e}"))?;
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

/// ffmpeg's log of pass 1 over `file` (its tail, at most [`MAX_LOG`] bytes kept).
fn measure(ffmpeg: &Path, file: &Path) -> Result<Vec<u8>, String> {
    if runner::interrupted() {
        return Err("interrupted".into());
    }
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
    Ok(tail)
}
