//! Key material never lingers on disk: the AES-128 key file and ffmpeg's key-info file are
//! readable by the packager while it runs, yet a vodbuild killed with SIGKILL at that moment
//! leaves no file holding the key in the temp folder (`TMPDIR`); and a later run removes the
//! `vodbuild-key-*` folders a killed process left, and only those.

use crate::common;

use common::*;
use std::path::Path;
use std::time::Duration;

const KEY: &str = "3f1a9c0e5b7d2468ace0135724681bdf";

fn key_bytes() -> Vec<u8> {
    (0..16).map(|i| u8::from_str_radix(&KEY[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn manifest(ffmpeg: Option<&str>) -> String {
    let aes = "{method: aes-128, key: {env: VB_TEST_KEY}, key_uri: \"https://keys.example/title.key\"}";
    let m = Manifest::small()
        .without_output("thumbnails")
        .without_output("metadata")
        .without_output("dash")
        .output_field("hls", "segment_type", "ts")
        .output_field("hls", "encryption", aes);
    match ffmpeg {
        Some(path) => m.tool("ffmpeg", path).yaml(),
        None => m.yaml(),
    }
}

/// Every file under `dir` (recursively) that holds the key, raw or in hex.
fn holding_the_key(dir: &Path) -> Vec<String> {
    let raw = key_bytes();
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                let hex = String::from_utf8_lossy(&bytes).to_ascii_lowercase().contains(KEY);
                if hex || bytes.windows(16).any(|w| w == raw.as_slice()) {
                    found.push(p.display().to_string());
                }
            }
        }
    }
    found
}

fn kill(pid: i32) {
    // SAFETY: a plain signal to a process this test started (through vodbuild).
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

#[test]
fn sigkill_while_packaging_leaves_no_key_on_disk_and_later_runs_sweep_old_folders() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "320x180");
    let tmp = ws.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // ffmpeg, except the packaging: it says where its key-info file is, then waits.
    let ffmpeg = which("ffmpeg");
    let marker = ws.path("packaging.txt");
    let script = format!(
        "#!/bin/sh\nprev=\nfor a in \"$@\"; do\n  if [ \"$prev\" = -hls_key_info_file ]; then\n    \
         echo \"$$ $a\" > {m}.part && mv {m}.part {m}\n    exec sleep 600\n  fi\n  prev=\"$a\"\ndone\nexec {ff} \"$@\"\n",
        m = marker.display(),
        ff = ffmpeg.display()
    );
    write_executable(&ws.path("waiting-ffmpeg"), &script);
    ws.write_manifest(&manifest(Some("./waiting-ffmpeg")));
    let tmp_s = tmp.to_string_lossy().into_owned();
    let env = [("VB_TEST_KEY", KEY), ("TMPDIR", tmp_s.as_str())];
    let mut child = ws.spawn_env(&["run", "pipeline.yaml"], &env);
    let appeared = wait::until(TIMEOUT, Duration::from_millis(50), || marker.exists());
    if !appeared {
        let _ = child.kill();
        panic!("the packager never started:\n{}", wait_output(child, &["run"], TIMEOUT).describe());
    }
    let line = ws.read("packaging.txt");
    let (pid, info_path) = line.trim().split_once(' ').unwrap();
    // While the packager runs, its key-info file and the key file it names can be read.
    let info = std::fs::read_to_string(info_path).unwrap();
    let key_file = info.lines().nth(1).unwrap();
    assert!(info.starts_with("https://keys.example/title.key\n"), "{info}");
    assert_eq!(std::fs::read(key_file).unwrap(), key_bytes(), "the key file the packager reads");

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    kill(pid.parse().unwrap());
    assert_eq!(holding_the_key(&tmp), Vec::<String>::new(), "key material left in TMPDIR");
    assert!(std::fs::read(key_file).ok() != Some(key_bytes()), "{key_file} still holds the key");
    let folders: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(folders.iter().all(|f| !f.to_string_lossy().starts_with("vodbuild-key-")), "{folders:?}");

    // Folders an older version (or the fallback) left when killed: removed by the next run,
    // unless their process lives; other names are never touched.
    let dead = {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    };
    let stale = format!("vodbuild-key-{dead}-18f3a2b9c-0");
    let live = format!("vodbuild-key-{}-18f3a2b9c-0", std::process::id());
    for d in [&stale, &live, &"vodbuild-key-notes".to_string()] {
        ws.write(&format!("tmp/{d}/content.key"), key_bytes());
    }
    ws.write_manifest(&manifest(None));
    let run = ws.vodbuild_env(&["run", "pipeline.yaml"], &env);
    assert_eq!(run.code, 0, "{}", run.describe());
    assert!(!tmp.join(&stale).exists(), "the stale key folder survived the run");
    assert!(tmp.join(&live).exists() && tmp.join("vodbuild-key-notes").exists(), "not vodbuild's to remove");
    assert_eq!(holding_the_key(&tmp).len(), 2, "only the two folders that are not stale");
}
