//! Output checks: nothing wrong is recorded as built. A step whose outputs are empty,
//! truncated or lack their streams fails naming the file, records nothing and leaves its
//! previous output; a full disk is named; a rerun rebuilds exactly what failed; stale
//! temporaries of killed runs are removed even by a run with nothing to do; `verify` names
//! 0-byte segments and an MPD with no representations.

use crate::common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use vodbuild::exit_codes::{BUILD_FAILED, VERIFY_FAILED};

const SRC: &str = "media/clip";

/// A tools.ffmpeg stand-in: runs the real ffmpeg, then damages what a step wrote according
/// to `$FAKE_MODE` (only for vodbuild's step commands, which pass `-progress`; the checks'
/// own decodes pass through untouched).
fn fake_ffmpeg(ws: &Workspace) -> PathBuf {
    let real = which("ffmpeg");
    let script = format!(
        r#"#!/bin/sh
"{real}" "$@" || exit $?
case " $* " in *" -progress "*) ;; *) exit 0 ;; esac
for a in "$@"; do last="$a"; done
for a in "$@"; do
  case "$a" in
    */.144p.mp4.tmp-*)
      case "$FAKE_MODE" in
        empty) : > "$a" ;;
        truncate) truncate -s 2000 "$a" ;;
        nostream) "{real}" -v error -y -f lavfi -i anullsrc=r=48000 -t 1 -c:a aac -f mp4 "$a" ;;
        garble) dd if=/dev/zero of="$a" bs=1 seek=$(( $(stat -c %s "$a") / 2 )) count=4000 conv=notrunc 2>/dev/null ;;
      esac ;;
  esac
done
if [ "$FAKE_MODE" = emptyplaylist ] && [ "${{last##*/}}" = index.m3u8 ]; then
  : > "$(dirname "$(dirname "$last")")/144p/index.m3u8"
fi
exit 0
"#,
        real = real.display()
    );
    let p = ws.path("fakeffmpeg");
    write_executable(&p, &script);
    p
}

fn setup() -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    ws.make_source(&format!("{SRC}.mp4"), 2.0, "160x120");
    ws.write_manifest(SMALL);
    let fake = fake_ffmpeg(&ws);
    (ws, fake)
}

fn run_with(ws: &Workspace, fake: &Path, mode: &str) -> Output {
    let f = fake.to_str().unwrap();
    ws.vodbuild_env(&["run", "pipeline.yaml", "--json", "--keep-going"], &[("VODBUILD_FFMPEG", f), ("FAKE_MODE", mode)])
}

fn error_of(out: &Output, id: &str) -> String {
    let doc = out.json();
    let s = step(&doc, id);
    assert_eq!(s["status"], "failed", "{id} should have failed\n{}", out.describe());
    s["error"].as_str().unwrap_or_default().to_string()
}

fn leftovers(ws: &Workspace) -> Vec<String> {
    let mut all = ws.files_under(".vodbuild/pipeline.yaml/work");
    all.extend(ws.files_under("out"));
    all.into_iter().filter(|f| f.contains(".tmp-") || f.contains(".old-")).collect()
}

