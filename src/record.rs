//! What is recorded about finished work, below both the local state ([`crate::state`]) and
//! the remote state ([`crate::storage::remote_state`]): step records, the files they list,
//! the stat cache entry of a source, and the [`RecordSink`] a second home for the records
//! implements. Neither store imports the other: state writes through the trait.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    pub params: Value,
    pub tool: ToolRef,
    pub inputs: Vec<Input>,
    pub outputs: Vec<OutputFile>,
    pub finished_unix: u64,
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
