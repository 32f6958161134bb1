//! `vodbuild verify`: passes on what vodbuild builds (every manifest in `pipelines/` and
//! `examples/`), and fails with a specific message on each kind of broken package.

use crate::common;

use std::path::Path;

use common::{Manifest, SMALL, Workspace};
use vodbuild::exit_codes::{BUILD_FAILED, SUCCESS, VERIFY_FAILED};

/// A built workspace with one 4 s source (`media/a.mp4` → id `media/a`).
fn built() -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 4.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    let ok = ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    assert!(ok.stderr.contains("0 problems"), "{}", ok.describe());
    ws
}

/// Runs verify, expects failure, and returns stdout (one line per problem).
fn problems(ws: &Workspace) -> String {
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(!out.stdout.trim().is_empty(), "verify failed without naming a problem\n{}", out.describe());
    out.stdout
}

fn edit(ws: &Workspace, rel: &str, f: impl FnOnce(&str) -> String) {
    let text = ws.read(rel);
    let new = f(&text);
    assert_ne!(text, new, "the edit of {rel} changed nothing");
    ws.write(rel, new);
}

const HLS: &str = "out/media/a/hls";

#[test]
fn missing_segment_is_named() {
    let ws = built();
    std::fs::remove_file(ws.path(&format!("{HLS}/144p/seg_00001.m4s"))).unwrap();
    let p = problems(&ws);
    assert!(p.contains("144p/seg_00001.m4s") && p.contains("missing"), "{p}");
}

#[test]
fn wrong_codecs_is_named() {
    let ws = built();
    edit(&ws, &format!("{HLS}/master.m3u8"), |t| t.replacen("CODECS=\"avc1.", "CODECS=\"avc1.4d0028,x", 1));
    let p = problems(&ws);
    assert!(p.contains("master.m3u8: CODECS:") && p.contains("init segments say"), "{p}");
}

#[test]
fn bandwidth_below_peak_is_named() {
    let ws = built();
    edit(&ws, &format!("{HLS}/master.m3u8"), |t| {
        let i = t.find("BANDWIDTH=").unwrap() + "BANDWIDTH=".len();
        let j = i + t[i..].find(',').unwrap();
        format!("{}1000{}", &t[..i], &t[j..])
    });
    let p = problems(&ws);
    assert!(p.contains("master.m3u8: BANDWIDTH:") && p.contains("below the measured peak"), "{p}");
}

#[test]
fn extinf_above_target_duration_is_named() {
    let ws = built();
    edit(&ws, &format!("{HLS}/90p/index.m3u8"), |t| t.replacen("#EXTINF:2.000000,", "#EXTINF:3.600000,", 1));
    let p = problems(&ws);
    assert!(p.contains("90p/index.m3u8: EXTINF:") && p.contains("above EXT-X-TARGETDURATION"), "{p}");
}

#[test]
fn mpd_naming_a_missing_file_is_named() {
    let ws = built();
    let dash = ws.path("out/media/a/dash");
    let init = std::fs::read_dir(&dash)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("init-1"))
        .expect("an init segment for representation 1");
    std::fs::remove_file(dash.join(&init)).unwrap();
    let p = problems(&ws);
    assert!(p.contains("manifest.mpd: Representation 1") && p.contains(&init) && p.contains("missing"), "{p}");
}

#[test]
fn misaligned_boundaries_are_named() {
    let ws = built();
    // Same total, each within the target duration, but the 90p cut moves by half a second.
    edit(&ws, &format!("{HLS}/90p/index.m3u8"), |t| {
        t.replacen("#EXTINF:2.000000,", "#EXTINF:1.500000,", 1).replacen("#EXTINF:2.000000,", "#EXTINF:2.500000,", 1)
    });
    let p = problems(&ws);
    assert!(p.contains("segment boundaries") && p.contains("misaligned"), "{p}");
}

/// Every shipped manifest builds a package that verify accepts.
#[test]
fn shipped_manifests_verify_clean() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut manifests: Vec<_> = std::fs::read_dir(repo.join("pipelines"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    manifests.sort();
    assert!(manifests.len() >= 3, "pipelines/ should hold at least 3 manifests");
    for m in &manifests {
        let ws = Workspace::new();
        ws.make_source("media/title.mp4", 2.0, "320x180");
        ws.write("pipeline.yaml", std::fs::read(m).unwrap());
        ws.vodbuild(&["run", "pipeline.yaml", "-q"]).success();
        let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
        assert_eq!(out.code, SUCCESS, "{} does not verify:\n{}", m.display(), out.describe());
    }
    // The quickstart example, as shipped (its own media).
    let ws = Workspace::new();
    ws.write("pipeline.yaml", std::fs::read(repo.join("examples/quickstart/pipeline.yaml")).unwrap());
    ws.write("media/sample.mp4", std::fs::read(repo.join("examples/quickstart/media/sample.mp4")).unwrap());
    ws.vodbuild(&["run", "pipeline.yaml", "-q"]).success();
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

/// `verify: true` makes verification a step after packaging: it runs, is cached like any
/// step, and a package that fails it is not published.
#[test]
fn verify_step_gates_publishing() {
    let ws = Workspace::new();
    // Video lasts 2 s but audio 5 s: the packages cannot match the source's duration.
    let src = ws.path("media/a.mp4");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-t", "2", "-i", "testsrc2=size=320x180:rate=30"])
        .args(["-f", "lavfi", "-t", "5", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    let published = ws.path("published");
    let manifest = Manifest::small()
        .output_field("hls", "verify", "true")
        .output_field("dash", "verify", "true")
        .section(&format!("storage:\n  disk: {{service: fs, root: {}}}\npublish:\n  to: disk\n", published.display()))
        .yaml();
    ws.write_manifest(&manifest);
    let graph = ws.vodbuild(&["graph", "pipeline.yaml", "--format", "json"]).success().json();
    let edge =
        |from: &str, to: &str| graph["edges"].as_array().unwrap().iter().any(|e| e["from"] == from && e["to"] == to);
    assert!(
        edge("hls:media/a", "verify_hls:media/a") && edge("verify_hls:media/a", "publish_hls:media/a"),
        "{graph:#}"
    );

    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--keep-going"]).assert_code(BUILD_FAILED);
    let run = out.json();
    let status = |id: &str| common::step(&run, id)["status"].as_str().unwrap().to_string();
    assert_eq!(status("verify_hls:media/a"), "failed", "{run:#}");
    assert!(common::step(&run, "verify_hls:media/a")["error"].as_str().unwrap().contains("duration"), "{run:#}");
    assert_eq!(status("publish_hls:media/a"), "skipped");
    assert!(!published.join("media/a/hls/master.m3u8").exists(), "a package that failed verify was published");
    // With --keep-going, what does not depend on the failed check is still published.
    assert_eq!(status("publish_thumbnails:media/a"), "executed");
}
