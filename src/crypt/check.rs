//! Whether an encrypted package looks encrypted: its playlists carry key tags (`#EXT-X-KEY`
//! with a METHOD other than NONE; DASH `ContentProtection`), AES-128 segments do not parse as
//! MPEG-TS (whole-segment ciphertext is whole 16-byte blocks), and CENC / cbcs fragments carry
//! sample encryption boxes (`senc`, `saiz`). Used by the output checks (an encrypted segment
//! cannot be decoded without its key) and by `vodbuild verify`.

use std::path::Path;

/// An AES-128 (whole-segment) segment: non-empty whole cipher blocks, not an MPEG-TS stream.
pub fn aes_segment(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(16) {
        return Err(format!("is not whole AES blocks ({} bytes)", bytes.len()));
    }
    let ts_like = bytes.len().is_multiple_of(188) && bytes.chunks(188).all(|p| p[0] == 0x47);
    let mp4_like = bytes.len() > 8 && matches!(&bytes[4..8], b"ftyp" | b"styp" | b"moof");
    if ts_like || mp4_like {
        return Err("is plaintext (it parses as MPEG-TS or MP4)".into());
    }
    Ok(())
}

/// A CENC / cbcs media segment: a fragment whose track fragment carries `senc` or `saiz`
/// (clear-lead segments do not: see [`cenc_rendition`]).
pub fn cenc_segment(bytes: &[u8]) -> Result<(), String> {
    let has = |name: &[u8; 4]| bytes.windows(4).any(|w| w == name);
    if !has(b"moof") || !has(b"mdat") {
        return Err("has no `moof`+`mdat` fragment".into());
    }
    if !has(b"senc") && !has(b"saiz") {
        return Err("has no sample encryption (`senc`/`saiz`): it is in clear".into());
    }
    Ok(())
}

/// One segment of an encrypted rendition, by its extension and the playlist's method.
pub fn segment(path: &Path, aes_whole: bool) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    if aes_whole { aes_segment(&bytes) } else { cenc_segment(&bytes) }
}

/// A CENC / cbcs rendition's segments: each a fragment, and at least one encrypted (the
/// first ones may be clear lead).
pub fn cenc_rendition(segments: &[&Path]) -> Result<(), String> {
    let mut encrypted = false;
    for s in segments {
        let bytes = std::fs::read(s).map_err(|e| format!("{}: cannot be read: {e}", s.display()))?;
        match cenc_segment(&bytes) {
            Ok(()) => encrypted = true,
            Err(e) if e.contains("in clear") => {}
            Err(e) => return Err(format!("{}: {e}", s.display())),
        }
    }
    if encrypted { Ok(()) } else { Err("no segment carries sample encryption (`senc`/`saiz`)".into()) }
}

/// An init segment of a CENC / cbcs rendition: a protected sample entry (`encv`/`enca`, `sinf`).
pub fn cenc_init(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    let has = |name: &[u8; 4]| bytes.windows(4).any(|w| w == name);
    if !has(b"sinf") || !(has(b"encv") || has(b"enca")) {
        return Err("has no protected sample entry (`encv`/`enca` with `sinf`)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_told_apart_from_ciphertext() {
        let mut ts = vec![0u8; 188 * 4];
        ts.chunks_mut(188).for_each(|p| p[0] = 0x47);
        assert!(aes_segment(&ts).is_err());
        let cipher: Vec<u8> = (0..752u32).map(|i| (i * 7 + 3) as u8).collect();
        assert!(aes_segment(&cipher).is_ok());
        assert!(aes_segment(&cipher[..750]).is_err());
        let mut frag = b"\0\0\0\x08moof\0\0\0\x08mdat".to_vec();
        assert!(cenc_segment(&frag).is_err());
        frag.extend_from_slice(b"\0\0\0\x08senc");
        assert!(cenc_segment(&frag).is_ok());
    }
}
