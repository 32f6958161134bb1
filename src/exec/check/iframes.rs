//! A package_hls step's I-frame playlists, before the package is recorded: fMP4, each byte
//! range starts at a `moof` and holds a whole sync sample ([`crate::media::iframes::check_playlist`]);
//! TS, each starts at a key frame's video PES ([`crate::media::iframes_ts::check_playlist`]).

use super::Site;

pub fn check(site: &Site) -> Result<(), String> {
    let master = site.tmp.join(crate::layout::MASTER);
    let Ok(bytes) = std::fs::read(&master) else { return Ok(()) };
    let Ok(m3u8_rs::Playlist::MasterPlaylist(m)) = m3u8_rs::parse_playlist_res(&bytes) else { return Ok(()) };
    for v in m.variants.iter().filter(|v| v.is_i_frame) {
        let path = site.tmp.join(&v.uri);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", site.show(&path)))?;
        let problems = match text.contains("#EXT-X-MAP") {
            true => crate::media::iframes::check_playlist(&path),
            false => crate::media::iframes_ts::check_playlist(&path),
        };
        let problems = problems.map_err(|e| format!("{}: {e}", site.show(&path)))?;
        if let Some(p) = problems.first() {
            return Err(format!("{}: {p}", site.show(&path)));
        }
    }
    Ok(())
}
