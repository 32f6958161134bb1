//! Audio languages and layouts: every audio stream of a source (or the ones `audio_tracks`
//! picks) becomes a rendition per audio profile, one encode step each; the HLS master has one
//! AUDIO group per codec with LANGUAGE/NAME/DEFAULT/AUTOSELECT/CHANNELS, DASH one audio
//! AdaptationSet per language; a 5.1 stream gives stereo and 5.1 side by side; the opt-in
//! audio-only variant names audio codecs only; `verify` checks the rules; adding a language
//! adds only its steps.

use crate::common;

use common::{Manifest, Workspace, executed, media, with_status};
use std::process::Command;
use vodbuild::exit_codes::VERIFY_FAILED;

/// A 2 s 320x180 source with one audio stream per `(language tag, channels)`.
fn make_multi(ws: &Workspace, rel: &str, streams: &[(Option<&str>, u32)]) {
    let p = ws.path(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30"]);
    for (i, _) in streams.iter().enumerate() {
        cmd.args(["-f", "lavfi", "-i", &format!("sine=frequency={}:sample_rate=48000", 330 + 110 * i)]);
    }
    cmd.args(["-t", "2", "-map", "0:v"]);
    for (i, (lang, channels)) in streams.iter().enumerate() {
        cmd.args(["-map", &format!("{}:a", i + 1), &format!("-ac:a:{i}"), &channels.to_string()]);
        if let Some(l) = lang {
            cmd.args([&format!("-metadata:s:a:{i}"), &format!("language={l}")]);
        }
    }
    cmd.args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k"]);
    let out = cmd.arg(&p).output().expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
}

/// SMALL without thumbnails, with `audio` (a profile or a list) and a 5.1 AAC profile.
fn manifest(audio: &str) -> Manifest {
    Manifest::small()
        .without_output("thumbnails")
        .audio("surround", &[("codec", "aac"), ("bitrate", "192k"), ("channels", "6")])
        .output_field("hls", "audio", audio)
        .output_field("dash", "audio", audio)
}

/// The master's AUDIO renditions as (LANGUAGE, NAME, DEFAULT, AUTOSELECT, CHANNELS, URI).
fn audio_renditions(master: &str) -> Vec<[String; 6]> {
    let parsed = media::parse_master(master);
    let get = |a: &[(String, String)], k: &str| media::attr(a, k).unwrap_or("").to_string();
    parsed
        .media
        .iter()
        .filter(|m| media::attr(m, "TYPE") == Some("AUDIO"))
        .map(|m| ["LANGUAGE", "NAME", "DEFAULT", "AUTOSELECT", "CHANNELS", "URI"].map(|k| get(m, k)))
        .collect()
}

/// The `lang` of each audio AdaptationSet of an MPD, in order.
fn dash_audio_langs(mpd: &str) -> Vec<String> {
    mpd.split("<AdaptationSet")
        .skip(1)
        .map(|s| &s[..s.find('>').unwrap()])
        .filter(|tag| tag.contains("contentType=\"audio\""))
        .map(|tag| tag.split("lang=\"").nth(1).map_or("", |r| &r[..r.find('"').unwrap()]).to_string())
        .collect()
}

#[test]
fn every_language_of_the_source_is_a_rendition_in_one_group() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(Some("eng"), 2), (Some("fra"), 2), (None, 2)]);
    ws.write_manifest(&manifest("aac64").output_field("hls", "audio_only_variant", "true").yaml());
    let run = ws.run_ok();
    let ran = executed(&run);
    for id in ["encode:media/a:aac64", "encode:media/a:aac64-a1", "encode:media/a:aac64-a2"] {
        assert!(ran.contains(id), "{id} (one encode per language) in {ran:?}");
    }
    let master = ws.read("out/media/a/hls/master.m3u8");
    let r = audio_renditions(&master);
    let short: Vec<[&str; 5]> = r.iter().map(|x| [&*x[0], &*x[1], &*x[2], &*x[3], &*x[4]]).collect();
    assert_eq!(
        short,
        [
            ["en", "English", "YES", "YES", "2"],
            ["fr", "Français", "NO", "YES", "2"],
            ["und", "Undetermined", "NO", "YES", "2"],
        ],
        "{master}"
    );
    let parsed = media::parse_master(&master);
    let group = media::attr(&parsed.media[0], "GROUP-ID").unwrap();
    assert!(parsed.media.iter().all(|m| media::attr(m, "GROUP-ID") == Some(group)), "one group: {master}");
    assert_eq!(parsed.variants.len(), 3, "2 video variants + the audio-only one: {master}");
    for v in &parsed.variants {
        assert_eq!(media::attr(&v.attrs, "AUDIO"), Some(group), "{master}");
    }
    let audio_only = parsed.variants.iter().find(|v| v.uri == "aac64/index.m3u8").expect("audio-only variant");
    assert_eq!(media::attr(&audio_only.attrs, "CODECS"), Some("mp4a.40.2"), "{master}");
    assert_eq!(media::attr(&audio_only.attrs, "RESOLUTION"), None, "{master}");
    let lowest = parsed.variants.iter().map(|v| media::attr(&v.attrs, "BANDWIDTH").unwrap().parse::<u64>().unwrap());
    assert_eq!(lowest.min(), media::attr(&audio_only.attrs, "BANDWIDTH").map(|b| b.parse().unwrap()), "lowest");

    let mpd = ws.read("out/media/a/dash/manifest.mpd");
    assert_eq!(dash_audio_langs(&mpd), ["en", "fr", "und"], "one AdaptationSet per language: {mpd}");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn a_surround_stream_gives_stereo_and_5_1_side_by_side() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(Some("eng"), 6), (Some("deu"), 2)]);
    ws.write_manifest(&manifest("[aac64, surround]").yaml());
    let ran = executed(&ws.run_ok());
    assert!(ran.contains("encode:media/a:surround"), "{ran:?}");
    assert!(!ran.iter().any(|id| id.ends_with("surround-a1")), "no 5.1 from the stereo track: {ran:?}");
    let master = ws.read("out/media/a/hls/master.m3u8");
    let r = audio_renditions(&master);
    let short: Vec<[&str; 5]> = r.iter().map(|x| [&*x[0], &*x[1], &*x[2], &*x[3], &*x[4]]).collect();
    assert_eq!(
        short,
        [
            ["en", "English", "YES", "YES", "2"],
            ["en", "English 5.1", "NO", "NO", "6"],
            ["de", "Deutsch", "NO", "YES", "2"],
        ],
        "{master}"
    );
    let surround = ws.path("out/media/a/hls/surround/index.m3u8");
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels", "-of", "csv=p=0"])
        .arg(&surround)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        said.lines().next(),
        Some("6"),
        "the 5.1 rendition has 6 channels: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn audio_tracks_pick_by_language_and_index_with_names() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(Some("eng"), 2), (None, 2), (Some("spa"), 2)]);
    let picks = r#"[{language: spa, default: true}, {index: 1, language: fra, name: "Français (VF)"}]"#;
    ws.write_manifest(&manifest("aac64").output_field("hls", "audio_tracks", picks).yaml());
    let ran = executed(&ws.run_ok());
    assert!(ran.contains("encode:media/a:aac64-a2") && ran.contains("encode:media/a:aac64-a1"), "{ran:?}");
    // DASH lists no tracks: it takes every stream, so the first one is encoded too.
    assert!(ran.contains("encode:media/a:aac64"), "{ran:?}");
    let master = ws.read("out/media/a/hls/master.m3u8");
    let r = audio_renditions(&master);
    let short: Vec<[&str; 4]> = r.iter().map(|x| [&*x[0], &*x[1], &*x[2], &*x[5]]).collect();
    assert_eq!(
        short,
        [["es", "Español", "YES", "aac64-a2/index.m3u8"], ["fr", "Français (VF)", "NO", "aac64-a1/index.m3u8"]],
        "{master}"
    );
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn shaka_packages_languages_too() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(Some("eng"), 2), (Some("fra"), 2)]);
    let m = manifest("aac64").output_field("hls", "packager", "shaka").output_field("dash", "packager", "shaka");
    ws.write_manifest(&m.output_field("hls", "audio_only_variant", "true").yaml());
    ws.run_ok();
    let r = audio_renditions(&ws.read("out/media/a/hls/master.m3u8"));
    let langs: Vec<&str> = r.iter().map(|x| x[0].as_str()).collect();
    assert_eq!(langs, ["en", "fr"]);
    let mpd = ws.read("out/media/a/dash/manifest.mpd");
    assert_eq!(dash_audio_langs(&mpd), ["en", "fr"], "{mpd}");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn adding_a_language_adds_only_its_steps() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(Some("eng"), 2), (Some("fra"), 2)]);
    let one = manifest("aac64").output_field("hls", "audio_tracks", "[{language: eng}]");
    ws.write_manifest(&one.clone().output_field("dash", "audio_tracks", "[{language: eng}]").yaml());
    let ran = executed(&ws.run_ok());
    assert!(ran.contains("encode:media/a:aac64") && !ran.iter().any(|id| id.contains("-a1")), "{ran:?}");

    let two = "[{language: eng}, {language: fra}]";
    ws.write_manifest(&one.output_field("hls", "audio_tracks", two).output_field("dash", "audio_tracks", two).yaml());
    let run = ws.run_ok();
    let ran = executed(&run);
    let expected: std::collections::BTreeSet<String> =
        ["encode:media/a:aac64-a1", "hls:media/a", "dash:media/a", "metadata:media/a"].map(String::from).into();
    assert_eq!(ran, expected, "only the new language's encode and the packages that list it");
    let fresh = with_status(&run, "fresh");
    for id in ["encode:media/a:aac64", "encode:media/a:144p", "encode:media/a:90p"] {
        assert!(fresh.contains(id), "{id} stays fresh: {fresh:?}");
    }
    assert_eq!(audio_renditions(&ws.read("out/media/a/hls/master.m3u8")).len(), 2);
}

