//! Subtitles: sidecar SRT/WebVTT files (discovered next to the source, or listed in the
//! manifest) converted to WebVTT by a cached step and packaged as an HLS SUBTITLES group
//! (segmented WebVTT with `X-TIMESTAMP-MAP`) and DASH text AdaptationSets, by both
//! packagers; `vodbuild verify` accepts them; malformed files and broken group rules are
//! errors naming the file and line; changing or adding a track re-runs only its steps.

use crate::common;

use common::media::media_files;
use common::*;
use std::path::Path;
use std::process::Command;
use vodbuild::exit_codes::MANIFEST_ERROR;

const EN_SRT: &str = "1\n00:00:00,500 --> 00:00:01,250\nHello\n\n2\n00:00:01,800 --> 00:00:02,400\nAcross a boundary\n";
const DE_VTT: &str = "WEBVTT\n\n00:00:01.000 --> 00:00:01.500 line:0\nErzwungen\n";
const FR_SRT: &str = "1\n00:00:00,200 --> 00:00:00,800\nBonjour\n";

/// `media/a.mp4` (3 s) with sidecars `a.en.srt` and `a.de.forced.vtt`, and `subs/fr.srt`
/// listed as the default track; HLS (fMP4) + DASH with 2 s segments, no thumbnails or metadata.
fn workspace(packager: &str) -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write("media/a.en.srt", EN_SRT);
    ws.write("media/a.de.forced.vtt", DE_VTT);
    ws.write("subs/fr.srt", FR_SRT);
    ws.write_manifest(&manifest(packager, "[{path: subs/fr.srt, lang: fr, name: Français, default: true}]"));
    ws
}

fn manifest(packager: &str, listed: &str) -> String {
    Manifest::small()
        .without_sources()
        .source_with(&[("path", "media/a.mp4"), ("id", "a"), ("subtitles", listed)])
        .without_output("thumbnails")
        .without_output("metadata")
        .output_field("hls", "packager", packager)
        .output_field("dash", "packager", packager)
        .output("subtitles", &[("sidecars", "true")])
        .yaml()
}

fn media_lines(master: &str) -> Vec<&str> {
    master.lines().filter(|l| l.starts_with("#EXT-X-MEDIA:TYPE=SUBTITLES")).collect()
}

/// The first video presentation time of `playlist`'s first segment, per ffprobe, in 90 kHz.
fn first_video_pts(playlist: &Path) -> u64 {
    let (media, files) = media_files(playlist);
    let dir = playlist.parent().unwrap();
    let mut bytes = Vec::new();
    let first_segment = dir.join(&media.segments[0].1);
    if let Some(init) = &media.init {
        bytes.extend(std::fs::read(dir.join(init)).unwrap());
    }
    bytes.extend(std::fs::read(&first_segment).unwrap());
    let joined = dir.join("../first.probe");
    std::fs::write(&joined, bytes).unwrap();
    let out = Command::new(which("ffprobe"))
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "default=nw=1:nk=1"])
        .arg(&joined)
        .output()
        .unwrap();
    std::fs::remove_file(&joined).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().unwrap_or_else(|| panic!("no frame in {files:?}"));
    let first: f64 = line.trim().parse().unwrap_or_else(|e| panic!("{e}: {text}"));
    (first * 90_000.0).round() as u64
}

