//! Subtitles in packages. HLS: each SUBTITLES group follows RFC 8216 §4.3.4.1.1 (distinct
//! NAMEs, at most one DEFAULT, AUTOSELECT=YES when DEFAULT=YES, a distinct LANGUAGE + FORCED
//! among AUTOSELECT members), LANGUAGE is a BCP-47 tag, every variant names an existing
//! group, every WebVTT segment parses, carries an `X-TIMESTAMP-MAP`, and holds only cues
//! that overlap its window; the windows add up to the source's duration. DASH: each text
//! AdaptationSet has a BCP-47 `lang` and its WebVTT file parses.

use std::path::Path;

use m3u8_rs::{AlternativeMedia, AlternativeMediaType, MasterPlaylist, Playlist};

use super::Findings;
use crate::media::{bcp47, webvtt};

pub fn check_hls(master: &Path, p: &MasterPlaylist, source_duration: Option<f64>, f: &mut Findings) {
    let subs: Vec<&AlternativeMedia> =
        p.alternatives.iter().filter(|a| a.media_type == AlternativeMediaType::Subtitles).collect();
    for v in p.variants.iter().filter(|v| !v.is_i_frame) {
        if let Some(g) = &v.subtitles
            && !subs.iter().any(|a| &a.group_id == g)
        {
            f.add(master, "SUBTITLES", format!("variant {} names group `{g}`, which is not defined", v.uri));
        }
    }
    let dir = master.parent().unwrap_or(Path::new("."));
    for (k, a) in subs.iter().enumerate() {
        check_rendition(master, a, &subs[..k], f);
        if let Some(uri) = &a.uri {
            check_track(&dir.join(uri), source_duration, f);
        } else {
            f.add(master, "EXT-X-MEDIA", format!("subtitle rendition `{}` has no URI", a.name));
        }
    }
}

/// One rendition against the earlier members of its group.
fn check_rendition(master: &Path, a: &AlternativeMedia, earlier: &[&AlternativeMedia], f: &mut Findings) {
    let group: Vec<&&AlternativeMedia> = earlier.iter().filter(|e| e.group_id == a.group_id).collect();
    let lang = a.language.as_deref().unwrap_or_default();
    if !bcp47::valid(lang) {
        f.add(master, "LANGUAGE", format!("subtitle rendition `{}`: `{lang}` is not a BCP-47 tag", a.name));
    }
    if group.iter().any(|e| e.name == a.name) {
        f.add(master, "NAME", format!("two renditions named `{}` in group `{}`", a.name, a.group_id));
    }
    if a.default && group.iter().any(|e| e.default) {
        f.add(master, "DEFAULT", format!("more than one DEFAULT=YES in group `{}`", a.group_id));
    }
    if a.default && !a.autoselect {
        f.add(master, "AUTOSELECT", format!("`{}` is DEFAULT=YES but not AUTOSELECT=YES", a.name));
    }
    let same = |e: &&&AlternativeMedia| e.autoselect && e.language == a.language && e.forced == a.forced;
    if a.autoselect && group.iter().any(same) {
        f.add(master, "LANGUAGE", format!("two AUTOSELECT renditions for `{lang}` in group `{}`", a.group_id));
    }
}

/// A subtitle media playlist and its WebVTT segments.
fn check_track(path: &Path, source_duration: Option<f64>, f: &mut Findings) {
    let parsed = std::fs::read(path).ok().and_then(|b| m3u8_rs::parse_playlist_res(&b).ok());
    let Some(Playlist::MediaPlaylist(p)) = parsed else {
        f.add(path, "playlist", "missing or not a media playlist");
        return;
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut at = 0.0f64;
    for s in &p.segments {
        let (from, to) = (at, at + s.duration as f64);
        at = to;
        let seg = dir.join(&s.uri);
        let Ok(bytes) = std::fs::read(&seg) else {
            f.add(&seg, "segment", "missing");
            continue;
        };
        let cues = match webvtt::parse(&bytes, webvtt::Format::Vtt) {
            Ok(c) => c,
            Err(e) => {
                f.add(&seg, "WebVTT", format!("line {}: {}", e.line, e.message));
                continue;
            }
        };
        if !String::from_utf8_lossy(&bytes).lines().take(4).any(|l| l.starts_with("X-TIMESTAMP-MAP=")) {
            f.add(&seg, "X-TIMESTAMP-MAP", "missing");
        }
        let (a, b) = ((from * 1000.0).round() as u64, (to * 1000.0).round() as u64);
        if let Some(c) = cues.iter().find(|c| c.end <= a || c.start >= b) {
            let cue = format!("{} --> {}", webvtt::format_time(c.start), webvtt::format_time(c.end));
            f.add(&seg, "cue", format!("{cue} is outside the segment's window {from:.3}-{to:.3} s"));
        }
    }
    if let Some(d) = source_duration
        && (at - d).abs() > super::duration_tolerance(d)
    {
        f.add(path, "EXTINF", format!("the segments cover {at:.3} s, the source lasts {d:.3} s"));
    }
}

/// The text AdaptationSets of an MPD (sidecar WebVTT).
pub fn check_dash(mpd: &Path, f: &mut Findings) {
    let Ok(text) = std::fs::read_to_string(mpd) else { return };
    let dir = mpd.parent().unwrap_or(Path::new("."));
    for set in text.split("<AdaptationSet").skip(1) {
        let head = set.split('>').next().unwrap_or_default();
        if !head.contains("contentType=\"text\"") {
            continue;
        }
        let lang = attr(head, "lang").unwrap_or_default();
        if !bcp47::valid(lang) {
            f.add(mpd, "lang", format!("text AdaptationSet: `{lang}` is not a BCP-47 tag"));
        }
        let Some(url) = set.split("<BaseURL>").nth(1).and_then(|s| s.split("</BaseURL>").next()) else {
            f.add(mpd, "BaseURL", format!("text AdaptationSet `{lang}` has no BaseURL"));
            continue;
        };
        let file = dir.join(url.trim());
        match std::fs::read(&file) {
            Ok(b) => {
                if let Err(e) = webvtt::parse(&b, webvtt::Format::Vtt) {
                    f.add(&file, "WebVTT", format!("line {}: {}", e.line, e.message));
                }
            }
            Err(_) => f.add(&file, "BaseURL", "missing"),
        }
    }
}

fn attr<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let rest = &head[head.find(&key)? + key.len()..];
    rest.split('"').next()
}
