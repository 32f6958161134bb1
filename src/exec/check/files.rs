//! File-level checks: non-empty, ISO-BMFF boxes that cover the file exactly, MPEG-TS
//! packets, tracks with samples and the right duration, and decoding with ffmpeg (the first
//! and last frames only, so a check costs a fraction of the step it checks).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::Site;
use super::decode::Decoder;
use crate::media::mp4::{be32, boxes, child, read_moov};

/// Most top-level boxes a checked file may have (a fragmented file has two per fragment).
const MAX_BOXES: usize = 1_000_000;

/// The file's size; an error when it is missing or empty.
pub fn non_empty(site: &Site, path: &Path) -> Result<u64, String> {
    let len = std::fs::metadata(path).map_err(|e| format!("{}: cannot be read: {e}", site.show(path)))?.len();
    if len == 0 {
        return Err(format!("{}: is empty (0 bytes)", site.show(path)));
    }
    Ok(len)
}

/// Deepest folder nesting walked in an output folder.
const MAX_DEPTH: usize = 8;

/// No file of an output folder is empty (a write that failed part way leaves 0-byte files).
pub fn none_empty(site: &Site, dir: &Path, depth: usize) -> Result<(), String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: cannot be listed: {e}", site.show(dir)))?;
    for e in rd {
        let e = e.map_err(|e| format!("{}: cannot be listed: {e}", site.show(dir)))?;
        let t = e.file_type().map_err(|err| format!("{}: {err}", site.show(&e.path())))?;
        if t.is_dir() && depth < MAX_DEPTH {
            none_empty(site, &e.path(), depth + 1)?;
        } else if t.is_file() {
            non_empty(site, &e.path())?;
        }
    }
    Ok(())
}

/// A non-empty JSON document.
pub fn json(site: &Site, path: &Path) -> Result<(), String> {
    non_empty(site, path)?;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot be read: {e}", site.show(path)))?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .map(drop)
        .map_err(|e| format!("{}: is not complete JSON: {e}", site.show(path)))
}

/// The types of the top-level boxes, which must cover the file exactly.
pub fn top_boxes(site: &Site, path: &Path) -> Result<Vec<[u8; 4]>, String> {
    let len = non_empty(site, path)?;
    let shown = || site.show(path);
    let mut f = File::open(path).map_err(|e| format!("{}: cannot be read: {e}", shown()))?;
    let (mut pos, mut types) = (0u64, Vec::new());
    while pos < len {
        if types.len() >= MAX_BOXES {
            return Err(format!("{}: more than {MAX_BOXES} top-level boxes", shown()));
        }
        let mut hdr = [0u8; 16];
        let short = |what: &str| format!("{}: is truncated: {what} at byte {pos} but the file ends at {len}", shown());
        if len - pos < 8 {
            return Err(short("a partial box header"));
        }
        f.seek(SeekFrom::Start(pos)).and_then(|_| f.read_exact(&mut hdr[..8])).map_err(|e| e.to_string())?;
        let typ = [hdr[4], hdr[5], hdr[6], hdr[7]];
        let (mut size, mut hlen) = (u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as u64, 8);
        if size == 1 {
            if len - pos < 16 {
                return Err(short("a partial box header"));
            }
            f.read_exact(&mut hdr[8..16]).map_err(|e| e.to_string())?;
            size = u64::from_be_bytes(hdr[8..16].try_into().expect("8 bytes"));
            hlen = 16;
        } else if size == 0 {
            size = len - pos;
        }
        if size < hlen || !typ.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Err(format!("{}: is not ISO-BMFF (MP4): no valid box at byte {pos}", shown()));
        }
        if size > len - pos {
            let name = String::from_utf8_lossy(&typ).into_owned();
            return Err(short(&format!("box `{name}` of {size} bytes starts")));
        }
        types.push(typ);
        pos += size;
    }
    Ok(types)
}

/// An init segment: complete boxes with a `moov`.
pub fn init_segment(site: &Site, path: &Path) -> Result<(), String> {
    let types = top_boxes(site, path)?;
    if !types.contains(b"moov") {
        return Err(format!("{}: init segment has no `moov` box", site.show(path)));
    }
    Ok(())
}

