//! Submitting: the ready jobs are grouped by what they ask Slurm for (resources, excluded
//! nodes), each group split into arrays of at most `MaxArraySize` (and [`MAX_ARRAY`]) tasks,
//! and each array is ONE `sbatch --parsable` of a batch file ([`super::batch`]). With
//! `max_jobs`, at most that many of the run's tasks run at once: the first array of an idle
//! run carries the `%N` throttle, later ones take only the free slots. A job takes sbatch's
//! environment (`--export=ALL`), and Slurm commands are started with only [`EXPORTED`]
//! variables and Slurm's own (`SLURM_*`, `SBATCH_*`: [`command_env`]): never the
//! coordinator's storage credentials or notify secrets, which Slurm would keep in its job
//! records. Not `--export=NONE` or a name list: with those, sbatch has slurmd load the user's
//! login environment on the node (`su - USER`, running their shell rc files, which can hang).

use std::path::Path;

use super::session::Session;
use crate::manifest::executor::Resources;

/// What `vodbuild slurm-task` / `exec-job` on a node reads of the environment: the search path
/// (tools, python3), the locale, home and time zone, the tool overrides and the log filter.
pub const EXPORTED: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "VODBUILD_FFMPEG",
    "VODBUILD_FFPROBE",
    "VODBUILD_PACKAGER",
    "VODBUILD_LOG",
    "NO_COLOR",
];

/// The variables a Slurm command (and so a job) gets out of `vars`: [`EXPORTED`] ones and
/// Slurm's own configuration (`SLURM_*`, e.g. `SLURM_CONF`; `SBATCH_*` defaults). Not
/// `SQUEUE_*`: a `SQUEUE_FORMAT` would change what vodbuild parses.
pub fn command_env(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let wanted = |n: &str| EXPORTED.contains(&n) || n.starts_with("SLURM_") || n.starts_with("SBATCH_");
    vars.filter(|(n, _)| wanted(n)).collect()
}

/// Most tasks in one array (and one batch file), whatever `MaxArraySize` allows.
pub const MAX_ARRAY: usize = 1000;

/// What one `sbatch` asks for, besides the tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub resources: Option<Resources>,
    /// Nodes a retried job must avoid (sorted).
    pub exclude: Vec<String>,
}

/// One array (or single job) to submit: tasks are indexes into the caller's ready list.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub ask: Ask,
    pub tasks: Vec<usize>,
    /// `%N`: how many of its tasks run at once.
    pub throttle: Option<usize>,
}

/// Groups `asks` (one per ready job, in order) into arrays of at most `max_array` tasks
/// (0: arrays are off, one job each), honouring `max_jobs` with `busy` slots taken.
/// Jobs left out wait for free slots.
pub fn plan(asks: &[Ask], max_array: usize, max_jobs: Option<usize>, mut busy: usize) -> Vec<Array> {
    let size = if max_array == 0 { 1 } else { max_array.min(MAX_ARRAY) };
    let mut groups: Vec<(Ask, Vec<usize>)> = Vec::new();
    for (i, a) in asks.iter().enumerate() {
        match groups.iter_mut().find(|(k, _)| k == a) {
            Some((_, v)) => v.push(i),
            None => groups.push((a.clone(), vec![i])),
        }
    }
    let mut out = Vec::new();
    for (ask, tasks) in groups {
        for chunk in tasks.chunks(size) {
            let (take, throttle) = slots(max_jobs, busy, chunk.len());
            if take == 0 {
                return out;
            }
            busy += throttle.unwrap_or(take);
            out.push(Array { ask: ask.clone(), tasks: chunk[..take].to_vec(), throttle });
        }
    }
    out
}

/// How many of `n` tasks go now, and their throttle.
fn slots(max_jobs: Option<usize>, busy: usize, n: usize) -> (usize, Option<usize>) {
    match max_jobs {
        None => (n, None),
        Some(m) if busy == 0 && n > m => (n, Some(m)),
        Some(m) => (n.min(m.saturating_sub(busy)), None),
    }
}

