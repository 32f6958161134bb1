//! `pipelines/ott-complete.yaml` as shipped, on one small title holding everything it asks
//! for: two audio languages in the source, a dub as a sidecar audio file, a sidecar subtitle
//! file and a text stream in the source. The run builds, `vodbuild verify` passes, the master
//! and the MPD carry every part, and a rerun executes nothing.

use crate::common;

use common::{Workspace, executed};
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-loglevel", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// media/title.mp4 (3 s 640x360, audio eng + fra, a Spanish mov_text stream), its German dub
/// media/title.de.wav and English subtitles media/title.en.srt.
fn make_title(ws: &Workspace) {
    let srt = "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,000 --> 00:00:02,800\nWorld\n";
    ws.write("media/title.en.srt", srt);
    let embedded = ws.write("embedded.es.srt", "1\n00:00:00,200 --> 00:00:01,500\nHola\n");
    let title = ws.path("media/title.mp4");
    let (embedded, title) = (embedded.to_str().unwrap(), title.to_str().unwrap());
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=660:sample_rate=48000",
        "-i",
        embedded,
        "-t",
        "3",
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-map",
        "2:a",
        "-map",
        "3:s",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-c:s",
        "mov_text",
        "-metadata:s:a:0",
        "language=eng",
        "-metadata:s:a:1",
        "language=fra",
        "-metadata:s:s:0",
        "language=spa",
        title,
    ]);
    let dub = ws.path("media/title.de.wav");
    ffmpeg(&["-f", "lavfi", "-i", "sine=frequency=550:sample_rate=48000", "-t", "3", dub.to_str().unwrap()]);
}

#[test]
fn the_shipped_ott_complete_pipeline_builds_verifies_and_reruns_as_a_no_op() {
    let ws = Workspace::new();
    let yaml = std::fs::read_to_string(repo().join("pipelines/ott-complete.yaml")).unwrap();
    ws.write("ott-complete.yaml", &yaml);
    make_title(&ws);

    let run = ws.vodbuild(&["run", "ott-complete.yaml", "--json"]).success().json();
    assert!(!executed(&run).is_empty(), "nothing ran");
    ws.vodbuild(&["verify", "ott-complete.yaml"]).success();

    let master = ws.read("out/media/title/hls/master.m3u8");
    for lang in ["en", "fr", "de"] {
        let audio = master.lines().any(|l| l.contains("TYPE=AUDIO") && l.contains(&format!("LANGUAGE=\"{lang}\"")));
        assert!(audio, "no {lang} audio rendition in:\n{master}");
    }
    for lang in ["en", "es"] {
        let subs = master.lines().any(|l| l.contains("TYPE=SUBTITLES") && l.contains(&format!("LANGUAGE=\"{lang}\"")));
        assert!(subs, "no {lang} subtitles in:\n{master}");
    }
    assert!(master.contains("#EXT-X-I-FRAME-STREAM-INF"), "no I-frame playlist in:\n{master}");
    let audio_only = master.lines().any(|l| l.starts_with("#EXT-X-STREAM-INF") && !l.contains("avc1"));
    assert!(audio_only, "no audio-only variant in:\n{master}");

    let mpd = ws.read("out/media/title/dash/manifest.mpd");
    for needle in ["lang=\"de\"", "lang=\"fr\"", "contentType=\"text\"", "http://dashif.org/thumbnail_tile"] {
        assert!(mpd.contains(needle), "no {needle} in the MPD:\n{mpd}");
    }
    let metadata = ws.read("out/media/title/metadata.json");
    assert!(metadata.contains("loudness"), "no loudness in metadata.json:\n{metadata}");
    let storyboard = ws.files_under("out/media/title/storyboard");
    assert!(storyboard.iter().any(|f| f.ends_with(".jpg")), "no storyboard sheet: {storyboard:?}");

    let again = ws.vodbuild(&["run", "ott-complete.yaml", "--json"]).success().json();
    assert!(executed(&again).is_empty(), "the rerun executed {:?}", executed(&again));
}