#[test]
fn damaged_encodes_are_never_recorded() {
    let (ws, fake) = setup();
    let id = format!("encode:{SRC}:144p");
    let cases = [("empty", "is empty (0 bytes)"), ("truncate", "is truncated"), ("nostream", "has no video stream")];
    for (mode, why) in cases {
        let out = run_with(&ws, &fake, mode).assert_code(BUILD_FAILED);
        let err = error_of(&out, &id);
        assert!(err.contains(".vodbuild/pipeline.yaml/work/media/clip/144p.mp4") && err.contains(why), "{mode}: {err}");
        assert!(
            !ws.path(".vodbuild/pipeline.yaml/work/media/clip/144p.mp4").exists(),
            "{mode}: a damaged encode was placed"
        );
        assert!(leftovers(&ws).is_empty(), "{mode}: temporaries left: {:?}", leftovers(&ws));
        // Nothing recorded: the next plan still has it to build, as new.
        let plan = ws.plan_ok();
        assert_eq!(reason(&plan, &id), "new", "{mode}: {plan:#}");
    }
    // With a sound tool the same workspace builds and verifies.
    let out = run_with(&ws, &fake, "none").success();
    assert!(executed(&out.json()).contains(&id));
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn a_failed_check_keeps_the_previous_output() {
    let (ws, fake) = setup();
    run_with(&ws, &fake, "none").success();
    let enc = ws.path(".vodbuild/pipeline.yaml/work/media/clip/144p.mp4");
    let before = std::fs::read(&enc).unwrap();
    ws.write_manifest(&Manifest::small().video_field("144p", "bitrate", "180k").yaml());
    let out = run_with(&ws, &fake, "truncate").assert_code(BUILD_FAILED);
    assert!(error_of(&out, &format!("encode:{SRC}:144p")).contains("is truncated"));
    assert_eq!(std::fs::read(&enc).unwrap(), before, "the previous encode must stay in place");
    let plan = ws.plan_ok();
    let why = reason(&plan, &format!("encode:{SRC}:144p"));
    assert!(why.starts_with("params changed"), "the old record must stay: {why}");
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
}

#[test]
fn an_unreadable_playlist_is_named_in_words() {
    let (ws, fake) = setup();
    let out = run_with(&ws, &fake, "emptyplaylist").assert_code(BUILD_FAILED);
    let err = error_of(&out, &format!("hls:{SRC}"));
    assert!(err.contains("144p/index.m3u8") && err.contains("is empty (0 bytes)"), "{err}");
    assert!(!err.contains("Error("), "raw parser error: {err}");
    assert!(!ws.path("out/media/clip/hls").exists(), "a broken package was placed");
    assert_eq!(reason(&ws.plan_ok(), &format!("hls:{SRC}")), "new");
}

#[test]
fn stale_temporaries_are_removed_by_a_run_with_nothing_to_do() {
    let (ws, _) = setup();
    ws.run_ok();
    let stale = [
        ".vodbuild/pipeline.yaml/work/media/clip/.144p.mp4.tmp-999999-0",
        "out/media/clip/.thumbnails.tmp-999999-3/thumb_00001.jpg",
        "out/media/clip/.hls.old-999999/master.m3u8",
        "out/media/clip/.metadata.json.tmp-999999-7",
    ];
    let kept = ["out/media/clip/.hls.tmp-x-1", "out/media/clip/notes.tmp-1-2", "media/.clip.mp4.tmp-999999-0"];
    for f in stale.iter().chain(&kept) {
        ws.write(f, "partial");
    }
    let run = ws.run_ok();
    assert!(executed(&run).is_empty(), "nothing should run: {run:#}");
    for f in stale {
        // The temporary itself (a file, or the folder holding the file).
        let parts: Vec<&str> = f.split('/').collect();
        let n = parts.iter().position(|p| p.contains(".tmp-") || p.contains(".old-")).unwrap();
        let top = parts[..=n].join("/");
        assert!(!ws.path(&top).exists(), "{top} survived the run");
    }
    for f in kept {
        assert!(ws.path(f).exists(), "{f} is not vodbuild's and must stay");
    }
    // That run swept and executed nothing: the next one may skip the sweep.
    let mark = ".vodbuild/pipeline.yaml/no-temporaries";
    assert!(ws.path(mark).exists());
    // As if a run had been killed: no mark, and a temporary outside what `--only` selects.
    std::fs::remove_file(ws.path(mark)).unwrap();
    let planted = "out/media/clip/.metadata.json.tmp-999999-8";
    ws.write(planted, "partial");
    ws.vodbuild(&["run", "pipeline.yaml", "--only", &format!("probe:{SRC}")]).success();
    assert!(ws.path(planted).exists(), "a selection sweeps only its own folders");
    assert!(!ws.path(mark).exists(), "a selective run marked folders it did not sweep");
    let all = ws.run_ok();
    assert!(executed(&all).is_empty(), "{all:#}");
    assert!(!ws.path(planted).exists(), "the next whole run did not sweep");
    assert!(ws.path(mark).exists());
}

#[test]
fn verify_names_empty_segments_and_an_mpd_without_representations() {
    let (ws, _) = setup();
    ws.run_ok();
    std::fs::write(ws.path("out/media/clip/hls/144p/seg_00000.m4s"), "").unwrap();
    std::fs::write(ws.path("out/media/clip/dash/chunk-0-00001.m4s"), "").unwrap();
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    let text = format!("{}{}", out.stdout, out.stderr);
    for f in ["hls/144p/seg_00000.m4s", "dash/chunk-0-00001.m4s"] {
        let line = text.lines().find(|l| l.contains(f)).unwrap_or_else(|| panic!("{f} not named:\n{text}"));
        assert!(line.contains("is empty (0 bytes)"), "{line}");
    }
    let mpd = r#"<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S"><Period/></MPD>"#;
    std::fs::write(ws.path("out/media/clip/dash/manifest.mpd"), mpd).unwrap();
    let out = ws.vodbuild(&["verify", "pipeline.yaml"]).assert_code(VERIFY_FAILED);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("manifest.mpd") && text.contains("the MPD has no representations"), "{text}");
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Result<Mount, String> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Mount(dir.to_path_buf()))
    }

    fn resize(&self, size: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("run mount");
        assert!(st.success(), "remounting {} failed", self.0.display());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_named_and_the_rerun_rebuilds_what_it_damaged() {
    let ws = Workspace::new();
    // Packages of about 0.8 MB each (HLS and DASH) on a 500 kB output file system.
    ws.make_source_with(&format!("{SRC}.mp4"), 2.0, "320x240", 440, true);
    let rung = [
        ("codec", "h264"),
        ("height", "240"),
        ("bitrate", "3M"),
        ("maxrate", "3M"),
        ("bufsize", "3M"),
        ("preset", "ultrafast"),
    ];
    ws.write_manifest(&Manifest::small().video("144p", &rung).yaml());
    let mount = match Mount::tmpfs(&ws.path("out"), "500k") {
        Ok(m) => m,
        Err(e) => {
            println!("skipped: cannot mount a tmpfs for the output folder ({e}); needs root");
            return;
        }
    };
    // One job at a time: a failed job discarding its output frees space, and ffmpeg says
    // nothing when its last writes fail, so a concurrent job could no longer tell.
    let first = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--keep-going", "-j", "1"]).assert_code(BUILD_FAILED);
    let failed = with_status(&first.json(), "failed");
    // Each package alone is larger than the file system: both fail, whatever the order.
    for (id, folder) in [(format!("hls:{SRC}"), "/out/media/clip/hls"), (format!("dash:{SRC}"), "/out/media/clip/dash")]
    {
        let err = error_of(&first, &id);
        assert!(err.starts_with("disk full at ") && err.contains(folder), "{id}: {err}");
    }
    // Nothing failed is recorded: each is still to build.
    let plan = ws.plan_ok();
    for id in &failed {
        assert_eq!(reason(&plan, id), "new", "{id} was recorded despite failing: {plan:#}");
    }

    mount.resize("64m");
    let second = ws.run_ok();
    let rebuilt = executed(&second);
    for id in &failed {
        assert!(rebuilt.contains(id), "{id} was not rebuilt: {second:#}");
    }
    assert!(leftovers(&ws).is_empty(), "temporaries left: {:?}", leftovers(&ws));
    ws.vodbuild(&["verify", "pipeline.yaml"]).success();
    assert_outputs_valid(&ws, SRC, 2.0);
    let third = ws.run_ok();
    assert!(executed(&third).is_empty(), "a third run must have nothing to do: {third:#}");
    drop(mount);
}
