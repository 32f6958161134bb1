//! What is recorded about finished work, below both the local state ([`crate::state`]) and
//! the remote state ([`crate::storage::remote_state`]): step records, the files they list,
//! the stat cache entry of a source, and the [`RecordSink`] a second home for the records
//! implements. Neither store imports the other: state writes through the trait.

use std::cell::RefCell;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::hash::FileStat;
use crate::key::Input;
use crate::step::StepKind;

/// One file a step produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// Relative to the step's output location (the file name, or a path inside the folder).
    pub path: String,
    pub size: u64,
    pub digest: String,
    pub stat: FileStat,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRef {
    pub name: String,
    pub version: String,
    pub digest: String,
}

/// What was built for a step: enough to decide freshness and explain staleness.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub key: String,
    pub kind: StepKind,
    /// [`crate::kinds::recipe`] of the kind when it ran.
    #[serde(default)]
    pub recipe: u32,
    pub params: RecordedParams,
    pub tool: ToolRef,
    pub inputs: Vec<Input>,
    /// Shared with the run's scheduler, which hands a fresh step's outputs to its consumers.
    pub outputs: Arc<Vec<OutputFile>>,
    pub finished_unix: u64,
}

/// A record's params as their JSON text, unparsed: a run compares them with the step's
/// params as text (both are canonical JSON), so loading a large state builds no JSON tree
/// per record. Text that is not canonical (a hand-edited state) is compared as values.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordedParams(Box<RawValue>);

thread_local! {
    /// Reused by [`RecordedParams::matches`]: one buffer per thread, not one per step.
    static CANONICAL: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl RecordedParams {
    pub fn of(v: &Value) -> RecordedParams {
        RecordedParams(RawValue::from_string(v.to_string()).expect("a JSON value is valid JSON"))
    }

    /// The params as a JSON value (`Null` if the text is not JSON, which loading refuses).
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// Whether the recorded text is `canonical` (the canonical JSON of some params).
    pub fn is_text(&self, canonical: &str) -> bool {
        self.0.get() == canonical
    }

    /// Whether these are `v`: as text when the recorded text is canonical, else as values.
    pub fn matches(&self, v: &Value) -> bool {
        let same_text = CANONICAL.with_borrow_mut(|buf| {
            buf.clear();
            serde_json::to_writer(&mut *buf, v).expect("json");
            buf.as_slice() == self.0.get().as_bytes()
        });
        same_text || self.value() == *v
    }
}

/// Stat cache entry for a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceEntry {
    pub stat: FileStat,
    pub digest: String,
    /// For a remote source: the backend's `etag|size|last-modified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// A source file vodbuild deleted after publishing it (`after_publish: {source: delete}`):
/// kept in the state so the source is "removed after publish", not missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedSource {
    /// Its id when it was deleted.
    pub id: String,
    /// Its content digest (the one every step built from it was keyed by).
    pub digest: String,
    /// Its publish steps: `run --prune` leaves what they published in place.
    pub publish: Vec<String>,
    pub removed_unix: u64,
}

/// A second home for step records (remote state, shared by runners): loaded once when it is
/// attached, then written after each record is journalled locally.
pub trait RecordSink: Send + Sync {
    /// Every record it holds, by step id.
    fn load(&self) -> Result<Vec<(String, StepRecord)>, String>;
    /// Stores one record (replacing the step's previous one).
    fn put(&self, id: &str, rec: &StepRecord) -> Result<(), String>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recorded(text: &str) -> RecordedParams {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn params_match_as_text_and_as_values_when_the_text_is_not_canonical() {
        let v = json!({"codec": "h264", "width": 320, "gop_seconds": 2.0, "ladder": ["a", "b"]});
        assert!(RecordedParams::of(&v).matches(&v));
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        assert!(recorded(&pretty).matches(&v), "a hand-edited (pretty) record is the same params");
        let reordered = r#"{"width":320,"codec":"h264","ladder":["a","b"],"gop_seconds":2.0}"#;
        assert!(recorded(reordered).matches(&v));
        for other in
            [json!({"codec": "h264"}), json!({"codec": "h265", "width": 320, "gop_seconds": 2.0, "ladder": ["a", "b"]})]
        {
            assert!(!RecordedParams::of(&other).matches(&v));
        }
        assert_eq!(RecordedParams::of(&v).value(), v);
    }
}