#[test]
fn a_single_stream_source_and_a_silent_one_work_with_an_audio_only_variant() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    let silent = ws.path("media/silent.mp4");
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30"])
        .args(["-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .arg(&silent)
        .output()
        .unwrap();
    assert!(out.status.success());
    ws.write_manifest(&manifest("[aac64]").output_field("hls", "audio_only_variant", "true").yaml());
    let run = ws.run_ok();
    assert!(with_status(&run, "skipped").contains("encode:media/silent:aac64"), "{run:#}");
    let dash = ws.read("out/media/a/dash/manifest.mpd");
    assert_eq!(dash_audio_langs(&dash), ["und"], "one stream, one profile: as before\n{dash}");
    let master = ws.read("out/media/a/hls/master.m3u8");
    assert!(master.contains("LANGUAGE=\"und\"") && master.contains("aac64/index.m3u8\n"), "{master}");
    let silent = ws.read("out/media/silent/hls/master.m3u8");
    assert!(!silent.contains("AUDIO") && media::parse_master(&silent).variants.len() == 2, "{silent}");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn verify_finds_bad_languages_two_defaults_and_video_in_the_audio_only_variant() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(Some("eng"), 2), (Some("fra"), 2)]);
    ws.write_manifest(
        &manifest("aac64").output_field("hls", "audio_only_variant", "true").without_output("dash").yaml(),
    );
    ws.run_ok();
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    let path = ws.path("out/media/a/hls/master.m3u8");
    let master = std::fs::read_to_string(&path).unwrap();
    let bad = master
        .replace("LANGUAGE=\"fr\"", "LANGUAGE=\"fr_FR!\"")
        .replace("DEFAULT=NO", "DEFAULT=YES")
        .replace("CODECS=\"mp4a.40.2\"", "CODECS=\"avc1.42c00d,mp4a.40.2\"");
    assert_ne!(bad, master);
    std::fs::write(&path, bad).unwrap();
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    for what in ["not a BCP-47 language tag", "2 DEFAULT=YES", "must name audio codecs only"] {
        assert!(out.stdout.contains(what) || out.stderr.contains(what), "{what}:\n{}", out.describe());
    }
}