fn assert_packaged(ws: &Workspace) {
    let master = ws.read("out/a/hls/master.m3u8");
    let media = media_lines(&master);
    assert_eq!(media.len(), 3, "{master}");
    let fr = media.iter().find(|l| l.contains("LANGUAGE=\"fr\"")).expect("fr");
    assert!(fr.contains("NAME=\"Français\"") && fr.contains("DEFAULT=YES") && fr.contains("AUTOSELECT=YES"), "{fr}");
    let de = media.iter().find(|l| l.contains("LANGUAGE=\"de\"")).expect("de");
    assert!(de.contains("FORCED=YES") && de.contains("DEFAULT=NO"), "{de}");
    let variants: Vec<&str> = master.lines().filter(|l| l.starts_with("#EXT-X-STREAM-INF:")).collect();
    assert_eq!(variants.len(), 2, "{master}");
    assert!(variants.iter().all(|v| v.contains("SUBTITLES=\"subs\"")), "{master}");

    // Segmented on the video's windows, each segment mapped to the video's first PTS.
    let (video, _) = media_files(&ws.path("out/a/hls/144p/index.m3u8"));
    let (subs, seg_files) = media_files(&ws.path("out/a/hls/subs/en/index.m3u8"));
    assert_eq!(subs.segments.len(), video.segments.len(), "one WebVTT segment per video segment");
    for ((s, _), (v, _)) in subs.segments.iter().zip(&video.segments) {
        assert!((s - v).abs() < 0.002, "windows {:?} vs {:?}", subs.segments, video.segments);
    }
    let pts = first_video_pts(&ws.path("out/a/hls/144p/index.m3u8"));
    let first = std::fs::read_to_string(&seg_files[0]).unwrap();
    assert!(first.contains(&format!("X-TIMESTAMP-MAP=MPEGTS:{pts},LOCAL:00:00:00.000")), "pts {pts}: {first}");
    assert!(first.contains("00:00:00.500 --> 00:00:01.250\nHello"), "{first}");
    // A cue across a boundary is in both segments.
    let second = std::fs::read_to_string(&seg_files[1]).unwrap();
    assert!(first.contains("Across a boundary") && second.contains("Across a boundary"), "{first}\n{second}");

    let mpd = ws.read("out/a/dash/manifest.mpd");
    assert_eq!(mpd.matches("contentType=\"text\"").count(), 3, "{mpd}");
    assert!(mpd.contains("lang=\"de\"") && mpd.contains("value=\"forced-subtitle\""), "{mpd}");
    assert!(ws.read("out/a/dash/subs/fr.vtt").contains("00:00:00.200 --> 00:00:00.800\nBonjour"));
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn sidecar_and_listed_tracks_are_packaged_with_ffmpeg() {
    let ws = workspace("ffmpeg");
    let run = ws.run_ok();
    assert!(executed(&run).contains("subtitle:a:de-forced"), "{run:#}");
    assert_packaged(&ws);
}

#[test]
fn ts_segments_are_mapped_to_the_ts_timeline() {
    let ws = workspace("ffmpeg");
    let listed = "[{path: subs/fr.srt, lang: fr, name: Français, default: true}]";
    ws.write_manifest(&manifest("ffmpeg", listed).replace("segment_type: fmp4", "segment_type: ts"));
    ws.run_ok();
    assert!(ws.read("out/a/hls/144p/index.m3u8").contains(".ts"), "TS segments");
    assert_packaged(&ws);
}

#[test]
fn sidecar_and_listed_tracks_are_packaged_with_shaka() {
    let ws = workspace("shaka");
    ws.run_ok();
    assert_packaged(&ws);
}

#[test]
fn a_malformed_file_names_the_file_and_line() {
    let ws = workspace("ffmpeg");
    ws.write("media/a.en.srt", "1\n00:00:00,500 --> 00:00:01,250\nok\n\n2\n00:00:02 --> 00:00:03,000\nbad\n");
    let out = ws.vodbuild(&["run", "pipeline.yaml"]);
    assert_ne!(out.code, 0, "{}", out.describe());
    assert!(out.stderr.contains("media/a.en.srt:6:"), "{}", out.describe());
    assert!(!ws.path("out/a/hls/master.m3u8").exists(), "nothing packaged from a failed conversion");
}

#[test]
fn group_rules_and_language_tags_are_checked_at_plan_time() {
    let ws = workspace("ffmpeg");
    let two_defaults =
        "[{path: subs/fr.srt, lang: fr, default: true}, {path: media/a.en.srt, lang: en-GB, default: true}]";
    ws.write_manifest(&manifest("ffmpeg", two_defaults));
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("pipeline.yaml:") && out.stderr.contains("both `default`"), "{}", out.describe());
    assert!(
        out.stderr.contains("subtitles[1].default") || out.stderr.contains("subtitles.1.default"),
        "{}",
        out.describe()
    );

    ws.write_manifest(&manifest("ffmpeg", "[{path: subs/fr.srt, lang: fr_FR}]"));
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("not a BCP-47 language tag"), "{}", out.describe());

    // The discovered `en` and a listed `en` for another file: one language, two tracks.
    ws.write_manifest(&manifest("ffmpeg", "[{path: subs/fr.srt, lang: en, name: Other}]"));
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("two subtitle tracks for `en`"), "{}", out.describe());

    let unknown = manifest("ffmpeg", "[]").replace("sidecars: true", "sidecar: true");
    ws.write_manifest(&unknown);
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("sidecar"), "{}", out.describe());
}

