//! Deterministic outputs: the same encode gives byte-identical files whatever `-j` says and
//! however many cores vodbuild sees (x264, x265, svt-av1 and libvpx settings that change the
//! bytes are fixed by the step), so a forced re-encode leaves its dependents fresh.

use crate::common;

use common::*;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// One rung per encoder whose output depends on its threads; HLS + DASH of all of them.
const EVERY_ENCODER: &str = r#"version: 1
output_dir: out
encoding:
  gop_seconds: 1
sources:
  - glob: "media/*.mp4"
profiles:
  video:
    h264: {codec: h264, height: 120, bitrate: 150k, preset: veryfast}
    hevc: {codec: hevc, height: 120, bitrate: 150k, preset: ultrafast}
    av1: {codec: av1, height: 120, bitrate: 150k, preset: 12}
    vp9: {codec: vp9, height: 120, bitrate: 150k, preset: "8"}
  audio:
    aac64: {codec: aac, bitrate: 64k, channels: 2, sample_rate: 48000}
outputs:
  hls: {renditions: [h264, hevc], audio: aac64, segment_seconds: 2, segment_type: fmp4}
  dash: {renditions: [h264, hevc, av1, vp9], audio: aac64, segment_seconds: 2}
"#;

fn workspace() -> Workspace {
    let ws = Workspace::new();
    // Noise: every frame differs, so thread-dependent decisions show in the bytes.
    ws.make_source_with("media/a.mp4", 2.0, "320x240", 440, true);
    ws.write_manifest(EVERY_ENCODER);
    ws
}

/// BLAKE3 of every encoded rendition and every package file, by path in the workspace.
fn digests(ws: &Workspace) -> BTreeMap<String, String> {
    let mut files: Vec<String> = ws.files_under(".vodbuild").into_iter().filter(|p| p.ends_with(".mp4")).collect();
    files.extend(ws.files_under("out"));
    let map: BTreeMap<String, String> = files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(ws.path(&f)).unwrap();
            (f, blake3::hash(&bytes).to_hex().to_string())
        })
        .collect();
    let encodes = map.keys().filter(|p| p.ends_with(".mp4") && p.contains("/work/")).count();
    assert_eq!(encodes, 5, "4 video encodes and 1 audio encode: {map:#?}");
    map
}

/// `vodbuild run pipeline.yaml -j JOBS`, seeing only CPU 0 when `one_core` (sched_setaffinity,
/// which std's `available_parallelism` honours).
fn run(ws: &Workspace, jobs: &str, one_core: bool, extra: &[&str]) -> Output {
    let mut args = vec!["run", "pipeline.yaml", "--json", "-j", jobs];
    args.extend_from_slice(extra);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vodbuild"));
    cmd.args(&args)
        .current_dir(ws.root())
        .env("PATH", tools::path_with_project_tools())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if one_core {
        // SAFETY: only sched_setaffinity (async-signal-safe) runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    wait_output(cmd.spawn().expect("spawn vodbuild"), &args, TIMEOUT).success()
}

fn assert_same(what: &str, a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) {
    let differ: Vec<&String> = a.keys().filter(|k| a.get(*k) != b.get(*k)).collect();
    assert!(differ.is_empty() && a.len() == b.len(), "{what}: these files differ: {differ:?}");
}

#[test]
fn encodes_and_packages_are_byte_identical_under_any_j_and_core_count() {
    let one = workspace();
    run(&one, "1", false, &[]);
    let two = workspace();
    std::fs::copy(one.path("media/a.mp4"), two.path("media/a.mp4")).unwrap();
    run(&two, "2", false, &[]);
    assert_same("-j 1 and -j 2", &digests(&one), &digests(&two));

    let single = workspace();
    std::fs::copy(one.path("media/a.mp4"), single.path("media/a.mp4")).unwrap();
    run(&single, "1", true, &[]);
    assert_same("2 cores and 1 core", &digests(&one), &digests(&single));
}

#[test]
fn a_forced_reencode_gives_the_same_bytes_and_leaves_packages_fresh() {
    let ws = workspace();
    run(&ws, "2", false, &[]);
    let before = digests(&ws);
    let forced = run(&ws, "1", true, &["--force", "--only", "encode:*"]).json();
    assert_eq!(
        with_status(&forced, "executed").iter().filter(|id| id.starts_with("encode:")).count(),
        5,
        "every encode re-ran: {forced:#}"
    );
    assert_same("before and after a forced re-encode", &before, &digests(&ws));
    // Early cutoff: the packages read byte-identical encodes, so they stay fresh.
    let plan = ws.plan_ok();
    assert_eq!(planned(&plan), Default::default(), "{plan:#}");
}
