//! Package checks: HLS (master and media playlists) and DASH (the MPD) name the streams
//! the step packaged, every init and media segment they name is complete, the segments add
//! up to the source's duration, and each rendition's first and last segments decode.

use std::path::{Path, PathBuf};

use m3u8_rs::Playlist;

use super::decode::Decoder;
use super::files::{init_segment, media_segment, non_empty};
use super::{Checks, Site};
use crate::media::{master, mpd};

/// One rendition as the checks see it: its init segment and its segments (seconds, file).
struct Rendition {
    /// What names it (a playlist or `manifest.mpd Representation ID`).
    name: String,
    init: Option<PathBuf>,
    segments: Vec<(f64, PathBuf)>,
    /// Whether its segments are byte ranges of shared files (their structure is not walked).
    ranged: bool,
    /// Encrypted: Some(true) whole-segment AES-128, Some(false) CENC / cbcs (checked by
    /// [`crate::crypt::check`], not decoded: the key is not the checks' to use).
    crypt: Option<bool>,
}

pub fn hls(site: &Site, c: &Checks, dec: &mut Decoder, variants: usize, audio: usize) -> Result<(), String> {
    let master_path = site.tmp.join("master.m3u8");
    let shown = site.show(&master_path);
    let Playlist::MasterPlaylist(m) = read_playlist(site, &master_path)? else {
        return Err(format!("{shown}: is a media playlist, expected a master playlist"));
    };
    let mut video_uris: Vec<&str> = m.variants.iter().filter(|v| !v.is_i_frame).map(|v| v.uri.as_str()).collect();
    // Variants listed once per audio group, and the audio-only variant, count once / not at all.
    crate::audio::verify::video_uris(&m, &mut video_uris);
    let audio_uris: Vec<&str> = m
        .alternatives
        .iter()
        .filter(|a| a.media_type != m3u8_rs::AlternativeMediaType::Subtitles)
        .filter_map(|a| a.uri.as_deref())
        .collect();
    if video_uris.len() != variants {
        return Err(format!(
            "{shown}: lists {} variant(s), the step packaged {variants} video rendition(s)",
            video_uris.len()
        ));
    }
    if audio_uris.len() != audio {
        return Err(format!("{shown}: lists {} audio rendition(s), the step packaged {audio}", audio_uris.len()));
    }
    let lists =
        video_uris.iter().map(|u| (u, c.durations.video)).chain(audio_uris.iter().map(|u| (u, c.durations.audio)));
    for (uri, expected) in lists {
        let r = media_playlist(site, &site.tmp.join(uri))?;
        rendition(site, c, dec, &r, expected)?;
    }
    Ok(())
}

/// Reads and parses a playlist; errors name the file and say what is wrong in words.
fn read_playlist(site: &Site, path: &Path) -> Result<Playlist, String> {
    non_empty(site, path)?;
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot be read: {e}", site.show(path)))?;
    master::parse_playlist(&bytes).map_err(|e| format!("{}: {e}", site.show(path)))
}

