//! Loudness normalisation (`loudness:` on an audio profile): a `loudnorm` measurement of the
//! source, a two-pass encode that lands on the target, the output's loudness in
//! metadata.json, `vodbuild verify` over it; silent sources and bad values.

use crate::common;

use common::*;
use serde_json::Value;
use std::process::Command;
use vodbuild::exit_codes::MANIFEST_ERROR;

/// A 3 s source whose audio is a 440 Hz stereo sine of peak `amplitude` (0 = digital silence).
fn make_tone(ws: &Workspace, rel: &str, amplitude: f64) {
    let p = ws.path(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let audio = if amplitude > 0.0 {
        format!("aevalsrc={amplitude}*sin(2*PI*440*t):s=48000:c=stereo")
    } else {
        "anullsrc=r=48000:cl=stereo".into()
    };
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30"])
        .args(["-f", "lavfi", "-i", &audio, "-t", "3", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest"])
        .arg(&p)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
}

/// One 90p rung, an AAC profile normalised to `target`, HLS, metadata.
fn manifest(target: &str) -> String {
    Manifest::new()
        .output_dir("out")
        .gop("2")
        .glob("media/*.mp4")
        .video("90p", &h264("90", "100k", "ultrafast"))
        .audio(
            "aac",
            &[("codec", "aac"), ("bitrate", "64k"), ("loudness", &format!("{{target: {target}, true_peak: -1.5}}"))],
        )
        .hls(&[("renditions", "[90p]"), ("audio", "aac"), ("segment_seconds", "2")])
        .metadata()
        .yaml()
}

/// Integrated loudness (LUFS) of `file`'s audio by ffmpeg's `ebur128` (independent of the
/// `loudnorm` report vodbuild parses).
fn ebur128(file: &std::path::Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(file)
        .args(["-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let log = String::from_utf8_lossy(&out.stderr);
    let summary = &log[log.rfind("Summary:").unwrap_or_else(|| panic!("no ebur128 summary: {log}"))..];
    let line = summary.lines().find(|l| l.trim_start().starts_with("I:")).expect("an I: line");
    line.trim_start().trim_start_matches("I:").trim().trim_end_matches("LUFS").trim().parse().expect("a number")
}

fn metadata(ws: &Workspace, src: &str) -> Value {
    serde_json::from_str(&ws.read(&format!("out/{src}/metadata.json"))).expect("metadata.json")
}

#[test]
fn sources_of_different_loudness_end_at_the_target() {
    let ws = Workspace::new();
    make_tone(&ws, "media/quiet.mp4", 0.0316); // about -30 dBFS
    make_tone(&ws, "media/loud.mp4", 0.7); // about -3 dBFS
    ws.write_manifest(&manifest("-16"));
    let run = ws.run_ok();
    for src in ["media/quiet", "media/loud"] {
        assert!(executed(&run).contains(&format!("loudness:{src}:a0-2ch")), "{run:#}");
        let source_level = ebur128(&ws.path(&format!("{src}.mp4")));
        let hls_audio = ws.path(&format!("out/{src}/hls/aac/index.m3u8"));
        let measured = ebur128(&hls_audio);
        println!("{src}: source {source_level} LUFS, packaged audio {measured} LUFS");
        assert!((source_level + 16.0).abs() > 5.0, "the source must start far from the target: {source_level}");
        assert!((measured + 16.0).abs() <= 1.0, "{src}: packaged audio at {measured} LUFS, target -16");
        let l = &metadata(&ws, src)["loudness"]["aac"];
        assert_eq!(l["normalized"], true, "{l}");
        assert_eq!(l["target"], -16.0, "{l}");
        let i = l["integrated"].as_f64().expect("integrated");
        assert!((i - measured).abs() <= 0.5, "metadata says {i}, ebur128 {measured}");
        assert!(l["true_peak"].as_f64().expect("true_peak") <= -1.5, "{l}");
    }
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();

    // verify re-measures the packaged audio: a claim 0.8 LU off (yet within the target's
    // tolerance) is caught.
    let path = "out/media/loud/metadata.json";
    let mut doc = metadata(&ws, "media/loud");
    let claimed = doc["loudness"]["aac"]["integrated"].as_f64().unwrap();
    doc["loudness"]["aac"]["integrated"] =
        serde_json::json!(if claimed > -16.0 { claimed - 0.8 } else { claimed + 0.8 });
    ws.write(path, serde_json::to_string_pretty(&doc).unwrap());
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_ne!(out.code, 0, "{}", out.describe());
    assert!(
        out.stdout.contains("metadata.json claims") || out.stderr.contains("metadata.json claims"),
        "{}",
        out.describe()
    );

    // verify catches a metadata.json whose loudness is off the target.
    let mut doc = metadata(&ws, "media/loud");
    doc["loudness"]["aac"]["integrated"] = serde_json::json!(-30.0);
    ws.write(path, serde_json::to_string_pretty(&doc).unwrap());
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_ne!(out.code, 0, "{}", out.describe());
    assert!(
        out.stdout.contains("loudness.aac.integrated") || out.stderr.contains("loudness.aac.integrated"),
        "{}",
        out.describe()
    );
}

#[test]
fn changing_the_target_reruns_the_encode_not_the_measurement() {
    let ws = Workspace::new();
    make_tone(&ws, "media/a.mp4", 0.1);
    ws.write_manifest(&manifest("-16"));
    ws.run_ok();
    ws.write_manifest(&manifest("-23"));
    let run = ws.run_ok();
    let expected: std::collections::BTreeSet<String> =
        ["encode:media/a:aac", "loudness_out:media/a:aac", "hls:media/a", "metadata:media/a"].map(String::from).into();
    assert_eq!(executed(&run), expected, "{run:#}");
    assert!(with_status(&run, "fresh").contains("loudness:media/a:a0-2ch"), "{run:#}");
    let i = metadata(&ws, "media/a")["loudness"]["aac"]["integrated"].as_f64().expect("integrated");
    assert!((i + 23.0).abs() <= 1.0, "{i}");
    assert!((ebur128(&ws.path("out/media/a/hls/aac/index.m3u8")) + 23.0).abs() <= 1.0);
}

#[test]
fn a_silent_source_builds_with_a_warning() {
    let ws = Workspace::new();
    make_tone(&ws, "media/silent.mp4", 0.0);
    ws.write_manifest(&manifest("-16"));
    let out = ws.vodbuild(&["run", "pipeline.yaml"]).success();
    assert!(out.stderr.contains("loudness normalisation skipped"), "{}", out.describe());
    let l = &metadata(&ws, "media/silent")["loudness"]["aac"];
    assert_eq!(l["normalized"], false, "{l}");
    assert!(l["integrated"].is_null(), "no NaN, no -inf: {l}");
    assert!(l["note"].as_str().is_some_and(|n| n.contains("silent")), "{l}");
    // A source with no audio stream at all skips the measurements like its audio encode.
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30"])
        .args(["-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .arg(ws.path("media/mute.mp4"))
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success());
    let run = ws.run_ok();
    assert!(with_status(&run, "skipped").contains("loudness:media/mute:a0-2ch"), "{run:#}");
    assert!(metadata(&ws, "media/mute").get("loudness").is_none());
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn bad_values_are_refused_at_their_line() {
    for (field, value) in [("target", "-100"), ("true_peak", "3"), ("lra", "0")] {
        let ws = Workspace::new();
        ws.write("media/a.mp4", b"not read: the manifest is rejected first");
        let loudness = match field {
            "target" => format!("{{target: {value}}}"),
            other => format!("{{target: -16, {other}: {value}}}"),
        };
        let yaml =
            Manifest::block().audio("aac128", &[("codec", "aac"), ("bitrate", "128k"), ("loudness", &loudness)]).yaml();
        let line = yaml.lines().position(|l| l.contains("loudness")).expect("a loudness line") + 1;
        ws.write_manifest(&yaml);
        let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
        assert!(out.stderr.contains(&format!("pipeline.yaml:{line}:")), "{}\n{yaml}", out.describe());
        assert!(out.stderr.contains(&format!("loudness.{field}")), "{}", out.describe());
        assert!(out.stderr.contains("out of range"), "{}", out.describe());
    }
    // An unknown field is refused too.
    let ws = Workspace::new();
    ws.write("media/a.mp4", b"x");
    let yaml = Manifest::block().audio("aac128", &[("codec", "aac"), ("loudness", "{target: -16, gain: 3}")]).yaml();
    ws.write_manifest(&yaml);
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("gain"), "{}", out.describe());
}

#[test]
fn profiles_without_loudness_have_no_measurement() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(SMALL);
    assert_eq!(planned(&ws.plan_ok()), small_steps("media/a"), "no loudness step without `loudness:`");
    // The same manifest with `loudness` on its audio profile plans the measurements.
    ws.write_manifest(&SMALL.replace("sample_rate: 48000}", "sample_rate: 48000, loudness: {target: -16}}"));
    let planned = planned(&ws.plan_ok());
    assert!(
        planned.contains("loudness:media/a:a0-2ch") && planned.contains("loudness_out:media/a:aac64"),
        "{planned:?}"
    );
}

#[test]
fn profiles_share_one_source_measurement_per_channel_count() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    let yaml = Manifest::new()
        .output_dir("out")
        .gop("2")
        .glob("media/*.mp4")
        .video("90p", &h264("90", "100k", "ultrafast"))
        .audio("aac", &[("codec", "aac"), ("loudness", "{target: -16}")])
        .audio("opus", &[("codec", "opus"), ("loudness", "{target: -23}")])
        .audio("mono", &[("codec", "aac"), ("channels", "1"), ("loudness", "{target: -16}")])
        .hls(&[("renditions", "[90p]"), ("audio", "aac")])
        .dash(&[("renditions", "[90p]"), ("audio", "opus")])
        .metadata()
        .yaml();
    ws.write_manifest(&yaml);
    let planned = planned(&ws.plan_ok());
    let measured: Vec<&String> = planned.iter().filter(|id| id.starts_with("loudness:")).collect();
    assert_eq!(measured, ["loudness:media/a:a0-2ch"], "one stereo measurement for aac and opus: {planned:?}");
    assert!(planned.contains("loudness_out:media/a:aac") && planned.contains("loudness_out:media/a:opus"));
    // `mono` is used by no package: no step for it.
    assert!(!planned.iter().any(|id| id.contains("mono")), "{planned:?}");
}

/// Clicks at -6 dBFS over a -40 dBFS tone: reaching -16 LUFS linearly would put the true peak
/// near +14 dBTP, so loudnorm goes dynamic, and on 3 s it misses by about 5 LU (ffmpeg 5.1).
#[test]
fn a_missed_target_fails_the_encode_and_records_nothing() {
    let ws = Workspace::new();
    let p = ws.path("media/spiky.mp4");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let audio = "aevalsrc=0.02*sin(2*PI*440*t)+0.5*lt(mod(t\\,0.5)\\,0.002):s=48000:c=stereo";
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30"])
        .args(["-f", "lavfi", "-i", audio, "-t", "3", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest"])
        .arg(&p)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    ws.write_manifest(&manifest("-16"));
    let out = ws.vodbuild(&["run", "pipeline.yaml", "--keep-going"]);
    if out.code == 0 {
        let i = metadata(&ws, "media/spiky")["loudness"]["aac"]["integrated"].as_f64().expect("integrated");
        println!("SKIPPED the failure path: this ffmpeg's loudnorm reached {i} LUFS on the click track");
        assert!((i + 16.0).abs() <= 1.0, "a recorded encode must be within tolerance: {i}");
        return;
    }
    assert!(out.stderr.contains("LU from the target -16 LUFS"), "{}", out.describe());
    assert!(out.stderr.contains("raise `true_peak`"), "the hint: {}", out.describe());
    assert!(!ws.path("out/media/spiky/hls").exists(), "nothing downstream of the failed encode");
    let planned = planned(&ws.plan_ok());
    assert!(planned.contains("encode:media/spiky:aac"), "the failed encode is not recorded: {planned:?}");
    assert!(!planned.contains("loudness:media/spiky:a0-2ch"), "the measurement was: {planned:?}");
}

/// A source with a quiet English and a loud French stream: each language's encode is
/// normalised from its own stream's measurement (`loudness:SRC:a1-2ch` for the second).
#[test]
fn every_audio_language_is_measured_and_normalised_on_its_own() {
    let ws = Workspace::new();
    let p = ws.path("media/two.mp4");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30"])
        .args(["-f", "lavfi", "-i", "aevalsrc=0.0316*sin(2*PI*440*t):s=48000:c=stereo"])
        .args(["-f", "lavfi", "-i", "aevalsrc=0.7*sin(2*PI*660*t):s=48000:c=stereo"])
        .args(["-map", "0:v", "-map", "1:a", "-map", "2:a", "-t", "3", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k"])
        .args(["-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra"])
        .arg(&p)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    ws.write_manifest(&manifest("-16"));
    let run = ws.run_ok();
    let ran = executed(&run);
    for step in ["loudness:media/two:a0-2ch", "loudness:media/two:a1-2ch", "encode:media/two:aac-a1"] {
        assert!(ran.contains(step), "{step} missing: {run:#}");
    }
    let encodes: Vec<String> = ws
        .files_under(".vodbuild")
        .into_iter()
        .filter(|f| f.contains("media/two") && f.ends_with(".mp4") && f.contains("aac"))
        .collect();
    assert_eq!(encodes.len(), 2, "{encodes:?}");
    for e in &encodes {
        let measured = ebur128(&ws.path(e));
        println!("{e}: {measured} LUFS");
        assert!((measured + 16.0).abs() <= 1.0, "{e}: {measured} LUFS, target -16");
    }
    // metadata.json has an entry per language; verify checks both and catches the second's.
    let doc = metadata(&ws, "media/two");
    assert_eq!(doc["loudness"]["aac-a1"]["normalized"], true, "{doc:#}");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    let mut doc = doc;
    doc["loudness"]["aac-a1"]["integrated"] = serde_json::json!(-30.0);
    ws.write("out/media/two/metadata.json", serde_json::to_string_pretty(&doc).unwrap());
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_ne!(out.code, 0, "{}", out.describe());
    assert!(out.stdout.contains("loudness.aac-a1.integrated"), "{}", out.describe());
}