#[test]
fn changing_a_subtitle_file_reruns_only_its_conversion_and_the_packages() {
    let ws = workspace("ffmpeg");
    ws.run_ok();
    ws.write("media/a.en.srt", EN_SRT.replace("Hello", "Hello again"));
    let plan = ws.plan_ok();
    assert!(reason(&plan, "subtitle:a:en").starts_with("params changed"), "{plan:#}");
    let run = ws.run_ok();
    assert_eq!(executed(&run), set(&["subtitle:a:en", "hls:a", "dash:a"]), "{run:#}");
    assert!(ws.read("out/a/dash/subs/en.vtt").contains("Hello again"));
    assert_eq!(executed(&ws.run_ok()), set(&[]), "a second run is a no-op");
}

#[test]
fn adding_a_language_adds_only_its_steps() {
    let ws = workspace("ffmpeg");
    ws.run_ok();
    ws.write("media/a.es.vtt", "WEBVTT\n\n00:00:00.100 --> 00:00:00.900\nHola\n");
    let run = ws.run_ok();
    assert_eq!(executed(&run), set(&["subtitle:a:es", "hls:a", "dash:a"]), "{run:#}");
    assert_eq!(media_lines(&ws.read("out/a/hls/master.m3u8")).len(), 4);
    // Renaming a track changes only the packages (the conversion is keyed on the file).
    ws.write_manifest(&manifest("ffmpeg", "[{path: subs/fr.srt, lang: fr, name: French, default: true}]"));
    let run = ws.run_ok();
    assert_eq!(executed(&run), set(&["hls:a", "dash:a"]), "{run:#}");
    assert!(ws.read("out/a/hls/master.m3u8").contains("NAME=\"French\""));
}

/// examples/subtitles as shipped (its subtitle files, a 6 s clip made here) builds, verifies,
/// and has its three tracks with the listed one as the default.
#[test]
fn the_example_builds_and_verifies() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/subtitles");
    let ws = Workspace::new();
    for f in ["pipeline.yaml", "film.en.srt", "film.fr.forced.vtt", "subs/film-de.vtt"] {
        ws.write(f, std::fs::read(example.join(f)).unwrap());
    }
    ws.make_source("film.mp4", 6.0, "320x180");
    ws.run_ok();
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    let master = ws.read("out/film/hls/master.m3u8");
    let media = media_lines(&master);
    assert_eq!(media.len(), 3, "{master}");
    assert!(media.iter().any(|l| l.contains("NAME=\"Deutsch\"") && l.contains("DEFAULT=YES")), "{master}");
    assert!(media.iter().any(|l| l.contains("LANGUAGE=\"fr\"") && l.contains("FORCED=YES")), "{master}");
}

