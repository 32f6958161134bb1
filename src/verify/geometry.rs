//! Displayed geometry: every video rendition must show the source's picture at the source's
//! displayed aspect (rotation and sample aspect applied). A squashed package — a rotated
//! source encoded landscape, an anamorphic one with its sample aspect dropped — fails here.
//! HLS RESOLUTION and MPD width/height are checked against the init segments elsewhere in
//! verify, so the declared sizes are the real ones.

use std::path::Path;

use m3u8_rs::Playlist;

use super::Findings;
use crate::media::mpd;
use crate::step::PackageKind;

/// A rendition's aspect may differ from the source's by this fraction (even rounding of
/// small sizes: 202x360 for 9:16 is 0.25 % off).
pub const ASPECT_TOLERANCE: f64 = 0.03;

/// Checks the package at `path` (`hls` master or `dash` MPD) against `source_aspect`
/// (displayed width / height). Unreadable packages are reported by the other checks.
pub fn check(package: PackageKind, path: &Path, source_aspect: f64, f: &mut Findings) {
    let Ok(bytes) = std::fs::read(path) else { return };
    let sizes: Vec<(String, u32, u32, f64)> = if package == PackageKind::Hls {
        let Ok(Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&bytes) else { return };
        master
            .variants
            .iter()
            .filter(|v| !v.is_i_frame)
            .filter_map(|v| v.resolution.map(|r| (format!("variant {}", v.uri), r.width as u32, r.height as u32, 1.0)))
            .collect()
    } else {
        let Ok(doc) = mpd::parse(&String::from_utf8_lossy(&bytes)) else { return };
        doc.representations
            .iter()
            .filter_map(|r| {
                let num = |k: &str| r.attrs.get(k).and_then(|v| v.parse::<u32>().ok());
                let sar = r.attrs.get("sar").and_then(|s| ratio(s)).unwrap_or(1.0);
                Some((format!("Representation {}", r.id()), num("width")?, num("height")?, sar))
            })
            .collect()
    };
    for (what, w, h, sar) in sizes {
        let aspect = w as f64 * sar / h.max(1) as f64;
        if (aspect / source_aspect - 1.0).abs() > ASPECT_TOLERANCE {
            f.add(
                path,
                &format!("{what} aspect"),
                format!(
                    "{w}x{h} shows at {aspect:.3}:1 but the source displays at {source_aspect:.3}:1 \
                     (rotation and sample aspect applied): the picture is distorted"
                ),
            );
        }
    }
}

fn ratio(s: &str) -> Option<f64> {
    let (n, d) = s.split_once(':')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (n > 0.0 && d > 0.0).then(|| n / d)
}
