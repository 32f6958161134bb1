//! Unit tests of [`super`] on hand-built transport streams; [`segment`] is shared with the
//! I-frame playlist tests.

use super::*;

/// One packet: PID, start flag, random access flag, payload (padded with an adaptation field).
pub(crate) fn pkt(pid: u16, start: bool, rai: bool, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() <= 182);
    let mut p = vec![0x47, ((start as u8) << 6) | (pid >> 8) as u8, pid as u8, 0x30];
    let stuffing = 184 - 2 - payload.len();
    p.push((1 + stuffing) as u8);
    p.push(if rai { 0x40 } else { 0 });
    p.extend(std::iter::repeat_n(0xff, stuffing));
    p.extend_from_slice(payload);
    assert_eq!(p.len(), PACKET);
    p
}

/// A PSI section packet (pointer field 0) with a 4-byte fake CRC.
fn psi(pid: u16, table: u8, body: &[u8]) -> Vec<u8> {
    let len = (5 + body.len() + 4) as u16;
    let mut s = vec![0, table, 0xb0 | (len >> 8) as u8, len as u8, 0, 1, 0xc1, 0, 0];
    s.extend_from_slice(body);
    s.extend_from_slice(&[0, 0, 0, 0]);
    pkt(pid, true, false, &s)
}

pub(crate) fn pat() -> Vec<u8> {
    psi(0, 0x00, &[0, 1, 0xf0, 0x00]) // program 1 → PMT PID 0x1000
}

pub(crate) fn pmt(stream_type: u8) -> Vec<u8> {
    // PCR PID 0x100, no program info, one stream: type, PID 0x100, no ES info.
    psi(0x1000, 0x02, &[0xe1, 0x00, 0xf0, 0x00, stream_type, 0xe1, 0x00, 0xf0, 0x00])
}

/// A PES header with a PTS followed by `es`.
pub(crate) fn pes(pts: u64, es: &[u8]) -> Vec<u8> {
    let t = [
        0x21 | ((pts >> 29) & 0x0e) as u8,
        (pts >> 22) as u8,
        0x01 | ((pts >> 14) & 0xfe) as u8,
        (pts >> 7) as u8,
        0x01 | ((pts << 1) & 0xfe) as u8,
    ];
    let mut v = vec![0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5];
    v.extend_from_slice(&t);
    v.extend_from_slice(es);
    v
}

/// H.264 access units: AUD, SPS, PPS, then an IDR slice (or a non-IDR slice).
pub(crate) fn h264(idr: bool) -> Vec<u8> {
    let slice = if idr { 0x65 } else { 0x41 };
    vec![0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0, 0, 1, slice, 0x88, 0x84]
}

/// PAT, PMT (H.264), then frames as (PTS, IDR, extra continuation packets): each PES is one
/// start packet plus `extra` packets of the video PID, with an audio-PID packet between.
pub(crate) fn segment(frames: &[(u64, bool, usize)]) -> Vec<u8> {
    let mut s = [pat(), pmt(0x1b)].concat();
    for &(pts, idr, extra) in frames {
        s.extend(pkt(0x100, true, false, &pes(pts, &h264(idr))));
        for _ in 0..extra {
            s.extend(pkt(0x100, false, false, &[0xaa; 100]));
        }
        s.extend(pkt(0x101, true, false, &[0xbb; 10]));
    }
    s
}

#[test]
fn finds_the_video_pid_pts_and_key_frames() {
    let seg = segment(&[(900_000, true, 2), (903_600, false, 0), (907_200, true, 1)]);
    let packets = packets(&seg).unwrap();
    let v = video(&packets).unwrap();
    assert_eq!(v, Video { pid: 0x100, stream_type: 0x1b });
    let pes = video_pes(&packets, v).unwrap();
    let at = |n: usize| (n * PACKET) as u64;
    assert_eq!(
        pes,
        vec![
            Pes { at: at(2), pts: Some(900_000), key: true },
            Pes { at: at(6), pts: Some(903_600), key: false },
            Pes { at: at(8), pts: Some(907_200), key: true },
        ]
    );
}

#[test]
fn key_frames_by_codec() {
    let hevc_idr = pes(0, &[0, 0, 1, 0x46, 1, 0x50, 0, 0, 1, 0x26, 0x01, 0xaf]); // AUD, IDR_W_RADL
    let hevc_trail = pes(0, &[0, 0, 1, 0x46, 1, 0x50, 0, 0, 1, 0x02, 0x01, 0xd0]); // AUD, TRAIL_R
    assert!(is_key(&hevc_idr, 0x24, false));
    assert!(!is_key(&hevc_trail, 0x24, true), "the NAL type decides for HEVC, not the flag");
    assert!(is_key(&pes(0, &h264(true)), 0x1b, false));
    assert!(!is_key(&pes(0, &h264(false)), 0x1b, true));
    assert!(is_key(&pes(0, &[1, 2, 3]), 0x02, true), "MPEG-2: the random access indicator");
    assert!(!is_key(&[0, 0, 1], 0x1b, true), "a truncated PES header");
}

#[test]
fn hostile_segments_are_errors_not_panics() {
    let mut seg = segment(&[(0, true, 0)]);
    assert!(packets(&seg[..seg.len() - 1]).unwrap_err().contains("whole number"));
    assert!(packets(&[]).is_err());
    seg[PACKET] = 0x46;
    assert!(packets(&seg).unwrap_err().contains("packet 1: no sync byte"));
    let mut long_af = pkt(0x100, true, false, &[]);
    long_af[4] = 200;
    assert!(packet(&long_af).unwrap_err().contains("adaptation field"));
    // No PAT; a PAT without a PMT; a PMT without video.
    let no_pat = packets(&pkt(0x100, true, false, &[1])).map(|p| video(&p).is_err()).unwrap();
    assert!(no_pat);
    let only_pat = pat();
    assert!(video(&packets(&only_pat).unwrap()).unwrap_err().contains("no PMT"));
    let audio_only = [pat(), pmt(0x0f)].concat();
    assert!(video(&packets(&audio_only).unwrap()).is_err());
    // Truncated sections and PES headers.
    assert_eq!(section(&[5, 0, 0]), None);
    assert_eq!(pts(&[0, 0, 1, 0xe0, 0, 0, 0x80, 0x80]), None);
    assert_eq!(video_in_pmt(&[0x02, 0xb0, 0xff]), None);
}
