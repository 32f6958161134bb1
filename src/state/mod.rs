//! Crash-safe state under `.vodbuild/<manifest file name>/`: a snapshot (`state.json`,
//! replaced atomically; one JSON document with a step record per line, read on all cores,
//! see [`snapshot`]) plus an append-only journal (`journal.jsonl`, one fsynced line per finished step). Loading
//! replays the journal over the snapshot and ignores a torn last line, so a crash at any
//! instant loses at most the step that was being recorded — and a step is recorded only
//! after its outputs were renamed into place. Files here are never opened through a symlink.
//!
//! The last run's failed steps are kept beside the state ([`failed`]).
//!
//! The records themselves are defined in [`crate::record`] (re-exported here); a remote copy
//! (remote state) is written through [`RecordSink`], so state knows no storage backend.

pub mod failed;
pub mod lock;
mod snapshot;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::hash::FileStat;
pub use crate::record::{OutputFile, RecordSink, RemovedSource, SourceEntry, StepRecord, ToolRef};
use crate::tools::ToolCache;

const FORMAT: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub steps: BTreeMap<String, StepRecord>,
    pub sources: BTreeMap<String, SourceEntry>,
    pub tools: ToolCache,
    /// Publish steps whose objects this workspace has seen in the backend (it uploaded or
    /// listed them), by the key they were seen for. Local only: a record that arrives through
    /// remote state is checked against the backend before it is trusted.
    #[serde(default)]
    pub verified: BTreeMap<String, String>,
    /// Sources deleted after publishing, by their path as `sources` records it
    /// (see [`crate::lifecycle`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub removed: BTreeMap<String, RemovedSource>,
}

/// One journal line, `{"op":"step","id":..,"rec":{..}}`. A plain struct, not an internally
/// tagged enum: serde buffers a tagged enum's fields, which a record's unparsed params
/// ([`crate::record::RecordedParams`]) cannot be read from.
#[derive(Serialize, Deserialize)]
struct JournalLine {
    op: JournalOp,
    id: String,
    rec: StepRecord,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JournalOp {
    Step,
}

pub struct State {
    dir: PathBuf,
    pub data: Snapshot,
    journal: Option<File>,
    /// Where records are also kept (remote state in object storage, one object per step).
    remote: Option<Box<dyn RecordSink>>,
    /// Something not yet in the snapshot (journal lines, cache updates).
    dirty: bool,
}

impl State {
    /// Reads the snapshot and replays the journal. A missing state is an empty one.
    pub fn load(dir: &Path) -> Result<State> {
        let snap_path = dir.join("state.json");
        let read = File::open(&snap_path).map_err(snapshot::Failure::Io).and_then(|mut f| snapshot::read(&mut f));
        let mut data = match read {
            Ok(snap) => snap,
            Err(snapshot::Failure::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Snapshot { format: FORMAT, ..Default::default() }
            }
            Err(snapshot::Failure::Io(e)) => return Err(Error::io(format!("reading {}", snap_path.display()), e)),
            Err(snapshot::Failure::Json(e)) => {
                return Err(Error::State { path: snap_path, message: e.to_string() });
            }
        };
        if data.format != FORMAT {
            return Err(Error::State { path: snap_path, message: format!("format {} is not {FORMAT}", data.format) });
        }
        let mut dirty = false;
        if let Ok(f) = File::open(dir.join("journal.jsonl")) {
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else { break };
                // A torn last line (crash mid-write) ends the replay.
                let Ok(JournalLine { op: JournalOp::Step, id, rec }) = serde_json::from_str(&line) else { break };
                data.steps.insert(id, rec);
                dirty = true;
            }
        }
        Ok(State { dir: dir.to_path_buf(), data, journal: None, remote: None, dirty })
    }

    /// Records a finished step: appended and fsynced before this returns.
    pub fn record_step(&mut self, id: &str, rec: StepRecord) -> Result<()> {
        if self.journal.is_none() {
            std::fs::create_dir_all(&self.dir).ctx(|| format!("creating {}", self.dir.display()))?;
            let path = self.dir.join("journal.jsonl");
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .ctx(|| format!("opening {}", path.display()))?;
            self.journal = Some(f);
        }
        let line = JournalLine { op: JournalOp::Step, id: id.to_string(), rec };
        let mut bytes = serde_json::to_vec(&line).expect("json");
        bytes.push(b'\n');
        let f = self.journal.as_mut().expect("journal open");
        f.write_all(&bytes).and_then(|_| f.sync_data()).ctx(|| "writing the state journal".into())?;
        let JournalLine { id, rec, .. } = line;
        if let Some(r) = &self.remote
            && let Err(e) = r.put(&id, &rec)
        {
            // The work is done and recorded here; another runner would redo it.
            tracing::warn!(step = %id, error = %e, "could not write the step record to remote state");
        }
        self.data.steps.insert(id, rec);
        self.dirty = true;
        Ok(())
    }