/// `embedded: true`: a source's mov_text stream (language `spa`; MP4 keeps no title) becomes
/// a track `es` beside its sidecar; a source without text streams skips the step.
#[test]
fn embedded_text_streams_are_packaged_and_skipped_without_any() {
    let ws = Workspace::new();
    ws.make_source("media/plain.mp4", 3.0, "320x180");
    ws.make_source("media/b.mp4", 3.0, "320x180");
    ws.write("media/es.srt", "1\n00:00:00,400 --> 00:00:01,100\nHola\n");
    ws.write("media/plain.en.srt", EN_SRT);
    let out = Command::new(which("ffmpeg"))
        .args(["-v", "error", "-y", "-i"])
        .arg(ws.path("media/b.mp4"))
        .arg("-i")
        .arg(ws.path("media/es.srt"))
        .args(["-map", "0", "-map", "1", "-c", "copy", "-c:s", "mov_text"])
        .args(["-metadata:s:s:0", "language=spa"])
        .arg(ws.path("media/a.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(ws.path("media/b.mp4")).unwrap();
    std::fs::remove_file(ws.path("media/es.srt")).unwrap();
    ws.write("media/a.en.srt", EN_SRT);
    let yaml = Manifest::small()
        .without_output("thumbnails")
        .without_output("metadata")
        .output("subtitles", &[("sidecars", "true"), ("embedded", "true")])
        .yaml();
    ws.write_manifest(&yaml);
    let run = ws.run_ok();
    assert_eq!(step(&run, "subtitle:media/plain:embedded")["status"], "skipped", "{run:#}");
    assert!(executed(&run).contains("subtitle:media/a:embedded"), "{run:#}");
    let master = ws.read("out/media/a/hls/master.m3u8");
    let media = media_lines(&master);
    assert_eq!(media.len(), 2, "{master}");
    let es = media.iter().find(|l| l.contains("LANGUAGE=\"es\"")).unwrap_or_else(|| panic!("{master}"));
    assert!(es.contains("NAME=\"es\"") && es.contains("DEFAULT=NO"), "{es}");
    let (_, files) = media_files(&ws.path("out/media/a/hls/subs/es-s0/index.m3u8"));
    assert!(std::fs::read_to_string(&files[0]).unwrap().contains("00:00:00.400 --> 00:00:01.100\nHola"));
    assert_eq!(media_lines(&ws.read("out/media/plain/hls/master.m3u8")).len(), 1);
    assert!(ws.read("out/media/a/dash/manifest.mpd").contains("lang=\"es\""));
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    assert_eq!(executed(&ws.run_ok()), set(&[]), "a second run is a no-op");
}

/// `vodbuild verify` names a broken subtitle group, a bad language tag, a WebVTT segment that
/// does not parse and a cue outside its segment's window.
#[test]
fn verify_names_broken_subtitles() {
    let ws = workspace("ffmpeg");
    ws.run_ok();
    let master_path = ws.path("out/a/hls/master.m3u8");
    let master = ws.read("out/a/hls/master.m3u8");
    let broken = master.replace("LANGUAGE=\"en\",DEFAULT=NO", "LANGUAGE=\"en_US\",DEFAULT=YES");
    assert_ne!(broken, master);
    std::fs::write(&master_path, broken).unwrap();
    ws.write("out/a/hls/subs/fr/00000.vtt", "WEBVTT\n\n00:00:00.200 -> 00:00:00.800\nBonjour\n");
    ws.write(
        "out/a/hls/subs/de-forced/00000.vtt",
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n00:00:05.000 --> 00:00:06.000\nlate\n",
    );
    ws.write("out/a/dash/subs/fr.vtt", "not webvtt\n");
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(vodbuild::exit_codes::VERIFY_FAILED);
    let text = out.stdout.clone() + &out.stderr;
    for needle in [
        "DEFAULT: more than one DEFAULT=YES",
        "`en_US` is not a BCP-47 tag",
        "subs/fr/00000.vtt: WebVTT: line 3",
        "subs/de-forced/00000.vtt: cue: 00:00:05.000 --> 00:00:06.000 is outside",
        "dash/subs/fr.vtt: WebVTT: line 1",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{}", out.describe());
    }
}

/// A track's id is its language: `embedded` would be the step of the source's text streams
/// (`subtitle:a:embedded`) and `LANG-sK` the package folder of its Kth text stream.
#[test]
fn languages_sharing_an_id_with_the_embedded_streams_are_refused() {
    let ws = workspace("ffmpeg");
    let listed = "[{path: subs/fr.srt, lang: embedded, name: Embedded}]";
    let with_embedded = manifest("ffmpeg", listed).replace("sidecars: true", "sidecars: true, embedded: true");
    ws.write_manifest(&with_embedded);
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("language `embedded` is reserved"), "{}", out.describe());
    assert!(out.stderr.contains("subtitles[0].lang") || out.stderr.contains("subtitles.0.lang"), "{}", out.describe());
    // A discovered sidecar named like an embedded stream's track.
    ws.write_manifest(&manifest("ffmpeg", "[]").replace("sidecars: true", "sidecars: true, embedded: true"));
    ws.write("media/a.en-x-a-s0.srt", FR_SRT);
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(MANIFEST_ERROR);
    assert!(out.stderr.contains("media/a.en-x-a-s0.srt") && out.stderr.contains("ends in `-s`"), "{}", out.describe());
}
