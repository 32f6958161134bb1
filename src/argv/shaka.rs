//! Shaka Packager argument vectors (stream descriptors, never a shell). Same layout as the
//! ffmpeg packager: HLS variants in `NAME/index.m3u8` (+ `NAME/iframes.m3u8` for video),
//! DASH `manifest.mpd` with `init-ID.m4s` / `chunk-ID-NNNNN.m4s`.

use std::path::Path;

use crate::manifest::model::{DashOutput, HlsOutput, SegmentType};

fn p(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `inputs`: (rendition name, encoded file, is audio).
pub fn hls_args(inputs: &[(&str, &Path, bool)], o: &HlsOutput, dir: &Path) -> Vec<String> {
    let ts = o.segment_type == SegmentType::Ts;
    let mut a: Vec<String> = Vec::new();
    for (name, file, is_audio) in inputs {
        let stream = if *is_audio { "audio" } else { "video" };
        let seg = if ts { "ts" } else { "m4s" };
        let mut d = format!("in={},stream={stream}", p(file));
        if !ts {
            d += &format!(",init_segment={}", p(&dir.join(name).join("init.mp4")));
        }
        d += &format!(",segment_template={}", p(&dir.join(name).join(format!("seg_$Number%05d$.{seg}"))));
        d += &format!(",playlist_name={name}/index.m3u8");
        if *is_audio {
            d += &format!(",hls_group_id=audio,hls_name={name}");
        } else if o.iframe_playlists != Some(false) {
            d += &format!(",iframe_playlist_name={name}/iframes.m3u8");
        }
        a.push(d);
    }
    a.extend(["--segment_duration".into(), o.segment_seconds.to_string()]);
    a.extend(["--hls_playlist_type".into(), "VOD".into()]);
    a.extend(["--hls_master_playlist_output".into(), p(&dir.join("master.m3u8"))]);
    a
}

/// `inputs`: (encoded file, is audio), in representation order.
pub fn dash_args(inputs: &[(&Path, bool)], o: &DashOutput, dir: &Path) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    for (i, (file, is_audio)) in inputs.iter().enumerate() {
        let stream = if *is_audio { "audio" } else { "video" };
        a.push(format!(
            "in={},stream={stream},init_segment={},segment_template={}",
            p(file),
            p(&dir.join(format!("init-{i}.m4s"))),
            p(&dir.join(format!("chunk-{i}-$Number%05d$.m4s")))
        ));
    }
    a.extend(["--segment_duration".into(), o.segment_seconds.to_string()]);
    // A VOD MPD: static, with its full duration (otherwise Shaka writes a dynamic one).
    a.push("--generate_static_live_mpd".into());
    a.extend(["--mpd_output".into(), p(&dir.join("manifest.mpd"))]);
    a
}