fn media_playlist(site: &Site, path: &Path) -> Result<Rendition, String> {
    let shown = site.show(path);
    let Playlist::MediaPlaylist(pl) = read_playlist(site, path)? else {
        return Err(format!("{shown}: is a master playlist, expected a media playlist"));
    };
    if !pl.end_list {
        return Err(format!("{shown}: lacks EXT-X-ENDLIST (the playlist was not finished)"));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let init = pl.segments.iter().find_map(|s| s.map.as_ref()).map(|m| dir.join(&m.uri));
    let ranged = pl.segments.iter().any(|s| s.byte_range.is_some());
    let segments = pl.segments.iter().map(|s| (s.duration as f64, dir.join(&s.uri))).collect();
    let crypt = pl.segments.iter().find_map(|s| s.key.as_ref()).and_then(|k| match &k.method {
        m3u8_rs::KeyMethod::None => None,
        m => Some(*m == m3u8_rs::KeyMethod::AES128),
    });
    Ok(Rendition { name: shown, init, segments, ranged, crypt })
}

pub fn dash(site: &Site, c: &Checks, dec: &mut Decoder, video: usize, audio: usize) -> Result<(), String> {
    let path = site.tmp.join("manifest.mpd");
    let shown = site.show(&path);
    non_empty(site, &path)?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{shown}: cannot be read: {e}"))?;
    let doc = mpd::parse(&text).map_err(|e| format!("{shown}: does not parse: {e}"))?;
    if doc.representations.is_empty() {
        return Err(format!("{shown}: the MPD has no representations"));
    }
    let is_video = |r: &&mpd::Representation| r.kind.starts_with("video");
    let v = doc.representations.iter().filter(is_video).count();
    let a = doc.representations.len() - v;
    if (v, a) != (video, audio) {
        return Err(format!(
            "{shown}: has {v} video and {a} audio representation(s), the step packaged {video} and {audio}"
        ));
    }
    let total = doc.duration.unwrap_or(c.durations.video);
    for r in &doc.representations {
        let ts = r.timescale() as f64;
        let media = |s: &mpd::Segment| r.media_path(s).map(|m| (s.duration as f64 / ts, site.tmp.join(m)));
        let rend = Rendition {
            name: format!("{shown} Representation {}", r.id()),
            init: r.init_path().map(|i| site.tmp.join(i)),
            segments: r.segments(total).iter().filter_map(media).collect(),
            ranged: false,
            crypt: text.contains("<ContentProtection").then_some(false),
        };
        let expected = if is_video(&r) { c.durations.video } else { c.durations.audio };
        rendition(site, c, dec, &rend, expected)?;
    }
    Ok(())
}

/// Init and segments complete, total duration within the tolerance, first and last decode.
fn rendition(site: &Site, c: &Checks, dec: &mut Decoder, r: &Rendition, expected: f64) -> Result<(), String> {
    let (Some((_, first)), Some((_, last))) = (r.segments.first(), r.segments.last()) else {
        return Err(format!("{}: names no segments", r.name));
    };
    if let Some(init) = &r.init {
        init_segment(site, init)?;
    }
    for (_, s) in &r.segments {
        if r.ranged || r.crypt == Some(true) { non_empty(site, s).map(drop)? } else { media_segment(site, s)? }
    }
    let total: f64 = r.segments.iter().map(|(d, _)| d).sum();
    if expected > 0.0 && (total - expected).abs() > c.tolerance {
        return Err(format!(
            "{}: segments add up to {total:.3} s but the source lasts {expected:.3} s (tolerance {:.2} s)",
            r.name, c.tolerance
        ));
    }
    if r.ranged {
        return Ok(());
    }
    if let Some(aes) = r.crypt {
        return encrypted(site, r, aes);
    }
    let ends: Vec<&Path> = if first == last { vec![first] } else { vec![first, last] };
    match &r.init {
        // fMP4: the init segment followed by the first and the last fragment, as one stream.
        Some(init) => dec.joined(site, &[&[init.as_path()], ends.as_slice()].concat()),
        // MPEG-TS: each segment on its own (joining them would break the continuity counters).
        None => {
            ends.iter().for_each(|s| dec.file(site, s));
            Ok(())
        }
    }
}

/// An encrypted rendition's segments look encrypted (see [`crate::crypt::check`]).
fn encrypted(site: &Site, r: &Rendition, aes: bool) -> Result<(), String> {
    if aes {
        for (_, s) in &r.segments {
            crate::crypt::check::segment(s, true).map_err(|e| format!("{}: {e}", site.show(s)))?;
        }
        return Ok(());
    }
    if let Some(init) = &r.init {
        crate::crypt::check::cenc_init(init).map_err(|e| format!("{}: {e}", site.show(init)))?;
    }
    let segs: Vec<&Path> = r.segments.iter().map(|(_, s)| s.as_path()).collect();
    crate::crypt::check::cenc_rendition(&segs).map_err(|e| format!("{}: {e}", r.name))
}
