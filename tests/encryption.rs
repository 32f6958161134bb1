//! `encryption:` on hls/dash: HLS AES-128 (ffmpeg, TS), CENC and cbcs (Shaka Packager, raw
//! keys) build, verify (key tags, ciphertext segments, AES-128 decryption with the key), leak
//! the key nowhere (every log, report, state file and output is searched for it in hex and
//! base64), re-package (never re-encode) when the key changes, and refuse what a packager
//! cannot do or a key that is wrong, at plan time, without showing it.

use crate::common;

use base64::Engine;
use common::{Manifest, Output, Workspace, executed};
use vodbuild::exit_codes::{MANIFEST_ERROR, SUCCESS, VERIFY_FAILED};

const KEY: &str = "3f1a9c0e5b7d2468ace0135724681bdf";
const KEY2: &str = "c0ffee00112233445566778899aabbcc";
const KID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn aes_hls() -> String {
    "{method: aes-128, key: {env: VB_TEST_KEY}, key_uri: \"https://keys.example/title.key\"}".into()
}

fn cenc(method: &str, key: &str) -> String {
    format!("{{method: {method}, key: {key}, key_id: {KID}, systems: [clearkey, widevine], clear_lead: 0}}")
}

/// SMALL with AES-128 HLS (TS) and CENC DASH (Shaka), both keyed from `VB_TEST_KEY`.
fn encrypted() -> Manifest {
    Manifest::small()
        .without_output("thumbnails")
        .output_field("hls", "segment_type", "ts")
        .output_field("hls", "encryption", &aes_hls())
        .output_field("hls", "verify", "true")
        .output_field("dash", "packager", "shaka")
        .output_field("dash", "encryption", &cenc("cenc", "{env: VB_TEST_KEY}"))
}

/// The key's spellings a leak could take.
fn spellings(hex: &str) -> Vec<String> {
    let bytes: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
    vec![hex.to_string(), hex.to_ascii_uppercase(), b64.trim_end_matches('=').to_string(), b64url]
}

/// Every file under the workspace (outputs, state, journal, reports, key digests) and every
/// captured output, searched for the key as text and as raw bytes.
fn assert_no_leak(ws: &Workspace, hex: &str, outputs: &[&Output]) {
    let words = spellings(hex);
    let raw: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect();
    let mut searched = 0;
    for rel in ws.files_under(".") {
        if rel.starts_with("keys/") || rel.starts_with("media/") {
            continue;
        }
        let bytes = std::fs::read(ws.path(&rel)).unwrap();
        searched += 1;
        assert!(!bytes.windows(16).any(|w| w == raw.as_slice()), "{rel} holds the raw key bytes");
        let text = String::from_utf8_lossy(&bytes);
        for w in &words {
            assert!(!text.contains(w.as_str()), "{rel} holds the key ({w})");
        }
    }
    assert!(searched > 10, "only {searched} files searched");
    for o in outputs {
        for w in &words {
            assert!(!o.stdout.contains(w.as_str()) && !o.stderr.contains(w.as_str()), "{:?} printed the key", o.args);
        }
    }
}

#[test]
fn aes128_hls_and_cenc_dash_verify_and_leak_no_key() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write_manifest(&encrypted().yaml());
    let env = [("VB_TEST_KEY", KEY)];
    let args = ["run", "pipeline.yaml", "-vv", "--json", "--junit", "junit.xml", "--metrics", "m.prom"];
    let run = ws.vodbuild_env(&args, &env);
    assert_eq!(run.code, SUCCESS, "{}", run.describe());
    assert!(run.stderr.contains("-hls_key_info_file") && run.stderr.contains("--flagfile"), "{}", run.stderr);

    let media = ws.read("out/media/a/hls/144p/index.m3u8");
    assert!(media.contains("#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example/title.key\""), "{media}");
    let seg = std::fs::read(ws.path("out/media/a/hls/144p/seg_00000.ts")).unwrap();
    let ts_like = seg.len().is_multiple_of(188) && seg.chunks(188).all(|p| p[0] == 0x47);
    assert!(seg.len().is_multiple_of(16) && !ts_like, "an AES-128 segment is whole cipher blocks, not TS");
    let mpd = ws.read("out/media/a/dash/manifest.mpd");
    assert!(mpd.contains("urn:mpeg:dash:mp4protection:2011") && mpd.contains("value=\"cenc\""), "{mpd}");
    assert!(mpd.contains("urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"), "ClearKey (common) PSSH: {mpd}");
    assert!(mpd.contains("urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"), "Widevine PSSH: {mpd}");
    assert!(mpd.contains("default_KID=\"a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90\""), "{mpd}");

    let verify = ws.vodbuild_env(&["verify", "pipeline.yaml", "--json"], &env);
    assert_eq!(verify.code, SUCCESS, "{}", verify.describe());
    let wrong = ws.vodbuild_env(&["verify", "pipeline.yaml"], &[("VB_TEST_KEY", KEY2)]);
    assert_eq!(wrong.code, VERIFY_FAILED, "{}", wrong.describe());
    assert!(wrong.stdout.contains("does not decrypt with the key"), "AES-128: {}", wrong.describe());
    assert!(wrong.stdout.contains("decrypted with the key, it does not decode"), "CENC: {}", wrong.describe());
    let plan = ws.vodbuild_env(&["plan", "pipeline.yaml", "--json", "-v"], &env);
    let status = ws.vodbuild_env(&["status", "pipeline.yaml", "-v"], &env);
    let graph = ws.vodbuild_env(&["graph", "pipeline.yaml"], &env);
    for o in [&plan, &status, &graph] {
        assert_eq!(o.code, SUCCESS, "{}", o.describe());
    }
    assert_no_leak(&ws, KEY, &[&run, &verify, &wrong, &plan, &status, &graph]);
    assert_no_leak(&ws, KEY2, &[&wrong]);
}

