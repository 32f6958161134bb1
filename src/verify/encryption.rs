//! Encrypted packages (`encryption:` on the output): every media playlist carries its key tag
//! (`#EXT-X-KEY` with the method's METHOD; the MPD a `ContentProtection` per adaptation set
//! with the scheme, the key ID and one per DRM system asked for), the segments are not
//! plaintext ([`crate::crypt::check`]), and with the key (loaded from the environment or key
//! file, as at plan time) each AES-128 segment decrypts to MPEG-TS and each CENC / cbcs
//! rendition decrypts and decodes ([`crate::crypt::decrypt`]). No message shows the key.

use std::path::{Path, PathBuf};

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use m3u8_rs::{KeyMethod, MediaPlaylist, Playlist};

use super::Findings;
use crate::crypt::check;
use crate::crypt::decrypt::Decrypter;
use crate::crypt::keys::Secret;
use crate::manifest::encryption::{CryptMethod, DrmSystem, Encryption};
use crate::media::mpd;

/// `key`: the content key when it could be loaded here (and `dec` what decrypts CENC / cbcs).
pub fn check_hls(e: &Encryption, master: &Path, key: Option<&Secret>, dec: Option<&Decrypter>, f: &mut Findings) {
    let Some(Playlist::MasterPlaylist(m)) = read(master) else { return };
    let dir = master.parent().unwrap_or(Path::new("."));
    let uris = m
        .variants
        .iter()
        .filter(|v| !v.is_i_frame)
        .map(|v| &v.uri)
        .chain(m.alternatives.iter().filter(|a| !is_subtitles(a)).filter_map(|a| a.uri.as_ref()));
    for uri in uris {
        let path = dir.join(uri);
        if let Some(Playlist::MediaPlaylist(pl)) = read(&path) {
            media(e, &path, &pl, key, f);
            let init = pl
                .segments
                .iter()
                .find_map(|s| s.map.as_ref())
                .map(|m| path.parent().unwrap_or(Path::new(".")).join(&m.uri));
            if let (Some(dec), Some(init)) = (dec, init) {
                let segs: Vec<PathBuf> =
                    pl.segments.iter().map(|s| path.parent().unwrap_or(Path::new(".")).join(&s.uri)).collect();
                decrypts(dec, &path, &init, &segs, f);
            }
        }
    }
}

/// Subtitle renditions are clear WebVTT (packaged after the encrypted media): no key tag.
fn is_subtitles(a: &m3u8_rs::AlternativeMedia) -> bool {
    a.media_type == m3u8_rs::AlternativeMediaType::Subtitles
}

fn read(path: &Path) -> Option<Playlist> {
    crate::media::master::parse_playlist(&std::fs::read(path).ok()?).ok()
}

fn expected_method(e: &Encryption) -> &'static str {
    match e.method {
        CryptMethod::Aes128 => "AES-128",
        CryptMethod::Cbcs => "SAMPLE-AES",
        CryptMethod::Cenc => "SAMPLE-AES-CTR",
    }
}

fn method_name(m: &KeyMethod) -> String {
    match m {
        KeyMethod::None => "NONE".into(),
        KeyMethod::AES128 => "AES-128".into(),
        KeyMethod::SampleAES => "SAMPLE-AES".into(),
        KeyMethod::Other(s) => s.clone(),
    }
}

fn media(e: &Encryption, path: &Path, pl: &MediaPlaylist, key: Option<&Secret>, f: &mut Findings) {
    let want = expected_method(e);
    let tag = pl.segments.iter().find_map(|s| s.key.as_ref());
    match tag.map(|k| method_name(&k.method)) {
        None => {
            return f.add(path, "EXT-X-KEY", format!("missing: the output is encrypted with {}", e.method.as_str()));
        }
        Some(m) if m != want => return f.add(path, "EXT-X-KEY", format!("METHOD={m}, expected {want}")),
        Some(_) => {}
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let segs: Vec<PathBuf> = pl.segments.iter().map(|s| dir.join(&s.uri)).collect();
    if e.method != CryptMethod::Aes128 {
        let refs: Vec<&Path> = segs.iter().map(PathBuf::as_path).collect();
        if let Err(why) = check::cenc_rendition(&refs) {
            f.add(path, "segments", why);
        }
        return;
    }
    let iv_attr = tag.and_then(|k| k.iv.clone());
    for (i, seg) in segs.iter().enumerate() {
        let Ok(bytes) = std::fs::read(seg) else { continue };
        if let Err(why) = check::aes_segment(&bytes) {
            f.add(seg, "segment", why);
            continue;
        }
        if let Some(key) = key {
            let iv = iv_for(iv_attr.as_deref(), pl.media_sequence + i as u64);
            if let Err(why) = decrypts_to_ts(key, &iv, bytes) {
                f.add(seg, "decryption", why);
            }
        }
    }
}

/// The IV: the tag's `IV=0x…`, else the media sequence number (RFC 8216 5.2).
fn iv_for(attr: Option<&str>, sequence: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    if let Some(s) = attr.and_then(|a| a.strip_prefix("0x").or(a.strip_prefix("0X")))
        && let Ok(parsed) = crate::crypt::keys::parse_hex(s.as_bytes())
    {
        iv = parsed.0;
        return iv;
    }
    iv[8..].copy_from_slice(&sequence.to_be_bytes());
    iv
}

fn decrypts_to_ts(key: &Secret, iv: &[u8; 16], mut bytes: Vec<u8>) -> Result<(), String> {
    let dec = cbc::Decryptor::<aes::Aes128>::new(&key.0.into(), iv.into());
    let plain = dec
        .decrypt_padded_mut::<Pkcs7>(&mut bytes)
        .map_err(|_| "does not decrypt with the key (bad padding)".to_string())?;
    if plain.is_empty() || !plain.len().is_multiple_of(188) || !plain.chunks(188).all(|p| p[0] == 0x47) {
        return Err("decrypts with the key but not to MPEG-TS".into());
    }
    Ok(())
}

/// The scheme URI of each DRM system's ContentProtection.
fn system_uuid(s: DrmSystem) -> &'static str {
    match s {
        DrmSystem::Clearkey => "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b",
        DrmSystem::Widevine => "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
        DrmSystem::Playready => "9a04f079-9840-4286-ab92-e65be0885f95",
        DrmSystem::Fairplay => "94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
    }
}

