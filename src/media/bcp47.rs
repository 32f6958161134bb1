//! BCP-47 language tags (RFC 5646), checked for their syntax: a 2-3 letter (or 4-8 letter)
//! language, then an optional extended language, script, region, variants, extensions and a
//! private use part. The registry is not consulted.

/// Longest tag accepted.
pub const MAX_LEN: usize = 64;

/// Whether `tag` is a well-formed language tag (`en`, `pt-BR`, `zh-Hant-TW`, `x-klingon`).
pub fn valid(tag: &str) -> bool {
    if tag.is_empty() || tag.len() > MAX_LEN {
        return false;
    }
    let parts: Vec<&str> = tag.split('-').collect();
    if parts.iter().any(|p| p.is_empty() || p.len() > 8 || !p.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return false;
    }
    let alpha = |p: &str| p.bytes().all(|b| b.is_ascii_alphabetic());
    let digit = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if parts[0].eq_ignore_ascii_case("x") {
        return parts.len() > 1;
    }
    if !(alpha(parts[0]) && (2..=8).contains(&parts[0].len()) && parts[0].len() != 4) {
        return false;
    }
    let mut i = 1;
    // Extended language subtags (up to three of 3 letters), only after a 2-3 letter language.
    while i < parts.len() && i <= 3 && parts[0].len() <= 3 && parts[i].len() == 3 && alpha(parts[i]) {
        i += 1;
    }
    if i < parts.len() && parts[i].len() == 4 && alpha(parts[i]) {
        i += 1; // script
    }
    if i < parts.len() && ((parts[i].len() == 2 && alpha(parts[i])) || (parts[i].len() == 3 && digit(parts[i]))) {
        i += 1; // region
    }
    while i < parts.len() {
        let p = parts[i];
        let variant = (5..=8).contains(&p.len()) || (p.len() == 4 && p.as_bytes()[0].is_ascii_digit());
        if variant {
            i += 1;
        } else if p.len() == 1 {
            // An extension or private use: at least one subtag after the singleton.
            return i + 1 < parts.len() && parts[i + 1..].iter().all(|s| !s.is_empty());
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::valid;

    #[test]
    fn tags() {
        for ok in
            ["en", "fr", "pt-BR", "zh-Hant-TW", "es-419", "sl-rozaj", "de-CH-1901", "en-US-x-twain", "x-klingon", "yue"]
        {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["", "e", "english-", "en_US", "en--US", "123", "en-US-toolongsubtag", "abcd", "en-x", "fr-ça"] {
            assert!(!valid(bad), "{bad}");
        }
    }
}
