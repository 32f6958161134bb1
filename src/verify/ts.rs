//! MPEG-TS segments have no init segment: what they carry is in the PMT (program map table)
//! at their start. This reads the PAT and PMT from the first packets of a segment and checks
//! the stream types against the CODECS a variant declares.

use std::io::Read;
use std::path::Path;

use m3u8_rs::Playlist;

use super::Findings;

const PACKET: usize = 188;
/// Bytes read from the start of a segment: the PAT and PMT come first.
const HEAD: u64 = 64 * 1024;

/// One elementary stream of a program: its `stream_type` and, if any, the format identifier
/// of its registration descriptor (`Opus`, `AV01`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsStream {
    pub stream_type: u8,
    pub registration: Option<[u8; 4]>,
}

impl TsStream {
    /// The RFC 6381 codec family (`avc1`, `hvc1`, `mp4a`, ...) players decode from this stream,
    /// or None for a stream they cannot decode (private data such as AV1, VP9 or Opus).
    pub fn family(&self) -> Option<&'static str> {
        match self.stream_type {
            0x1B => Some("avc1"),
            0x24 => Some("hvc1"),
            0x0F | 0x11 | 0x03 | 0x04 => Some("mp4a"),
            0x81 => Some("ac-3"),
            0x87 => Some("ec-3"),
            _ => None,
        }
    }

    pub fn describe(&self) -> String {
        let reg = self.registration.map(|r| format!(" `{}`", String::from_utf8_lossy(&r))).unwrap_or_default();
        let what = match self.family() {
            Some(f) => f.to_string(),
            None if self.stream_type == 0x06 => "private data".into(),
            None => "unknown".into(),
        };
        format!("stream_type 0x{:02X} ({what}{reg})", self.stream_type)
    }
}

/// The streams of the first program in the first `HEAD` bytes of a TS file.
pub fn streams(path: &Path) -> Result<Vec<TsStream>, String> {
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(HEAD).read_to_end(&mut buf))
        .map_err(|e| format!("cannot be read: {e}"))?;
    if buf.first() != Some(&0x47) {
        return Err("is not MPEG-TS (no 0x47 sync byte at the start)".into());
    }
    let mut pmt_pid = None;
    for pkt in buf.chunks_exact(PACKET) {
        let Some((pid, section)) = psi_section(pkt) else { continue };
        match (pid, pmt_pid) {
            (0, None) => pmt_pid = pat_first_pmt(section),
            (p, Some(pmt)) if p == pmt => return pmt_streams(section).ok_or_else(|| "has a malformed PMT".into()),
            _ => {}
        }
    }
    Err(format!("has no {} in its first {HEAD} bytes", if pmt_pid.is_none() { "PAT" } else { "PMT" }))
}

/// (PID, section) of a packet that starts a PSI section. A section must fit in its packet
/// (183 bytes): ffmpeg and Shaka Packager write one-program PATs and PMTs far smaller.
fn psi_section(pkt: &[u8]) -> Option<(u16, &[u8])> {
    if pkt[0] != 0x47 || pkt[1] & 0x40 == 0 {
        return None;
    }
    let pid = u16::from(pkt[1] & 0x1F) << 8 | u16::from(pkt[2]);
    let afc = (pkt[3] >> 4) & 3;
    if afc & 1 == 0 {
        return None;
    }
    let start = if afc & 2 != 0 { 5 + usize::from(pkt[4]) } else { 4 };
    let pointer = usize::from(*pkt.get(start)?);
    let section = pkt.get(start + 1 + pointer..)?;
    let len = (usize::from(section.get(1)? & 0x0F) << 8 | usize::from(*section.get(2)?)) + 3;
    Some((pid, section.get(..len)?))
}

fn pat_first_pmt(s: &[u8]) -> Option<u16> {
    if s[0] != 0x00 {
        return None;
    }
    let entries = s.get(8..s.len().checked_sub(4)?)?;
    entries
        .chunks_exact(4)
        .find(|e| u16::from_be_bytes([e[0], e[1]]) != 0)
        .map(|e| u16::from(e[2] & 0x1F) << 8 | u16::from(e[3]))
}

fn pmt_streams(s: &[u8]) -> Option<Vec<TsStream>> {
    if *s.first()? != 0x02 {
        return None;
    }
    let end = s.len().checked_sub(4)?;
    let info_len = usize::from(s.get(10)? & 0x0F) << 8 | usize::from(*s.get(11)?);
    let mut i = 12 + info_len;
    let mut out = Vec::new();
    while i + 5 <= end {
        let es_len = usize::from(s[i + 3] & 0x0F) << 8 | usize::from(s[i + 4]);
        let descriptors = s.get(i + 5..i + 5 + es_len)?;
        out.push(TsStream { stream_type: s[i], registration: registration(descriptors) });
        i += 5 + es_len;
    }
    Some(out)
}

