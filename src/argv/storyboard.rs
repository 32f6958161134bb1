//! The storyboard's ffmpeg argument vector: one decode, a tile every `interval` seconds
//! scaled to the tile size (the displayed picture: ffmpeg applies the display matrix before
//! the first filter, and `setsar=1` with a size from the displayed aspect undoes anamorphic
//! pixels), split into the sprite sheets (`tile=CxR`, `sprite-N.jpg`) and a frame list
//! (`tiles.txt`, framecrc: one line per tile with its time) from which vodbuild writes the
//! WebVTT track, so its cues match the tiles ffmpeg really made.

use std::path::Path;

use crate::media::storyboard::{FRAME_LIST, Grid, SPRITE_PATTERN};

pub fn args(source: &Path, g: &Grid, dir: &Path) -> Vec<String> {
    let mut a = super::ffmpeg::base_args();
    let graph = format!(
        "[0:v:0]fps=1/{},scale={}:{}:flags=bicubic,setsar=1,split=2[t][l];[t]tile={}x{}[s]",
        g.interval, g.tile_w, g.tile_h, g.columns, g.rows
    );
    let s = |v: &str| v.to_string();
    a.extend([s("-i"), source.to_string_lossy().into_owned(), s("-filter_complex"), graph]);
    let sheets = g.max_sheets();
    a.extend([s("-map"), s("[s]"), s("-frames:v"), sheets.to_string(), s("-c:v"), s("mjpeg"), s("-q:v"), s("3")]);
    a.extend([s("-f"), s("image2"), dir.join(SPRITE_PATTERN).to_string_lossy().into_owned()]);
    let tiles = (sheets * g.per_sheet()).to_string();
    a.extend([s("-map"), s("[l]"), s("-frames:v"), tiles, s("-c:v"), s("rawvideo"), s("-f"), s("framecrc")]);
    a.push(dir.join(FRAME_LIST).to_string_lossy().into_owned());
    a
}
