//! Key material: read from an environment variable or a key file, parsed as 16 bytes, and
//! never shown. [`Secret`] prints as `<redacted>`; errors name where the key came from and
//! what is wrong with its length, never its characters. [`digest`] is the keyed digest that
//! enters step keys.

use std::path::Path;

use crate::manifest::encryption::KeySource;

/// 16 secret bytes (a content key or an IV). Debug never shows them; zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub [u8; 16]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.fill(0);
        // Keeps the wipe from being optimised away.
        std::hint::black_box(&self.0);
    }
}

impl Secret {
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Longest key file read (a hex line with whitespace around it).
const MAX_KEY_FILE: u64 = 4096;

/// `what` names the setting in messages (`key`, `iv`).
pub fn load(
    src: &KeySource,
    what: &str,
    base: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Secret, String> {
    match (&src.env, &src.file) {
        (Some(var), None) => {
            let v = lookup(var).ok_or_else(|| format!("{what}: environment variable {var} is not set"))?;
            parse_hex(v.trim().as_bytes()).map_err(|why| format!("{what} in environment variable {var}: {why}"))
        }
        (None, Some(file)) => {
            let path = base.join(file);
            let bytes = read_small(&path).map_err(|e| format!("{what}: reading key file {}: {e}", path.display()))?;
            parse(&bytes).map_err(|why| format!("{what} in key file {}: {why}", path.display()))
        }
        _ => Err(format!("{what}: give exactly one of `env: VAR` or `file: PATH`")),
    }
}

fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)?.take(MAX_KEY_FILE + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_KEY_FILE {
        return Err(std::io::Error::other(format!("longer than {MAX_KEY_FILE} bytes")));
    }
    Ok(out)
}

/// A key file: exactly 16 raw bytes, or 32 hex digits (whitespace around them ignored).
fn parse(bytes: &[u8]) -> Result<Secret, String> {
    if bytes.len() == 16 && !bytes.iter().all(u8::is_ascii_hexdigit) {
        let mut k = [0u8; 16];
        k.copy_from_slice(bytes);
        return Ok(Secret(k));
    }
    parse_hex(bytes.trim_ascii())
}

/// 32 hex digits. The message says how long the value was, never what it holds.
pub fn parse_hex(text: &[u8]) -> Result<Secret, String> {
    let text = text.strip_prefix(b"0x").unwrap_or(text);
    if text.len() != 32 || !text.iter().all(u8::is_ascii_hexdigit) {
        let digits = text.iter().filter(|c| c.is_ascii_hexdigit()).count();
        return Err(format!(
            "must be 16 bytes written as 32 hex digits (found {} characters, {digits} of them hex digits)",
            text.len()
        ));
    }
    let mut k = [0u8; 16];
    for (i, pair) in text.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| "not hex".to_string())?;
        k[i] = u8::from_str_radix(s, 16).map_err(|_| "not hex".to_string())?;
    }
    Ok(Secret(k))
}

/// A public 16-byte value (a key ID) from 32 hex digits, dashes allowed (UUID form).
pub fn parse_key_id(text: &str) -> Result<String, String> {
    let clean: String = text.chars().filter(|c| *c != '-').collect::<String>().to_ascii_lowercase();
    parse_hex(clean.as_bytes()).map(|_| clean)
}

/// Context of [`digest`]: fixed, so the same key always gives the same step key.
const DIGEST_CONTEXT: &str = "vodbuild 2026-11-28 encryption key digest v1";

/// The keyed digest of a key (and IV) that enters the package step's key: BLAKE3 in
/// key-derivation mode under a fixed context, 128 bits shown. One-way: it names the key
/// without revealing it.
pub fn digest(key: &Secret, iv: Option<&Secret>) -> String {
    let mut material = key.0.to_vec();
    if let Some(iv) = iv {
        material.extend_from_slice(&iv.0);
    }
    let d = blake3::derive_key(DIGEST_CONTEXT, &material);
    material.iter_mut().for_each(|b| *b = 0);
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn hex_and_raw_keys_parse_and_errors_hide_the_value() {
        assert_eq!(parse_hex(K.as_bytes()).unwrap().hex(), K);
        assert_eq!(parse(format!("  {K}\n").as_bytes()).unwrap().hex(), K);
        let raw = [0xffu8; 16];
        assert_eq!(parse(&raw).unwrap().0, raw);
        let short = "00112233445566778899aabbccddee";
        let e = parse_hex(short.as_bytes()).unwrap_err();
        assert!(e.contains("30 characters") && !e.contains(short), "{e}");
        assert!(!format!("{:?}", parse_hex(K.as_bytes()).unwrap()).contains("0011"));
    }

    #[test]
    fn env_keys_are_named_not_shown() {
        let src = KeySource { env: Some("K".into()), file: None };
        let k = load(&src, "key", Path::new("/"), &|_| Some(K.into())).unwrap();
        assert_eq!(k.hex(), K);
        let e = load(&src, "key", Path::new("/"), &|_| Some("zz".repeat(16))).unwrap_err();
        assert!(e.contains("environment variable K") && !e.contains("zz"), "{e}");
        assert!(load(&src, "key", Path::new("/"), &|_| None).unwrap_err().contains("not set"));
    }

    #[test]
    fn the_digest_changes_with_the_key_and_is_pinned() {
        let a = parse_hex(K.as_bytes()).unwrap();
        let b = parse_hex(b"00112233445566778899aabbccddeefe").unwrap();
        assert_ne!(digest(&a, None), digest(&b, None));
        assert_ne!(digest(&a, None), digest(&a, Some(&b)));
        assert!(!digest(&a, None).contains(K));
        assert_eq!(digest(&a, None).len(), 32);
    }
}