    /// Merges the remote records (newer ones win) and keeps writing there.
    pub fn attach_remote(&mut self, remote: impl RecordSink + 'static) -> Result<(), String> {
        for (id, rec) in remote.load()? {
            let newer = self.data.steps.get(&id).is_none_or(|local| local.finished_unix <= rec.finished_unix);
            if newer {
                self.data.steps.insert(id, rec);
                self.dirty = true;
            }
        }
        self.remote = Some(Box::new(remote));
        Ok(())
    }

    /// Notes that a publish step's objects are in the backend for `key`.
    pub fn mark_verified(&mut self, id: &str, key: &str) {
        if self.data.verified.get(id).map(String::as_str) != Some(key) {
            self.data.verified.insert(id.to_string(), key.to_string());
            self.dirty = true;
        }
    }

    /// Drops a step's record (its outputs were deleted).
    pub fn forget_step(&mut self, id: &str) {
        if self.data.steps.remove(id).is_some() {
            self.dirty = true;
        }
    }

    pub fn record_source(&mut self, rel: &str, entry: SourceEntry) {
        if self.data.sources.get(rel) != Some(&entry) {
            self.data.sources.insert(rel.to_string(), entry);
            self.dirty = true;
        }
    }

    /// Refreshes the stat of outputs whose content was re-hashed and found unchanged.
    pub fn refresh_output_stats(&mut self, id: &str, stats: &[(String, FileStat)]) {
        if let Some(rec) = self.data.steps.get_mut(id) {
            for (path, stat) in stats {
                if let Some(o) = std::sync::Arc::make_mut(&mut rec.outputs).iter_mut().find(|o| &o.path == path) {
                    o.stat = *stat;
                    self.dirty = true;
                }
            }
        }
    }

    /// Removes `.state.json.tmp-PID` (and older versions' `state.json.tmp-PID`) files of runs killed mid-save (only `run` saves, under the
    /// workspace lock, so none is live).
    fn remove_stale_snapshots(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("state.json.tmp-") || name.starts_with(".state.json.tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Writes the snapshot atomically (temp file, fsync, rename, fsync folder) and empties
    /// the journal. Does nothing when nothing changed, so a no-op run writes nothing.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).ctx(|| format!("creating {}", self.dir.display()))?;
        let final_path = self.dir.join("state.json");
        crate::atomic::write_with(&final_path, |w| snapshot::write(&self.data, w))
            .ctx(|| format!("writing {}", final_path.display()))?;
        self.remove_stale_snapshots();
        // The snapshot now holds every journal line: start a new journal.
        self.journal = None;
        let journal = self.dir.join("journal.jsonl");
        match std::fs::remove_file(&journal) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io(format!("removing {}", journal.display()), e));
            }
            _ => {}
        }
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::StepKind;
    use serde_json::json;

    fn rec(key: &str) -> StepRecord {
        StepRecord {
            key: key.into(),
            kind: StepKind::Probe,
            recipe: 1,
            params: crate::record::RecordedParams::of(&json!({})),
            tool: ToolRef { name: "ffprobe".into(), version: "1".into(), digest: "d".into() },
            inputs: vec![],
            outputs: Default::default(),
            finished_unix: 0,
        }
    }

    #[test]
    fn journal_survives_without_save_and_torn_lines_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = State::load(dir.path()).unwrap();
        s.record_step("a", rec("k1")).unwrap();
        s.record_step("b", rec("k2")).unwrap();
        drop(s); // "crash": no save
        let mut f = OpenOptions::new().append(true).open(dir.path().join("journal.jsonl")).unwrap();
        f.write_all(b"{\"op\":\"step\",\"id\":\"c\",\"rec\":{\"key\"").unwrap();
        let mut s = State::load(dir.path()).unwrap();
        assert_eq!(s.data.steps["a"].key, "k1");
        assert_eq!(s.data.steps["b"].key, "k2");
        assert!(!s.data.steps.contains_key("c"));
        s.save().unwrap();
        assert!(!dir.path().join("journal.jsonl").exists());
        let s = State::load(dir.path()).unwrap();
        assert_eq!(s.data.steps.len(), 2);
    }
}
