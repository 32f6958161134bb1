//! One command's use of Slurm ([`Session`]): the run id every job is named by, the run
//! folder under the workspace (`.vodbuild/MANIFEST/slurm/RUN_ID/`: job folders, batch files,
//! logs), the settings from `executor:`, the command [`Runner`] and the counters of the run
//! report. The probe run and
//! the main run of one `vodbuild run` share it. Nothing of it enters a key or the state.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::command::Runner;
use super::status;
use crate::exec::report::ExecutorReport;
use crate::manifest::executor::ExecutorSpec;

/// Longest vodbuild path a batch file's `#!` line may name (the kernel reads 256 bytes).
const MAX_SHEBANG_PATH: usize = 200;

pub struct Session {
    /// Every job's `--job-name`: one `squeue --name` call sees the whole run.
    pub run_id: String,
    /// The workspace root (the same path on every node).
    pub root: PathBuf,
    /// This run's folder.
    pub dir: PathBuf,
    /// The vodbuild binary the nodes run (this one: the path must be the same on every node).
    pub exe: PathBuf,
    pub spec: ExecutorSpec,
    pub runner: Box<dyn Runner>,
    pub stats: Mutex<ExecutorReport>,
    max_array: OnceLock<usize>,
    batches: Mutex<usize>,
}

impl Session {
    /// A session for the workspace whose state lives in `state_dir`.
    pub fn new(spec: ExecutorSpec, root: &Path, state_dir: &Path, runner: Box<dyn Runner>) -> Result<Session, String> {
        let exe = std::env::current_exe().map_err(|e| format!("locating the vodbuild binary: {e}"))?;
        Session::with_exe(spec, root, state_dir, runner, exe)
    }

    pub fn with_exe(
        spec: ExecutorSpec,
        root: &Path,
        state_dir: &Path,
        runner: Box<dyn Runner>,
        exe: PathBuf,
    ) -> Result<Session, String> {
        check_exe(&exe)?;
        let run_id = run_id(root);
        let dir = state_dir.join("slurm").join(&run_id);
        std::fs::create_dir_all(dir.join("logs")).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let stats = Mutex::new(ExecutorReport { kind: "slurm", ..ExecutorReport::default() });
        Ok(Session {
            run_id,
            root: root.to_path_buf(),
            dir,
            exe,
            spec,
            runner,
            stats,
            max_array: OnceLock::new(),
            batches: Mutex::new(0),
        })
    }

    /// The report's `executor` object so far.
    pub fn report(&self) -> ExecutorReport {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn count(&self, f: impl FnOnce(&mut ExecutorReport)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    /// How many tasks one array may hold (`MaxArraySize` of `scontrol show config`, read
    /// once; 0 when arrays are off).
    pub fn max_array(&self) -> usize {
        *self.max_array.get_or_init(|| {
            let out = self.runner.run("scontrol", &["show".into(), "config".into()]);
            match out.check("scontrol show config") {
                Ok(text) => status::max_array_size(&text),
                Err(e) => {
                    tracing::warn!("{e}; submitting single jobs");
                    0
                }
            }
        })
    }

    /// A new batch file's path in the run folder.
    pub fn next_batch(&self) -> PathBuf {
        let mut n = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        self.dir.join(format!("batch-{n}"))
    }

    /// Removes what successful jobs left (batch files, empty folders); the job folders and
    /// logs of failed jobs stay.
    pub fn finish(&self) {
        let n = *self.batches.lock().unwrap_or_else(|e| e.into_inner());
        (1..=n).for_each(|i| {
            let _ = std::fs::remove_file(self.dir.join(format!("batch-{i}")));
        });
        for d in [self.dir.join("jobs"), self.dir.join("logs"), self.dir.clone()] {
            let _ = std::fs::remove_dir(d);
        }
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// `vodbuild-` and 12 hex digits: unique per command (time, pid, workspace).
fn run_id(root: &Path) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seed = format!("{}\n{}\n{}", now.as_nanos(), std::process::id(), root.display());
    format!("vodbuild-{}", &blake3::hash(seed.as_bytes()).to_hex()[..12])
}

/// The binary must be usable as a `#!` interpreter: an absolute path without whitespace.
fn check_exe(exe: &Path) -> Result<(), String> {
    let text = exe.to_string_lossy();
    if !exe.is_absolute() || text.len() > MAX_SHEBANG_PATH || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "the vodbuild binary at {text} cannot start Slurm jobs: its path must be absolute, without \
             spaces, and at most {MAX_SHEBANG_PATH} bytes (install it at a plain path such as /usr/local/bin/vodbuild)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_binary_paths_become_interpreters() {
        assert!(check_exe(Path::new("/usr/local/bin/vodbuild")).is_ok());
        assert!(check_exe(Path::new("/opt/my tools/vodbuild")).is_err());
        assert!(check_exe(Path::new("vodbuild")).is_err());
        assert!(check_exe(&PathBuf::from(format!("/{}", "a".repeat(300)))).is_err());
    }

    #[test]
    fn run_ids_differ() {
        let (a, b) = (run_id(Path::new("/w")), run_id(Path::new("/w")));
        assert_ne!(a, b);
        assert!(a.starts_with("vodbuild-") && a.len() == 21);
    }
}
