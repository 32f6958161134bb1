//! The cluster's files: slurm.conf (RECIPES' settings for fast scheduling and requeue), the
//! private hosts file, and the client wrappers that log each call.

use std::fs;
use std::path::Path;

use super::{CLIENTS, Cluster, Opts, which};

impl Cluster {
    pub(super) fn hosts_file(&self) -> String {
        let mut s = String::from("127.0.0.1 localhost\n");
        for m in &self.members {
            s.push_str(&format!("{} {}\n", m.ip, m.name));
        }
        s
    }

    pub(super) fn slurm_conf(&self, opts: &Opts) -> String {
        let d = self.dir.display();
        let ctl = &self.members[0];
        let cpus = opts.cpus_per_node.unwrap_or_else(nproc).max(1);
        let mut lines = vec![
            format!("ClusterName={}{}", super::PREFIX, self.slot),
            format!("SlurmctldHost={}({})", ctl.name, ctl.ip),
            "AuthType=auth/munge".into(),
            "CredType=cred/munge".into(),
            format!("AuthInfo=socket={},cred_expire=10", self.munge_socket().display()),
            "CommunicationParameters=NoInAddrAny,NoCtldInAddrAny".into(),
            "ProctrackType=proctrack/linuxproc".into(),
            "TaskPlugin=task/none".into(),
            "AccountingStorageType=accounting_storage/none".into(),
            "JobAcctGatherType=jobacct_gather/none".into(),
            "JobCompType=jobcomp/filetxt".into(),
            format!("JobCompLoc={d}/jobcomp.txt"),
            "SlurmUser=root".into(),
            "SlurmdUser=root".into(),
            format!("StateSaveLocation={d}/state"),
            format!("SlurmctldPidFile={d}/slurmctld.pid"),
            format!("SlurmctldLogFile={d}/slurmctld.log"),
            format!("SlurmdSpoolDir={d}/spool/%n"),
            format!("SlurmdPidFile={d}/slurmd.%n.pid"),
            format!("SlurmdLogFile={d}/slurmd.%n.log"),
            "SlurmdParameters=config_overrides".into(),
            "SelectType=select/cons_tres".into(),
            "SelectTypeParameters=CR_Core".into(),
            "ReturnToService=2".into(),
            "SlurmdTimeout=10".into(),
            "SlurmctldTimeout=10".into(),
            "MinJobAge=300".into(),
            "SchedulerParameters=batch_sched_delay=0,bf_interval=1".into(),
        ];
        if let Some(n) = opts.max_array_size {
            lines.push(format!("MaxArraySize={n}"));
        }
        lines.extend(opts.extra_conf.iter().cloned());
        let mem = mem_mb();
        for m in &self.members[1..] {
            lines.push(format!(
                "NodeName={0} NodeAddr={1} NodeHostname={0} CPUs={cpus} RealMemory={mem} State=UNKNOWN",
                m.name, m.ip
            ));
        }
        lines.push("PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP".into());
        lines.join("\n") + "\n"
    }

    /// One `/bin/sh` script per client: append `tool args` to the calls log, then exec the real
    /// tool in the controller's namespaces (working folder kept). Fixed text; arguments go
    /// through `"$@"` untouched.
    pub(super) fn write_wrappers(&self) -> Result<(), String> {
        let calls = self.calls_log();
        let conf = self.conf();
        for tool in CLIENTS {
            let real = which(tool).ok_or_else(|| format!("{tool} not found"))?;
            let text = format!(
                "#!/bin/sh\n# vodbuild test cluster wrapper: logs the call, runs the real {tool} on the controller.\n\
                 printf '%s\\n' \"{tool} $*\" >> '{calls}'\n\
                 SLURM_CONF='{conf}'\nexport SLURM_CONF\n\
                 exec nsenter -t {pid} -n -u -m --wd=\"$PWD\" -- '{real}' \"$@\"\n",
                calls = calls.display(),
                conf = conf.display(),
                pid = self.holder_pid(0)?,
                real = real.display(),
            );
            let path = self.bin_dir().join(tool);
            write(&path, &text)?;
            set_mode(&path, 0o755)?;
        }
        Ok(())
    }
}

pub fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| format!("chmod {}: {e}", path.display()))
}

fn nproc() -> u32 {
    std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1)
}

/// This machine's memory in MB (each node offers all of it; `config_overrides` keeps Slurm from
/// draining nodes whose configuration differs from the hardware).
fn mem_mb() -> u64 {
    let info = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(4 << 20);
    (kb / 1024).max(1024)
}
