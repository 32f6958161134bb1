//! Just enough ISO-BMFF to read what a master playlist must declare: the RFC 6381 codec
//! string from the sample entry's configuration box (avcC, hvcC, av1C, vpcC, esds, dOps),
//! the coded frame size, and the frame rate (mdhd timescale / stts).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct TrackFacts {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: Option<f64>,
    pub is_video: bool,
}

/// An encrypted track's sample entry (`encv`/`enca`) names its clear format in `sinf/frma`.
fn unprotected(etype: [u8; 4], entry: &[u8]) -> Result<[u8; 4], String> {
    let skip = match &etype {
        b"encv" => 78,
        b"enca" => 28,
        _ => return Ok(etype),
    };
    let frma = entry.get(skip..).and_then(|k| child(k, b"sinf")).and_then(|s| child(s, b"frma"));
    frma.and_then(|f| f.get(..4))
        .and_then(|f| f.try_into().ok())
        .ok_or_else(|| "encrypted sample entry without `frma`".into())
}

/// Reads the first track's facts from an MP4 (regular or fragmented init segment).
pub fn track_facts(path: &Path) -> Result<TrackFacts, String> {
    let moov = read_moov(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let trak = child(&moov, b"trak").ok_or("no trak box")?;
    let mdia = child(trak, b"mdia").ok_or("no mdia box")?;
    let timescale = child(mdia, b"mdhd").map(|m| {
        let v = m.first().copied().unwrap_or(0);
        let off = if v == 1 { 4 + 16 } else { 4 + 8 };
        be32(m, off)
    });
    let stbl = child(mdia, b"minf").and_then(|m| child(m, b"stbl")).ok_or("no stbl box")?;
    let stsd = child(stbl, b"stsd").ok_or("no stsd box")?;
    // full box header (4) + entry count (4), then the first sample entry box
    let (etype, entry) = boxes(stsd.get(8..).ok_or("short stsd")?).next().ok_or("empty stsd")?;
    let etype = unprotected(etype, entry)?;
    let fps = fps(stbl, timescale);
    let fourcc = String::from_utf8_lossy(&etype).to_string();
    match &etype {
        b"avc1" | b"avc3" | b"hvc1" | b"hev1" | b"av01" | b"vp09" => {
            let (width, height) = (be16(entry, 24) as u32, be16(entry, 26) as u32);
            let kids = entry.get(78..).ok_or("short visual sample entry")?;
            let codec = match &etype {
                b"avc1" | b"avc3" => {
                    let c = child(kids, b"avcC").ok_or("no avcC")?;
                    format!("{fourcc}.{:02x}{:02x}{:02x}", c[1], c[2], c[3])
                }
                b"hvc1" | b"hev1" => hevc(&fourcc, child(kids, b"hvcC").ok_or("no hvcC")?)?,
                b"av01" => {
                    let c = child(kids, b"av1C").ok_or("no av1C")?;
                    let (profile, level) = (c[1] >> 5, c[1] & 0x1f);
                    let tier = if c[2] & 0x80 != 0 { 'H' } else { 'M' };
                    let depth = if c[2] & 0x40 != 0 { if c[2] & 0x20 != 0 { 12 } else { 10 } } else { 8 };
                    format!("av01.{profile}.{level:02}{tier}.{depth:02}")
                }
                _ => {
                    let c = child(kids, b"vpcC").ok_or("no vpcC")?;
                    // full box: version/flags (4), profile, level, bitDepth(4 bits)...
                    format!("vp09.{:02}.{:02}.{:02}", c[4], c[5], c[6] >> 4)
                }
            };
            Ok(TrackFacts { codec, width, height, fps, is_video: true })
        }
        b"mp4a" => {
            let kids = entry.get(28..).ok_or("short audio sample entry")?;
            let esds = child(kids, b"esds").ok_or("no esds")?;
            Ok(TrackFacts {
                codec: mp4a(esds.get(4..).unwrap_or_default()),
                width: 0,
                height: 0,
                fps: None,
                is_video: false,
            })
        }
        b"Opus" => Ok(TrackFacts { codec: "opus".into(), width: 0, height: 0, fps: None, is_video: false }),
        b"mp3 " | b".mp3" => {
            Ok(TrackFacts { codec: "mp4a.40.34".into(), width: 0, height: 0, fps: None, is_video: false })
        }
        other => Err(format!("unsupported sample entry `{}`", String::from_utf8_lossy(other))),
    }
}

fn hevc(fourcc: &str, c: &[u8]) -> Result<String, String> {
    if c.len() < 13 {
        return Err("short hvcC".into());
    }
    let space = ["", "A", "B", "C"][(c[1] >> 6) as usize];
    let tier = if c[1] & 0x20 != 0 { 'H' } else { 'L' };
    let profile = c[1] & 0x1f;
    let compat = be32(c, 2).reverse_bits();
    let mut s = format!("{fourcc}.{space}{profile}.{compat:x}.{tier}{}", c[12]);
    let constraints = &c[6..12];
    let last = constraints.iter().rposition(|b| *b != 0);
    if let Some(last) = last {
        for b in &constraints[..=last] {
            s += &format!(".{b:x}");
        }
    }
    Ok(s)
}

/// `mp4a.OO.A`: object type from the DecoderConfigDescriptor, audio object type from the
/// DecoderSpecificInfo.
fn mp4a(mut d: &[u8]) -> String {
    let mut oti = 0x40u8;
    let mut aot = 2u8;
    // ES_Descriptor (3) → DecoderConfigDescriptor (4) → DecoderSpecificInfo (5)
    while let Some((&tag, rest)) = d.split_first() {
        let mut len = 0usize;
        let mut i = 0;
        while i < 4 && i < rest.len() {
            len = (len << 7) | (rest[i] & 0x7f) as usize;
            i += 1;
            if rest[i - 1] & 0x80 == 0 {
                break;
            }
        }
        let body = &rest[i.min(rest.len())..];
        match tag {
            3 => {
                let flags = body.get(2).copied().unwrap_or(0);
                let mut skip = 3;
                if flags & 0x80 != 0 {
                    skip += 2;
                }
                if flags & 0x40 != 0 {
                    skip += 1 + body.get(skip).copied().unwrap_or(0) as usize;
                }
                if flags & 0x20 != 0 {
                    skip += 2;
                }
                d = body.get(skip..).unwrap_or_default();
            }
            4 => {
                oti = body.first().copied().unwrap_or(0x40);
                d = body.get(13..).unwrap_or_default();
            }
            5 => {
                let b0 = body.first().copied().unwrap_or(0x10);
                aot = b0 >> 3;
                if aot == 31 {
                    let b1 = body.get(1).copied().unwrap_or(0);
                    aot = 32 + (((b0 & 7) << 3) | (b1 >> 5));
                }
                break;
            }
            _ => break,
        }
        let _ = len;
    }
    if oti == 0x40 { format!("mp4a.40.{aot}") } else { format!("mp4a.{oti:02x}") }
}

fn fps(stbl: &[u8], timescale: Option<u32>) -> Option<f64> {
    let ts = timescale? as f64;
    let stts = child(stbl, b"stts")?;
    let n = be32(stts, 4) as usize;
    // the entry covering most samples
    let (count, delta) = (0..n).map(|i| (be32(stts, 8 + i * 8), be32(stts, 12 + i * 8))).max_by_key(|(c, _)| *c)?;
    (count > 0 && delta > 0).then(|| ts / delta as f64)
}

fn be16(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]])).unwrap_or(0)
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]])).unwrap_or(0)
}

