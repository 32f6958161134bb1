//! I-frame playlists (`EXT-X-I-FRAMES-ONLY`) written by vodbuild from the fMP4 segments'
//! sample tables, for packagers that cannot write them (ffmpeg). Same shape as Shaka
//! Packager's: one entry per sync sample, an `EXT-X-BYTERANGE` from the start of its `moof`
//! to the end of the sync sample's data in the `mdat` (so the range holds the fragment's
//! sample table and the key frame), `EXTINF` the time to the next sync sample.
//!
//! Sample tables: `trex` defaults from the init segment's `mvex`, then per `moof` the `tfhd`
//! defaults, `tfdt` decode time and `trun` entries (duration, size, flags; a sample is a sync
//! sample when `sample_is_non_sync_sample` is clear). [`check_playlist`] is the inverse used
//! by `vodbuild verify`: every byte range must start at a `moof` and cover a sync sample.

use std::path::Path;

use super::mp4::{be32, boxes, child};

/// Most samples one `trun` may declare (input-controlled count; a 10 s fragment at 240 fps
/// has 2400).
const MAX_SAMPLES: u32 = 1_000_000;
/// Most sync samples one I-frame playlist lists.
const MAX_IFRAMES: usize = 1_000_000;

/// A sync sample of a segment file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncSample {
    /// Byte offset of its fragment's `moof` in the segment.
    pub moof: u64,
    /// End of the sample's data (exclusive), from the segment's start.
    pub end: u64,
    /// Decode time in the track's timescale.
    pub time: u64,
}

/// Track defaults from the init segment: (timescale, default duration, size, flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct Defaults {
    pub timescale: u32,
    duration: u32,
    size: u32,
    flags: u32,
}

/// Reads the timescale and the `trex` defaults from an init segment.
pub fn defaults(init: &Path) -> Result<Defaults, String> {
    let moov = super::mp4::read_moov(init).map_err(|e| format!("{}: {e}", init.display()))?;
    let mdia = child(&moov, b"trak").and_then(|t| child(t, b"mdia")).ok_or("init segment: no trak/mdia box")?;
    let mdhd = child(mdia, b"mdhd").ok_or("init segment: no mdhd box")?;
    let timescale = be32(mdhd, if mdhd.first() == Some(&1) { 20 } else { 12 });
    let trex = child(&moov, b"mvex").and_then(|m| child(m, b"trex")).unwrap_or_default();
    let (duration, size, flags) = (be32(trex, 12), be32(trex, 16), be32(trex, 20));
    if timescale == 0 {
        return Err(format!("{}: timescale 0", init.display()));
    }
    Ok(Defaults { timescale, duration, size, flags })
}

/// The sync samples of one segment file, and the decode time at its end.
pub fn sync_samples(seg: &[u8], d: Defaults) -> Result<(Vec<SyncSample>, u64), String> {
    let (mut out, mut pos, mut end_time) = (Vec::new(), 0usize, 0u64);
    while pos + 8 <= seg.len() {
        let b = &seg[pos..];
        let hdr = if be32(b, 0) == 1 { 16 } else { 8 };
        let len = match be32(b, 0) {
            0 => b.len(),
            1 => b.get(8..16).map(|s| u64::from_be_bytes(s.try_into().unwrap()) as usize).unwrap_or(0),
            s => s as usize,
        };
        if len < hdr || len > b.len() {
            return Err(format!("box at byte {pos} overruns the file"));
        }
        if &b[4..8] == b"moof" {
            end_time = fragment(&b[hdr..len], pos as u64, d, &mut out)?;
        }
        pos += len;
    }
    Ok((out, end_time))
}

/// One fragment: pushes its sync samples; returns the decode time at its end.
fn fragment(moof: &[u8], at: u64, d: Defaults, out: &mut Vec<SyncSample>) -> Result<u64, String> {
    let traf = child(moof, b"traf").ok_or("moof without traf")?;
    let tfhd = child(traf, b"tfhd").ok_or("traf without tfhd")?;
    let tf = be32(tfhd, 0) & 0x00ff_ffff;
    let mut i = 8;
    let mut base = at;
    if tf & 0x1 != 0 {
        base = u64::from_be_bytes(tfhd.get(8..16).ok_or("short tfhd")?.try_into().unwrap());
        i += 8;
    }
    let mut field = |bit: u32, default: u32| {
        if tf & bit != 0 {
            i += 4;
            be32(tfhd, i - 4)
        } else {
            default
        }
    };
    let _ = field(0x2, 0);
    let (dur, size, flags) = (field(0x8, d.duration), field(0x10, d.size), field(0x20, d.flags));
    let mut time = child(traf, b"tfdt")
        .map(|t| match (t.first(), t.get(4..12)) {
            (Some(1), Some(v)) => u64::from_be_bytes(v.try_into().expect("8 bytes")),
            _ => be32(t, 4) as u64,
        })
        .unwrap_or(0);
    for (typ, trun) in boxes(traf) {
        if &typ == b"trun" {
            time = run(trun, (base, at, time), (dur, size, flags), out)?;
        }
    }
    Ok(time)
}