#[test]
fn bad_audio_settings_are_manifest_errors() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    for (field, value, says) in [
        ("audio", "[]", "the audio list is empty"),
        ("audio", "[aac64, aac64]", "listed twice"),
        ("audio", "[aac64, nope]", "`nope` is not an audio profile"),
        ("audio_tracks", "[{name: x}]", "give an `index` or a `language`"),
        ("audio_tracks", "[{language: \"en glish\"}]", "not a BCP-47"),
    ] {
        ws.write_manifest(&manifest("aac64").output_field("hls", field, value).yaml());
        let out = ws.vodbuild(&["plan", "pipeline.yaml"]);
        assert_ne!(out.code, 0, "{field}: {value}");
        assert!(out.stderr.contains(says), "{field}: {value}: expected {says:?}\n{}", out.describe());
    }
}

#[test]
fn a_source_entry_picks_its_own_tracks() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(None, 2), (Some("deu"), 2)]);
    make_multi(&ws, "media/b.mp4", &[(Some("eng"), 2), (Some("ita"), 2)]);
    let picks = r#"[{index: 1, name: "Deutsch (Original)"}]"#;
    let m = manifest("aac64")
        .without_sources()
        .source_with(&[("path", "media/a.mp4"), ("audio_tracks", picks)])
        .source_with(&[("path", "media/b.mp4")])
        .without_output("dash");
    ws.write_manifest(&m.yaml());
    let ran = executed(&ws.run_ok());
    assert!(!ran.contains("encode:media/a:aac64") && ran.contains("encode:media/a:aac64-a1"), "{ran:?}");
    let a = audio_renditions(&ws.read("out/media/a/hls/master.m3u8"));
    let a: Vec<[&str; 3]> = a.iter().map(|x| [&*x[0], &*x[1], &*x[2]]).collect();
    assert_eq!(a, [["de", "Deutsch (Original)", "YES"]]);
    let b = audio_renditions(&ws.read("out/media/b/hls/master.m3u8"));
    assert_eq!(b.iter().map(|x| x[0].as_str()).collect::<Vec<_>>(), ["en", "it"], "the other source: every stream");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn tracks_that_match_nothing_fail_the_package_by_name() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(Some("eng"), 2), (Some("fra"), 2)]);
    ws.write_manifest(&manifest("aac64").output_field("hls", "audio_tracks", "[{language: spa}]").yaml());
    let out = ws.vodbuild(&["run", "pipeline.yaml"]).assert_code(vodbuild::exit_codes::BUILD_FAILED);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("match none of the source's audio streams: eng (2 ch), fra (2 ch)"), "{}", out.describe());
    assert!(!ws.path("out/media/a/hls/master.m3u8").exists(), "no package without the audio asked for");
}

