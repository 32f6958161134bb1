//! Whole-segment HLS AES-128 (RFC 8216 §5.2) decryption in memory: AES-128-CBC with PKCS#7
//! padding, the IV from the `EXT-X-KEY`'s `IV=0x…` or else the segment's media sequence
//! number. Used where the packager must read its own encrypted output, e.g. the first video
//! PTS for the subtitles' `X-TIMESTAMP-MAP` ([`crate::kinds::subtitle_hls`]). Nothing is
//! written to disk and no message shows the key.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};

use super::keys::Secret;

/// The IV of the segment with media sequence number `sequence`: the tag's `IV=0x…` (32 hex
/// digits) when it has one, else the sequence number as a 128-bit big-endian integer. An `IV`
/// that is not that is an error (with CBC a wrong IV spoils only the first block: it would
/// pass unnoticed).
pub fn iv_for(attr: Option<&str>, sequence: u64) -> Result<[u8; 16], String> {
    let Some(attr) = attr else {
        let mut iv = [0u8; 16];
        iv[8..].copy_from_slice(&sequence.to_be_bytes());
        return Ok(iv);
    };
    attr.strip_prefix("0x")
        .or(attr.strip_prefix("0X"))
        .and_then(|s| super::keys::parse_hex(s.as_bytes()).ok())
        .map(|parsed| parsed.0)
        .ok_or_else(|| format!("the EXT-X-KEY's IV `{attr}` is not 0x and 32 hex digits"))
}

/// The clear bytes of one AES-128 segment.
pub fn decrypt(key: &Secret, iv: &[u8; 16], mut bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let dec = cbc::Decryptor::<aes::Aes128>::new(&key.0.into(), iv.into());
    let len = dec
        .decrypt_padded_mut::<Pkcs7>(&mut bytes)
        .map_err(|_| "does not decrypt with the key (bad padding)".to_string())?
        .len();
    bytes.truncate(len);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockEncryptMut;

    #[test]
    fn a_malformed_iv_is_an_error_not_the_sequence_number() {
        for bad in ["0x0102", "01020304050607080910111213141516", "0xzz0102030405060708090a0b0c0d0e0f"] {
            assert!(iv_for(Some(bad), 4).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn decrypts_what_cbc_encrypted_with_either_iv() {
        let key = Secret([7u8; 16]);
        let plain: Vec<u8> = (0..500u32).map(|i| (i % 251) as u8).collect();
        for (attr, seq) in [(None, 3u64), (Some("0x000102030405060708090a0b0c0d0e0f"), 9)] {
            let iv = iv_for(attr, seq).unwrap();
            let enc = cbc::Encryptor::<aes::Aes128>::new(&key.0.into(), &iv.into());
            let mut buf = plain.clone();
            buf.resize(plain.len() + 16, 0);
            let cipher = enc.encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len()).unwrap().to_vec();
            assert_ne!(cipher[..plain.len()], plain[..]);
            assert_eq!(decrypt(&key, &iv, cipher.clone()).unwrap(), plain);
            let e = decrypt(&Secret([8u8; 16]), &iv, cipher).err();
            assert!(e.is_none_or(|e| e.contains("bad padding")), "a wrong key fails or yields garbage");
        }
        assert_eq!(iv_for(None, 3).unwrap()[15], 3);
        assert_eq!(iv_for(Some("0x000102030405060708090a0b0c0d0e0f"), 3).unwrap()[15], 15);
    }
}
