//! The failed list (a dead-letter list): the steps the last `run` could not build, with the
//! tail of their error and how many attempts they had, in `failed.json` beside the state.
//! `vodbuild status --failed` shows it and `vodbuild run --only @failed` selects exactly its
//! steps. Bounded: at most [`MAX_STEPS`] steps, [`MAX_ERROR`] bytes of error each. Written
//! atomically, only when it changes (a no-op run after a clean one writes nothing); removed
//! when a full run has no failure (a partial run keeps the entries of steps it did not run
//! to success: `cli::failed::record`). Never read through a symlink.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// At most this many steps are listed (the rest are counted in `more`).
pub const MAX_STEPS: usize = 1000;
/// The last bytes of each error that are kept.
pub const MAX_ERROR: usize = 2000;
const FILE: &str = "failed.json";
/// The most bytes read back.
const MAX_FILE: u64 = 8 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedList {
    pub steps: Vec<FailedStep>,
    /// Failed steps beyond [`MAX_STEPS`], not listed.
    #[serde(default)]
    pub more: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedStep {
    pub id: String,
    pub kind: String,
    pub source: String,
    /// The end of the error (a tool's failure ends with its stderr).
    pub error: String,
    pub attempts: u32,
}

impl FailedList {
    /// The list of `steps` (bounded), each error cut to its last [`MAX_ERROR`] bytes.
    pub fn new(steps: impl IntoIterator<Item = FailedStep>) -> Self {
        let mut list = FailedList::default();
        for mut s in steps {
            if list.steps.len() == MAX_STEPS {
                list.more += 1;
                continue;
            }
            s.error = tail(&s.error, MAX_ERROR).to_string();
            list.steps.push(s);
        }
        list
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.more == 0
    }
}

/// The last `max` bytes of `text` (on a character boundary).
pub fn tail(text: &str, max: usize) -> &str {
    let cut = text.len().saturating_sub(max);
    let start = (cut..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
    &text[start..]
}

fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE)
}

/// The last run's list (empty when it had no failure, or no run happened yet).
pub fn load(state_dir: &Path) -> Result<FailedList, String> {
    let p = path(state_dir);
    let f = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FailedList::default()),
        Err(e) => return Err(format!("reading {}: {e}", p.display())),
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE).read_to_end(&mut bytes).map_err(|e| format!("reading {}: {e}", p.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", p.display()))
}

/// Keeps `list` as the last run's, when it differs from the one kept.
pub fn save(state_dir: &Path, list: &FailedList) -> Result<(), String> {
    if load(state_dir).ok().as_ref() == Some(list) {
        return Ok(());
    }
    let p = path(state_dir);
    if list.is_empty() {
        return std::fs::remove_file(&p)
            .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
            .map_err(|e| format!("removing {}: {e}", p.display()));
    }
    std::fs::create_dir_all(state_dir).map_err(|e| format!("creating {}: {e}", state_dir.display()))?;
    crate::atomic::write(&p, &serde_json::to_vec_pretty(list).expect("json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(i: usize, error: &str) -> FailedStep {
        FailedStep { id: format!("s{i}"), kind: "encode".into(), source: "a".into(), error: error.into(), attempts: 1 }
    }

    #[test]
    fn the_list_is_bounded_and_round_trips() {
        let long = format!("head {}é tail", "x".repeat(3 * MAX_ERROR));
        let list = FailedList::new((0..MAX_STEPS + 5).map(|i| step(i, &long)));
        assert_eq!((list.steps.len(), list.more), (MAX_STEPS, 5));
        assert!(list.steps[0].error.len() <= MAX_ERROR && list.steps[0].error.ends_with("é tail"));
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &list).unwrap();
        assert_eq!(load(dir.path()).unwrap(), list);
        save(dir.path(), &FailedList::default()).unwrap();
        assert!(!dir.path().join(FILE).exists(), "a run without failures removes the list");
        assert!(load(dir.path()).unwrap().is_empty());
    }
}
