//! Storyboards as data: the tile grid ([`Grid`], sized from the source's displayed aspect),
//! the WebVTT thumbnails track written from ffmpeg's frame list (`sprite-N.jpg#xywh=x,y,w,h`
//! cues), and the checks of a storyboard folder (every cue inside its sheet, every sheet
//! `columns*w x rows*h`) used by the step's output check and by `vodbuild verify`.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Sprite sheets: `sprite-1.jpg`, `sprite-2.jpg`, ...
pub const SPRITE_PATTERN: &str = "sprite-%d.jpg";
/// The WebVTT thumbnails track.
pub const VTT: &str = "storyboard.vtt";
/// ffmpeg's list of the tiles it made (framecrc), read then removed by vodbuild.
pub const FRAME_LIST: &str = "tiles.txt";
/// Most tiles per source (sheets are capped so they hold at most this many).
pub const MAX_TILES: u32 = 10_000;
/// Tallest tile (an extreme portrait aspect is capped).
const MAX_TILE_H: u32 = 2_560;

/// The storyboard of one source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub interval: f64,
    pub columns: u32,
    pub rows: u32,
    pub tile_w: u32,
    pub tile_h: u32,
    /// The source's video duration (the last cue ends there).
    pub duration: f64,
}

impl Grid {
    /// Tiles `width` wide at the displayed aspect (width / height, rotation and SAR applied).
    pub fn new(interval: f64, (columns, rows): (u32, u32), width: u32, aspect: f64, duration: f64) -> Grid {
        let h = (width as f64 / aspect.max(1e-3)).round() as u32;
        Grid { interval, columns, rows, tile_w: width, tile_h: h.clamp(2, MAX_TILE_H), duration }
    }
    pub fn per_sheet(&self) -> u32 {
        self.columns * self.rows
    }
    /// Most sheets written: enough for [`MAX_TILES`] tiles.
    pub fn max_sheets(&self) -> u32 {
        MAX_TILES.div_ceil(self.per_sheet().max(1))
    }
    /// The sheet file and rectangle of tile `i` (0-based).
    pub fn place(&self, i: u32) -> (String, u32, u32) {
        let (sheet, idx) = (i / self.per_sheet() + 1, i % self.per_sheet());
        (format!("sprite-{sheet}.jpg"), (idx % self.columns) * self.tile_w, (idx / self.columns) * self.tile_h)
    }
    /// The sheet size in pixels.
    pub fn sheet_size(&self) -> (u32, u32) {
        (self.columns * self.tile_w, self.rows * self.tile_h)
    }
}

/// Tile times in seconds from ffmpeg's framecrc list (`#tb 0: N/D`, then `stream, dts, pts, ...`).
pub fn tile_times(list: &str) -> Result<Vec<f64>, String> {
    let tb = list
        .lines()
        .find_map(|l| l.strip_prefix("#tb 0:"))
        .and_then(|t| t.trim().split_once('/'))
        .and_then(|(n, d)| Some((n.parse::<f64>().ok()?, d.parse::<f64>().ok()?)))
        .filter(|(_, d)| *d > 0.0)
        .ok_or("frame list has no time base")?;
    let mut times = Vec::new();
    for l in list.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let pts: f64 =
            l.split(',').nth(2).and_then(|p| p.trim().parse().ok()).ok_or_else(|| format!("bad frame line `{l}`"))?;
        times.push(pts * tb.0 / tb.1);
        if times.len() as u32 >= MAX_TILES {
            break;
        }
    }
    Ok(times)
}

/// The WebVTT thumbnails track of tiles shown at `times`.
pub fn vtt(g: &Grid, times: &[f64]) -> String {
    let mut s = String::from("WEBVTT\n");
    for (i, t) in times.iter().enumerate() {
        let end = match times.get(i + 1) {
            Some(n) => *n,
            None if g.duration > *t => g.duration,
            None => t + g.interval,
        };
        let (sheet, x, y) = g.place(i as u32);
        s += &format!("\n{} --> {}\n{sheet}#xywh={x},{y},{},{}\n", stamp(*t), stamp(end), g.tile_w, g.tile_h);
    }
    s
}

