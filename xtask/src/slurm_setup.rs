//! Setup for the Slurm tests and bench P6 (tests/slurm*.rs, xtask/src/cluster.rs): Debian's
//! `slurm-wlm` and `munge` (plus iproute2 and util-linux for the namespaces), proven by running
//! `slurmctld -V` and `munged --version`, and a munge key when none exists.

use std::path::Path;

use super::apt::ensure_apt;
use super::{Result, banner, fail, local, privileged, run};

const MUNGE_KEY: &str = "/etc/munge/munge.key";

pub fn ensure_slurm() -> Result {
    ensure_apt(
        "Slurm test cluster",
        &["slurm-wlm", "munge"],
        &[
            "/usr/sbin/slurmctld",
            "/usr/sbin/slurmd",
            "/usr/sbin/munged",
            "sbatch",
            "squeue",
            "scontrol",
            "scancel",
            "sinfo",
        ],
    )?;
    ensure_apt("network namespaces (Slurm tests)", &["iproute2", "util-linux"], &["ip", "nsenter", "unshare"])?;
    local::prove(Path::new("/usr/sbin/slurmctld"), &["-V"])?;
    local::prove(Path::new("/usr/sbin/munged"), &["--version"])?;
    if Path::new(MUNGE_KEY).is_file() {
        return Ok(());
    }
    banner(&format!("setup: creating the munge key {MUNGE_KEY}"));
    let mut create = privileged("/usr/sbin/mungekey");
    create.args(["--create", "--keyfile", MUNGE_KEY]);
    run("setup: mungekey --create", &mut create)?;
    let mut own = privileged("chown");
    own.args(["munge:munge", MUNGE_KEY]);
    run("setup: chown the munge key", &mut own)?;
    if !Path::new(MUNGE_KEY).is_file() {
        return Err(fail("setup: munge key", format!("{MUNGE_KEY} still missing")));
    }
    Ok(())
}