#[test]
fn two_codecs_give_a_group_each_and_each_video_variant_once_per_group() {
    let ws = Workspace::new();
    make_multi(&ws, "media/a.mp4", &[(Some("eng"), 2), (Some("fra"), 2)]);
    let m = manifest("[aac64, opus]").audio("opus", &[("codec", "opus"), ("bitrate", "64k")]);
    ws.write_manifest(&m.without_output("dash").yaml());
    ws.run_ok();
    let master = ws.read("out/media/a/hls/master.m3u8");
    let parsed = media::parse_master(&master);
    let groups: Vec<(&str, &str)> = parsed
        .media
        .iter()
        .map(|m| (media::attr(m, "GROUP-ID").unwrap(), media::attr(m, "LANGUAGE").unwrap()))
        .collect();
    assert_eq!(groups, [("audio-aac", "en"), ("audio-aac", "fr"), ("audio-opus", "en"), ("audio-opus", "fr")]);
    let variants: Vec<(&str, &str)> =
        parsed.variants.iter().map(|v| (v.uri.as_str(), media::attr(&v.attrs, "AUDIO").unwrap())).collect();
    assert_eq!(
        variants,
        [
            ("144p/index.m3u8", "audio-aac"),
            ("90p/index.m3u8", "audio-aac"),
            ("144p/index.m3u8", "audio-opus"),
            ("90p/index.m3u8", "audio-opus")
        ],
        "{master}"
    );
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}
