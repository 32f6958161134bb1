//! Malformed manifests exit 3 and point at file:line:column and the field;
//! bad command lines exit 2.

use crate::common;

use common::*;
use vodbuild::exit_codes::{MANIFEST_ERROR, USAGE_ERROR};

/// Block style so every field has a line of its own: two rungs, both on HLS.
fn block() -> String {
    Manifest::block()
        .video_field("720p", "preset", "ultrafast")
        .video("360p", &[("codec", "h264"), ("height", "360"), ("bitrate", "800k"), ("preset", "ultrafast")])
        .output_field("hls", "renditions", "[720p, 360p]")
        .yaml()
}

/// 1-based number of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} not in manifest")) + 1
}

/// Replaces exactly one occurrence of `from`.
fn edit(from: &str, to: &str) -> String {
    let block = block();
    assert_eq!(block.matches(from).count(), 1, "{from:?} must be unique");
    block.replace(from, to)
}

/// Runs `plan` and `run` on `yaml`; both must exit 3 and point at `line`.
/// Returns the stderr of `run`.
fn assert_manifest_error(yaml: &str, line: usize, field: Option<&[&str]>) -> String {
    let ws = Workspace::new();
    ws.write("media/a.mp4", b"not read: the manifest is rejected first");
    ws.write_manifest(yaml);
    let mut last = String::new();
    for cmd in ["plan", "run"] {
        let out = ws.vodbuild(&[cmd, "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
        let located = out
            .stderr
            .match_indices(&format!("pipeline.yaml:{line}:"))
            .any(|(i, m)| out.stderr[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()));
        assert!(located, "stderr must contain `pipeline.yaml:{line}:COL`\n{}", out.describe());
        if let Some(alternatives) = field {
            assert!(
                alternatives.iter().any(|f| out.stderr.contains(f)),
                "stderr must name the field (one of {alternatives:?})\n{}",
                out.describe()
            );
        }
        assert!(!ws.path("out").exists(), "nothing may be built");
        last = out.stderr;
    }
    last
}

fn assert_did_you_mean(stderr: &str, suggestion: &str) {
    let lower = stderr.to_lowercase();
    let at = lower.find("did you mean").unwrap_or_else(|| panic!("expected a did-you-mean hint: {stderr}"));
    assert!(lower[at..].contains(suggestion), "expected did-you-mean `{suggestion}`: {stderr}");
}

#[test]
fn block_manifest_is_valid() {
    // The base of the error cases must itself be accepted.
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "1280x720");
    ws.write_manifest(&block());
    let plan = ws.plan_ok();
    assert!(planned(&plan).contains("encode:clip:720p"), "{plan:#}");
}

#[test]
fn yaml_syntax_error() {
    let yaml = edit("  gop_seconds: 2\n", "  gop_seconds: 2\n    extra: 1\n");
    assert_manifest_error(&yaml, line_of(&yaml, "extra:"), None);
}

#[test]
fn yaml_syntax_error_stray_bracket() {
    let yaml = edit("renditions: [720p, 360p]", "renditions: [720p, 360p]]");
    assert_manifest_error(&yaml, line_of(&yaml, "renditions:"), None);
}

#[test]
fn unknown_key_suggests_the_right_one() {
    let yaml = edit("bitrate: 3000k", "bitrat: 3000k");
    let stderr = assert_manifest_error(&yaml, line_of(&yaml, "bitrat:"), Some(&["profiles.video.720p.bitrat"]));
    assert_did_you_mean(&stderr, "bitrate");
}

#[test]
fn publish_concurrency_out_of_range() {
    let storage = "storage:\n  disk: {service: fs, root: published}\npublish:\n  to: disk\n";
    for bad in ["0", "65"] {
        let yaml = format!("{}{storage}  concurrency: {bad}\n", block());
        let stderr = assert_manifest_error(
            &yaml,
            line_of(&yaml, &format!("concurrency: {bad}")),
            Some(&["publish.concurrency"]),
        );
        assert!(stderr.contains("from 1 to 64"), "no range in:\n{stderr}");
    }
}

#[test]
fn unknown_top_level_key() {
    let yaml = block().replace("output_dir: out\n", "output_dir: out\noutputdir: x\n");
    let stderr = assert_manifest_error(&yaml, 3, Some(&["outputdir"]));
    assert_did_you_mean(&stderr, "output_dir");
}

#[test]
fn wrong_type() {
    let yaml = edit("height: 720", "height: \"tall\"");
    assert_manifest_error(&yaml, line_of(&yaml, "height: \"tall\""), Some(&["profiles.video.720p.height"]));
}

#[test]
fn undefined_rendition() {
    let yaml = edit("renditions: [720p, 360p]", "renditions: [720p, 1080p]");
    let stderr = assert_manifest_error(&yaml, line_of(&yaml, "renditions:"), Some(&["outputs.hls.renditions"]));
    assert!(stderr.contains("1080p"), "must name the rendition: {stderr}");
}

#[test]
fn undefined_audio_profile() {
    let yaml = edit("    audio: aac128\n", "    audio: aac96\n");
    let stderr = assert_manifest_error(&yaml, line_of(&yaml, "audio: aac96"), Some(&["outputs.hls.audio"]));
    assert!(stderr.contains("aac96"), "{stderr}");
}

#[test]
fn source_id_escaping_the_output_dir() {
    let yaml = edit("id: clip", "id: ../escape");
    assert_manifest_error(&yaml, line_of(&yaml, "id: ../escape"), Some(&["sources[0].id", "sources.0.id"]));
}

#[test]
fn segment_not_a_multiple_of_gop() {
    let yaml = edit("segment_seconds: 4", "segment_seconds: 3");
    assert_manifest_error(&yaml, line_of(&yaml, "segment_seconds: 3"), Some(&["outputs.hls.segment_seconds"]));
}

#[test]
fn unsupported_version() {
    let yaml = block().replacen("version: 1", "version: 2", 1);
    assert_manifest_error(&yaml, 1, Some(&["version"]));
}

#[test]
fn bad_command_lines_exit_2() {
    let ws = Workspace::new();
    ws.write_manifest(&block());
    for args in [
        &["run", "pipeline.yaml", "--no-such-flag"][..],
        &["frobnicate"][..],
        &["run", "pipeline.yaml", "-j", "lots"][..],
    ] {
        let out = ws.vodbuild(args).assert_code(USAGE_ERROR);
        assert!(!out.stderr.trim().is_empty(), "{}", out.describe());
    }
}

#[test]
fn missing_manifest_file_is_not_a_crash() {
    let ws = Workspace::new();
    let out = ws.vodbuild(&["plan", "nope.yaml"]);
    assert!(
        out.code == USAGE_ERROR || out.code == MANIFEST_ERROR,
        "missing manifest: expected 2 or 3\n{}",
        out.describe()
    );
    assert!(out.stderr.contains("nope.yaml"), "{}", out.describe());
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
}

/// `aac` on the second source audio stream is the rendition `aac-a1`: a profile of that name
/// beside it would share its files, and one language would silently be lost.
#[test]
fn audio_profile_named_like_a_track_rendition() {
    let yaml = Manifest::block()
        .audio("aac128-a1", &[("codec", "aac"), ("bitrate", "96k")])
        .output_field("hls", "audio", "[aac128, aac128-a1]")
        .yaml();
    // A profile's errors point at its mapping, on the line after its name.
    let line = line_of(&yaml, "aac128-a1:") + 1;
    let err = assert_manifest_error(&yaml, line, Some(&["profiles.audio.aac128-a1"]));
    assert!(err.contains("ends in `-a` and digits"), "{err}");
    // A video profile named like a rendition of an audio profile is refused too.
    let yaml = Manifest::block()
        .video("aac128-a2", &[("codec", "h264"), ("height", "360"), ("bitrate", "800k")])
        .output_field("hls", "renditions", "[720p, aac128-a2]")
        .yaml();
    let err = assert_manifest_error(&yaml, line_of(&yaml, "aac128:") + 1, Some(&["profiles.audio.aac128"]));
    assert!(err.contains("video profile `aac128-a2` is named like a rendition"), "{err}");
}