/// The `sbatch` arguments for `array` of `tasks` tasks with batch file `batch`.
pub fn sbatch_args(s: &Session, array: &Array, tasks: usize, batch: &Path, arrays: bool) -> Vec<String> {
    let mut a = vec![
        "--parsable".to_string(),
        format!("--job-name={}", s.run_id),
        "--no-requeue".into(),
        "--export=ALL".into(),
        format!("--chdir={}", s.root.display()),
        format!("--output={}", s.dir.join("logs").join(if arrays { "%A_%a.log" } else { "%j.log" }).display()),
    ];
    let named = [("partition", &s.spec.partition), ("account", &s.spec.account), ("qos", &s.spec.qos)];
    a.extend(named.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("--{k}={v}"))));
    if let Some(r) = &array.ask.resources {
        a.extend(r.cpus.map(|c| format!("--cpus-per-task={c}")));
        a.extend(r.mem.as_ref().map(|m| format!("--mem={m}")));
        a.extend(r.time.as_ref().map(|t| format!("--time={t}")));
    }
    if !array.ask.exclude.is_empty() {
        a.push(format!("--exclude={}", array.ask.exclude.join(",")));
    }
    if arrays {
        let throttle = array.throttle.map(|t| format!("%{t}")).unwrap_or_default();
        a.push(format!("--array=0-{}{throttle}", tasks - 1));
    }
    a.extend(s.spec.extra_args.iter().cloned());
    a.push(batch.display().to_string());
    a
}

/// The job id `sbatch --parsable` printed (`ID` or `ID;CLUSTER`).
pub fn parse_job_id(out: &str) -> Result<String, String> {
    let id = out.trim().split(';').next().unwrap_or("").trim();
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_string())
    } else {
        Err(format!("sbatch printed `{}`, not a job id", out.trim()))
    }
}

/// Task `index` of submission `job` as squeue names it, and its log.
pub fn task_id(job: &str, index: usize, arrays: bool) -> String {
    if arrays { format!("{job}_{index}") } else { job.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(exclude: &[&str]) -> Ask {
        Ask { resources: None, exclude: exclude.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn siblings_share_an_array_split_by_max_array_size() {
        let asks = vec![ask(&[]); 5];
        let arrays = plan(&asks, 2, None, 0);
        let tasks: Vec<Vec<usize>> = arrays.iter().map(|a| a.tasks.clone()).collect();
        assert_eq!(tasks, vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert!(arrays.iter().all(|a| a.throttle.is_none()));
        assert_eq!(plan(&asks, 0, None, 0).len(), 5, "arrays off: one job each");
    }

    #[test]
    fn different_asks_go_apart() {
        let asks = vec![ask(&[]), ask(&["n1"]), ask(&[])];
        let arrays = plan(&asks, 100, None, 0);
        assert_eq!(arrays.len(), 2);
        assert_eq!(arrays[0].tasks, vec![0, 2]);
        assert_eq!(arrays[1].ask.exclude, vec!["n1"]);
    }

    #[test]
    fn max_jobs_throttles_the_first_array_and_fills_free_slots_after() {
        let asks = vec![ask(&[]); 10];
        let first = plan(&asks, 100, Some(4), 0);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].tasks.len(), 10);
        assert_eq!(first[0].throttle, Some(4));
        let later = plan(&asks, 100, Some(4), 3);
        assert_eq!(later.len(), 1);
        assert_eq!(later[0].tasks, vec![0], "one free slot");
        assert!(plan(&asks, 100, Some(4), 4).is_empty(), "no free slot");
        let small = plan(&asks[..3], 100, Some(4), 0);
        assert_eq!((small[0].tasks.len(), small[0].throttle), (3, None));
    }

    #[test]
    fn slurm_commands_get_only_listed_and_slurm_variables() {
        let vars = ["PATH", "SLURM_CONF", "SBATCH_PARTITION", "SQUEUE_FORMAT", "AWS_SECRET_ACCESS_KEY", "HOME"];
        let got = command_env(vars.iter().map(|n| (n.to_string(), format!("v-{n}"))));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["PATH", "SLURM_CONF", "SBATCH_PARTITION", "HOME"]);
        assert!(got.iter().all(|(n, v)| *v == format!("v-{n}")));
    }

    #[test]
    fn sbatch_prints_a_job_id() {
        assert_eq!(parse_job_id("123\n").unwrap(), "123");
        assert_eq!(parse_job_id("77;cluster\n").unwrap(), "77");
        assert!(parse_job_id("sbatch: error").is_err());
    }
}