/// One `trun`: `(base, moof, time)` its data base, its moof's offset and its first decode time.
fn run(
    trun: &[u8],
    (base, moof, mut time): (u64, u64, u64),
    def: (u32, u32, u32),
    out: &mut Vec<SyncSample>,
) -> Result<u64, String> {
    let flags = be32(trun, 0) & 0x00ff_ffff;
    let count = be32(trun, 4);
    if count > MAX_SAMPLES {
        return Err(format!("trun declares {count} samples (more than {MAX_SAMPLES})"));
    }
    let mut i = 8;
    let mut data = base;
    if flags & 0x1 != 0 {
        data = base.wrapping_add_signed(be32(trun, i) as i32 as i64);
        i += 4;
    }
    let first_flags = (flags & 0x4 != 0).then(|| {
        i += 4;
        be32(trun, i - 4)
    });
    let per = [0x100, 0x200, 0x400, 0x800].iter().filter(|b| flags & **b != 0).count() * 4;
    if trun.len() < i + per * count as usize {
        return Err("trun shorter than its sample count".into());
    }
    for n in 0..count as usize {
        let mut j = i + n * per;
        let mut take = |bit: u32, default: u32| {
            if flags & bit != 0 {
                j += 4;
                be32(trun, j - 4)
            } else {
                default
            }
        };
        let (d, s) = (take(0x100, def.0), take(0x200, def.1));
        let f = take(0x400, if n == 0 { first_flags.unwrap_or(def.2) } else { def.2 });
        if f & 0x0001_0000 == 0 && out.len() < MAX_IFRAMES {
            out.push(SyncSample { moof, end: data.saturating_add(s as u64), time });
        }
        data = data.saturating_add(s as u64);
        time = time.saturating_add(d as u64);
    }
    Ok(time)
}

/// Writes `iframes.m3u8` next to the fMP4 media playlist `index` (its init and segments).
pub fn write_playlist(index: &Path) -> Result<(), String> {
    let dir = index.parent().unwrap_or(Path::new("."));
    let pl = media_playlist(index)?;
    let init =
        pl.segments.iter().find_map(|s| s.map.as_ref()).ok_or_else(|| format!("{}: no EXT-X-MAP", index.display()))?;
    let d = defaults(&dir.join(&init.uri))?;
    let mut frames: Vec<(String, SyncSample)> = Vec::new();
    let mut end = 0u64;
    for seg in &pl.segments {
        let path = dir.join(&seg.uri);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (samples, e) = sync_samples(&bytes, d).map_err(|e| format!("{}: {e}", path.display()))?;
        frames.extend(samples.into_iter().map(|s| (seg.uri.clone(), s)));
        end = end.max(e);
    }
    if frames.is_empty() {
        return Err(format!("{}: no sync sample in any segment", index.display()));
    }
    let text = render(&init.uri, &frames, end, d.timescale);
    let out = dir.join("iframes.m3u8");
    std::fs::write(&out, text).map_err(|e| format!("writing {}: {e}", out.display()))
}

fn render(init: &str, frames: &[(String, SyncSample)], end: u64, timescale: u32) -> String {
    let secs = |a: u64, b: u64| b.saturating_sub(a) as f64 / timescale as f64;
    let durs: Vec<f64> =
        (0..frames.len()).map(|i| secs(frames[i].1.time, frames.get(i + 1).map(|f| f.1.time).unwrap_or(end))).collect();
    let target = durs.iter().cloned().fold(1.0f64, f64::max).ceil() as u64;
    let mut s = format!(
        "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n#EXT-X-MAP:URI=\"{init}\"\n"
    );
    for ((uri, f), d) in frames.iter().zip(durs) {
        s += &format!("#EXTINF:{d:.3},\n#EXT-X-BYTERANGE:{}@{}\n{uri}\n", f.end.saturating_sub(f.moof), f.moof);
    }
    s + "#EXT-X-ENDLIST\n"
}

