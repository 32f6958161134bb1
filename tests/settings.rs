//! Settings that encoders or players would reject, ignore or change are refused at load time
//! (exit 3 at the value's line:column, with a hint); AV1's maxrate is honoured; `verify`
//! reads the PMT of TS segments.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{Manifest, Workspace};
use vodbuild::exit_codes::{MANIFEST_ERROR, SUCCESS, VERIFY_FAILED};

/// Block style: every value has a line of its own. A 720p H.264 rung with maxrate and an
/// AV1 rung; HLS in fMP4, thumbnails, metadata.
fn block() -> String {
    Manifest::block()
        .video_field("720p", "maxrate", "3300k")
        .video_field("720p", "bufsize", "6000k")
        .video_field("720p", "preset", "ultrafast")
        .video("av1", &[("codec", "av1"), ("height", "360"), ("bitrate", "800k"), ("preset", "12")])
        .output_field("hls", "segment_type", "fmp4")
        .output("thumbnails", &[("interval", "5")])
        .yaml()
}

/// Replaces the one line containing `line` (trimmed match) by `to`, and returns the manifest
/// with the (line, column) of `value` in the new line.
fn edited(line: &str, to: &str, value: &str) -> (String, usize, usize) {
    let block = block();
    let lines: Vec<&str> = block.lines().collect();
    let hits: Vec<usize> = (0..lines.len()).filter(|i| lines[*i].trim() == line).collect();
    assert_eq!(hits.len(), 1, "{line:?} must be one line of BLOCK");
    let i = hits[0];
    let indent = &lines[i][..lines[i].len() - lines[i].trim_start().len()];
    let new_line = format!("{indent}{to}");
    let col = new_line.find(value).unwrap_or_else(|| panic!("{value:?} not in {to:?}")) + 1;
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out[i] = new_line;
    (out.join("\n") + "\n", i + 1, col)
}

/// `plan` and `run` exit 3 pointing at `pipeline.yaml:LINE:COL`, and stderr has `words` and a hint.
fn assert_refused(yaml: &str, line: usize, col: usize, words: &[&str]) {
    let ws = Workspace::new();
    ws.write("media/a.mp4", b"not read: the manifest is rejected first");
    ws.write_manifest(yaml);
    for cmd in ["plan", "run"] {
        let out = ws.vodbuild(&[cmd, "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
        let at = format!("pipeline.yaml:{line}:{col}:");
        assert!(out.stderr.contains(&at), "stderr must contain `{at}`\n{yaml}\n{}", out.describe());
        for w in words {
            assert!(out.stderr.contains(w), "stderr must contain {w:?}\n{}", out.describe());
        }
        assert!(out.stderr.contains("help"), "a hint is expected\n{}", out.describe());
    }
    assert!(!ws.path("out").exists(), "nothing may be built");
}

#[test]
fn block_manifest_loads() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    ws.write_manifest(&block());
    ws.plan_ok();
}

/// Every "accepted then ignored or broken" setting of issue 8, plus the rest of the rules.
#[test]
fn bad_settings_are_refused_at_their_value() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("bitrate: 3000k", "bitrate: 0.4", "0.4", &["bitrate", "0 b/s"]),
        ("maxrate: 3300k", "maxrate: 2000k", "2000k", &["maxrate 2M is below bitrate 3M"]),
        ("bitrate: 3000k", "crf: 0", "0", &["crf 0", "High 4:4:4"]),
        ("preset: ultrafast", "preset: superslow", "superslow", &["preset `superslow`", "placebo"]),
        ("preset: 12", "preset: veryfast", "veryfast", &["not valid for AV1", "0..13"]),
        ("height: 720", "width: 641", "641", &["width 641 is odd", "642"]),
        ("height: 360", "height: 361", "361", &["height 361 is odd"]),
        ("gop_seconds: 2", "gop_seconds: 0.001", "0.001", &["gop_seconds 0.001"]),
        ("preset: ultrafast", "frame_rate: 0.0001", "0.0001", &["frame_rate 0 is out of range"]),
        ("preset: ultrafast", "max_frame_rate: 1000", "1000", &["max_frame_rate 1000"]),
        ("interval: 5", "count: 4000000000", "4000000000", &["count 4000000000", "10000"]),
        ("interval: 5", "interval: 0.001", "0.001", &["interval 0.001"]),
        ("preset: 12", "level: \"5.1\"", "\"5.1\"", &["no level for AV1"]),
        ("preset: ultrafast", "level: \"4.7\"", "\"4.7\"", &["level `4.7`"]),
        ("bitrate: 128k", "sample_rate: 44101", "44101", &["sample_rate 44101"]),
    ];
    for (line, to, value, words) in cases {
        let (yaml, l, c) = edited(line, to, value);
        assert_refused(&yaml, l, c, words);
    }
}

#[test]
fn maxrate_without_bufsize_is_refused() {
    let (yaml, _, _) = edited("bufsize: 6000k", "profile: high", "high");
    let line = yaml.lines().position(|l| l.contains("maxrate: 3300k")).unwrap() + 1;
    assert_refused(&yaml, line, "      maxrate: ".len() + 1, &["maxrate needs bufsize", "bufsize: 6600k"]);
}

