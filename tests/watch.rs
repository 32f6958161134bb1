//! `vodbuild watch`: a drop folder. Watch starts on a catalog of one title (build 1); a
//! second file is then copied into the folder slowly, in chunks, as an upload would be; it
//! is built exactly once, complete (never half-copied), in one more build; SIGINT ends
//! watch with 130. Builds are counted from `--report` (one JSON line per build).

use crate::common;

use std::io::Write;
use std::time::Duration;

use common::{Manifest, Workspace};
use serde_json::Value;
use vodbuild::exit_codes::INTERRUPTED;

/// The report lines so far (builds finished).
fn builds(ws: &Workspace) -> Vec<Value> {
    let text = std::fs::read_to_string(ws.path("builds.jsonl")).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// Waits (bounded) until `done` holds for the report lines.
fn wait_for(ws: &Workspace, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let ok = common::wait::poll(Duration::from_secs(120), Duration::from_millis(100), || {
        let b = builds(ws);
        done(&b).then_some(())
    });
    let b = builds(ws);
    assert!(ok.is_some(), "watch: {what} never happened; builds so far: {b:#?}");
    b
}

/// Steps of `source` with `status` in one build's report.
fn steps_of(build: &Value, source: &str, status: &str) -> usize {
    build["steps"].as_array().unwrap().iter().filter(|s| s["source"] == source && s["status"] == status).count()
}

#[test]
fn a_file_copied_slowly_into_the_drop_folder_is_built_once_complete() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    let upload = std::fs::read(ws.make_source("staging/b.mp4", 2.0, "160x90")).unwrap();
    ws.write_manifest(&Manifest::small().yaml());
    let mut child = ws.spawn(&["watch", "pipeline.yaml", "--settle", "2", "--report", "builds.jsonl", "-q"]);

    let first = wait_for(&ws, "the first build", |b| !b.is_empty());
    assert_eq!(first.len(), 1);
    assert!(steps_of(&first[0], "media/a", "executed") > 0, "{:#}", first[0]);

    // The upload: 8 chunks, 100 ms apart (well inside --settle 2).
    let mut f = std::fs::File::create(ws.path("media/b.mp4")).unwrap();
    for chunk in upload.chunks(upload.len().div_ceil(8)) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(f);

    let all = wait_for(&ws, "a build of media/b", |b| b.iter().any(|r| steps_of(r, "media/b", "executed") > 0));
    // Give a spurious extra build (of its own outputs, or of the upload twice) time to show.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = common::wait::exit_or_kill(&mut child, Duration::from_secs(15), Duration::from_millis(20));
    assert_eq!(status.and_then(|s| s.code()), Some(INTERRUPTED), "watch did not end with 130 on SIGINT");

    let all_now = builds(&ws);
    assert_eq!(all_now.len(), 2, "expected exactly two builds (start, upload): {all_now:#?}");
    assert_eq!(all.len(), 2);
    let b = &all_now[1];
    assert_eq!(b["failed"], 0, "the upload's build failed (a half-copied file?): {b:#}");
    assert_eq!(steps_of(&all_now[0], "media/b", "executed"), 0, "{:#}", all_now[0]);
    assert_eq!(steps_of(b, "media/a", "executed"), 0, "the first title was rebuilt: {b:#}");
    assert!(ws.path("out/media/b/hls/master.m3u8").is_file());
    // The package is of the whole upload: its duration is the source's.
    common::assert_outputs_valid(&ws, "media/b", 2.0);
}