/// The format identifier of a registration descriptor (tag 0x05).
fn registration(mut d: &[u8]) -> Option<[u8; 4]> {
    while d.len() >= 2 {
        let (tag, len) = (d[0], usize::from(d[1]));
        let body = d.get(2..2 + len)?;
        if tag == 0x05 && len >= 4 {
            return Some([body[0], body[1], body[2], body[3]]);
        }
        d = &d[2 + len..];
    }
    None
}

/// The first segment of a media playlist, if it is a `.ts` file.
fn first_ts_segment(playlist: &Path) -> Option<std::path::PathBuf> {
    let bytes = std::fs::read(playlist).ok()?;
    let Ok(Playlist::MediaPlaylist(pl)) = m3u8_rs::parse_playlist_res(&bytes) else { return None };
    // Encrypted segments are checked by `verify::encryption` (decrypted with the key).
    if pl.segments.iter().any(|s| s.key.as_ref().is_some_and(|k| k.method != m3u8_rs::KeyMethod::None)) {
        return None;
    }
    let seg = pl.segments.first()?;
    let uri = seg.uri.split(['?', '#']).next().unwrap_or_default();
    uri.ends_with(".ts").then(|| playlist.parent().unwrap_or(Path::new(".")).join(uri))
}

/// Checks a variant whose segments are MPEG-TS: every codec family in CODECS must be carried by
/// its first segment (or its audio group's), and no stream may be one players cannot decode.
pub fn check_variant(master: &Path, variant: &Path, audio: Option<&Path>, codecs: &str, f: &mut Findings) {
    let mut found = Vec::new();
    for playlist in std::iter::once(variant).chain(audio) {
        let Some(seg) = first_ts_segment(playlist) else { continue };
        match streams(&seg) {
            Ok(s) => found.extend(s),
            Err(e) => f.add(&seg, "segment", e),
        }
    }
    if found.is_empty() {
        return;
    }
    let shown = || found.iter().map(TsStream::describe).collect::<Vec<_>>().join(", ");
    let name = variant.strip_prefix(master.parent().unwrap_or(Path::new(""))).unwrap_or(variant).display();
    for bad in found.iter().filter(|s| s.family().is_none()) {
        f.add(
            master,
            "CODECS",
            format!(
                "variant {name}: its TS segments carry {}, which players cannot decode (AV1, VP9 and Opus need fMP4)",
                bad.describe()
            ),
        );
    }
    for declared in codecs.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let family = declared.split('.').next().unwrap_or_default().to_ascii_lowercase();
        let family = match family.as_str() {
            "avc3" => "avc1",
            "hev1" => "hvc1",
            other => other,
        };
        if !found.iter().any(|s| s.family() == Some(family)) {
            f.add(
                master,
                "CODECS",
                format!("variant {name}: CODECS declares {declared} but its TS segments carry {}", shown()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet holding one PSI section on `pid`.
    fn psi(pid: u16, section: &[u8]) -> Vec<u8> {
        let mut p = vec![0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0x00];
        p.extend_from_slice(section);
        p.resize(PACKET, 0xFF);
        p
    }

    fn section(table: u8, body: &[u8]) -> Vec<u8> {
        let len = body.len() + 4; // + CRC (not checked)
        let mut s = vec![table, 0xB0 | (len >> 8) as u8, len as u8];
        s.extend_from_slice(body);
        s.extend_from_slice(&[0, 0, 0, 0]);
        s
    }

    #[test]
    fn reads_stream_types_and_registrations() {
        let pat = section(0x00, &[0, 1, 0xC1, 0, 0, 0, 1, 0xF0, 0x00]);
        let mut pmt_body = vec![0, 1, 0xC1, 0, 0, 0xE1, 0x00, 0xF0, 0x00];
        pmt_body.extend_from_slice(&[0x1B, 0xE1, 0x00, 0xF0, 0x00]);
        pmt_body.extend_from_slice(&[0x06, 0xE1, 0x01, 0xF0, 0x06, 0x05, 0x04, b'O', b'p', b'u', b's']);
        let mut file = psi(0, &pat);
        file.extend(psi(0x1000, &section(0x02, &pmt_body)));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ts");
        std::fs::write(&p, file).unwrap();
        let s = streams(&p).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].family(), Some("avc1"));
        assert_eq!(s[1].registration, Some(*b"Opus"));
        assert_eq!(s[1].family(), None);
        std::fs::write(&p, b"not ts").unwrap();
        assert!(streams(&p).is_err());
    }
}
