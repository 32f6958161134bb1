//! `outputs.storyboard`: sprite sheets and a WebVTT thumbnails track (and a DASH-IF image
//! AdaptationSet in the MPD), at the source's displayed aspect; checked by `vodbuild verify`;
//! changing its settings re-runs only the steps that carry it.

use crate::common;

use std::process::Command;

use common::{Manifest, Workspace, executed};
use vodbuild::exit_codes::{MANIFEST_ERROR, SUCCESS, VERIFY_FAILED};
use vodbuild::media::storyboard::jpeg_size;

const BOARD: &str = "{interval: 1, columns: 2, rows: 2, width: 64}";

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-loglevel", "error", "-y"]).args(args).output().unwrap();
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn with_board(board: &str) -> String {
    let small = Manifest::small().yaml();
    let y = small.replacen("outputs:\n", &format!("outputs:\n  storyboard: {board}\n"), 1);
    assert!(y.contains("storyboard:"), "{y}");
    y
}

/// (sheet, x, y, w, h) of every cue of a storyboard.vtt.
fn cues(vtt: &str) -> Vec<(String, u32, u32, u32, u32)> {
    vtt.lines()
        .filter_map(|l| l.split_once("#xywh="))
        .map(|(f, r)| {
            let n: Vec<u32> = r.split(',').map(|v| v.parse().unwrap()).collect();
            (f.to_string(), n[0], n[1], n[2], n[3])
        })
        .collect()
}

fn sheet(ws: &Workspace, rel: &str) -> (u32, u32) {
    jpeg_size(&std::fs::read(ws.path(rel)).unwrap()).unwrap_or_else(|| panic!("{rel} is not a JPEG"))
}

#[test]
fn sheets_track_and_dash_image_set_verify_and_a_wrong_sheet_fails() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 7.0, "320x180");
    ws.write_manifest(&with_board(BOARD));
    ws.run_ok();
    let vtt = ws.read("out/media/a/storyboard/storyboard.vtt");
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    let cues = cues(&vtt);
    assert_eq!(cues.len(), 7, "one tile a second of 7 s:\n{vtt}");
    assert_eq!(cues[0], ("sprite-1.jpg".into(), 0, 0, 64, 36), "{vtt}");
    assert_eq!(cues[3], ("sprite-1.jpg".into(), 64, 36, 64, 36), "{vtt}");
    assert_eq!(cues[4], ("sprite-2.jpg".into(), 0, 0, 64, 36), "{vtt}");
    assert!(vtt.contains("00:00:03.000 --> 00:00:04.000\nsprite-1.jpg#xywh=64,36,64,36"), "{vtt}");
    assert_eq!(sheet(&ws, "out/media/a/storyboard/sprite-1.jpg"), (128, 72));
    assert_eq!(sheet(&ws, "out/media/a/storyboard/sprite-2.jpg"), (128, 72), "the last sheet is padded to the grid");
    assert!(
        !ws.path("out/media/a/storyboard/sprite-3.jpg").exists()
            && !ws.path("out/media/a/storyboard/tiles.txt").exists()
    );

    let mpd = ws.read("out/media/a/dash/manifest.mpd");
    for needle in [
        "contentType=\"image\" mimeType=\"image/jpeg\"",
        "schemeIdUri=\"http://dashif.org/thumbnail_tile\" value=\"2x2\"",
        "media=\"storyboard/sprite-$Number$.jpg\"",
        "<S t=\"0\" d=\"4000\" r=\"1\"/>",
        "width=\"128\" height=\"72\"",
    ] {
        assert!(mpd.contains(needle), "{needle} in\n{mpd}");
    }
    assert_eq!(sheet(&ws, "out/media/a/dash/storyboard/sprite-2.jpg"), (128, 72));
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "{}", out.describe());

    // A sheet of the wrong size: verify names it, in the storyboard and in the package.
    ffmpeg(&["-f", "lavfi", "-i", "color=size=100x50", "-frames:v", "1", &ws.path("small.jpg").to_string_lossy()]);
    for dir in ["storyboard", "dash/storyboard"] {
        std::fs::copy(ws.path("small.jpg"), ws.path(&format!("out/media/a/{dir}/sprite-2.jpg"))).unwrap();
    }
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(out.stdout.contains("sprite-2.jpg is 100x50, not 2x2 tiles of 64x36 = 128x72"), "{}", out.describe());
    assert!(out.stdout.contains("100x50, the MPD says 128x72"), "{}", out.describe());
}