fn stamp(t: f64) -> String {
    let ms = (t.max(0.0) * 1000.0).round() as u64;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

/// Post-processing in the step's folder: the VTT from the frame list, which is then removed;
/// fails unless ffmpeg wrote exactly the sheets the tiles fill. Returns the tile count.
pub fn finish(dir: &Path, g: &Grid) -> Result<usize, String> {
    let list_path = dir.join(FRAME_LIST);
    let list = std::fs::read_to_string(&list_path).map_err(|e| format!("{}: {e}", list_path.display()))?;
    let times = tile_times(&list)?;
    let sheets = (times.len() as u32).div_ceil(g.per_sheet());
    for n in 1..=sheets + 1 {
        let exists = dir.join(format!("sprite-{n}.jpg")).exists();
        if exists != (n <= sheets) {
            return Err(format!(
                "{} tiles need {sheets} sprite sheets, but sprite-{n}.jpg {}",
                times.len(),
                if exists { "exists" } else { "is missing" }
            ));
        }
    }
    let path = dir.join(VTT);
    std::fs::write(&path, vtt(g, &times)).map_err(|e| format!("writing {}: {e}", path.display()))?;
    std::fs::remove_file(&list_path).map_err(|e| format!("{}: {e}", list_path.display()))?;
    Ok(times.len())
}

/// Width and height of a JPEG from its SOF marker.
pub fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    let mut i = 2;
    while i + 9 < b.len() {
        if b[i] != 0xff {
            return None;
        }
        let marker = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if (0xc0..=0xcf).contains(&marker) && ![0xc4, 0xc8, 0xcc].contains(&marker) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            return Some((w, h));
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_follow_the_displayed_aspect_and_fill_rows_first() {
        let g = Grid::new(2.0, (3, 2), 160, 16.0 / 9.0, 13.0);
        assert_eq!((g.tile_w, g.tile_h, g.sheet_size()), (160, 90, (480, 180)));
        assert_eq!(Grid::new(2.0, (3, 2), 160, 9.0 / 16.0, 1.0).tile_h, 284, "rotated 90°");
        assert_eq!(
            Grid::new(2.0, (3, 2), 160, 320.0 * 4.0 / 3.0 / 180.0, 1.0).tile_h,
            67,
            "SAR 4:3 (67.5 in floating point just under)"
        );
        assert_eq!(Grid::new(2.0, (3, 2), 160, 1e-9, 1.0).tile_h, MAX_TILE_H, "an extreme aspect is capped");
        assert_eq!(g.place(0), ("sprite-1.jpg".into(), 0, 0));
        assert_eq!(g.place(4), ("sprite-1.jpg".into(), 160, 90));
        assert_eq!(g.place(6), ("sprite-2.jpg".into(), 0, 0));
        assert_eq!(g.max_sheets() * g.per_sheet(), 10_002, "enough sheets for MAX_TILES");
    }

    #[test]
    fn track_from_the_frame_list() {
        let list = "#software: Lavf\n#tb 0: 2/1\n#media_type 0: video\n0, 0, 0, 1, 43200, 0x1\n0, 1, 1, 1, 43200, 0x2\n0, 2, 2, 1, 43200, 0x3\n";
        let times = tile_times(list).unwrap();
        assert_eq!(times, vec![0.0, 2.0, 4.0]);
        let g = Grid::new(2.0, (2, 1), 64, 16.0 / 9.0, 5.5);
        let vtt = vtt(&g, &times);
        assert_eq!(
            vtt,
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nsprite-1.jpg#xywh=0,0,64,36\n\n00:00:02.000 --> 00:00:04.000\n\
             sprite-1.jpg#xywh=64,0,64,36\n\n00:00:04.000 --> 00:00:05.500\nsprite-2.jpg#xywh=0,0,64,36\n"
        );
        assert!(tile_times("0, 0, 0, 1\n").is_err(), "no time base");
        assert_eq!(stamp(3725.25), "01:02:05.250");
    }

    #[test]
    fn jpeg_size_reads_the_frame_header() {
        // SOI, an APP0 of 4 bytes, SOF0 of 300x200.
        let jpeg = [0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 17, 8, 0, 200, 1, 44, 3, 0, 0, 0, 0, 0, 0];
        assert_eq!(jpeg_size(&jpeg), Some((300, 200)));
        assert_eq!(jpeg_size(b"\x89PNG...."), None);
        assert_eq!(jpeg_size(&jpeg[..10]), None, "truncated");
    }
}
