//! I-frame playlists of an HLS package: every `EXT-X-I-FRAME-STREAM-INF` playlist's byte
//! ranges land on sync samples of its fMP4 segments ([`crate::media::iframes::check_playlist`]),
//! or, for MPEG-TS, on the video PES of key frames ([`crate::media::iframes_ts::check_playlist`]).

use std::path::Path;

use m3u8_rs::Playlist;

use super::Findings;

pub fn check(master_path: &Path, f: &mut Findings) {
    let Ok(bytes) = std::fs::read(master_path) else { return };
    let Ok(Playlist::MasterPlaylist(master)) = m3u8_rs::parse_playlist_res(&bytes) else { return };
    let dir = master_path.parent().unwrap_or(Path::new("."));
    for v in master.variants.iter().filter(|v| v.is_i_frame) {
        let path = dir.join(&v.uri);
        let checked = match is_ts(&path) {
            true => crate::media::iframes_ts::check_playlist(&path),
            false => crate::media::iframes::check_playlist(&path),
        };
        match checked {
            Ok(problems) => problems.into_iter().for_each(|p| f.add(&path, "EXT-X-BYTERANGE", p)),
            Err(e) => f.add(&path, "I-frame playlist", e),
        }
    }
}

/// Whether the playlist's segments are MPEG-TS (no EXT-X-MAP).
fn is_ts(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| !t.contains("#EXT-X-MAP"))
}
