//! Temporaries never outlive a run: every run (even one with nothing to do) first removes
//! what killed runs left in the folders its steps write to: `.NAME.tmp-PID-N` outputs being
//! written ([`super::job::temp_for`]) and `.NAME.old-PID` folders being swapped out
//! ([`super::place`]). Only that naming pattern, only in those folders (the per-source
//! output and work folders), and one `read_dir` per folder: no walk of the catalog.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::graph::StepGraph;

/// Removes stale temporaries beside the selected steps' local outputs; returns how many.
pub fn remove_stale_temporaries(sg: &StepGraph, selected: &[bool]) -> usize {
    let folders: BTreeSet<PathBuf> =
        sg.g.node_indices()
            .filter(|n| selected.get(n.index()).copied().unwrap_or(false))
            .filter_map(|n| sg.g[n].output.local()?.parent().map(Path::to_path_buf))
            .collect();
    folders.iter().map(|d| sweep(d)).sum()
}

fn sweep(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(leftover_pid) else { continue };
        if pid == std::process::id() {
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

/// The pid in a vodbuild temporary's name: `.NAME.tmp-PID-N` or `.NAME.old-PID`.
fn leftover_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    if let Some(i) = rest.rfind(".tmp-") {
        let (pid, n) = rest[i + 5..].split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        return (i > 0 && digits(n)).then(|| pid.parse().ok()).flatten();
    }
    let i = rest.rfind(".old-")?;
    (i > 0).then(|| rest[i + 5..].parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::leftover_pid;

    #[test]
    fn only_vodbuild_temporaries_match() {
        assert_eq!(leftover_pid(".720p.mp4.tmp-123-4"), Some(123));
        assert_eq!(leftover_pid(".thumbnails.tmp-9-0"), Some(9));
        assert_eq!(leftover_pid(".hls.old-77"), Some(77));
        for other in
            ["720p.mp4", ".720p.mp4", "a.tmp-1-2", ".tmp-1-2", ".x.tmp-1-", ".x.tmp-a-1", ".x.old-", ".x.old-1a"]
        {
            assert_eq!(leftover_pid(other), None, "{other}");
        }
    }
}