pub(crate) fn media_playlist(path: &Path) -> Result<m3u8_rs::MediaPlaylist, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match super::master::parse_playlist(&bytes) {
        Ok(m3u8_rs::Playlist::MediaPlaylist(p)) => Ok(p),
        Ok(_) => Err(format!("{}: not a media playlist", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Checks an I-frame playlist: each byte range starts at a `moof` of its segment and covers a
/// sync sample of that fragment. Returns what is wrong, one line per entry (at most 20).
pub fn check_playlist(path: &Path) -> Result<Vec<String>, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let pl = media_playlist(path)?;
    if !pl.i_frames_only {
        return Err("lacks #EXT-X-I-FRAMES-ONLY".into());
    }
    let init = pl.segments.iter().find_map(|s| s.map.as_ref()).ok_or("no EXT-X-MAP")?;
    let d = defaults(&dir.join(&init.uri))?;
    let mut problems = Vec::new();
    let mut cache: Option<(String, Vec<SyncSample>)> = None;
    for seg in &pl.segments {
        let Some(r) = &seg.byte_range else {
            problems.push(format!("{}: no EXT-X-BYTERANGE", seg.uri));
            continue;
        };
        if cache.as_ref().map(|c| &c.0) != Some(&seg.uri) {
            let bytes = std::fs::read(dir.join(&seg.uri)).map_err(|e| format!("{}: {e}", seg.uri))?;
            cache = Some((seg.uri.clone(), sync_samples(&bytes, d).map_err(|e| format!("{}: {e}", seg.uri))?.0));
        }
        let (off, len) = (r.offset.unwrap_or(0), r.length);
        let samples = &cache.as_ref().expect("filled").1;
        if !samples.iter().any(|s| s.moof == off && s.end > s.moof && s.end <= off.saturating_add(len)) {
            problems.push(format!(
                "{}: byte range {len}@{off} does not start at a fragment holding a whole sync sample",
                seg.uri
            ));
        }
        if problems.len() >= 20 {
            break;
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(t: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(t);
        v.extend_from_slice(body);
        v
    }

    /// styp, then a fragment of 3 samples (sync, non-sync, non-sync) of 10, 20, 30 bytes,
    /// 512 ticks each, decode time 1024; trun with data offset, sizes and flags per sample.
    fn segment() -> Vec<u8> {
        let tfhd = bx(b"tfhd", &[0, 2, 0, 0, 0, 0, 0, 1]); // default-base-is-moof
        let mut tfdt_body = vec![0, 0, 0, 0];
        tfdt_body.extend(1024u32.to_be_bytes());
        let tfdt = bx(b"tfdt", &tfdt_body);
        let mut trun_body = vec![0, 0, 0x06, 0x01]; // flags 0x601: data offset, per-sample size and flags
        trun_body.extend(3u32.to_be_bytes());
        let offset_at = trun_body.len();
        trun_body.extend(0u32.to_be_bytes());
        for (size, flags) in [(10u32, 0x0200_0000u32), (20, 0x0101_0000), (30, 0x0101_0000)] {
            trun_body.extend(size.to_be_bytes());
            trun_body.extend(flags.to_be_bytes());
        }
        let traf_len = 8 + tfhd.len() + tfdt.len() + 8 + trun_body.len();
        let moof_len = 8 + 8 + traf_len; // moof header + mfhd (8) + traf
        let data_offset = (moof_len + 8) as u32; // first byte after the mdat header
        trun_body[offset_at..offset_at + 4].copy_from_slice(&data_offset.to_be_bytes());
        let traf = bx(b"traf", &[tfhd, tfdt, bx(b"trun", &trun_body)].concat());
        let moof = bx(b"moof", &[bx(b"mfhd", &[]), traf].concat());
        assert_eq!(moof.len(), moof_len);
        [bx(b"styp", b"msdhmsdh"), moof, bx(b"mdat", &[0u8; 60])].concat()
    }

    #[test]
    fn finds_the_sync_sample_and_its_range() {
        let d = Defaults { timescale: 1000, duration: 512, size: 0, flags: 0 };
        let seg = segment();
        let (samples, end) = sync_samples(&seg, d).unwrap();
        let moof = 16u64; // after the 16-byte styp
        let mdat_data = seg.len() as u64 - 60;
        assert_eq!(samples, vec![SyncSample { moof, end: mdat_data + 10, time: 1024 }]);
        assert_eq!(end, 1024 + 3 * 512, "default duration from the trex defaults");
        let text = render("init.mp4", &[("s.m4s".into(), samples[0])], end, 1000);
        assert!(
            text.contains(&format!("#EXTINF:1.536,\n#EXT-X-BYTERANGE:{}@16\ns.m4s\n", mdat_data + 10 - 16)),
            "{text}"
        );
        assert!(text.contains("#EXT-X-TARGETDURATION:2\n") && text.contains("#EXT-X-I-FRAMES-ONLY"), "{text}");
    }

    #[test]
    fn hostile_sample_tables_are_errors_not_panics() {
        let d = Defaults { timescale: 1000, ..Default::default() };
        let mut seg = segment();
        // A box that claims more bytes than the file has.
        seg[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(sync_samples(&seg, d).is_err());
        // A trun declaring more samples than it holds.
        let mut trun = vec![0, 0, 0x02, 0x00];
        trun.extend(1000u32.to_be_bytes());
        let moof = bx(b"moof", &bx(b"traf", &[bx(b"tfhd", &[0; 8]), bx(b"trun", &trun)].concat()));
        assert!(sync_samples(&moof, d).unwrap_err().contains("shorter than its sample count"));
        let mut huge = vec![0, 0, 0, 0];
        huge.extend(u32::MAX.to_be_bytes());
        let moof = bx(b"moof", &bx(b"traf", &[bx(b"tfhd", &[0; 8]), bx(b"trun", &huge)].concat()));
        assert!(sync_samples(&moof, d).unwrap_err().contains("more than"));
    }
}
