//! Load-time checks of the storyboard output and of I-frame playlists (see
//! [`super::checks`]): every count the manifest controls is bounded (tiles per sheet, sheet
//! size, sheets per source), and an I-frame request a packager cannot honour is refused at
//! its value.

use super::ErrCtx;
use super::model::{HlsOutput, Packager, RawManifest, SegmentType, StoryboardOutput};
use crate::error::Result;
use crate::manifest::yaml::Seg;
use crate::p;

/// Most tiles one source's storyboard holds (the sheets written are capped to fit).
pub const MAX_STORYBOARD_TILES: u32 = 10_000;
/// Most columns (and rows) of one sprite sheet.
pub const MAX_GRID: u32 = 20;
/// Widest tile, in pixels.
pub const MAX_TILE_WIDTH: u32 = 640;
/// Shortest storyboard interval, in seconds.
pub const MIN_INTERVAL: f64 = 0.1;

pub fn check(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    if let Some(s) = &m.outputs.storyboard {
        storyboard(s, ctx)?;
    }
    if let Some(h) = &m.outputs.hls {
        iframes(h, ctx)?;
    }
    Ok(())
}

fn storyboard(s: &StoryboardOutput, ctx: &ErrCtx) -> Result<()> {
    let at = |f: &str| -> Vec<Seg> { p!["outputs", "storyboard", f].to_vec() };
    if !(MIN_INTERVAL..=86_400.0).contains(&s.interval) {
        return Err(ctx.err(
            &at("interval"),
            format!("interval {} s is out of range {MIN_INTERVAL}..86400", s.interval),
            Some(format!("at most {MAX_STORYBOARD_TILES} tiles are written per source whatever the interval")),
        ));
    }
    for (f, v) in [("columns", s.columns), ("rows", s.rows)] {
        if !(1..=MAX_GRID).contains(&v) {
            return Err(ctx.err(&at(f), format!("{f} {v} is out of range 1..{MAX_GRID}"), None));
        }
    }
    if !(16..=MAX_TILE_WIDTH).contains(&s.width) || s.width % 2 == 1 {
        return Err(ctx.err(
            &at("width"),
            format!("width {} must be an even number of pixels in 16..{MAX_TILE_WIDTH}", s.width),
            None,
        ));
    }
    Ok(())
}

fn iframes(h: &HlsOutput, ctx: &ErrCtx) -> Result<()> {
    let ffmpeg_ts = h.packager == Packager::Ffmpeg && h.segment_type == SegmentType::Ts;
    if h.iframe_playlists == Some(true) && ffmpeg_ts && h.encryption.is_some() {
        return Err(ctx.err(
            &p!["outputs", "hls", "iframe_playlists"],
            "I-frame playlists cannot point into AES-128 encrypted TS segments (a byte range of a whole-segment encrypted file cannot be decrypted alone)",
            Some("drop iframe_playlists, or use packager: shaka with method: cbcs".into()),
        ));
    }
    Ok(())
}