/// A media segment: complete fMP4 fragments (`moof` + `mdat`), or whole MPEG-TS packets.
pub fn media_segment(site: &Site, path: &Path) -> Result<(), String> {
    let is_ts = path.extension().is_some_and(|e| e == "ts");
    if !is_ts {
        let types = top_boxes(site, path)?;
        if !types.contains(b"moof") || !types.contains(b"mdat") {
            return Err(format!("{}: segment has no `moof`+`mdat` fragment", site.show(path)));
        }
        return Ok(());
    }
    let len = non_empty(site, path)?;
    let mut first = [0u8; 1];
    File::open(path).and_then(|mut f| f.read_exact(&mut first)).map_err(|e| format!("{}: {e}", site.show(path)))?;
    if len % 188 != 0 || first[0] != 0x47 {
        return Err(format!("{}: is not whole MPEG-TS packets ({len} bytes, 188 per packet)", site.show(path)));
    }
    Ok(())
}

/// One track of a regular MP4: handler (`vide`, `soun`), duration, sample count.
struct Track {
    handler: [u8; 4],
    seconds: f64,
    samples: u64,
}

fn tracks(moov: &[u8]) -> Vec<Track> {
    boxes(moov)
        .filter(|(t, _)| t == b"trak")
        .filter_map(|(_, trak)| {
            let mdia = child(trak, b"mdia")?;
            let hdlr = child(mdia, b"hdlr")?;
            let handler = hdlr.get(8..12)?.try_into().ok()?;
            let mdhd = child(mdia, b"mdhd")?;
            let (timescale, duration) = if mdhd.first() == Some(&1) {
                (be32(mdhd, 20), u64::from_be_bytes(mdhd.get(24..32)?.try_into().ok()?))
            } else {
                (be32(mdhd, 12), be32(mdhd, 16) as u64)
            };
            let stbl = child(child(mdia, b"minf")?, b"stbl")?;
            let samples = child(stbl, b"stsz").or_else(|| child(stbl, b"stz2")).map(|s| be32(s, 8)).unwrap_or(0);
            let seconds = if timescale > 0 { duration as f64 / timescale as f64 } else { 0.0 };
            Some(Track { handler, seconds, samples: samples as u64 })
        })
        .collect()
}

/// An encoded MP4: complete boxes, a video (or audio) track with samples lasting `expected`
/// seconds (± `tolerance`; unchecked when `expected` is 0), and its first and last frames decode.
pub fn media_file(
    site: &Site,
    dec: &mut Decoder,
    path: &Path,
    video: bool,
    expected: f64,
    tolerance: f64,
) -> Result<(), String> {
    let shown = || site.show(path);
    let types = top_boxes(site, path)?;
    if !types.contains(b"moov") {
        return Err(format!("{}: has no `moov` box (the file was not finished)", shown()));
    }
    let moov = read_moov(path).map_err(|e| format!("{}: {e}", shown()))?;
    let (handler, kind) = if video { (b"vide", "video") } else { (b"soun", "audio") };
    let all = tracks(&moov);
    let Some(t) = all.iter().find(|t| &t.handler == handler && t.samples > 0) else {
        let with_samples = all.iter().filter(|t| t.samples > 0).count();
        return Err(format!("{}: has no {kind} stream ({with_samples} track(s) with samples)", shown()));
    };
    if expected > 0.0 && (t.seconds - expected).abs() > tolerance {
        return Err(format!(
            "{}: the {kind} stream lasts {:.3} s but the source lasts {expected:.3} s (tolerance {tolerance:.2} s)",
            shown(),
            t.seconds
        ));
    }
    dec.ends(site, path, tolerance + 1.0);
    Ok(())
}

/// Thumbnails: images (at least one when `at_least_one`), none empty, the first and the last
/// decode.
pub fn thumbnails(site: &Site, dec: &mut Decoder, at_least_one: bool) -> Result<(), String> {
    let dir = site.tmp;
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: cannot be listed: {e}", site.show(dir)))?;
    let mut images: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    images.sort();
    let (Some(first), Some(last)) = (images.first(), images.last()) else {
        return match at_least_one {
            true => Err(format!("{}: no images were written", site.show(dir))),
            false => Ok(()),
        };
    };
    for i in &images {
        non_empty(site, i)?;
    }
    dec.file(site, first);
    if last != first {
        dec.file(site, last);
    }
    Ok(())
}

/// audio_only: `audio.m4a` (checked like an audio encode) or `audio.mp3` (decodes).
pub fn audio_only(site: &Site, dec: &mut Decoder, expected: f64, tolerance: f64) -> Result<(), String> {
    let m4a = site.tmp.join("audio.m4a");
    if m4a.exists() {
        return media_file(site, dec, &m4a, false, expected, tolerance);
    }
    let mp3 = site.tmp.join("audio.mp3");
    non_empty(site, &mp3)?;
    dec.ends(site, &mp3, tolerance + 1.0);
    Ok(())
}
