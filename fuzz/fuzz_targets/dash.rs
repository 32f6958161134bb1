//! The DASH reader `vodbuild verify` uses: an MPD, the init segment it names and its media
//! segments (parts: manifest.mpd, init-v.mp4), then the attribute rewriter packaging uses
//! on the same MPD text.
#![no_main]

mod files;

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use vodbuild::media::mpd;
use vodbuild::verify::{Findings, check_package};

const SEGMENTS: &[(&str, &[u8])] = &[("chunk-v-00001.m4s", &[0u8; 1000]), ("chunk-v-00002.m4s", &[0u8; 2000])];

fuzz_target!(|data: &[u8]| {
    let dir = files::write_package("dash", data, &["manifest.mpd", "init-v.mp4"], SEGMENTS);
    let mut findings = Findings::new(&dir);
    check_package("dash", &dir.join("manifest.mpd"), Some(4.0), &mut findings);
    let text = data.split(|b| *b == 0).next().unwrap_or_default();
    if let Ok(text) = std::str::from_utf8(text) {
        let values = HashMap::from([("v".to_string(), vec![("bandwidth", "123456".to_string())])]);
        let _ = mpd::rewrite(text, &values);
    }
});
