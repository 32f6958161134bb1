//! Sidecar audio files (`audio_files:` on a source): each file × audio profile is an encode
//! step keyed on the file's digest, and joins the source's own audio in the HLS AUDIO group
//! and as a DASH AdaptationSet of its language (ffmpeg and Shaka Packager); audio longer than
//! the video is cut at the video's duration; changing or adding a file re-runs only its
//! steps and the packages; bad files are errors naming them.

use crate::common;

use common::{Manifest, Workspace, executed, media, set, set_mtime};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// A `seconds` long sine of `hz` Hz in `rel` (codec from the extension), mtime an hour back.
fn make_audio(ws: &Workspace, rel: &str, hz: u32, seconds: f64) {
    let p = ws.path(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency={hz}:sample_rate=48000"))
        .arg("-t")
        .arg(seconds.to_string())
        .arg(&p)
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    set_mtime(&p, SystemTime::now() - Duration::from_secs(3600));
}

/// The pitch of the audio of `path` (a playlist or a file), from its zero crossings.
fn pitch_hz(path: &std::path::Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(out.status.success(), "decoding {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let s: Vec<i16> = out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let crossings = s.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 / 2.0 / (s.len() as f64 / 48_000.0)
}

/// Seconds of media a playlist lists.
fn playlist_seconds(text: &str) -> f64 {
    text.lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .filter_map(|l| l.trim_end_matches(',').split(',').next()?.parse::<f64>().ok())
        .sum()
}

const FILES: &str = r#"[{path: media/movie.de.m4a, lang: de, name: "Deutsch (Synchro)"}, {path: media/movie.fr.wav, lang: fr, default: true}]"#;

/// One 2 s 160x90 source (a 440 Hz track without a language tag) and its sidecars: German
/// at 660 Hz, French at 880 Hz and 3 s long.
fn setup(packager: &str) -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/movie.mp4", 2.0, "160x90");
    make_audio(&ws, "media/movie.de.m4a", 660, 2.0);
    make_audio(&ws, "media/movie.fr.wav", 880, 3.0);
    ws.write_manifest(&manifest(FILES, packager).yaml());
    ws
}

fn manifest(files: &str, packager: &str) -> Manifest {
    Manifest::small()
        .without_output("thumbnails")
        .without_sources()
        .source_with(&[("path", "media/movie.mp4"), ("audio_files", files)])
        .output_field("hls", "packager", packager)
        .output_field("dash", "packager", packager)
}

/// The master's AUDIO renditions as [LANGUAGE, NAME, DEFAULT, AUTOSELECT, URI].
fn audio_renditions(master: &str) -> Vec<[String; 5]> {
    let parsed = media::parse_master(master);
    let get = |a: &[(String, String)], k: &str| media::attr(a, k).unwrap_or("").to_string();
    parsed
        .media
        .iter()
        .filter(|m| media::attr(m, "TYPE") == Some("AUDIO"))
        .map(|m| ["LANGUAGE", "NAME", "DEFAULT", "AUTOSELECT", "URI"].map(|k| get(m, k)))
        .collect()
}

/// The `lang` of each audio AdaptationSet of an MPD, in order.
fn dash_audio_langs(mpd: &str) -> Vec<String> {
    mpd.split("<AdaptationSet")
        .skip(1)
        .map(|s| &s[..s.find('>').unwrap()])
        .filter(|tag| tag.contains("contentType=\"audio\"") || tag.contains("mimeType=\"audio/"))
        .map(|tag| tag.split("lang=\"").nth(1).map_or("", |r| &r[..r.find('"').unwrap()]).to_string())
        .collect()
}

fn packages_carry_the_sidecars(packager: &str) {
    let ws = setup(packager);
    let ran = executed(&ws.run_ok());
    for id in ["encode:media/movie:aac64", "encode:media/movie:aac64-de", "encode:media/movie:aac64-fr"] {
        assert!(ran.contains(id), "{id} in {ran:?}");
    }
    let master = ws.read("out/media/movie/hls/master.m3u8");
    let r = audio_renditions(&master);
    let short: Vec<[&str; 5]> = r.iter().map(|x| [&*x[0], &*x[1], &*x[2], &*x[3], &*x[4]]).collect();
    assert_eq!(
        short,
        [
            ["und", "Undetermined", "NO", "YES", "aac64/index.m3u8"],
            ["de", "Deutsch (Synchro)", "NO", "YES", "aac64-de/index.m3u8"],
            ["fr", "Français", "YES", "YES", "aac64-fr/index.m3u8"],
        ],
        "one group, a rendition per language, the sidecar's default wins\n{master}"
    );
    assert!(master.contains("CHANNELS=\"2\""), "{master}");
    let hls = ws.path("out/media/movie/hls");
    for (name, hz) in [("aac64", 440.0), ("aac64-de", 660.0), ("aac64-fr", 880.0)] {
        let got = pitch_hz(&hls.join(name).join("index.m3u8"));
        assert!((got - hz).abs() < 15.0, "{name} carries its own file: {got:.0} Hz, expected {hz}");
    }
    let fr = ws.read("out/media/movie/hls/aac64-fr/index.m3u8");
    let secs = playlist_seconds(&fr);
    assert!((secs - 2.0).abs() < 0.3, "the 3 s French file is cut at the video's 2 s: {secs}\n{fr}");
    let mpd = ws.read("out/media/movie/dash/manifest.mpd");
    // Shaka Packager refuses `und`: the untagged track has no `lang` there.
    let und = if packager == "shaka" { "" } else { "und" };
    assert_eq!(dash_audio_langs(&mpd), [und, "de", "fr"], "one AdaptationSet per language\n{mpd}");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    assert_eq!(executed(&ws.run_ok()), set(&[]), "a second run executes nothing");
}

#[test]
fn sidecar_languages_join_the_packages_with_ffmpeg() {
    packages_carry_the_sidecars("ffmpeg");
}

#[test]
fn sidecar_languages_join_the_packages_with_shaka() {
    packages_carry_the_sidecars("shaka");
}

#[test]
fn a_changed_sidecar_reencodes_only_its_language_and_a_new_one_adds_only_its_steps() {
    let ws = setup("ffmpeg");
    ws.run_ok();
    let again = ws.run_ok();
    assert_eq!(again["stats"]["source_bytes_hashed"].as_u64(), Some(0), "the stat cache answers for every file");
    make_audio(&ws, "media/movie.de.m4a", 550, 2.0);
    let run = ws.run_ok();
    let de_bytes = std::fs::metadata(ws.path("media/movie.de.m4a")).unwrap().len();
    assert_eq!(run["stats"]["source_bytes_hashed"].as_u64(), Some(de_bytes), "only the changed file is hashed");
    let ran = executed(&run);
    let packages = ["hls:media/movie", "dash:media/movie", "metadata:media/movie"];
    let mut expected = set(&packages);
    expected.insert("encode:media/movie:aac64-de".into());
    assert_eq!(ran, expected, "only German's encode and the packages");
    let got = pitch_hz(&ws.path("out/media/movie/hls/aac64-de/index.m3u8"));
    assert!((got - 550.0).abs() < 15.0, "the new German audio is packaged: {got:.0} Hz");

    make_audio(&ws, "media/movie.es.flac", 990, 2.0);
    let files = FILES.replace("]", ", {path: media/movie.es.flac, lang: es}]");
    ws.write_manifest(&manifest(&files, "ffmpeg").yaml());
    let ran = executed(&ws.run_ok());
    let mut expected = set(&packages);
    expected.insert("encode:media/movie:aac64-es".into());
    assert_eq!(ran, expected, "only Spanish's encode and the packages");
    let langs: Vec<String> =
        audio_renditions(&ws.read("out/media/movie/hls/master.m3u8")).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(langs, ["und", "de", "fr", "es"]);
    // A file's name and default are in the master and the MPD only: changing one re-packages.
    let renamed = files.replace("Deutsch (Synchro)", "Synchro");
    ws.write_manifest(&manifest(&renamed, "ffmpeg").yaml());
    assert_eq!(executed(&ws.run_ok()), set(&packages), "a new NAME re-packages and encodes nothing");
    let master = ws.read("out/media/movie/hls/master.m3u8");
    assert!(master.contains("NAME=\"Synchro\""), "the new name is not in the master:\n{master}");
    assert_eq!(executed(&ws.run_ok()), set(&[]), "nothing changed: nothing runs");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn verify_checks_the_sidecar_renditions() {
    let ws = setup("ffmpeg");
    ws.run_ok();
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    let path = ws.path("out/media/movie/hls/master.m3u8");
    let master = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, master.replace("LANGUAGE=\"de\"", "LANGUAGE=\"de_DE!\"")).unwrap();
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(vodbuild::exit_codes::VERIFY_FAILED);
    assert!(out.stdout.contains("de_DE!") || out.stderr.contains("de_DE!"), "{}", out.describe());
}

#[test]
fn a_silent_video_takes_its_audio_from_sidecars() {
    let ws = Workspace::new();
    let silent = ws.path("media/movie.mp4");
    std::fs::create_dir_all(silent.parent().unwrap()).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30"])
        .args(["-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .arg(&silent)
        .output()
        .unwrap();
    assert!(out.status.success());
    make_audio(&ws, "media/movie.de.m4a", 660, 2.0);
    ws.write_manifest(&manifest("[{path: media/movie.de.m4a, lang: de}]", "ffmpeg").yaml());
    let ran = executed(&ws.run_ok());
    assert!(ran.contains("encode:media/movie:aac64-de") && !ran.contains("encode:media/movie:aac64"), "{ran:?}");
    let r = audio_renditions(&ws.read("out/media/movie/hls/master.m3u8"));
    assert_eq!(r.iter().map(|x| [&*x[0], &*x[2]]).collect::<Vec<_>>(), [["de", "YES"]]);
    assert_eq!(dash_audio_langs(&ws.read("out/media/movie/dash/manifest.mpd")), ["de"]);
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn bad_sidecars_are_errors_naming_the_file_or_the_field() {
    let ws = Workspace::new();
    ws.make_source("media/movie.mp4", 1.0, "160x90");
    make_audio(&ws, "media/movie.de.m4a", 660, 1.0);
    ws.write("media/notes.txt", "not audio at all");
    let video_only = ws.path("media/video.mp4");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30"])
        .args(["-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .arg(&video_only)
        .output()
        .unwrap();
    assert!(out.status.success());
    let two = ws.path("media/two.mka");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=300", "-f", "lavfi"])
        .args(["-i", "sine=frequency=500", "-t", "1", "-map", "0:a", "-map", "1:a"])
        .arg(&two)
        .output()
        .unwrap();
    assert!(out.status.success());
    for (files, says) in [
        ("[{path: media/movie.de.m4a, lang: \"en glish\"}]", "sources[0].audio_files[0].lang"),
        ("[{path: media/missing.m4a, lang: de}]", "audio file `media/missing.m4a` does not exist"),
        ("[{path: media/movie.de.m4a, lang: de}, {path: media/movie.de.m4a, lang: deu}]", "are both `de`"),
        ("[{path: media/notes.txt, lang: de}]", "audio file `media/notes.txt` (de)"),
        ("[{path: media/video.mp4, lang: de}]", "audio file `media/video.mp4` (de) has no audio stream"),
        ("[{path: media/two.mka, lang: de}]", "audio file `media/two.mka` (de) has 2 audio streams"),
        ("[{path: media/movie.de.m4a, lang: de, colour: red}]", "colour"),
    ] {
        ws.write_manifest(&manifest(files, "ffmpeg").yaml());
        let out = ws.vodbuild(&["plan", "pipeline.yaml"]);
        assert_ne!(out.code, 0, "{files}");
        assert!(out.stderr.contains(says), "{files}: expected {says:?}\n{}", out.describe());
    }
    ws.write_manifest(&manifest("[{path: media/movie.de.m4a, lang: \"en glish\"}]", "ffmpeg").yaml());
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]);
    assert!(out.stderr.contains("pipeline.yaml:"), "the error names the manifest's line\n{}", out.describe());
}

#[test]
fn a_sidecar_encode_job_reads_its_file_from_a_moved_workspace_and_refuses_a_changed_one() {
    let ws = setup("ffmpeg");
    let jobs = tempfile::tempdir().unwrap();
    ws.vodbuild(&["run", "pipeline.yaml", "--json", "--keep-jobs", jobs.path().to_str().unwrap()]).success();
    let spec = std::fs::read_dir(jobs.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.to_string_lossy().ends_with(".result.json"))
        .find(|p| std::fs::read_to_string(p).unwrap().contains("\"encode:media/movie:aac64-de\""))
        .expect("the German encode's spec");
    let text = std::fs::read_to_string(&spec).unwrap();
    assert!(text.contains("\"{root}/media/movie.de.m4a\""), "the spec names the file in the workspace: {text}");
    let other = Workspace::new();
    let root = other.path("moved");
    std::fs::rename(ws.root(), &root).unwrap();
    let exec = |what: &str| {
        let result = spec.with_extension(format!("{what}-result.json"));
        let args = ["exec-job", spec.to_str().unwrap(), "--root", root.to_str().unwrap(), "--result"];
        let out = other.vodbuild(&[&args[..], &[result.to_str().unwrap()]].concat());
        (out, std::fs::read_to_string(&result).unwrap_or_default())
    };
    let (out, result) = exec("moved");
    let out = out.success();
    assert!(result.contains("\"succeeded\""), "{result}\n{}", out.describe());
    std::fs::write(root.join("media/movie.de.m4a"), b"other bytes").unwrap();
    let (out, _) = exec("changed");
    let out = out.assert_code(vodbuild::exit_codes::BUILD_FAILED);
    assert!(out.stderr.contains("not the file the job was planned with"), "{}", out.describe());
}

#[test]
fn files_named_after_the_source_are_found_with_outputs_audio_files() {
    let ws = Workspace::new();
    ws.make_source("media/movie.mp4", 2.0, "160x90");
    make_audio(&ws, "media/movie.de.m4a", 660, 2.0);
    make_audio(&ws, "media/movie.fr.wav", 880, 2.0);
    make_audio(&ws, "media/movie.backup.m4a", 990, 2.0);
    make_audio(&ws, "media/other.es.mp3", 990, 2.0);
    let m = Manifest::small()
        .without_output("thumbnails")
        .without_output("dash")
        .without_sources()
        .source_with(&[("path", "media/movie.mp4")]);
    ws.write_manifest(&m.yaml());
    let ran = executed(&ws.run_ok());
    assert!(!ran.iter().any(|id| id.contains("aac64-")), "no discovery without outputs.audio_files: {ran:?}");
    ws.write_manifest(&m.output("audio_files", &[("sidecars", "true")]).yaml());
    let ran = executed(&ws.run_ok());
    let mut expected = set(&["encode:media/movie:aac64-de", "encode:media/movie:aac64-fr", "hls:media/movie"]);
    expected.insert("metadata:media/movie".into());
    assert_eq!(ran, expected, "only the found languages' encodes and the packages");
    let r = audio_renditions(&ws.read("out/media/movie/hls/master.m3u8"));
    let short: Vec<[&str; 3]> = r.iter().map(|x| [&*x[0], &*x[1], &*x[2]]).collect();
    assert_eq!(short, [["und", "Undetermined", "YES"], ["de", "Deutsch", "NO"], ["fr", "Français", "NO"]]);
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn a_sidecar_much_shorter_than_the_video_fails_its_encode_by_name() {
    let ws = Workspace::new();
    ws.make_source("media/movie.mp4", 6.0, "160x90");
    make_audio(&ws, "media/movie.de.m4a", 660, 1.0);
    ws.write_manifest(&manifest("[{path: media/movie.de.m4a, lang: de}]", "ffmpeg").yaml());
    let out = ws.vodbuild(&["run", "pipeline.yaml"]).assert_code(vodbuild::exit_codes::BUILD_FAILED);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("encode:media/movie:aac64-de failed") && said.contains("the audio stream lasts"), "{said}");
    assert!(!ws.path("out/media/movie/hls/master.m3u8").exists(), "no package without the German audio");
}

/// The integrated loudness (LUFS) of the audio of `path`, by ffmpeg's ebur128 filter.
fn integrated_lufs(path: &std::path::Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(path)
        .args(["-map", "0:a:0", "-af", "ebur128", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let log = String::from_utf8_lossy(&out.stderr);
    let summary = log.rsplit("Summary:").next().unwrap_or_default();
    let i = summary.lines().find_map(|l| l.trim().strip_prefix("I:")).unwrap_or_else(|| panic!("no I: in {log}"));
    i.trim().trim_end_matches("LUFS").trim().parse().unwrap()
}

#[test]
fn a_normalised_profile_measures_and_normalises_each_sidecar_file() {
    let ws = Workspace::new();
    ws.make_source("media/movie.mp4", 3.0, "160x90");
    make_audio(&ws, "media/movie.de.m4a", 660, 3.0);
    let loud = [("codec", "aac"), ("bitrate", "64k"), ("loudness", "{target: -16}")];
    let m = manifest("[{path: media/movie.de.m4a, lang: de}]", "ffmpeg").audio("aac64", &loud).without_output("dash");
    ws.write_manifest(&m.yaml());
    let before = integrated_lufs(&ws.path("media/movie.de.m4a"));
    assert!((before + 16.0).abs() > 2.0, "the test file must not already be at the target: {before}");
    let ran = executed(&ws.run_ok());
    for id in ["loudness:media/movie:file-de-2ch", "encode:media/movie:aac64-de", "loudness:media/movie:a0-2ch"] {
        assert!(ran.contains(id), "{id} in {ran:?}");
    }
    let got = integrated_lufs(&ws.path("out/media/movie/hls/aac64-de/index.m3u8"));
    assert!((got + 16.0).abs() <= 1.5, "the German rendition is at -16 LUFS: {got} (file: {before})");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    make_audio(&ws, "media/movie.de.m4a", 550, 3.0);
    let mut expected = set(&["loudness:media/movie:file-de-2ch", "encode:media/movie:aac64-de", "hls:media/movie"]);
    expected.insert("metadata:media/movie".into());
    assert_eq!(executed(&ws.run_ok()), expected, "a changed file is measured again, its encode redone");
}

/// `aac64` × `de` is the rendition `aac64-de`: a video profile of that name (or another file's
/// rendition) would give two steps one id, one file clobbering the other.
#[test]
fn a_sidecar_rendition_named_like_a_video_profile_is_refused() {
    let ws = Workspace::new();
    ws.make_source("media/movie.mp4", 1.0, "160x90");
    make_audio(&ws, "media/movie.de.m4a", 660, 1.0);
    let fields = [("codec", "h264"), ("height", "90"), ("bitrate", "100k"), ("preset", "ultrafast")];
    ws.write_manifest(&manifest("[{path: media/movie.de.m4a, lang: de}]", "ffmpeg").video("aac64-de", &fields).yaml());
    let out = ws.vodbuild(&["plan", "pipeline.yaml"]).assert_code(vodbuild::exit_codes::MANIFEST_ERROR);
    let told = out.stderr.contains("`aac64-de`") && out.stderr.contains("audio_files");
    assert!(told, "the clash is not named:\n{}", out.describe());
}