#[test]
fn verify_finds_a_plaintext_segment_and_a_missing_key_tag() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write_manifest(&encrypted().without_output("dash").yaml());
    let env = [("VB_TEST_KEY", KEY)];
    ws.run_ok_env(&env);
    // A plaintext TS segment in place of the ciphertext one.
    let mut ts = vec![0u8; 188 * 8];
    ts.chunks_mut(188).for_each(|p| p[0] = 0x47);
    ws.write("out/media/a/hls/144p/seg_00001.ts", &ts);
    let list = ws.read("out/media/a/hls/90p/index.m3u8");
    let stripped: String = list.lines().filter(|l| !l.starts_with("#EXT-X-KEY")).map(|l| format!("{l}\n")).collect();
    ws.write("out/media/a/hls/90p/index.m3u8", stripped);
    let out = ws.vodbuild_env(&["verify", "pipeline.yaml"], &env);
    assert_eq!(out.code, VERIFY_FAILED, "{}", out.describe());
    assert!(out.stdout.contains("144p/seg_00001.ts: segment: is plaintext"), "{}", out.describe());
    assert!(out.stdout.contains("90p/index.m3u8: EXT-X-KEY: missing"), "{}", out.describe());
}

#[test]
fn cbcs_with_a_key_file_for_hls_and_dash_through_shaka() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write("keys/title.key", format!("{KEY}\n"));
    let e = cenc("cbcs", "{file: keys/title.key}");
    let m = Manifest::small()
        .without_output("thumbnails")
        .output_field("hls", "packager", "shaka")
        .output_field("hls", "encryption", &e)
        .output_field("dash", "packager", "shaka")
        .output_field("dash", "encryption", &e);
    ws.write_manifest(&m.yaml());
    let run = ws.vodbuild(&["run", "pipeline.yaml", "-v"]);
    assert_eq!(run.code, SUCCESS, "{}", run.describe());
    let media = ws.read("out/media/a/hls/144p/index.m3u8");
    assert!(media.contains("#EXT-X-KEY:METHOD=SAMPLE-AES,"), "{media}");
    assert!(ws.read("out/media/a/dash/manifest.mpd").contains("value=\"cbcs\""));
    let verify = ws.vodbuild(&["verify", "pipeline.yaml"]);
    assert_eq!(verify.code, SUCCESS, "{}", verify.describe());
    assert_no_leak(&ws, KEY, &[&run, &verify]);
}

#[test]
fn a_new_key_repackages_without_re_encoding() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write_manifest(&encrypted().yaml());
    ws.run_ok_env(&[("VB_TEST_KEY", KEY)]);
    let before = std::fs::read(ws.path("out/media/a/hls/144p/seg_00000.ts")).unwrap();
    assert!(executed(&ws.run_ok_env(&[("VB_TEST_KEY", KEY)])).is_empty(), "same key: nothing to do");

    let ran = executed(&ws.run_ok_env(&[("VB_TEST_KEY", KEY2)]));
    assert!(ran.contains("hls:media/a") && ran.contains("dash:media/a"), "{ran:?}");
    assert!(ran.iter().all(|id| !id.starts_with("encode:") && !id.starts_with("probe:")), "{ran:?}");
    assert_ne!(before, std::fs::read(ws.path("out/media/a/hls/144p/seg_00000.ts")).unwrap());
    let verify = ws.vodbuild_env(&["verify", "pipeline.yaml"], &[("VB_TEST_KEY", KEY2)]);
    assert_eq!(verify.code, SUCCESS, "{}", verify.describe());
}

