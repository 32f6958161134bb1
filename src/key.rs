//! Step keys: what goes into a rebuild decision.
//!
//! A step's key is the BLAKE3 digest of a canonical JSON array (serde_json, object keys
//! sorted, no whitespace):
//!
//! ```text
//! ["vodbuild-step-key/1", KIND, RECIPE, PARAMS, TOOL_DIGEST, [[INPUT_NAME, INPUT_DIGEST], ...]]
//! ```
//!
//! | step kind      | PARAMS (resolved manifest values)                              | TOOL_DIGEST              | inputs                                   |
//! |----------------|----------------------------------------------------------------|--------------------------|------------------------------------------|
//! | `probe`        | none (`{}`), or `source_checks: lenient`                        | ffprobe `-version` output | source bytes                             |
//! | `encode`       | the video or audio profile (codec, size, bitrate/crf, maxrate, bufsize, preset, profile, level, frame rate policy; channels, sample rate; `loudness` only when set; `track: N` for the source's Nth audio stream, N > 0; `audio_file: LANG` for a sidecar audio file's rendition `PROFILE-LANG`) + `gop_seconds` | ffmpeg `-version` output | source bytes, probe.json; a normalised audio profile also its track's `loudness` report; a sidecar audio file's rendition: the file's BLAKE3 (`audio_file:LANG`) and probe.json, not the source |
//! | `loudness`     | source (`loudness:SOURCE:aT-2ch`): `{"measure": "loudnorm", "track", "channels"}` (no target); encode (`loudness_out:SOURCE:RENDITION`): `{"measure": "ebur128", "of": "encode"}`; a sidecar audio file (`loudness:SOURCE:file-LANG-2ch`): `{"measure": "loudnorm", "audio_file": LANG, "channels"}` | ffmpeg `-version` output | source bytes, probe.json; or the encoded file; a sidecar: the file's BLAKE3 (`audio_file:LANG`), probe.json |
//! | `package_hls`  | the `outputs.hls` block (renditions built for this source — the ladder fitted to it — and their order, audio (a profile or a list), `audio_tracks` and `audio_only_variant` when set, segment seconds, segment type, packager; with subtitle tracks, their language, name, default and forced flags; `iframe_playlists` when set, and `iframe_playlists: true` for ffmpeg with fMP4; ffmpeg with TS has it only when set), plus the source entry's `audio_tracks` as `source_audio_tracks` when it has some | ffmpeg or Shaka Packager | each encoded rendition file: every audio track × profile (no audio file for a source without audio); each converted subtitle file |
//! | `package_dash` | the `outputs.dash` block (renditions fitted likewise; audio and subtitle tracks likewise) | ffmpeg or Shaka Packager | each encoded rendition file (no audio file for a source without audio); with `outputs.storyboard`, its sprite sheets and track; each converted subtitle file |
//! | `thumbnails`   | the `outputs.thumbnails` block, plus `sample_aspect` (`W:H`) for an anamorphic source                                 | ffmpeg                   | source bytes, probe.json                 |
//! | `audio_only`   | the `outputs.audio_only` block                                 | ffmpeg                   | source bytes, probe.json                 |
//! | `storyboard`   | the `outputs.storyboard` block (interval, columns, rows, width, format) | ffmpeg          | source bytes, probe.json                 |
//! | `metadata`     | format version                                                 | vodbuild version         | probe.json and every output file of the source's other outputs (and each `loudness_out` report) |
//! | `publish`      | backend (name, service, non-secret config with the environment's destination overrides: endpoint, bucket, container, root, region, ...) + remote folder | vodbuild version | every file of the package it uploads |
//! | `verify`       | which package (`hls` or `dash`)                                | vodbuild version         | the package's files, probe.json          |
//! | `command`      | the `steps.NAME` entry: program, argument template, outputs, `version_args`, each `param:KEY` | the program's `VERSION_ARGS` output (with the file's BLAKE3 when the program is a path), or the program file's BLAKE3 | the source (when the template names `{source}`), probe.json, each file an `{input:...}` names |
//! | `subtitle`     | a sidecar: the subtitle file's BLAKE3, its format (`srt`/`vtt`), language and forced flag (never its path); the source's text streams (`subtitle:SOURCE:embedded`): `{"embedded": true}` | a sidecar: vodbuild version; embedded: ffmpeg | a sidecar: none (the file's digest is in PARAMS); embedded: source bytes, probe.json |
//! | `notify`       | the `notify:` target (name, URL, method, plain headers, the *names* of the variables holding secret headers and the signing key, body template, base URL; not the timeout; never a secret value) | vodbuild version | every file of each deliverable it announces (the published copies when publishing; a package's verify report otherwise), probe.json |
//!
//! - RECIPE is vodbuild's version of how it performs that step kind (each kind's `RECIPE`,
//!   given to [`step_key`] by the plan); it is
//!   bumped when a release changes the commands or post-processing of a kind, so exactly those
//!   steps re-run after an upgrade.
//! - TOOL_DIGEST is the BLAKE3 of the tool's full `-version` output: version *and* build
//!   configuration, so a rebuilt ffmpeg with other libraries makes its steps stale.
//! - Input digests are BLAKE3 of file contents; names are relative (`source`,
//!   `encode:720p/720p.mp4`), never absolute paths.
//! - Encryption (`encryption:` on `outputs.hls` / `outputs.dash`, [`crate::crypt`]): its block
//!   enters the package's PARAMS as written (method, the *names* of the key's and IV's
//!   variable or file, key_id, systems, clear_lead, key_uri) plus `key_digest`, a keyed
//!   BLAKE3 digest of the loaded key and IV ([`crate::crypt::keys::digest`]): a new key
//!   re-packages (never re-encodes), and no key material is in any key. An output without
//!   `encryption:` has the same PARAMS, so the same key, as before.
//! - Encoder threads are part of the recipe, fixed per codec ([`crate::argv::ffmpeg::ENCODER_THREADS`],
//!   svt-av1 `lp=1`), so the same key always means the same bytes (see `tests/determinism.rs`).
//! - Never in a key: absolute paths, the manifest's location, output_dir, source ids'
//!   file-system location, hostnames, PATH, user, time, `-j`, thread counts. Two machines
//!   with the same manifest, media and tools agree on every key.
//! - Not in a key but checked for freshness: the step's recorded outputs must exist with
//!   their recorded digests (a stat cache of size, mtime, inode, ctime avoids re-reading).
//! - Skipped steps (the audio encodes, `audio_only` and its publish step of a source whose
//!   probe found no audio stream; see [`crate::skip`]) have no key and no record, and add no
//!   inputs to their consumers: a silent source's packages are keyed on its video files only.
//!   An audio encode is its own ffmpeg (the video encodes of a source share one decode); its
//!   command and output bytes are the same as when it shared the video's ffmpeg, so its
//!   recipe did not change.
//! - Early cutoff: inputs are upstream *output digests*, so a re-run step that produces
//!   byte-identical files leaves its dependents' keys, and so their freshness, unchanged.
//!
//! Output checks ([`crate::exec::check`]): before a step is recorded its outputs must be what
//! it promises, within a duration tolerance of max(0.5 s, one GOP), with no empty file:
//!
//! | step kind      | checked before recording                                                  |
//! |----------------|---------------------------------------------------------------------------|
//! | `probe`, `metadata`, `verify`, `loudness` | a non-empty, complete JSON document             |
//! | `encode`       | MP4 boxes cover the file; a `moov` with a video (audio) track with samples; its duration matches the source's; first and last frames decode; a normalised audio encode's integrated loudness is its target ± 1 LU |
//! | `package_hls`  | master lists one variant per video encode and one audio rendition per audio encode; media playlists parse, end with EXT-X-ENDLIST; init (`moov`) and segments (`moof`+`mdat`, or whole TS packets) complete; segments add up to the source's duration; first and last segment of each rendition decode (encrypted renditions instead: AES-128 segments are whole cipher blocks and not TS, CENC/cbcs ones carry `senc`/`saiz` behind an `encv`/`enca` init); fMP4 I-frame playlists' byte ranges each start at a `moof` and hold a whole sync sample |
//! | `package_dash` | the MPD has one representation per packaged stream; init, segments, durations and first/last decode as for HLS |
//! | `thumbnails`   | at least one image (unless the source is shorter than `interval`), none empty; first and last decode |
//! | `audio_only`   | `audio.m4a` as an audio encode; `audio.mp3` non-empty, its ends decode    |
//! | `storyboard`   | `storyboard.vtt` parses; every cue names a sheet of `columns*w x rows*h` and a rectangle inside it; first and last sheets decode |
//! | `publish`      | nothing local (the backend's listing is checked for freshness)             |
//! | `command`      | exactly the declared files, none empty; `.vtt` files start with `WEBVTT`  |
//! | `subtitle`     | a WebVTT file that parses (embedded: a folder of at least one)             |
//! | `notify`       | its receipt: a non-empty, complete JSON document (written on a 2xx answer)  |
//!
//! A recorded output of 0 bytes is stale (`output invalid`), never fresh.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::step::StepKind;

