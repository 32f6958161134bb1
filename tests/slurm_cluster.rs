//! Selftest of the Slurm test cluster (xtask/src/cluster.rs) on its own, without vodbuild: an
//! array submitted through the wrappers spreads over the nodes, every call is logged, and a
//! node whose processes are all killed makes its job NODE_FAIL or requeued.

use crate::common;

use crate::slurm_support::bed;
use common::cluster::{Cluster, Opts};
use common::wait;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Runs a wrapper (so it is logged) in `cwd`; its stdout.
fn client(c: &Cluster, tool: &str, args: &[&str], cwd: &Path) -> String {
    let o = Command::new(c.bin_dir().join(tool))
        .args(args)
        .current_dir(cwd)
        .envs(c.env())
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"));
    assert!(o.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `Field=value` of `scontrol show job -o ID` (unlogged).
fn job_field(c: &Cluster, id: &str, field: &str) -> Option<String> {
    let line = c.query("scontrol", &["show", "job", "-o", id]).ok()?;
    let key = format!("{field}=");
    line.split_whitespace().find_map(|w| w.strip_prefix(key.as_str())).map(str::to_string)
}

#[test]
fn an_array_spreads_over_nodes_and_a_killed_node_fails_or_requeues_its_job() {
    let Some(mut bed) = bed(3, &Opts::default()) else { return };
    let c = &mut bed.cluster;
    let tmp = tempfile::Builder::new().prefix("vodbuild-slurm-").tempdir().unwrap();
    let jobs = tmp.path().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    let script = jobs.join("task.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"$SLURMD_NODENAME\" > \"out.$SLURM_ARRAY_TASK_ID\"\nsleep 2\n").unwrap();
    let id = client(c, "sbatch", &["--parsable", "--array=0-5", "-o", "/dev/null", "task.sh"], &jobs);
    assert!(id.trim().parse::<u64>().is_ok(), "sbatch --parsable gave {id:?}");
    let all_done = wait::until(Duration::from_secs(90), Duration::from_millis(200), || {
        (0..6).all(|i| std::fs::read_to_string(jobs.join(format!("out.{i}"))).is_ok_and(|s| !s.trim().is_empty()))
    });
    assert!(all_done, "6 array tasks did not all run; slurmctld: {}", c.log_tail("slurmctld.log", 20));
    let nodes: BTreeSet<String> =
        (0..6).map(|i| std::fs::read_to_string(jobs.join(format!("out.{i}"))).unwrap().trim().to_string()).collect();
    assert!(nodes.len() >= 2, "the array ran on {nodes:?} only");
    assert!(nodes.iter().all(|n| c.node_names().contains(n)), "unknown nodes {nodes:?}");
    assert_eq!(c.count("sbatch"), 1, "calls: {:?}", c.calls());
    assert!(c.calls()[0].starts_with("sbatch --parsable --array=0-5"), "calls: {:?}", c.calls());

    std::fs::write(&script, "#!/bin/sh\nsleep 300\n").unwrap();
    let id = client(c, "sbatch", &["--parsable", "--requeue", "-o", "/dev/null", "task.sh"], &jobs);
    let id = id.trim().to_string();
    let host = wait::poll(Duration::from_secs(60), Duration::from_millis(200), || {
        (job_field(c, &id, "JobState")? == "RUNNING").then(|| job_field(c, &id, "BatchHost")).flatten()
    })
    .expect("the sleep job runs");
    c.kill_node(&host).unwrap();
    let seen = wait::poll(Duration::from_secs(120), Duration::from_millis(500), || {
        let state = job_field(c, &id, "JobState")?;
        let restarts: u32 = job_field(c, &id, "Restarts")?.parse().ok()?;
        (state == "NODE_FAIL" || restarts >= 1).then_some((state, restarts))
    });
    assert!(seen.is_some(), "job {id} on killed {host}: {:?}", c.query("scontrol", &["show", "job", "-o", &id]));
    let _ = c.query("scancel", &[&id]);
}
