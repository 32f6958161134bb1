//! Batch files: what `sbatch` is given. No shell: the first line makes the vodbuild binary
//! the interpreter (`#!/path/vodbuild slurm-task`), so the node runs `vodbuild slurm-task
//! COPY_OF_THIS_FILE`; the second line is JSON naming the workspace root, the run folder and
//! the task folders (one per array index, `SLURM_ARRAY_TASK_ID` picks it). No manifest text,
//! no path goes through a shell.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The hidden subcommand a batch file runs.
pub const SUBCOMMAND: &str = "slurm-task";
/// Most bytes of a batch file read.
const MAX_BATCH: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub root: PathBuf,
    pub run_dir: PathBuf,
    /// Task folders, relative to `run_dir` (`jobs/ID/aN`).
    pub tasks: Vec<String>,
}

/// The task folder's files.
pub const SPEC: &str = "spec.json";
pub const RESULT: &str = "result.json";

impl Batch {
    pub fn write(&self, path: &Path, exe: &Path) -> Result<(), String> {
        let text = format!("#!{} {SUBCOMMAND}\n{}\n", exe.display(), serde_json::to_string(self).expect("json"));
        std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
    }

    pub fn read(path: &Path) -> Result<Batch, String> {
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_BATCH).read_to_string(&mut text))
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let json = text.split_once('\n').map(|(_, rest)| rest).unwrap_or("");
        serde_json::from_str(json.trim()).map_err(|e| format!("{}: not a vodbuild batch file: {e}", path.display()))
    }

    /// The task folder of array index `index` (none: a single job, which has one task).
    pub fn task(&self, index: Option<&str>) -> Result<PathBuf, String> {
        let i = match index {
            Some(i) => i.trim().parse::<usize>().map_err(|_| format!("SLURM_ARRAY_TASK_ID `{i}` is not a number"))?,
            None if self.tasks.len() == 1 => 0,
            None => return Err("SLURM_ARRAY_TASK_ID is not set for an array batch".into()),
        };
        let rel = self.tasks.get(i).ok_or_else(|| format!("no task {i} in a batch of {}", self.tasks.len()))?;
        if Path::new(rel).components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            return Err(format!("task folder `{rel}` is not inside the run folder"));
        }
        Ok(self.run_dir.join(rel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_file_names_its_interpreter_and_its_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let b = Batch {
            root: "/w".into(),
            run_dir: "/w/.vodbuild/m/slurm/r".into(),
            tasks: vec!["jobs/a/a1".into(), "jobs/b/a2".into()],
        };
        let path = dir.path().join("batch-1");
        b.write(&path, Path::new("/usr/bin/vodbuild")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("#!/usr/bin/vodbuild slurm-task\n{"), "{text}");
        let back = Batch::read(&path).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.task(Some("1")).unwrap(), Path::new("/w/.vodbuild/m/slurm/r/jobs/b/a2"));
        assert!(back.task(None).is_err(), "an array needs its index");
        assert!(back.task(Some("2")).is_err());
        let bad = Batch { tasks: vec!["../../etc".into()], ..b };
        assert!(bad.task(None).is_err());
    }
}