pub const KEY_VERSION: &str = "vodbuild-step-key/1";

/// One input of a step: a relative name and a content digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
    pub digest: String,
}

pub fn step_key(kind: StepKind, recipe: u32, params: &Value, tool_digest: &str, inputs: &[Input]) -> String {
    let ins: Vec<Value> = inputs.iter().map(|i| json!([i.name, i.digest])).collect();
    let canonical = json!([KEY_VERSION, kind.as_str(), recipe, params, tool_digest, ins]);
    let bytes = serde_json::to_vec(&canonical).expect("json");
    blake3::hash(&bytes).to_hex().to_string()
}

/// The fingerprint used for steps vodbuild performs itself.
pub fn builtin_tool_digest() -> String {
    format!("vodbuild {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_every_part() {
        let i = vec![Input { name: "source".into(), digest: "aa".into() }];
        let base = step_key(StepKind::Encode, 1, &json!({"b": 1, "a": 2}), "t", &i);
        assert_eq!(base, step_key(StepKind::Encode, 1, &json!({"a": 2, "b": 1}), "t", &i), "key order is canonical");
        assert_ne!(base, step_key(StepKind::Probe, 1, &json!({"b": 1, "a": 2}), "t", &i));
        assert_ne!(base, step_key(StepKind::Encode, 1, &json!({"b": 2, "a": 2}), "t", &i));
        assert_ne!(base, step_key(StepKind::Encode, 1, &json!({"b": 1, "a": 2}), "u", &i));
        let j = vec![Input { name: "source".into(), digest: "ab".into() }];
        assert_ne!(base, step_key(StepKind::Encode, 1, &json!({"b": 1, "a": 2}), "t", &j));
    }

    /// Keys are what existing workspaces were recorded with: a change here rebuilds them all.
    /// (Bump a kind's RECIPE on purpose, and update its pin with it.)
    #[test]
    fn keys_are_pinned() {
        let i = vec![Input { name: "source".into(), digest: "aa".into() }];
        let pins = [
            (StepKind::Probe, "c8a05955d487eb73773bb09ecf4db18255df5cce561ac4bf415724a11d356e87"),
            (StepKind::Encode, "faa4149d41a32de81b28190792bdb4b070ced86621cc33444e1bc9addf5b151a"),
            (StepKind::PackageHls, "cf3c1489432eed313f7a77fe8181d7eaf48b25a08fd60507d0ae9e0a5de766fe"),
            (StepKind::PackageDash, "8d6392f694bca69c9c0754708fbb11040167ff966cc6285590ad351fa990a76f"),
            (StepKind::Thumbnails, "f8e3d71182ffac1a45446eab13953aca58a2fa7a77e4aa9cd35c1c96bb82505b"),
            (StepKind::AudioOnly, "75d6fc76e09a5de35560d7af920d7f5b1d98d6736407335e1085a2382094ebef"),
            (StepKind::Metadata, "487ea0add2b717177a955441cd84acc1fa8f98721f348c17f45e8fa10096b638"),
            (StepKind::Publish, "1ff13a79a127dd7357c3b510c6abe952d9285c7ce60bdc67169a5a793484e107"),
            (StepKind::Verify, "0cf041e05bc9d3e03cb83c94a331e9e38e322a5ad6935b9c97ef766185766ec1"),
            (StepKind::Command, "8df5b29c41f5e08de78810e9163c379e59e2219348b80d89b500ac6e2d26d559"),
            (StepKind::Notify, "cd471cb50a0fc6b13eee118f435e47d0a90092d795e44d976701defa3501fe80"),
            (StepKind::Loudness, "ae6d8160ce965ea998edbc2e2eeefe4aae37e90d4ac3bb7c40769f444a618ceb"),
            (StepKind::Storyboard, "a6822ea373534fc6b6efce57f8ad42c1849f08f842c48105bba0b2fd36e70106"),
            (StepKind::Subtitle, "770ab3f91393ec28adb82be63c79f30ec2c6656ec46607664ec0ad773bc5932b"),
        ];
        for (kind, pin) in pins {
            assert_eq!(step_key(kind, crate::kinds::recipe(kind), &json!({"p": 1}), "t", &i), pin, "{}", kind.as_str());
        }
    }
}
