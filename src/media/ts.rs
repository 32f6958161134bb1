//! MPEG-TS segments read for I-frame playlists ([`super::iframes_ts`]): 188-byte packets, the
//! video PID from the PAT and PMT, and the video PES packets (where each starts, its PTS,
//! whether it is a key frame). A key frame is a PES whose first coded slice is an IDR/IRAP
//! picture (H.264 NAL type 5, HEVC types 16–23), or, for codecs whose NAL units are not read
//! here, whose start carries the adaptation field's `random_access_indicator`.
//! Everything is bounded: the segment size ([`MAX_SEGMENT_BYTES`]), the PES bytes scanned for
//! NAL units ([`MAX_PES_SCAN`]) and the PES count ([`MAX_PES`]).

/// Size of a transport stream packet.
pub const PACKET: usize = 188;
/// Largest segment read (a 10 s segment at 200 Mbit/s is 250 MB).
pub const MAX_SEGMENT_BYTES: u64 = 512 << 20;
/// Bytes of one PES scanned for its first coded slice (headers, SPS/PPS/SEI come first).
const MAX_PES_SCAN: usize = 256 << 10;
/// Most video PES packets listed for one segment (one per frame).
const MAX_PES: usize = 1_000_000;

/// One packet's header fields and payload.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub pid: u16,
    /// `payload_unit_start_indicator`.
    pub start: bool,
    /// The adaptation field's `random_access_indicator`.
    pub random_access: bool,
    pub payload: &'a [u8],
}

/// Parses one 188-byte packet; an error says what is wrong.
pub fn packet(p: &[u8]) -> Result<Packet<'_>, String> {
    if p.len() != PACKET || p[0] != 0x47 {
        return Err("no sync byte 0x47".into());
    }
    let pid = u16::from_be_bytes([p[1] & 0x1f, p[2]]);
    let afc = (p[3] >> 4) & 0x3;
    let mut at = 4;
    let mut random_access = false;
    if afc & 0x2 != 0 {
        let len = p[4] as usize;
        if 5 + len > PACKET {
            return Err("adaptation field longer than the packet".into());
        }
        random_access = len > 0 && p[5] & 0x40 != 0;
        at = 5 + len;
    }
    let payload = if afc & 0x1 != 0 { &p[at..] } else { &[][..] };
    Ok(Packet { pid, start: p[1] & 0x40 != 0, random_access, payload })
}

/// The video elementary stream of a program: its PID and `stream_type`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Video {
    pub pid: u16,
    pub stream_type: u8,
}

/// Video stream types: MPEG-1/2, MPEG-4 part 2, H.264, HEVC, SAMPLE-AES H.264 (NAL headers
/// stay clear).
fn is_video(stream_type: u8) -> bool {
    matches!(stream_type, 0x01 | 0x02 | 0x10 | 0x1b | 0x24 | 0xdb)
}

/// The section of a PSI packet's payload (after its pointer field), at most `section_length`.
fn section(payload: &[u8]) -> Option<&[u8]> {
    let skip = 1 + *payload.first()? as usize;
    let s = payload.get(skip..)?;
    let len = (u16::from_be_bytes([*s.get(1)? & 0x0f, *s.get(2)?]) as usize).min(s.len().saturating_sub(3));
    Some(&s[..3 + len])
}

/// The first program's PMT PID from a PAT section (program 0 is the network PID).
fn pmt_in_pat(pat: &[u8]) -> Option<u16> {
    let entries = pat.get(8..pat.len().saturating_sub(4))?;
    entries.chunks_exact(4).find(|e| e[0] != 0 || e[1] != 0).map(|e| u16::from_be_bytes([e[2] & 0x1f, e[3]]))
}

/// The first video stream of a PMT section.
fn video_in_pmt(pmt: &[u8]) -> Option<Video> {
    let info = u16::from_be_bytes([*pmt.get(10)? & 0x0f, *pmt.get(11)?]) as usize;
    let mut es = pmt.get(12 + info..pmt.len().saturating_sub(4))?;
    while es.len() >= 5 {
        let (stream_type, pid) = (es[0], u16::from_be_bytes([es[1] & 0x1f, es[2]]));
        if is_video(stream_type) {
            return Some(Video { pid, stream_type });
        }
        let skip = 5 + (u16::from_be_bytes([es[3] & 0x0f, es[4]]) as usize);
        es = es.get(skip..)?;
    }
    None
}

