//! What `plan` and `status` say about sources deleted after publishing: a line (or a JSON
//! row) each, "source removed after publish"; nothing is planned for them.

use std::fmt::Write;

use serde_json::{Value, json};

use super::{REMOVED, removed_in};
use crate::manifest::Manifest;
use crate::state::State;

/// `plan`: one line per removed source, after the steps.
pub fn plan_lines(m: &Manifest, state: &State, width: usize, out: &mut String) {
    for (_, r) in removed_in(m, state) {
        let _ = writeln!(out, "{:width$}  {REMOVED}", r.id);
    }
}

/// `plan --json`: `"removed": [{"id", "path", "reason"}]` when there are any.
pub fn plan_json(m: &Manifest, state: &State, doc: &mut Value) {
    let rows: Vec<Value> =
        removed_in(m, state).iter().map(|(rel, r)| json!({"id": r.id, "path": rel, "reason": REMOVED})).collect();
    if !rows.is_empty() {
        doc["removed"] = Value::Array(rows);
    }
}

/// `status`: `ID: source removed after publish`.
pub fn status_lines(m: &Manifest, state: &State, out: &mut String) {
    for (_, r) in removed_in(m, state) {
        let _ = writeln!(out, "{}: {REMOVED}", r.id);
    }
}

/// `status --json`: a row per removed source, up to date, with `"removed": true`.
pub fn status_json(m: &Manifest, state: &State, doc: &mut Value) {
    let Some(rows) = doc["sources"].as_array_mut() else { return };
    for (rel, r) in removed_in(m, state) {
        rows.push(json!({"id": r.id, "stale": 0, "fresh": 0, "up_to_date": true, "removed": true, "path": rel, "reason": REMOVED}));
    }
}
