//! HLS AES-128 (ffmpeg, TS) together with subtitles and loudness: the package builds,
//! `vodbuild verify` passes (the encrypted audio is not re-measured), and each WebVTT segment's `X-TIMESTAMP-MAP` MPEGTS is the first video PTS of the
//! decrypted first segment (the packager reads it with the key, never from ciphertext).

use crate::common;

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use common::media::media_files;
use common::media::{attr, attributes};
use common::*;
use std::path::Path;
use std::process::Command;

const KEY: &str = "3f1a9c0e5b7d2468ace0135724681bdf";
const EN_SRT: &str = "1\n00:00:00,500 --> 00:00:01,250\nHello\n\n2\n00:00:01,800 --> 00:00:02,400\nAcross a boundary\n";

fn key_bytes() -> [u8; 16] {
    let mut k = [0u8; 16];
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(&KEY[2 * i..2 * i + 2], 16).unwrap();
    }
    k
}

/// The IV of segment `seq` of `playlist`: its `IV=0x…`, else the sequence number.
fn iv(playlist: &str, seq: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    let tag = playlist.lines().find(|l| l.starts_with("#EXT-X-KEY:")).expect("an EXT-X-KEY");
    match attr(&attributes(&tag["#EXT-X-KEY:".len()..]), "IV") {
        Some(hex) => {
            let hex = hex.trim_start_matches("0x").trim_start_matches("0X");
            for (i, b) in iv.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
            }
        }
        None => iv[8..].copy_from_slice(&seq.to_be_bytes()),
    }
    iv
}

/// The first video frame's PTS (90 kHz) of `playlist`'s first segment, decrypted with KEY.
fn decrypted_first_pts(playlist: &Path) -> u64 {
    let (_, files) = media_files(playlist);
    let text = std::fs::read_to_string(playlist).unwrap();
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let dec = cbc::Decryptor::<aes::Aes128>::new(&key_bytes().into(), &iv(&text, 0).into());
    let plain = dec.decrypt_padded_mut::<Pkcs7>(&mut bytes).expect("decrypts with the key").to_vec();
    assert!(plain.len().is_multiple_of(188) && plain[0] == 0x47, "decrypts to MPEG-TS");
    let clear = playlist.parent().unwrap().join("../clear.ts");
    std::fs::write(&clear, plain).unwrap();
    let out = Command::new(which("ffprobe"))
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "default=nw=1:nk=1"])
        .arg(&clear)
        .output()
        .unwrap();
    std::fs::remove_file(&clear).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first: f64 = text.lines().next().expect("a frame").trim().parse().unwrap();
    (first * 90_000.0).round() as u64
}

#[test]
fn aes128_hls_with_subtitles_builds_verifies_and_maps_the_clear_pts() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write("media/a.en.srt", EN_SRT);
    let aes = "{method: aes-128, key: {env: VB_TEST_KEY}, key_uri: \"https://keys.example/title.key\"}";
    let m = Manifest::small()
        .without_sources()
        .source("media/a.mp4", "a")
        .without_output("thumbnails")
        .without_output("dash")
        .audio("aac64", &[("codec", "aac"), ("bitrate", "64k"), ("loudness", "{target: -16, true_peak: -1.5}")])
        .output_field("hls", "segment_type", "ts")
        .output_field("hls", "encryption", aes)
        .output("subtitles", &[("sidecars", "true")]);
    ws.write_manifest(&m.yaml());
    let env = [("VB_TEST_KEY", KEY)];
    let run = ws.vodbuild_env(&["run", "pipeline.yaml"], &env);
    assert_eq!(run.code, 0, "{}", run.describe());

    let master = ws.read("out/a/hls/master.m3u8");
    assert!(master.contains("#EXT-X-MEDIA:TYPE=SUBTITLES") && master.contains("SUBTITLES=\"subs\""), "{master}");
    let (_, seg_files) = media_files(&ws.path("out/a/hls/subs/en/index.m3u8"));
    let first = std::fs::read_to_string(&seg_files[0]).unwrap();
    let pts = decrypted_first_pts(&ws.path("out/a/hls/144p/index.m3u8"));
    assert!(first.contains(&format!("X-TIMESTAMP-MAP=MPEGTS:{pts},LOCAL:00:00:00.000")), "pts {pts}: {first}");
    assert!(first.contains("00:00:00.500 --> 00:00:01.250\nHello"), "{first}");
    let verify = ws.vodbuild_env(&["verify", "pipeline.yaml"], &env);
    assert_eq!(verify.code, 0, "{}", verify.describe());
}