/// One CENC / cbcs rendition decrypts with the key and decodes.
fn decrypts(dec: &Decrypter, named_by: &Path, init: &Path, segs: &[PathBuf], f: &mut Findings) {
    let video = crate::media::mp4::track_facts(init).is_ok_and(|t| t.is_video);
    let refs: Vec<&Path> = segs.iter().map(PathBuf::as_path).collect();
    if let Err(why) = dec.rendition(init, &refs, video) {
        f.add(named_by, "decryption", format!("{}: {why}", init.file_name().unwrap_or_default().to_string_lossy()));
    }
}

pub fn check_dash(e: &Encryption, mpd_path: &Path, dec: Option<&Decrypter>, f: &mut Findings) {
    let Ok(text) = std::fs::read_to_string(mpd_path) else { return };
    let sets = text.matches("<AdaptationSet").count();
    let scheme = format!("value=\"{}\"", e.method.as_str());
    let protected = text
        .split("<AdaptationSet")
        .skip(1)
        .filter(|s| s.contains("urn:mpeg:dash:mp4protection:2011") && s.contains(&scheme))
        .count();
    if protected != sets {
        f.add(
            mpd_path,
            "ContentProtection",
            format!("{protected} of {sets} adaptation sets signal {} (mp4protection)", e.method.as_str()),
        );
    }
    if let Some(kid) = e.key_id.as_deref().and_then(|k| crate::crypt::keys::parse_key_id(k).ok()) {
        let dashed = format!("{}-{}-{}-{}-{}", &kid[..8], &kid[8..12], &kid[12..16], &kid[16..20], &kid[20..]);
        if !text.to_ascii_lowercase().contains(&format!("default_kid=\"{dashed}\"")) {
            f.add(mpd_path, "cenc:default_KID", format!("does not name key_id {dashed}"));
        }
    }
    for s in &e.systems {
        if !text.to_ascii_lowercase().contains(&format!("urn:uuid:{}", system_uuid(*s))) {
            f.add(
                mpd_path,
                "ContentProtection",
                format!("no ContentProtection for {s:?} (urn:uuid:{})", system_uuid(*s)),
            );
        }
    }
    let Ok(doc) = mpd::parse(&text) else { return };
    let dir = mpd_path.parent().unwrap_or(Path::new("."));
    let total = doc.duration.unwrap_or(0.0);
    for r in &doc.representations {
        let segs: Vec<PathBuf> =
            r.segments(total).iter().filter_map(|s| r.media_path(s)).map(|m| dir.join(m)).collect();
        let refs: Vec<&Path> = segs.iter().map(PathBuf::as_path).collect();
        if let Err(why) = check::cenc_rendition(&refs) {
            f.add(mpd_path, &format!("Representation {}", r.id()), why);
        }
        if let Some(init) = r.init_path() {
            if let Err(why) = check::cenc_init(&dir.join(&init)) {
                f.add(&dir.join(&init), "init segment", why);
            }
            if let Some(dec) = dec {
                decrypts(dec, mpd_path, &dir.join(&init), &segs, f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    #[test]
    fn aes_segments_decrypt_to_ts_only_with_their_key() {
        let key = crate::crypt::keys::parse_hex(b"000102030405060708090a0b0c0d0e0f").unwrap();
        let iv = iv_for(None, 3);
        assert_eq!(iv[15], 3);
        let mut ts = vec![0u8; 188 * 2];
        ts.chunks_mut(188).for_each(|p| p[0] = 0x47);
        let mut buf = ts.clone();
        buf.resize(ts.len() + 16, 0);
        let enc = cbc::Encryptor::<aes::Aes128>::new(&key.0.into(), &iv.into())
            .encrypt_padded_mut::<Pkcs7>(&mut buf, ts.len())
            .unwrap()
            .to_vec();
        assert!(check::aes_segment(&enc).is_ok());
        assert!(decrypts_to_ts(&key, &iv, enc.clone()).is_ok());
        let other = crate::crypt::keys::parse_hex(b"ff0102030405060708090a0b0c0d0e0f").unwrap();
        assert!(decrypts_to_ts(&other, &iv, enc).is_err());
    }
}
