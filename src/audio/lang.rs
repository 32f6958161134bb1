//! Language tags: ISO 639-2 stream tags mapped to BCP-47, display names, and a BCP-47
//! well-formedness check (RFC 5646 syntax: language, script, region, variants, extensions).

/// (ISO 639-2 codes, BCP-47 2-letter code, English name, own name).
const LANGS: &[(&[&str], &str, &str)] = &[
    (&["eng"], "en", "English"),
    (&["fra", "fre"], "fr", "Français"),
    (&["deu", "ger"], "de", "Deutsch"),
    (&["spa"], "es", "Español"),
    (&["ita"], "it", "Italiano"),
    (&["por"], "pt", "Português"),
    (&["nld", "dut"], "nl", "Nederlands"),
    (&["rus"], "ru", "Русский"),
    (&["jpn"], "ja", "日本語"),
    (&["zho", "chi"], "zh", "中文"),
    (&["kor"], "ko", "한국어"),
    (&["ara"], "ar", "العربية"),
    (&["hin"], "hi", "हिन्दी"),
    (&["pol"], "pl", "Polski"),
    (&["swe"], "sv", "Svenska"),
];

/// A stream's tag as BCP-47: lower-cased primary subtag, ISO 639-2 codes of the table mapped
/// to their 2-letter form (`eng` → `en`); any other well-formed tag kept as written, and
/// anything else `und`. A source file's tag is input: it goes into Shaka Packager's stream
/// descriptors and the master's LANGUAGE, so only tag characters may pass.
pub fn normalize(tag: &str) -> String {
    let t = tag.trim();
    let lower = t.to_ascii_lowercase();
    match LANGS.iter().find(|(iso2, ..)| iso2.contains(&lower.as_str())) {
        Some((_, code, _)) => code.to_string(),
        None if t.is_empty() || !is_bcp47(t) => "und".into(),
        None => t.to_string(),
    }
}

/// The name players list for a language (its own name when known, else the tag).
pub fn display_name(tag: &str) -> String {
    let primary = tag.split('-').next().unwrap_or(tag).to_ascii_lowercase();
    match LANGS.iter().find(|(_, code, _)| *code == primary) {
        Some((.., name)) => name.to_string(),
        None if primary == "und" => "Undetermined".into(),
        None => tag.to_string(),
    }
}

/// Whether `tag` is a well-formed BCP-47 language tag (the one check:
/// [`crate::media::bcp47::valid`]).
pub fn is_bcp47(tag: &str) -> bool {
    crate::media::bcp47::valid(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_tag_that_is_no_language_tag_becomes_und() {
        assert_eq!(normalize("en,segment_template=/elsewhere/$Number$.m4s"), "und");
        assert_eq!(normalize("fr\"\n#EXT-X-STREAM-INF:BANDWIDTH=1"), "und");
        assert_eq!(normalize("pt-BR"), "pt-BR");
    }

    #[test]
    fn tags() {
        assert_eq!(normalize("eng"), "en");
        assert_eq!(normalize("FRE"), "fr");
        assert_eq!(normalize(""), "und");
        assert_eq!(normalize("pt-BR"), "pt-BR");
        assert_eq!(display_name("fr"), "Français");
        for ok in ["en", "und", "fra", "pt-BR", "zh-Hant-TW", "es-419", "de-CH-1901", "en-x-dub", "x-private"] {
            assert!(is_bcp47(ok), "{ok}");
        }
        for bad in ["", "e", "english_uk", "en--US", "toolongtag1", "en-", "1en", "en-x"] {
            assert!(!is_bcp47(bad), "{bad}");
        }
    }
}
