//! I-frame playlists over MPEG-TS segments, written by vodbuild for the ffmpeg packager (Shaka
//! Packager writes its own) and checked by `vodbuild verify` for both.
//!
//! One entry per key frame ([`super::ts`]): an `EXT-X-BYTERANGE` from the TS packet that
//! starts the key frame's video PES up to (excluding) the packet that starts the next video
//! PES (or the segment's end), `EXTINF` the PTS distance to the next key frame (the last one:
//! to the end of the media playlist). As in Shaka Packager's and Apple's playlists (and RFC
//! 8216 §4.3.3.6), a range never holds the segment's PAT/PMT: with no `EXT-X-MAP`, clients take
//! the Media Initialization Section from the bytes before the segment's first I-frame, so
//! [`check_playlist`] requires that a PAT and PMT lie there.

use std::path::Path;

use super::ts::{self, PACKET, Packet, Pes};

/// Most key frames one playlist lists.
const MAX_IFRAMES: usize = 1_000_000;
/// 2^33: PTS values wrap there.
const WRAP: u64 = 1 << 33;

/// A key frame of a segment: its byte range and its PTS (unwrapped, 90 kHz).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyFrame {
    pub offset: u64,
    pub length: u64,
    pub pts: u64,
}

/// Writes `iframes.m3u8` next to the media playlist `index`: fMP4 (with `EXT-X-MAP`) through
/// [`super::iframes::write_playlist`], MPEG-TS here.
pub fn write_for(index: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(index).map_err(|e| format!("{}: {e}", index.display()))?;
    if text.contains("#EXT-X-MAP") { super::iframes::write_playlist(index) } else { write_playlist(index) }
}