#[test]
fn codecs_players_cannot_decode_in_ts_are_refused() {
    let (ts, l, c) = edited("segment_type: fmp4", "segment_type: ts", "ts");
    let av1 = ts.replace("renditions: [720p]", "renditions: [720p, av1]");
    assert_refused(&av1, l, c, &["cannot carry AV1 (rendition `av1`)", "use segment_type: fmp4"]);
    let hevc = ts.replace("codec: h264", "codec: hevc");
    assert_refused(&hevc, l, c, &["cannot carry HEVC"]);
    let opus = ts.replace("codec: aac", "codec: opus");
    assert_refused(&opus, l, c, &["cannot carry Opus"]);
}

#[test]
fn av1_crf_with_maxrate_is_refused() {
    let yaml = block().replace("      bitrate: 800k\n", "      crf: 35\n      maxrate: 900k\n      bufsize: 1800k\n");
    let line = yaml.lines().position(|l| l.contains("maxrate: 900k")).unwrap() + 1;
    assert_refused(&yaml, line, "      maxrate: ".len() + 1, &["capped CRF"]);
}

/// Every shipped manifest passes the checks.
#[test]
fn shipped_manifests_load() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(repo.join("pipelines")).unwrap().map(|e| e.unwrap().path()).collect();
    files.extend(["examples/catalog/pipeline.yaml", "examples/quickstart/pipeline.yaml"].map(|p| repo.join(p)));
    for f in files {
        let ws = Workspace::new();
        std::fs::copy(&f, ws.path("pipeline.yaml")).unwrap();
        ws.make_source("media/a.mp4", 1.0, "160x90");
        ws.make_source("media/sample.mp4", 1.0, "160x90");
        let out = ws.vodbuild(&["plan", "pipeline.yaml"]);
        assert_eq!(out.code, SUCCESS, "{} does not load\n{}", f.display(), out.describe());
    }
}

/// Peak bitrate of the video stream of `file` over 1 s windows (by timestamp), in b/s.
fn peak_bitrate(file: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,size", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {}", file.display());
    let mut windows = std::collections::BTreeMap::<i64, f64>::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = line.split(',');
        let (Some(t), Some(s)) = (it.next(), it.next()) else { continue };
        let (Ok(t), Ok(s)) = (t.parse::<f64>(), s.parse::<f64>()) else { continue };
        *windows.entry(t.floor() as i64).or_default() += s * 8.0;
    }
    assert!(windows.len() >= 3, "expected at least 3 s of packets in {}", file.display());
    windows.values().cloned().fold(0.0, f64::max)
}

/// AV1 with bitrate + maxrate: the peak 1 s bitrate stays within 1.5x maxrate, on a source that
/// goes from easy (2 s plain) to hard (2 s of heavy noise) where plain VBR spends its savings.
#[test]
fn av1_peak_stays_near_maxrate() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("media")).unwrap();
    let graph = "[0]trim=0:2,setpts=PTS-STARTPTS[a];[1]trim=0:2,setpts=PTS-STARTPTS[b];[a][b]concat=n=2:v=1[v]";
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30,noise=alls=30:allf=t"])
        .args(["-f", "lavfi", "-i", "sine=sample_rate=48000:duration=4"])
        .args(["-filter_complex", graph, "-map", "[v]", "-map", "2:a"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-c:a", "aac", "-t", "4"])
        .arg(ws.path("media/a.mp4"))
        .status()
        .unwrap();
    assert!(st.success());
    let maxrate = 240_000.0;
    ws.write_manifest(
        r#"version: 1
encoding: {gop_seconds: 2}
sources: [{path: media/a.mp4, id: clip}]
profiles:
  video:
    av1: {codec: av1, height: 180, bitrate: 200k, maxrate: 240k, bufsize: 480k, preset: 12}
  audio:
    aac64: {codec: aac, bitrate: 64k}
outputs:
  hls: {renditions: [av1], audio: aac64, segment_seconds: 2}
"#,
    );
    ws.run_ok();
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    let encoded = ws.path(".vodbuild/pipeline.yaml/work/clip/av1.mp4");
    let peak = peak_bitrate(&encoded);
    eprintln!("AV1 bitrate 200k maxrate 240k: measured 1 s peak {:.0} b/s ({:.2}x maxrate)", peak, peak / maxrate);
    assert!(peak <= 1.5 * maxrate, "peak {peak} b/s is above 1.5x maxrate {maxrate}");
}

/// A TS package: H.264 + AAC verify clean; a CODECS that names another codec, or a segment
/// whose PMT carries a stream players cannot decode, is named.
#[test]
fn verify_reads_the_pmt_of_ts_segments() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 4.0, "320x180");
    ws.write_manifest(&Manifest::small().output_field("hls", "segment_type", "ts").yaml());
    ws.run_ok();
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    let hls = "out/media/a/hls";
    let master = ws.read(&format!("{hls}/master.m3u8"));
    ws.write(&format!("{hls}/master.m3u8"), master.replacen("CODECS=\"avc1.", "CODECS=\"hvc1.", 1));
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(out.stdout.contains("CODECS declares hvc1.") && out.stdout.contains("0x1B (avc1)"), "{}", out.describe());

    ws.write(&format!("{hls}/master.m3u8"), &master);
    let seg = ws.path(&format!("{hls}/144p/seg_00000.ts"));
    assert!(seg.exists(), "expected {}", seg.display());
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=256x144:rate=30"])
        .args(["-t", "2", "-c:v", "libsvtav1", "-preset", "12", "-f", "mpegts"])
        .arg(&seg)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    assert!(
        out.stdout.contains("144p/index.m3u8: its TS segments carry stream_type 0x06 (private data"),
        "{}",
        out.describe()
    );
}
