//! Tracks an encrypted package leaves clear by design, which the encryption checks
//! ([`super::encryption`]) skip: HLS subtitle (and closed-caption) renditions, whose WebVTT
//! segments players read as text; DASH text AdaptationSets (subtitle sidecars) and image
//! AdaptationSets (storyboard sheets). Clear video and audio are still failures.

use m3u8_rs::{AlternativeMedia, AlternativeMediaType};

/// Whether an `EXT-X-MEDIA` rendition is clear by design.
pub fn hls_clear(a: &AlternativeMedia) -> bool {
    matches!(a.media_type, AlternativeMediaType::Subtitles | AlternativeMediaType::ClosedCaptions)
}

/// Whether an AdaptationSet (its text from after `<AdaptationSet`, as split in
/// [`super::encryption::check_dash`]) is text or image, by its own opening tag.
pub fn dash_clear(set: &str) -> bool {
    let tag = set.split('>').next().unwrap_or_default();
    let attr = |name: &str| {
        tag.split(&format!(" {name}=\"")).nth(1).and_then(|v| v.split('"').next()).unwrap_or_default().to_string()
    };
    let (content, mime) = (attr("contentType"), attr("mimeType"));
    ["text", "image"].contains(&content.as_str()) || mime.starts_with("text/") || mime.starts_with("image/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_image_sets_are_clear_media_sets_are_not() {
        assert!(dash_clear(r#" id="1000" contentType="text" mimeType="text/vtt" lang="en">"#));
        assert!(dash_clear(r#" id="7" contentType="image" mimeType="image/jpeg">"#));
        assert!(dash_clear(" mimeType=\"text/vtt\">\n<Representation/>"));
        assert!(!dash_clear(r#" id="0" contentType="video" width="256">"#));
        assert!(!dash_clear(r#" contentType="audio"><Representation mimeType="text/vtt"/>"#), "its own tag only");
        assert!(!dash_clear(""));
    }
}