/// Iterates the boxes in `data`: (type, body).
pub(crate) fn boxes(mut data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 8 {
            return None;
        }
        let size = be32(data, 0) as usize;
        let typ = [data[4], data[5], data[6], data[7]];
        let (hdr, size) = match size {
            0 => (8, data.len()),
            1 => (16, u64::from_be_bytes(data.get(8..16)?.try_into().ok()?) as usize),
            s => (8, s),
        };
        if size < hdr || size > data.len() {
            return None;
        }
        let body = &data[hdr..size];
        data = &data[size..];
        Some((typ, body))
    })
}

pub(crate) fn child<'a>(data: &'a [u8], typ: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(t, _)| t == typ).map(|(_, b)| b)
}

/// Finds the top-level `moov` box without reading `mdat`.
pub(crate) fn read_moov(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut pos = 0u64;
    while pos + 8 <= len {
        let mut hdr = [0u8; 16];
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(&mut hdr[..8])?;
        let mut size = u32::from_be_bytes(hdr[..4].try_into().unwrap()) as u64;
        let mut hlen = 8;
        if size == 1 {
            f.read_exact(&mut hdr[8..16])?;
            size = u64::from_be_bytes(hdr[8..16].try_into().unwrap());
            hlen = 16;
        } else if size == 0 {
            size = len - pos;
        }
        if size < hlen {
            break;
        }
        if &hdr[4..8] == b"moov" {
            let mut body = vec![0u8; (size - hlen) as usize];
            f.read_exact(&mut body)?;
            return Ok(body);
        }
        pos += size;
    }
    Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "no moov box"))
}
