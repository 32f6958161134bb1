//! Manifest loading and validation: `${VAR}` interpolation, YAML parsing, deserializing,
//! validation and source expansion, then rendering any error the way the CLI does (miette).
//! Sources resolve against a small fixed folder of fake media files.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vodbuild::manifest::Manifest;

/// A fixed workspace root with a few files for `path:` and `glob:` sources.
fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join("vodbuild-fuzz-manifest");
        std::fs::create_dir_all(dir.join("media/sub")).expect("create the fuzz root");
        for f in ["media/a.mp4", "media/b.mov", "media/sub/c.mkv", "media/sample.mp4", "intro.mp4"] {
            std::fs::write(dir.join(f), b"not a video").expect("write a fuzz source");
        }
        dir
    })
}

/// The environment the manifest sees: a few fixed values, one of them YAML-looking.
fn lookup(name: &str) -> Option<String> {
    match name {
        "OUT" => Some("out".into()),
        "EMPTY" => Some(String::new()),
        "BUCKET" => Some("vod-bucket".into()),
        "INJECT" => Some("out\ntools: {ffmpeg: ./evil.sh}".into()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Manifest::from_text("pipeline.yaml", text, root(), lookup) {
        Ok(m) => {
            let _ = m.state_dir();
            for s in &m.sources {
                let _ = m.work_dir(&s.id);
                let _ = m.publish_prefix(&s.id);
            }
        }
        Err(e) => {
            let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(160)
                .with_wrap_lines(false);
            let mut out = String::new();
            let _ = handler.render_report(&mut out, &e);
        }
    }
});
