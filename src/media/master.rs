//! The HLS master playlist, written by vodbuild from measured facts: CODECS and RESOLUTION
//! from the encoded renditions' sample entries, FRAME-RATE from their timing, BANDWIDTH
//! (peak segment bitrate) and AVERAGE-BANDWIDTH from the produced segments.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::mp4::TrackFacts;

/// Measured bitrates of one media playlist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub peak: u64,
    pub average: u64,
}

impl Rates {
    /// Peak and average bitrate of segments given as (seconds, bytes); None when they last 0 s.
    pub fn of(segments: impl IntoIterator<Item = (f64, f64)>) -> Option<Rates> {
        let (mut bits, mut secs, mut peak) = (0f64, 0f64, 0f64);
        for (d, size) in segments {
            if d > 0.0 {
                peak = peak.max(size * 8.0 / d);
            }
            bits += size * 8.0;
            secs += d;
        }
        (secs > 0.0).then(|| Rates { peak: peak.ceil() as u64, average: (bits / secs).ceil() as u64 })
    }
}

/// Reads a media playlist and measures its segments (byte ranges respected).
pub fn measure(playlist: &Path) -> Result<Rates, String> {
    let bytes = std::fs::read(playlist).map_err(|e| format!("{}: {e}", playlist.display()))?;
    let pl = match parse_playlist(&bytes) {
        Ok(m3u8_rs::Playlist::MediaPlaylist(p)) => p,
        Ok(_) => return Err(format!("{}: not a media playlist", playlist.display())),
        Err(e) => return Err(format!("{}: {e}", playlist.display())),
    };
    let dir = playlist.parent().unwrap_or(Path::new("."));
    let mut segments = Vec::with_capacity(pl.segments.len());
    for seg in &pl.segments {
        let size = match &seg.byte_range {
            Some(r) => r.length as f64,
            None => std::fs::metadata(dir.join(&seg.uri))
                .map_err(|e| format!("{}: segment {}: {e}", playlist.display(), seg.uri))?
                .len() as f64,
        };
        segments.push((seg.duration as f64, size));
    }
    Rates::of(segments).ok_or_else(|| format!("{}: no segments", playlist.display()))
}

/// Parses an HLS playlist; the error says in words what is wrong (m3u8-rs's own is a raw
/// parser state such as `Error(Error { input: [], code: Tag })`).
pub fn parse_playlist(bytes: &[u8]) -> Result<m3u8_rs::Playlist, String> {
    if bytes.is_empty() {
        return Err("is empty (0 bytes)".into());
    }
    if !bytes.trim_ascii_start().starts_with(b"#EXTM3U") {
        return Err("is not an HLS playlist (it does not start with #EXTM3U)".into());
    }
    m3u8_rs::parse_playlist_res(bytes).map_err(|_| "is not a valid HLS playlist (it does not parse)".to_string())
}

pub struct Variant<'a> {
    pub uri: String,
    pub facts: &'a TrackFacts,
    pub rates: Rates,
    /// An I-frame playlist of this variant: URI and measured rates.
    pub iframe: Option<(String, Rates)>,
}

pub struct AudioRendition<'a> {
    pub name: String,
    pub uri: String,
    pub facts: &'a TrackFacts,
    pub channels: u32,
    pub rates: Rates,
}

pub fn write_master(variants: &[Variant], audio: Option<&AudioRendition>) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    if let Some(a) = audio {
        s += &format!(
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"{}\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{}\"\n",
            a.name, a.channels, a.uri
        );
    }
    for v in variants {
        let (mut peak, mut avg) = (v.rates.peak, v.rates.average);
        let mut codecs = v.facts.codec.clone();
        if let Some(a) = audio {
            peak += a.rates.peak;
            avg += a.rates.average;
            codecs = format!("{codecs},{}", a.facts.codec);
        }
        s += &format!("#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={avg},CODECS=\"{codecs}\"");
        s += &format!(",RESOLUTION={}x{}", v.facts.width, v.facts.height);
        if let Some(fps) = v.facts.fps {
            s += &format!(",FRAME-RATE={fps:.3}");
        }
        if audio.is_some() {
            s += ",AUDIO=\"audio\"";
        }
        s += &format!("\n{}\n", v.uri);
    }
    for v in variants {
        if let Some((uri, r)) = &v.iframe {
            s += &format!(
                "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\",RESOLUTION={}x{},URI=\"{uri}\"\n",
                r.peak, r.average, v.facts.codec, v.facts.width, v.facts.height
            );
        }
    }
    s
}