/// Reads a segment (bounded by [`ts::MAX_SEGMENT_BYTES`]).
fn read_segment(path: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    if len > ts::MAX_SEGMENT_BYTES {
        return Err(format!("{}: larger than {} bytes", path.display(), ts::MAX_SEGMENT_BYTES));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Moves a 33-bit PTS next to `last` (an unwrapped PTS).
fn unwrap(raw: u64, last: u64) -> u64 {
    let mut t = (last & !(WRAP - 1)) + raw;
    if t + WRAP / 2 < last {
        t += WRAP;
    } else if t > last + WRAP / 2 && t >= WRAP {
        t -= WRAP;
    }
    t
}

/// The video PES packets of a segment, with its packets.
fn pes_of(seg: &[u8]) -> Result<(Vec<Packet<'_>>, ts::Video, Vec<Pes>), String> {
    let packets = ts::packets(seg)?;
    let v = ts::video(&packets)?;
    let pes = ts::video_pes(&packets, v)?;
    Ok((packets, v, pes))
}

/// The key frames of one segment; `last` is the previous unwrapped PTS (updated).
pub fn key_frames(seg: &[u8], last: &mut Option<u64>) -> Result<Vec<KeyFrame>, String> {
    let (_, _, pes) = pes_of(seg)?;
    let mut out = Vec::new();
    for (i, p) in pes.iter().enumerate().filter(|(_, p)| p.key) {
        let raw = p.pts.ok_or_else(|| format!("key frame at byte {} has no PTS", p.at))?;
        let pts = last.map_or(raw, |l| unwrap(raw, l));
        *last = Some(pts);
        let end = pes.get(i + 1).map_or(seg.len() as u64, |n| n.at);
        out.push(KeyFrame { offset: p.at, length: end - p.at, pts });
    }
    Ok(out)
}

/// The first PTS of a segment's video (its lowest, B-frames reorder).
fn first_pts(seg: &[u8]) -> Result<u64, String> {
    let (_, _, pes) = pes_of(seg)?;
    pes.iter().filter_map(|p| p.pts).min().ok_or_else(|| "no video PES with a PTS".into())
}

/// Writes `iframes.m3u8` next to the MPEG-TS media playlist `index`.
pub fn write_playlist(index: &Path) -> Result<(), String> {
    let dir = index.parent().unwrap_or(Path::new("."));
    let pl = super::iframes::media_playlist(index)?;
    let mut frames: Vec<(String, KeyFrame)> = Vec::new();
    let (mut last, mut start) = (None, None);
    for seg in &pl.segments {
        let path = dir.join(&seg.uri);
        let bytes = read_segment(&path)?;
        if start.is_none() {
            start = Some(first_pts(&bytes).map_err(|e| format!("{}: {e}", path.display()))?);
        }
        let found = key_frames(&bytes, &mut last).map_err(|e| format!("{}: {e}", path.display()))?;
        frames.extend(found.into_iter().map(|k| (seg.uri.clone(), k)));
        if frames.len() > MAX_IFRAMES {
            return Err(format!("{}: more than {MAX_IFRAMES} key frames", index.display()));
        }
    }
    if frames.is_empty() {
        return Err(format!("{}: no key frame in any segment", index.display()));
    }
    let total: f64 = pl.segments.iter().map(|s| s.duration as f64).sum();
    // The segment's earliest PTS, on the key frames' unwrapped time line (it may be past a
    // wrap the first key frame is before).
    let start = unwrap(start.unwrap_or(0), frames[0].1.pts);
    let end = start + (total * 90_000.0).round() as u64;
    let out = dir.join("iframes.m3u8");
    std::fs::write(&out, render(&frames, end)).map_err(|e| format!("writing {}: {e}", out.display()))
}

fn render(frames: &[(String, KeyFrame)], end: u64) -> String {
    let next = |i: usize| frames.get(i + 1).map_or(end, |f| f.1.pts);
    let durs: Vec<f64> = (0..frames.len()).map(|i| next(i).saturating_sub(frames[i].1.pts) as f64 / 90_000.0).collect();
    let target = durs.iter().cloned().fold(1.0f64, f64::max).ceil() as u64;
    let mut s = format!(
        "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-I-FRAMES-ONLY\n"
    );
    for ((uri, k), d) in frames.iter().zip(durs) {
        s += &format!("#EXTINF:{d:.3},\n#EXT-X-BYTERANGE:{}@{}\n{uri}\n", k.length, k.offset);
    }
    s + "#EXT-X-ENDLIST\n"
}

/// What is wrong with one byte range of a segment (None: it is an I-frame), given the
/// segment's packets, video stream and video PES packets.
fn check_range(seg: (&[Packet], ts::Video, &[Pes]), off: u64, len: u64) -> Option<String> {
    let (packets, v, pes) = seg;
    let size = (packets.len() * PACKET) as u64;
    if len == 0 || off.checked_add(len).is_none_or(|e| e > size) {
        return Some(format!("byte range {len}@{off} is not within the segment's {size} bytes"));
    }
    if !off.is_multiple_of(PACKET as u64) || !len.is_multiple_of(PACKET as u64) {
        return Some(format!("byte range {len}@{off} does not hold whole {PACKET}-byte TS packets"));
    }
    let Some(i) = pes.iter().position(|p| p.at >= off && p.at < off + len) else {
        return Some(format!("byte range {len}@{off} holds no start of a video PES"));
    };
    if !pes[i].key || pes[i].at != off {
        return Some(format!("byte range {len}@{off} does not start at a video PES holding a key frame (IDR)"));
    }
    let next = pes.get(i + 1).map_or(packets.len(), |n| (n.at / PACKET as u64) as usize);
    let last = (off as usize / PACKET..next).rev().find(|&k| packets[k].pid == v.pid).unwrap_or(0);
    let need = ((last + 1) * PACKET) as u64;
    (need > off + len).then(|| format!("byte range {len}@{off} cuts the key frame's PES (it ends at byte {need})"))
}

/// Whether a PAT and the PMT lie before byte `off` (the segment's Media Initialization Section).
fn init_before(packets: &[Packet], off: u64) -> bool {
    let before = &packets[..(off as usize / PACKET).min(packets.len())];
    let pmt = ts::pmt_pid(before);
    before.iter().any(|p| p.pid == 0 && p.start)
        && pmt.is_some_and(|pmt| before.iter().any(|p| p.pid == pmt && p.start))
}

/// Checks an MPEG-TS I-frame playlist: each byte range lies in its segment, holds whole TS
/// packets and starts at the video PES of a key frame, which it holds whole; each segment's
/// first range follows a PAT and PMT. One line per problem (at most 20).
pub fn check_playlist(path: &Path) -> Result<Vec<String>, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let pl = super::iframes::media_playlist(path)?;
    if !pl.i_frames_only {
        return Err("lacks #EXT-X-I-FRAMES-ONLY".into());
    }
    let mut problems = Vec::new();
    // Entries of one segment come together: each segment is read and parsed once per run.
    for run in pl.segments.chunk_by(|a, b| a.uri == b.uri) {
        let uri = &run[0].uri;
        let bytes = read_segment(&dir.join(uri))?;
        let (packets, v, pes) = pes_of(&bytes).map_err(|e| format!("{uri}: {e}"))?;
        let mut at = 0u64;
        for (n, seg) in run.iter().enumerate() {
            let Some(r) = &seg.byte_range else {
                problems.push(format!("{uri}: no EXT-X-BYTERANGE"));
                continue;
            };
            let off = r.offset.unwrap_or(at);
            at = off.saturating_add(r.length);
            if let Some(p) = check_range((&packets, v, &pes), off, r.length) {
                problems.push(format!("{uri}: {p}"));
            }
            if n == 0 && !init_before(&packets, off) {
                problems.push(format!("{uri}: no PAT and PMT before its first I-frame (byte {off})"));
            }
        }
        if problems.len() >= 20 {
            problems.truncate(20);
            break;
        }
    }
    Ok(problems)
}

#[cfg(test)]
#[path = "iframes_ts_tests.rs"]
mod tests;
