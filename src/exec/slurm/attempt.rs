//! One attempt of a job on Slurm: its folder (`jobs/JOB_ID/aN/`: `spec.json`, and
//! `result.json` once the node wrote it; N counts every attempt of the job in the run, Slurm
//! retries and the builder's alike, and a folder is never reused), its spec with per-attempt
//! temporaries (attempt N > 1 writes `.NAME.tmp-ID'`, ID' a digest of the run id, the job id
//! and N, so a retry never shares a temporary with an orphan of the failed attempt still
//! running), the result read back, the
//! outputs' digests checked on the coordinator before anything is placed, and a log's tail
//! (in an error's [`CLUSTER_DETAILS`], which the stored failed list leaves out).

use std::path::{Path, PathBuf};

use super::batch::{RESULT, SPEC};
use crate::exec::place;
use crate::job::{JobResult, JobSpec};

/// Most bytes of a job log quoted in a step's error.
pub const LOG_TAIL: usize = 2000;

/// Starts the part of a Slurm job's error that names the cluster (job id, node, log path and
/// tail): shown in the log and the run report, cut off before the error is kept in the state
/// folder's failed list ([`without_cluster_details`]).
pub const CLUSTER_DETAILS: &str = "\n[Slurm] ";

/// `error` without its [`CLUSTER_DETAILS`] part.
pub fn without_cluster_details(error: &str) -> &str {
    error.split_once(CLUSTER_DETAILS).map_or(error, |(stable, _)| stable)
}

/// `jobs/JOB_ID/aN`, relative to the run folder.
pub fn rel_dir(spec_id: &str, attempt: u32) -> String {
    format!("jobs/{spec_id}/a{attempt}")
}

/// The spec attempt `attempt` of run `run_id` runs: the first one as built, later ones with
/// their own temporaries.
pub fn spec_for(spec: &JobSpec, run_id: &str, attempt: u32) -> JobSpec {
    if attempt <= 1 {
        return spec.clone();
    }
    let seed = format!("{}\nattempt {attempt}\nrun {run_id}", spec.id);
    let ours = blake3::hash(seed.as_bytes()).to_hex()[..16].to_string();
    let text =
        serde_json::to_string(spec).expect("json").replace(&format!(".tmp-{}", spec.id), &format!(".tmp-{ours}"));
    serde_json::from_str(&text).expect("a spec with renamed temporaries")
}

/// Writes the attempt's folder and spec. The folder must be new: an existing one (an earlier
/// attempt's `result.json`) is refused, never read as this attempt's.
pub fn prepare(dir: &Path, spec: &JobSpec) -> Result<(), String> {
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    }
    std::fs::create_dir(dir).map_err(|e| format!("creating the attempt folder {}: {e}", dir.display()))?;
    let bytes = serde_json::to_vec_pretty(spec).expect("json");
    crate::exec::run_job::write_atomic(&dir.join(SPEC), &bytes)
}

/// The attempt's result, once the node wrote it (written atomically, so whole or absent).
pub fn result(dir: &Path) -> Option<Result<JobResult, String>> {
    let path = dir.join(RESULT);
    let bytes = std::fs::read(&path).ok()?;
    Some(serde_json::from_slice(&bytes).map_err(|e| format!("{}: not a job result: {e}", path.display())))
}

/// Every output file is what the result says (hashed again here, on the coordinator).
pub fn verify(spec: &JobSpec, root: &Path, result: &JobResult) -> Result<(), String> {
    if spec.remote_outputs.is_some() {
        return Ok(());
    }
    for p in spec.placements(root) {
        let reported = result.outputs.iter().find(|s| s.step == p.step).map(|s| &s.files[..]).unwrap_or(&[]);
        let found = place::digest(&p)?;
        if found != reported {
            return Err(format!("{}: the outputs are not the files the job reported", p.tmp.display()));
        }
    }
    Ok(())
}

/// The last [`LOG_TAIL`] bytes of a log (at a line start when it can). Only that much is
/// read: a job's log can be as large as the job made it.
pub fn log_tail(path: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let read = || -> std::io::Result<(Vec<u8>, bool)> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        // A little more than the tail, so trailing blank lines don't eat it.
        let from = len.saturating_sub(LOG_TAIL as u64 + 1024);
        f.seek(SeekFrom::Start(from))?;
        let mut bytes = Vec::new();
        f.take(LOG_TAIL as u64 + 1024).read_to_end(&mut bytes)?;
        Ok((bytes, from > 0))
    };
    let Ok((bytes, cut)) = read() else { return format!("(no log at {})", path.display()) };
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim_end();
    let tail = crate::state::failed::tail(text, LOG_TAIL);
    let at_line = cut || tail.len() < text.len();
    let tail = if at_line { tail.split_once('\n').map(|(_, r)| r).unwrap_or(tail) } else { tail };
    if tail.is_empty() { "(empty log)".into() } else { tail.to_string() }
}

/// Removes an attempt's folder and log (a job that succeeded).
pub fn remove(dir: &Path, log: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_file(log);
    if let Some(job) = dir.parent() {
        let _ = std::fs::remove_dir(job);
    }
}

/// The attempt folder in the run folder.
pub fn dir(run_dir: &Path, spec_id: &str, attempt: u32) -> PathBuf {
    run_dir.join(rel_dir(spec_id, attempt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_tail_is_its_last_whole_lines_however_large_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("1_0.log");
        let mut text = "x".repeat(80) + "\n";
        text = text.repeat(100_000); // 8 MB
        text.push_str("error: the last line\n\n\n");
        std::fs::write(&log, &text).unwrap();
        let tail = log_tail(&log);
        assert!(tail.len() <= LOG_TAIL && tail.len() > LOG_TAIL - 100, "{}", tail.len());
        assert!(tail.ends_with("error: the last line"), "{tail}");
        assert!(tail.lines().all(|l| l == "x".repeat(80) || l == "error: the last line"), "starts at a line");
        std::fs::write(&log, "short\nlog\n").unwrap();
        assert_eq!(log_tail(&log), "short\nlog");
        assert!(log_tail(&dir.path().join("none")).starts_with("(no log at"));
    }
}
