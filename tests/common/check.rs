//! Whole-package validity checks shared by the output and crash tests.

use super::{Workspace, media, mpd};
use std::path::PathBuf;

/// Checks every output of source `id` under `out/` (and its intermediate
/// encodes) is complete: standalone media files are readable to the end and
/// last `seconds`, playlists and the MPD probe cleanly, name only existing
/// files, decode to the end and cover `seconds`.
pub fn assert_outputs_valid(ws: &Workspace, id: &str, seconds: f64) {
    assert_outputs_valid_in(ws, "out", id, seconds)
}

pub fn assert_outputs_valid_in(ws: &Workspace, out_dir: &str, id: &str, seconds: f64) {
    let close = |d: f64| (d - seconds).abs() < 0.5;
    for f in ws
        .files_under(&format!("{out_dir}/{id}"))
        .into_iter()
        .chain(ws.files_under(&format!(".vodbuild/pipeline.yaml/work/{id}")))
    {
        let name = f.rsplit('/').next().unwrap();
        let p = ws.path(&f);
        if name.contains("init") || f.contains(".tmp") {
            continue;
        }
        if name.ends_with(".ts") {
            media::duration(&p);
        } else if name.ends_with(".mp4") || name.ends_with(".m4a") || name.ends_with(".mp3") {
            let d = media::duration(&p);
            assert!(close(d), "{f} lasts {d} s, expected {seconds} s");
        }
    }
    let master = ws.path(&format!("{out_dir}/{id}/hls/master.m3u8"));
    media::assert_probe_clean(&master);
    let parsed = media::parse_master(&std::fs::read_to_string(&master).unwrap());
    let mut playlists: Vec<PathBuf> = parsed.variants.iter().map(|v| master.parent().unwrap().join(&v.uri)).collect();
    playlists
        .extend(parsed.media.iter().filter_map(|m| media::attr(m, "URI")).map(|u| master.parent().unwrap().join(u)));
    assert!(!playlists.is_empty(), "master names no playlists");
    for pl in &playlists {
        let (list, files) = media::media_files(pl);
        assert!(list.endlist, "{} lacks #EXT-X-ENDLIST", pl.display());
        for f in files {
            assert!(f.is_file(), "{} names missing {}", pl.display(), f.display());
        }
        assert!(close(list.total()), "{} covers {} s", pl.display(), list.total());
        media::assert_probe_clean(pl);
        media::assert_decodes(pl);
    }
    let mpd_path = ws.path(&format!("{out_dir}/{id}/dash/manifest.mpd"));
    media::assert_probe_clean(&mpd_path);
    let reps = mpd::representations(&std::fs::read_to_string(&mpd_path).unwrap());
    assert!(!reps.is_empty(), "MPD has no Representation");
    for r in &reps {
        assert!(r.files.len() >= 2, "representation {} names no segments", r.id);
        for f in &r.files {
            let p = mpd_path.parent().unwrap().join(f);
            assert!(p.is_file(), "MPD representation {} names missing {f}", r.id);
        }
        assert!(close(r.seconds), "representation {} covers {} s", r.id, r.seconds);
    }
    media::assert_decodes(&mpd_path);
}