#[test]
fn tiles_show_the_displayed_aspect_of_rotated_and_anamorphic_sources() {
    let ws = Workspace::new();
    let flat = ws.make_source("media/flat.mp4", 3.0, "320x180");
    let f = flat.to_string_lossy();
    ffmpeg(&["-i", &f, "-c", "copy", "-metadata:s:v:0", "rotate=90", &ws.path("media/rot.mp4").to_string_lossy()]);
    // 320x180 stored, sample aspect 4:3: displayed 427x180 (2.37:1), so tiles 64x27; rotated
    // 90°: 180x320 displayed, tiles 64x114.
    let ana = ws.path("media/ana.mp4").to_string_lossy().into_owned();
    ffmpeg(&["-i", &f, "-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", &ana]);
    std::fs::remove_file(&flat).unwrap();
    ws.write_manifest(&with_board("{interval: 1, columns: 3, rows: 1, width: 64}"));
    ws.run_ok();
    for (src, h) in [("rot", 114), ("ana", 27)] {
        let vtt = ws.read(&format!("out/media/{src}/storyboard/storyboard.vtt"));
        let c = cues(&vtt);
        assert!(!c.is_empty() && c.iter().all(|c| (c.3, c.4) == (64, h)), "{src}: tiles 64x{h}:\n{vtt}");
        assert_eq!(sheet(&ws, &format!("out/media/{src}/storyboard/sprite-1.jpg")), (192, h), "{src}");
    }
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(out.code, SUCCESS, "{}", out.describe());

    // A landscape storyboard in place of the rotated source's: verify says it is distorted.
    std::fs::remove_dir_all(ws.path("out/media/rot/storyboard")).unwrap();
    copy_dir(&ws.path("out/media/ana/storyboard"), &ws.path("out/media/rot/storyboard"));
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(out.stdout.contains("but the source displays at 0.562:1"), "{}", out.describe());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn changing_the_storyboard_reruns_only_its_steps() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write_manifest(&with_board(BOARD));
    ws.run_ok();
    ws.write_manifest(&with_board("{interval: 1, columns: 3, rows: 1, width: 64}"));
    let ran = executed(&ws.run_ok());
    // The DASH package carries the sheets (its image AdaptationSet): it is re-packaged, no more.
    let expected: std::collections::BTreeSet<String> =
        ["storyboard:media/a", "dash:media/a", "metadata:media/a"].map(String::from).into();
    assert_eq!(ran, expected);
    assert_eq!(sheet(&ws, "out/media/a/storyboard/sprite-1.jpg"), (192, 36));
    assert!(ws.read("out/media/a/dash/manifest.mpd").contains("value=\"3x1\""));

    // Without DASH, only the storyboard (and the metadata that lists outputs) runs.
    let no_dash = |b: &str| {
        with_board(b).lines().filter(|l| !l.trim_start().starts_with("dash:")).collect::<Vec<_>>().join("\n") + "\n"
    };
    ws.write_manifest(&no_dash("{interval: 1, columns: 3, rows: 1, width: 64}"));
    ws.run_ok();
    ws.write_manifest(&no_dash("{interval: 0.5, columns: 3, rows: 1, width: 64}"));
    let ran = executed(&ws.run_ok());
    assert_eq!(ran, ["storyboard:media/a", "metadata:media/a"].map(String::from).into());
    assert_eq!(cues(&ws.read("out/media/a/storyboard/storyboard.vtt")).len(), 6);
}

#[test]
fn storyboard_counts_are_bounded_at_load_time() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    for (board, at, says) in [
        ("{interval: 1, columns: 0}", "outputs.storyboard.columns", "columns 0 is out of range 1..20"),
        ("{interval: 1, rows: 500}", "outputs.storyboard.rows", "rows 500 is out of range 1..20"),
        ("{interval: 0.01}", "outputs.storyboard.interval", "out of range"),
        ("{interval: 1, width: 5000}", "outputs.storyboard.width", "16..640"),
    ] {
        ws.write_manifest(&with_board(board));
        let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
        assert!(out.stderr.contains(at) && out.stderr.contains(says), "{board}: {}", out.describe());
    }
}