/// Splits a segment into packets; errors when its size is not a whole number of packets or a
/// packet lacks its sync byte.
pub fn packets(seg: &[u8]) -> Result<Vec<Packet<'_>>, String> {
    if seg.len() as u64 > MAX_SEGMENT_BYTES {
        return Err(format!("is larger than {MAX_SEGMENT_BYTES} bytes"));
    }
    if seg.is_empty() || !seg.len().is_multiple_of(PACKET) {
        return Err(format!("is {} bytes, not a whole number of {PACKET}-byte packets", seg.len()));
    }
    seg.chunks_exact(PACKET).enumerate().map(|(i, p)| packet(p).map_err(|e| format!("packet {i}: {e}"))).collect()
}

/// The PMT PID named by the first PAT among `packets`.
pub fn pmt_pid(packets: &[Packet]) -> Option<u16> {
    let pat = packets.iter().find(|p| p.pid == 0 && p.start).and_then(|p| section(p.payload));
    pat.and_then(pmt_in_pat)
}

/// The video stream named by the segment's PAT and PMT.
pub fn video(packets: &[Packet]) -> Result<Video, String> {
    let pmt = pmt_pid(packets).ok_or("no PAT naming a program")?;
    let v = packets.iter().filter(|p| p.pid == pmt && p.start).find_map(|p| section(p.payload).and_then(video_in_pmt));
    v.ok_or_else(|| format!("no PMT (PID {pmt}) with a video stream"))
}

/// A video PES packet of a segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pes {
    /// Byte offset of the TS packet that starts it.
    pub at: u64,
    /// Presentation time (90 kHz), when its header has one.
    pub pts: Option<u64>,
    pub key: bool,
}

/// Every video PES of a segment, in order.
pub fn video_pes(packets: &[Packet], v: Video) -> Result<Vec<Pes>, String> {
    let mut out: Vec<Pes> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut rai = false;
    for (i, p) in packets.iter().enumerate().filter(|(_, p)| p.pid == v.pid) {
        if p.start {
            if let Some(last) = out.last_mut() {
                last.key = is_key(&data, v.stream_type, rai);
            }
            if out.len() >= MAX_PES {
                return Err(format!("more than {MAX_PES} video PES packets"));
            }
            out.push(Pes { at: (i * PACKET) as u64, pts: None, key: false });
            data.clear();
            rai = p.random_access;
        }
        if !out.is_empty() && data.len() < MAX_PES_SCAN {
            data.extend_from_slice(p.payload);
        }
        if let Some(last) = out.last_mut().filter(|l| l.pts.is_none() && data.len() >= 14) {
            last.pts = pts(&data);
        }
    }
    if let Some(last) = out.last_mut() {
        last.key = is_key(&data, v.stream_type, rai);
    }
    Ok(out)
}

/// The PTS of a PES header.
pub fn pts(pes: &[u8]) -> Option<u64> {
    if pes.get(..3)? != [0, 0, 1] || pes.get(7)? & 0x80 == 0 {
        return None;
    }
    let t = pes.get(9..14)?;
    Some(
        ((t[0] as u64 >> 1) & 0x7) << 30
            | (t[1] as u64) << 22
            | ((t[2] as u64) >> 1) << 15
            | (t[3] as u64) << 7
            | (t[4] as u64) >> 1,
    )
}

/// Whether a PES (its first bytes) holds a key frame: its first coded slice is IDR/IRAP for
/// H.264 and HEVC; the random access indicator for the other codecs.
pub fn is_key(pes: &[u8], stream_type: u8, random_access: bool) -> bool {
    let es = match (pes.get(..3), pes.get(8)) {
        (Some([0, 0, 1]), Some(h)) => pes.get(9 + *h as usize..).unwrap_or_default(),
        _ => return false,
    };
    match stream_type {
        0x1b | 0xdb => first_slice(es, |b| b & 0x1f, |t| (1..=5).contains(&t)) == Some(5),
        0x24 => first_slice(es, |b| (b >> 1) & 0x3f, |t| t < 32).is_some_and(|t| (16..=23).contains(&t)),
        _ => random_access,
    }
}

/// The NAL type of the first NAL unit (after a 00 00 01 start code) that `slice` accepts.
fn first_slice(es: &[u8], nal_type: impl Fn(u8) -> u8, slice: impl Fn(u8) -> bool) -> Option<u8> {
    let mut i = 0;
    while i + 3 < es.len() {
        if es[i] == 0 && es[i + 1] == 0 && es[i + 2] == 1 {
            let t = nal_type(es[i + 3]);
            if slice(t) {
                return Some(t);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
#[path = "ts_tests.rs"]
pub(crate) mod tests;
