//! The storyboard step's output: the WebVTT track and sprite sheets agree (every cue inside
//! a sheet of `columns*w x rows*h`, see [`crate::verify::storyboard`]); the first and last
//! sheets decode.

use super::Site;
use super::decode::Decoder;
use crate::verify::storyboard::{Expect, check_dir};

pub fn check(site: &Site, dec: &mut Decoder, (columns, rows, tile_w): (u32, u32, u32)) -> Result<(), String> {
    let e = Expect { columns, rows, tile_w, tile_h: 0, aspect: None };
    if let Some(p) = check_dir(site.tmp, &e).into_iter().next() {
        return Err(format!("{}: {p}", site.show(site.tmp)));
    }
    let first = site.tmp.join("sprite-1.jpg");
    dec.file(site, &first);
    let last = (2..=crate::media::storyboard::MAX_TILES)
        .map(|n| site.tmp.join(format!("sprite-{n}.jpg")))
        .take_while(|p| p.exists())
        .last();
    if let Some(last) = last {
        dec.file(site, &last);
    }
    Ok(())
}
