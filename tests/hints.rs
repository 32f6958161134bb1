//! A hint names a command that exists and does what the hint says: with an unreadable state,
//! the error's hint names `vodbuild clean FILE --keep-outputs`; run as shown (FILE being the
//! manifest), it removes the state, keeps the outputs, and vodbuild works again.

use crate::common;

use common::*;
use vodbuild::exit_codes::{BUILD_FAILED, SUCCESS};

#[test]
fn the_unreadable_state_hint_names_a_command_that_recovers() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "320x180");
    ws.write_manifest(SMALL);
    ws.run_ok();
    let outputs = ws.files_under("out");
    assert!(!outputs.is_empty(), "the first run wrote no outputs");
    ws.write(".vodbuild/pipeline.yaml/state.json", "{not json");

    let out = ws.vodbuild(&["plan", "pipeline.yaml"]);
    assert_eq!(out.code, BUILD_FAILED, "an unreadable state\n{}", out.describe());
    let hint = out
        .stderr
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|c| c.starts_with("vodbuild "))
        .unwrap_or_else(|| panic!("the error names no vodbuild command\n{}", out.describe()))
        .to_string();
    let args: Vec<&str> =
        hint.split_whitespace().skip(1).map(|a| if a == "FILE" { "pipeline.yaml" } else { a }).collect();
    let fixed = ws.vodbuild(&args);
    assert_eq!(fixed.code, SUCCESS, "the hint's command `{hint}` failed\n{}", fixed.describe());
    assert_eq!(ws.files_under("out"), outputs, "`{hint}` promised to keep the outputs");
    assert!(!ws.path(".vodbuild/pipeline.yaml/state.json").exists(), "`{hint}` left the state");
    ws.plan_ok();
}