/// A manifest error: exit code, the field it names, and no key in it.
fn refused(ws: &Workspace, m: Manifest, key: &str, field: &str, says: &str) {
    ws.write_manifest(&m.yaml());
    let out = ws.vodbuild_env(&["plan", "pipeline.yaml"], &[("VB_TEST_KEY", key)]);
    assert_eq!(out.code, MANIFEST_ERROR, "{}", out.describe());
    assert!(out.stderr.contains(field) && out.stderr.contains(says), "want `{field}`: `{says}`\n{}", out.describe());
    assert!(key.is_empty() || !out.stderr.contains(key) && !out.stdout.contains(key), "{}", out.describe());
}

#[test]
fn what_cannot_be_done_is_refused_at_plan_time_without_showing_the_key() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "320x180");
    let base = || Manifest::small().without_output("thumbnails").without_output("dash");
    let hls = "outputs.hls.encryption";
    refused(
        &ws,
        base().output_field("hls", "encryption", &aes_hls()),
        KEY,
        &format!("{hls}.method"),
        "needs TS segments",
    );
    let cenc_ffmpeg = base().output_field("hls", "encryption", &cenc("cenc", "{env: VB_TEST_KEY}"));
    refused(&ws, cenc_ffmpeg, KEY, &format!("{hls}.method"), "needs Shaka Packager");
    let cbcs_ts = base()
        .output_field("hls", "packager", "shaka")
        .output_field("hls", "segment_type", "ts")
        .output_field("hls", "encryption", &cenc("cbcs", "{env: VB_TEST_KEY}"));
    refused(&ws, cbcs_ts, KEY, &format!("{hls}.method"), "fMP4 (CMAF) only");
    let dash_aes = Manifest::small().without_output("hls").output_field("dash", "packager", "shaka").output_field(
        "dash",
        "encryption",
        &aes_hls(),
    );
    refused(&ws, dash_aes, KEY, "outputs.dash.encryption.method", "aes-128 is not supported for dash");
    let ts = || base().output_field("hls", "segment_type", "ts");
    let short = "3f1a9c0e5b7d2468ace0135724681b";
    refused(&ws, ts().output_field("hls", "encryption", &aes_hls()), short, &format!("{hls}.key"), "32 hex digits");
    refused(&ws, ts().output_field("hls", "encryption", &aes_hls()), "", &format!("{hls}.key"), "32 hex digits");
    ws.write("out/secret.key", KEY);
    let inside = aes_hls().replace("{env: VB_TEST_KEY}", "{file: out/secret.key}");
    refused(&ws, ts().output_field("hls", "encryption", &inside), KEY, &format!("{hls}.key.file"), "inside");
    let no_uri = "{method: aes-128, key: {env: VB_TEST_KEY}}";
    refused(&ws, ts().output_field("hls", "encryption", no_uri), KEY, hls, "needs `key_uri`");
    let inline = "{method: aes-128, key: {hex: 3f1a9c0e5b7d2468ace0135724681bdf}, key_uri: x}";
    let out = {
        ws.write_manifest(&ts().output_field("hls", "encryption", inline).yaml());
        ws.vodbuild(&["plan", "pipeline.yaml"])
    };
    assert_eq!(out.code, MANIFEST_ERROR, "a key written in the manifest is refused: {}", out.describe());
}

/// The search above can fail: a key planted in base64 in a state file is found.
#[test]
fn the_leak_search_finds_a_planted_key() {
    let ws = Workspace::new();
    for i in 0..12 {
        ws.write(&format!(".vodbuild/f{i}.json"), "{}");
    }
    assert_no_leak(&ws, KEY, &[]);
    let b64 = base64::engine::general_purpose::STANDARD
        .encode([0x3f, 0x1a, 0x9c, 0x0e, 0x5b, 0x7d, 0x24, 0x68, 0xac, 0xe0, 0x13, 0x57, 0x24, 0x68, 0x1b, 0xdf]);
    ws.write(".vodbuild/state.json", format!("{{\"k\": \"{b64}\"}}"));
    let found = std::panic::catch_unwind(|| assert_no_leak(&ws, KEY, &[]));
    assert!(found.is_err(), "a planted key must be found");
}
