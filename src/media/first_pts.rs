//! The first presentation time of a video segment, in 90 kHz ticks: what a WebVTT
//! segment's `X-TIMESTAMP-MAP=MPEGTS:` must say so that cue time 0 is the video's start.
//! fMP4: the init segment's `mdhd` timescale, the segment's `tfdt` and its first sample's
//! composition offset (`trun`); MPEG-TS: the PTS of the first video PES packet.

/// Boxes entered, at most (a malformed file cannot make the walk long).
const MAX_BOXES: usize = 4096;

/// The payloads of the boxes of type `name` directly inside `data`.
fn children<'a>(data: &'a [u8], name: &[u8; 4]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0usize;
    for _ in 0..MAX_BOXES {
        if at + 8 > data.len() {
            break;
        }
        let size32 = u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        let (size, header) = match size32 {
            0 => (data.len() - at, 8),
            1 if at + 16 <= data.len() => {
                (u64::from_be_bytes(data[at + 8..at + 16].try_into().expect("8 bytes")) as usize, 16)
            }
            _ => (size32, 8),
        };
        if size < header || at + size > data.len() {
            break;
        }
        if &data[at + 4..at + 8] == name {
            out.push(&data[at + header..at + size]);
        }
        at += size;
    }
    out
}

fn first<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> Option<&'a [u8]> {
    let mut cur = data;
    for name in path {
        cur = children(cur, name).into_iter().next()?;
    }
    Some(cur)
}

fn be(data: &[u8], at: usize, n: usize) -> Option<u64> {
    let b = data.get(at..at + n)?;
    Some(b.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64))
}

/// The first track's timescale in an init segment.
fn timescale(init: &[u8]) -> Option<u64> {
    let mdhd = first(init, &[b"moov", b"trak", b"mdia", b"mdhd"])?;
    let at = if mdhd.first()? == &1 { 4 + 16 } else { 4 + 8 };
    be(mdhd, at, 4).filter(|t| *t > 0)
}

/// The first presentation time of an fMP4 segment, in seconds.
pub fn fmp4_seconds(init: &[u8], segment: &[u8]) -> Option<f64> {
    let scale = timescale(init)?;
    let traf = first(segment, &[b"moof", b"traf"])?;
    let tfdt = first(traf, &[b"tfdt"])?;
    let base = if tfdt.first()? == &1 { be(tfdt, 4, 8)? } else { be(tfdt, 4, 4)? };
    let offset = first(traf, &[b"trun"]).and_then(first_composition_offset).unwrap_or(0);
    Some((base as f64 + offset as f64) / scale as f64)
}

/// The composition offset of a `trun`'s first sample, when it has one.
fn first_composition_offset(trun: &[u8]) -> Option<i64> {
    let version = *trun.first()?;
    let flags = be(trun, 1, 3)?;
    if flags & 0x800 == 0 {
        return None;
    }
    let mut at = 8; // version+flags, sample_count
    for (flag, size) in [(0x1, 4), (0x4, 4)] {
        if flags & flag != 0 {
            at += size;
        }
    }
    for (flag, size) in [(0x100, 4), (0x200, 4), (0x400, 4)] {
        if flags & flag != 0 {
            at += size;
        }
    }
    let raw = be(trun, at, 4)? as u32;
    Some(if version == 1 { raw as i32 as i64 } else { raw as i64 })
}

/// The PTS of the first video PES packet of an MPEG-TS segment, in seconds.
pub fn ts_seconds(data: &[u8]) -> Option<f64> {
    for p in data.chunks_exact(188).take(100_000) {
        if p[0] != 0x47 || p[1] & 0x40 == 0 {
            continue;
        }
        let afc = (p[3] >> 4) & 0x3;
        let mut at = 4;
        if afc & 0x2 != 0 {
            at += 1 + *p.get(4)? as usize;
        }
        if afc & 0x1 == 0 || at + 14 > 188 {
            continue;
        }
        let pes = &p[at..];
        if pes[..3] != [0, 0, 1] || !(0xE0..=0xEF).contains(&pes[3]) || pes[7] & 0x80 == 0 {
            continue;
        }
        let t = &pes[9..14];
        let pts = ((t[0] as u64 >> 1) & 0x7) << 30
            | (t[1] as u64) << 22
            | ((t[2] as u64) >> 1) << 15
            | (t[3] as u64) << 7
            | (t[4] as u64) >> 1;
        return Some(pts as f64 / 90_000.0);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(name: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(name);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn reads_tfdt_and_composition_offset() {
        let mut mdhd = vec![0u8; 4 + 8];
        mdhd.extend_from_slice(&15360u32.to_be_bytes());
        mdhd.extend_from_slice(&[0; 8]);
        let init = bx(b"moov", &bx(b"trak", &bx(b"mdia", &bx(b"mdhd", &mdhd))));
        let mut tfdt = vec![1, 0, 0, 0];
        tfdt.extend_from_slice(&30720u64.to_be_bytes());
        let mut trun = vec![0, 0, 0x08, 0x01]; // data offset + composition offsets
        trun.extend_from_slice(&1u32.to_be_bytes());
        trun.extend_from_slice(&0u32.to_be_bytes());
        trun.extend_from_slice(&1024u32.to_be_bytes());
        let seg = bx(b"moof", &bx(b"traf", &[bx(b"tfdt", &tfdt), bx(b"trun", &trun)].concat()));
        let t = fmp4_seconds(&init, &seg).unwrap();
        assert!((t - (30720.0 + 1024.0) / 15360.0).abs() < 1e-9, "{t}");
        assert_eq!(fmp4_seconds(&init, b"junk"), None);
    }
}
