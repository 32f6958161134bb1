//! Temporaries never outlive a run: every run (even one with nothing to do) first removes
//! what killed runs left in the folders its steps write to: `.NAME.tmp-ID` outputs being
//! written (ID: 16 hex digits naming the job, see [`super::job`]; `.NAME.tmp-PID-N` from older
//! versions) and `.NAME.old-PID` folders being swapped out ([`super::place`]). Only that naming pattern, only in those folders (the per-source
//! output and work folders), and one `read_dir` per folder: no walk of the catalog.
//!
//! A run over the whole manifest (no `--only`, no `--shard`: a selection sweeps only its own
//! folders) that ends normally having executed nothing leaves a mark in the state folder
//! ([`CLEAN_MARK`]): no temporary can exist since, so the next run skips the sweep (20,000
//! folder reads in a 10,000-title catalog). Every run removes the mark before it writes
//! anything, so a killed run, or one that ran jobs, leaves the next run to sweep.

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;

use crate::dag::StepGraph;

/// The mark of a workspace with no temporaries (see the module's text).
pub const CLEAN_MARK: &str = "no-temporaries";

/// Takes the mark away (before this run writes anything); true when there was none, so
/// this run must sweep.
pub fn take_clean_mark(state_dir: &Path) -> bool {
    std::fs::remove_file(state_dir.join(CLEAN_MARK)).is_err()
}

/// Leaves the mark: call only after a run that ended normally and executed nothing.
pub fn put_clean_mark(state_dir: &Path) {
    if let Err(e) = std::fs::write(state_dir.join(CLEAN_MARK), b"") {
        tracing::debug!(error = %e, "could not leave the no-temporaries mark (the next run sweeps)");
    }
}

/// Removes stale temporaries beside the selected steps' local outputs; returns how many.
/// Only in folders inside one of `roots` (the output folder, the workspace) and reached
/// without a symlink that leads out of it ([`crate::confine`]).
pub fn remove_stale_temporaries(sg: &StepGraph, selected: &[bool], roots: &[&Path]) -> usize {
    // Borrowed and hashed (not copied and ordered: comparing paths component by component
    // was most of this function's time on a catalog's no-op run, callgrind).
    let folders: HashSet<&Path> =
        sg.g.node_indices()
            .filter(|n| selected.get(n.index()).copied().unwrap_or(false))
            .filter_map(|n| sg.g[n].output.local()?.parent())
            .collect();
    let folders: Vec<&Path> = folders.into_iter().collect();
    // One read_dir per folder, on all cores: a catalog has two folders per source.
    folders.par_iter().map(|d| sweep(d, roots)).sum()
}

/// Whether deleting in `dir` stays inside one of `roots` (checked only once a leftover is
/// found, so a run with nothing to sweep costs one `read_dir` per folder and nothing more).
fn confined(dir: &Path, roots: &[&Path]) -> bool {
    match crate::confine::root_of(roots, dir).map(|r| crate::confine::check_delete(r, &dir.join(".tmp"))) {
        Some(Ok(())) => true,
        Some(Err(e)) => {
            tracing::warn!("not sweeping temporaries: {e}");
            false
        }
        None => false,
    }
}

fn sweep(dir: &Path, roots: &[&Path]) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    let mut allowed = None;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(owner) = name.to_str().and_then(leftover) else { continue };
        if owner == Owner::Pid(std::process::id()) || !*allowed.get_or_insert_with(|| confined(dir, roots)) {
            continue;
        }
        let path = e.path();
        let gone = match e.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        match gone {
            Ok(()) => {
                tracing::debug!(path = %path.display(), "removed a stale temporary");
                removed += 1;
            }
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale temporary"),
        }
    }
    removed
}

/// Who left a temporary: a job (by id) or a process (by pid).
#[derive(Debug, PartialEq, Eq)]
enum Owner {
    Job,
    Pid(u32),
}

/// Whether `name` is a vodbuild temporary: `.NAME.tmp-ID` (16 hex digits), `.NAME.tmp-PID-N`
/// or `.NAME.old-PID`.
fn leftover(name: &str) -> Option<Owner> {
    let rest = name.strip_prefix('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(i) = rest.rfind(".tmp-").filter(|i| *i > 0) {
        let tail = &rest[i + 5..];
        if tail.len() == 16 && tail.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Some(Owner::Job);
        }
        let (pid, n) = tail.split_once('-')?;
        return digits(n).then(|| pid.parse().ok().map(Owner::Pid)).flatten();
    }
    let i = rest.rfind(".old-").filter(|i| *i > 0)?;
    rest[i + 5..].parse().ok().map(Owner::Pid)
}

#[cfg(test)]
mod tests {
    use super::{Owner, leftover};

    #[test]
    fn only_vodbuild_temporaries_match() {
        assert_eq!(leftover(".720p.mp4.tmp-123-4"), Some(Owner::Pid(123)));
        assert_eq!(leftover(".thumbnails.tmp-9-0"), Some(Owner::Pid(9)));
        assert_eq!(leftover(".hls.old-77"), Some(Owner::Pid(77)));
        assert_eq!(leftover(".hls.tmp-0123456789abcdef"), Some(Owner::Job));
        for other in [
            "720p.mp4",
            ".720p.mp4",
            "a.tmp-1-2",
            ".tmp-1-2",
            ".x.tmp-1-",
            ".x.tmp-a-1",
            ".x.old-",
            ".x.old-1a",
            ".x.tmp-0123456789ABCDEF",
            ".x.tmp-0123456789abcde",
            ".tmp-0123456789abcdef",
        ] {
            assert_eq!(leftover(other), None, "{other}");
        }
    }
}
