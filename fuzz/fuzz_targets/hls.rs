//! The HLS reader `vodbuild verify` uses: a master playlist, the media playlists it names,
//! their init segments and segments (parts: master.m3u8, v.m3u8, a.m3u8, init.mp4).
#![no_main]

mod files;

use libfuzzer_sys::fuzz_target;
use vodbuild::verify::{Findings, check_package};

const SEGMENTS: &[(&str, &[u8])] =
    &[("seg-1.m4s", &[0u8; 1000]), ("seg-2.m4s", &[0u8; 2000]), ("a/seg-1.aac", &[0u8; 300])];

fuzz_target!(|data: &[u8]| {
    let dir = files::write_package("hls", data, &["master.m3u8", "v.m3u8", "a.m3u8", "init.mp4"], SEGMENTS);
    let mut findings = Findings::new(&dir);
    check_package("hls", &dir.join("master.m3u8"), Some(4.0), &mut findings);
    for p in &findings.problems {
        let _ = p.to_string();
    }
});
