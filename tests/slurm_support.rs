//! What the Slurm tests (tests/slurm.rs, tests/slurm_cluster.rs) share: a test cluster (or a
//! printed SKIP), tiny catalogs, the environment that points vodbuild at the cluster, the run
//! report's `executor` object, and what Slurm itself says about the jobs (asked without going
//! through the logging wrappers).

use crate::common;

use common::cluster::{Cluster, Opts, exclusive};
use common::{Manifest, Output, Workspace, tools};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::MutexGuard;

/// A running cluster, alone on the machine among the tests (dropped before the guard).
pub struct Bed {
    pub cluster: Cluster,
    _dir: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

/// A cluster of `nodes` compute nodes, or None after printing why the test is skipped.
pub fn bed(nodes: usize, opts: &Opts) -> Option<Bed> {
    let serial = exclusive();
    if let Err(why) = Cluster::available() {
        println!("SKIP: Slurm test cluster unavailable: {why}");
        return None;
    }
    let dir = tempfile::Builder::new().prefix("vodbuild-slurm-").tempdir().expect("tempdir");
    let cluster =
        Cluster::start(&dir.path().join("cluster"), nodes, opts).unwrap_or_else(|e| panic!("start the cluster: {e}"));
    Some(Bed { cluster, _dir: dir, _serial: serial })
}

impl Bed {
    /// vodbuild's environment: the wrappers first on PATH, then the project's tools; SLURM_CONF.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut path = self.cluster.bin_dir().into_os_string();
        path.push(":");
        path.push(tools::path_with_project_tools());
        let conf = self.cluster.env().into_iter().find(|(k, _)| k == "SLURM_CONF").expect("SLURM_CONF").1;
        vec![("PATH".into(), path.to_string_lossy().into_owned()), ("SLURM_CONF".into(), conf.to_string_lossy().into())]
    }

    /// `vodbuild run pipeline.yaml --json --report report.json --executor slurm EXTRA..`.
    pub fn run(&self, ws: &Workspace, extra: &[&str]) -> (Output, Value) {
        let args = run_args("slurm", extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = ws.vodbuild_env(&args, &env);
        let report = read_report(ws, &out);
        (out, report)
    }

    /// `Field=value` of every job Slurm knows (`scontrol show job -o`, unlogged), one map each.
    pub fn jobs(&self) -> Vec<BTreeMap<String, String>> {
        let text = self.cluster.query("scontrol", &["show", "job", "-o"]).unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with("JobId="))
            .map(|l| {
                l.split_whitespace().filter_map(|w| w.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect()
            })
            .collect()
    }

    /// The nodes Slurm ran batch jobs on.
    pub fn batch_hosts(&self) -> BTreeSet<String> {
        self.jobs().iter().filter_map(|j| j.get("BatchHost").cloned()).filter(|h| h != "(null)").collect()
    }

    /// `squeue -h` lines: every job still pending, running or completing.
    pub fn queue(&self) -> Vec<String> {
        let text = self.cluster.query("squeue", &["-h", "-o", "%i %j %T %N"]).unwrap_or_else(|e| e);
        text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
    }
}

/// The arguments of a run with `executor`, its report written to report.json.
pub fn run_args(executor: &str, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["run", "pipeline.yaml", "--json", "--report", "report.json", "--executor", executor]
        .into_iter()
        .map(String::from)
        .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// report.json of the last run (it must exist: a run with `--report` always writes it).
pub fn read_report(ws: &Workspace, out: &Output) -> Value {
    let text = std::fs::read_to_string(ws.path("report.json"))
        .unwrap_or_else(|e| panic!("report.json: {e}\n{}", out.describe()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("report.json: {e}: {text}"))
}

/// The report's `executor` counter `key`.
pub fn counter(report: &Value, key: &str) -> u64 {
    report["executor"][key].as_u64().unwrap_or_else(|| panic!("no executor.{key} in {:#}", report["executor"]))
}

/// `n` tiny titles `media/tK.mp4` (1 s, 160x90, each its own tone) and the SMALL manifest.
pub fn catalog(ws: &Workspace, n: usize) {
    for k in 0..n {
        ws.make_source_with(&format!("media/t{k}.mp4"), 1.0, "160x90", 300 + 100 * k as u32, false);
    }
    ws.write_manifest(&Manifest::small().yaml());
}

/// A copy of `from`'s sources and manifest (mtimes kept) in a new workspace.
pub fn copy_workspace(from: &Workspace) -> Workspace {
    let to = Workspace::new();
    for rel in from.files_under("media").into_iter().chain(["pipeline.yaml".to_string()]) {
        let dst = to.path(&rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(from.path(&rel), &dst).unwrap();
        let mtime = std::fs::metadata(from.path(&rel)).unwrap().modified().unwrap();
        common::set_mtime(&dst, mtime);
    }
    to
}

/// BLAKE3 of every file under `out/`, by path.
pub fn out_digests(ws: &Workspace) -> BTreeMap<String, String> {
    ws.files_under("out").into_iter().map(|f| (f.clone(), digest(&ws.path(&f)))).collect()
}

pub fn digest(p: &Path) -> String {
    blake3::hash(&std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))).to_hex().to_string()
}

/// The `--job-name` values of the logged sbatch calls.
pub fn job_names(calls: &[String]) -> BTreeSet<String> {
    calls
        .iter()
        .filter(|c| c.starts_with("sbatch "))
        .flat_map(|c| c.split(' ').filter_map(|w| w.strip_prefix("--job-name=")).map(str::to_string))
        .collect()
}
