//! The video filter chain of an encode, from the displayed picture of the source.
//!
//! ffmpeg rotates a source with a display matrix before the first filter, so the filters see
//! the picture as shown; sizes come from [`VideoInfo::display_aspect`], which includes the
//! rotation and the sample aspect. Interlaced sources are deinterlaced (`bwdif`, one frame
//! per frame) once, before the split into renditions, so scaling never mixes fields.

use crate::manifest::model::{FrameRate, VideoProfile};
use crate::media::probe::VideoInfo;

/// What runs once on the decoded source before the split into renditions (`bwdif,` or "").
pub fn source_prelude(src: &VideoInfo) -> &'static str {
    if src.interlaced() { "bwdif=mode=send_frame," } else { "" }
}

/// The per-rendition chain: frame rate, then scale to `(w, h)`, square pixels, pixel format.
pub fn rendition_chain(p: &VideoProfile, src: &VideoInfo, (w, h): (u32, u32)) -> String {
    let ((n, d), needs_fps) = target_fps(p, src);
    let fps = if needs_fps { format!("fps={n}/{d},") } else { String::new() };
    let pix = if p.profile.as_deref() == Some("main10") { "yuv420p10le" } else { "yuv420p" };
    format!("{fps}scale={w}:{h}:flags=bicubic,setsar=1,format={pix}")
}

/// Output frame rate as (num, den), and whether an fps filter is needed.
///
/// A source faster than `max_frame_rate` is divided by the smallest whole factor that brings
/// it to the cap or below, so frames are dropped evenly and NTSC rates stay NTSC (59.94 with
/// `max_frame_rate: 30` gives 30000/1001, 50 gives 25). When that would fall below 80 % of
/// the cap (25 fps capped at 24), the cap itself is used (×1000/1001 for an NTSC source).
pub fn target_fps(p: &VideoProfile, src: &VideoInfo) -> ((u32, u32), bool) {
    match p.frame_rate {
        FrameRate::Fixed(n, d) => ((n, d), (n, d) != src.fps),
        FrameRate::Source => match p.max_frame_rate {
            Some(max) if src.fps_f64() > max + 1e-3 => (capped(src.fps, max), true),
            _ => (src.fps, false),
        },
    }
}

fn capped((n, d): (u32, u32), max: f64) -> (u32, u32) {
    let rate = n as f64 / d.max(1) as f64;
    let factor = (rate / max - 1e-6).ceil().clamp(1.0, 1000.0) as u32;
    if rate / factor as f64 >= 0.8 * max {
        return reduce(n, d.saturating_mul(factor));
    }
    let fixed = FrameRate::parse(&max.to_string()).unwrap_or(FrameRate::Fixed(30, 1));
    match fixed {
        FrameRate::Fixed(mn, md) if d % 1001 == 0 && md == 1 => (mn * 1000, 1001),
        FrameRate::Fixed(mn, md) => (mn, md),
        FrameRate::Source => (30, 1),
    }
}

fn reduce(n: u32, d: u32) -> (u32, u32) {
    let (mut a, mut b) = (n, d);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    let g = a.max(1);
    (n / g, d / g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_by_whole_factors() {
        assert_eq!(capped((60000, 1001), 30.0), (30000, 1001));
        assert_eq!(capped((50, 1), 30.0), (25, 1));
        assert_eq!(capped((60, 1), 30.0), (30, 1));
        assert_eq!(capped((120, 1), 30.0), (30, 1));
        assert_eq!(capped((25, 1), 24.0), (24, 1));
        assert_eq!(capped((30000, 1001), 24.0), (24000, 1001));
    }
}
