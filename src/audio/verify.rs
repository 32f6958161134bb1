//! `vodbuild verify` on a master's audio: LANGUAGE tags are well-formed BCP-47; each AUDIO
//! group has exactly one DEFAULT=YES, distinct NAMEs, and AUTOSELECT where DEFAULT; an
//! audio-only variant (one whose URI is an audio rendition's) lists no video codec in CODECS.

use std::path::Path;

use m3u8_rs::{AlternativeMediaType, MasterPlaylist, VariantStream};

use super::lang::is_bcp47;
use crate::verify::Findings;

/// Sample-entry prefixes of video codecs.
const VIDEO_CODECS: &[&str] = &["avc1", "avc3", "hvc1", "hev1", "av01", "vp09", "vp08", "vp8", "dvh1", "dvhe"];

/// Whether `v` is an audio-only variant (its URI is an AUDIO rendition's playlist).
pub fn is_audio_only(p: &MasterPlaylist, v: &VariantStream) -> bool {
    !v.is_i_frame
        && p.alternatives
            .iter()
            .any(|a| a.media_type == AlternativeMediaType::Audio && a.uri.as_deref() == Some(&v.uri))
}

/// Every finding of the audio rules on `p` (the master at `path`).
pub fn check(path: &Path, p: &MasterPlaylist, f: &mut Findings) {
    let audio: Vec<_> = p.alternatives.iter().filter(|a| a.media_type == AlternativeMediaType::Audio).collect();
    for a in &audio {
        if let Some(l) = &a.language
            && !is_bcp47(l)
        {
            f.add(path, "LANGUAGE", format!("audio rendition {:?}: {l:?} is not a BCP-47 language tag", a.name));
        }
    }
    let mut groups: Vec<&str> = audio.iter().map(|a| a.group_id.as_str()).collect();
    groups.dedup();
    for g in groups {
        let members: Vec<_> = audio.iter().filter(|a| a.group_id == g).collect();
        let defaults = members.iter().filter(|a| a.default).count();
        if defaults != 1 {
            f.add(path, "DEFAULT", format!("audio group {g:?} has {defaults} DEFAULT=YES renditions, expected one"));
        }
        for (i, a) in members.iter().enumerate() {
            if members[..i].iter().any(|o| o.name == a.name) {
                f.add(path, "NAME", format!("audio group {g:?}: NAME {:?} appears twice", a.name));
            }
            if a.default && !a.autoselect {
                f.add(path, "AUTOSELECT", format!("audio group {g:?}: {:?} is DEFAULT but not AUTOSELECT", a.name));
            }
        }
    }
    for v in p.variants.iter().filter(|v| is_audio_only(p, v)) {
        let codecs = v.codecs.as_deref().unwrap_or("");
        let video: Vec<&str> = codecs
            .split(',')
            .map(str::trim)
            .filter(|c| VIDEO_CODECS.iter().any(|vc| c.to_ascii_lowercase().starts_with(vc)))
            .collect();
        if !video.is_empty() || codecs.is_empty() {
            f.add(
                path,
                "CODECS",
                format!("audio-only variant {}: CODECS={codecs:?} must name audio codecs only", v.uri),
            );
        }
        if v.resolution.is_some() {
            f.add(path, "RESOLUTION", format!("audio-only variant {}: has a RESOLUTION", v.uri));
        }
    }
}

/// The distinct video variant URIs of `uris` (a variant is listed once per audio group; the
/// audio-only variant is not a video one).
pub fn video_uris(p: &MasterPlaylist, uris: &mut Vec<&str>) {
    let audio: Vec<&str> = p.alternatives.iter().filter_map(|a| a.uri.as_deref()).collect();
    let mut seen: Vec<&str> = Vec::new();
    uris.retain(|u| {
        !audio.contains(u) && !seen.contains(u) && {
            seen.push(u);
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<String> {
        let Ok(m3u8_rs::Playlist::MasterPlaylist(p)) = m3u8_rs::parse_playlist_res(text.as_bytes()) else { panic!() };
        let base = Path::new("/x");
        let mut f = Findings::new(base);
        check(&base.join("master.m3u8"), &p, &mut f);
        f.problems.iter().map(|p| p.attribute.clone()).collect()
    }

    #[test]
    fn audio_rules() {
        let good = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",LANGUAGE=\"en\",NAME=\"English\",DEFAULT=YES,AUTOSELECT=YES,URI=\"aac/index.m3u8\"\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",LANGUAGE=\"fr\",NAME=\"Français\",DEFAULT=NO,AUTOSELECT=YES,URI=\"aac-a1/index.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"a\"\nv/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"mp4a.40.2\",AUDIO=\"a\"\naac/index.m3u8\n";
        assert!(findings(good).is_empty(), "{:?}", findings(good));
        let bad = good
            .replace("LANGUAGE=\"fr\"", "LANGUAGE=\"french_fr\"")
            .replace("NAME=\"Français\",DEFAULT=NO", "NAME=\"English\",DEFAULT=YES")
            .replace("CODECS=\"mp4a.40.2\"", "CODECS=\"avc1.64001e,mp4a.40.2\"");
        assert_eq!(findings(&bad), ["LANGUAGE", "DEFAULT", "NAME", "CODECS"]);
    }
}
