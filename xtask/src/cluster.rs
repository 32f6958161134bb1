//! A real Slurm cluster on one machine for the tests and bench P6: one controller and N compute
//! nodes, each daemon in its own network + UTS + mount namespace (facts in
//! ../shared/RECIPES.md, "Slurm, several nodes on one machine").
//!
//! Shape: a bridge `vbsl<slot>br` on the host (no address), one veth per member into it, a
//! private /24 `10.77.<slot>.0` that exists only inside the namespaces (controller `.10`, nodes
//! `.11..`). Each member has a *holder* process (`sleep`) that `unshare`d a UTS and a mount
//! namespace inside its netns; its hostname is set and a private hosts file is bind-mounted over
//! /etc/hosts in there, then the daemon is started with `nsenter -t <holder> -n -u -m`. One
//! munged (in the controller's namespaces, socket under /run) serves every daemon through its
//! socket path. Namespaces share the host's mount tree (propagation slave), so test folders under
//! /tmp are visible to jobs on every node.
//!
//! Clients: [`Cluster::bin_dir`] holds wrapper programs `sbatch`, `squeue`, `scontrol`,
//! `scancel` and `sinfo` (tiny `/bin/sh` scripts of fixed text: `"$@"` is passed on untouched)
//! that log one line per call (tool + args) to [`Cluster::calls`] and run the real tool inside
//! the controller's namespaces with `SLURM_CONF`. [`Cluster::query`] runs a tool without logging.
//!
//! Isolation and cleanup: a cluster owns a *slot* (1..=64) held by a lock on
//! `/run/vodbuild-slurm/slot-N.lock`; every kernel object name carries `vbsl<slot>`, so clusters
//! may run concurrently. `Drop` kills every process of the cluster's namespaces (`ip netns pids`,
//! there is no PID namespace), then deletes namespaces, veths and bridge, also after a panic.
//! Leftovers of a killed earlier run are removed by the next `start` (any `vbsl*` namespace whose
//! slot lock nobody holds). Tests still take [`exclusive`] so only one cluster runs at a time on
//! two cores. Uses std only: xtask and the tests include this same file.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const PREFIX: &str = "vbsl";
const RUN_DIR: &str = "/run/vodbuild-slurm";
const MAX_SLOTS: u32 = 64;
pub const MAX_NODES: usize = 8;
const CONTROLLER: &str = "ctld";
/// The client programs [`Cluster::bin_dir`] wraps.
pub const CLIENTS: [&str; 5] = ["sbatch", "squeue", "scontrol", "scancel", "sinfo"];
const PROGRAMS: [&str; 9] =
    ["ip", "nsenter", "unshare", "hostname", "mount", "runuser", "slurmctld", "slurmd", "munged"];
const MUNGE_KEY: &str = "/etc/munge/munge.key";
const READY_WITHIN: Duration = Duration::from_secs(60);

/// A file bind-mounted over `dst` on one node only (index into [`Cluster::node_names`]).
#[derive(Debug, Clone)]
pub struct Bind {
    pub node: usize,
    pub src: PathBuf,
    pub dst: PathBuf,
}

/// Options of [`Cluster::start`].
#[derive(Debug, Clone, Default)]
pub struct Opts {
    /// CPUs each node offers (default: this machine's count).
    pub cpus_per_node: Option<u32>,
    /// `MaxArraySize` (Slurm's default, 1001, when unset).
    pub max_array_size: Option<u32>,
    pub binds: Vec<Bind>,
    /// More slurm.conf lines.
    pub extra_conf: Vec<String>,
}

/// One daemon's namespaces: the holder process keeps its UTS + mount namespaces alive.
struct Member {
    name: String,
    ns: String,
    ip: String,
    holder: Option<Child>,
    daemons: Vec<Child>,
}

pub struct Cluster {
    slot: u32,
    _lock: File,
    dir: PathBuf,
    run_dir: PathBuf,
    /// `[0]` is the controller, then the nodes.
    members: Vec<Member>,
}

/// Serializes the tests' clusters inside one test process (two cores: one at a time).
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cluster {
    /// Ok when a cluster can start here; otherwise why not (tests print it and skip).
    pub fn available() -> Result<(), String> {
        if !is_root() {
            return Err("needs root (network namespaces)".into());
        }
        if let Some(p) = PROGRAMS.iter().chain(CLIENTS.iter()).find(|p| which(p).is_none()) {
            return Err(format!("`{p}` not found on PATH (cargo xtask setup installs slurm-wlm and munge)"));
        }
        if !Path::new(MUNGE_KEY).is_file() {
            return Err(format!("{MUNGE_KEY} is missing (cargo xtask setup creates it)"));
        }
        let probe = format!("{PREFIX}probe{}", std::process::id());
        sh("ip", &["netns", "add", &probe]).map_err(|e| format!("cannot create a network namespace: {e}"))?;
        let _ = sh("ip", &["netns", "del", &probe]);
        Ok(())
    }

    /// Brings up munged, slurmctld and `nodes` slurmd; returns once every node is idle.
    /// `dir` (created) holds slurm.conf, logs, state, the wrappers and the calls log.
    pub fn start(dir: &Path, nodes: usize, opts: &Opts) -> Result<Cluster, String> {
        if nodes == 0 || nodes > MAX_NODES {
            return Err(format!("nodes must be 1..={MAX_NODES}, got {nodes}"));
        }
        if dir.to_str().is_none_or(|d| d.contains(['\'', '\n'])) {
            return Err(format!("unusable cluster folder {}", dir.display()));
        }
        fs::create_dir_all(RUN_DIR).map_err(|e| format!("{RUN_DIR}: {e}"))?;
        clean_stale();
        let (slot, lock) = claim_slot()?;
        clean_slot(slot);
        let run_dir = Path::new(RUN_DIR).join(format!("slot-{slot}"));
        let mut c = Cluster { slot, _lock: lock, dir: dir.to_path_buf(), run_dir, members: Vec::new() };
        c.members.push(c.member(CONTROLLER.into(), 0));
        for k in 1..=nodes {
            c.members.push(c.member(format!("node{k}"), k));
        }
        c.bring_up(opts)?;
        Ok(c)
    }

    fn member(&self, name: String, k: usize) -> Member {
        let ns = format!("{PREFIX}{}-{}", self.slot, if k == 0 { "ctl".into() } else { format!("n{k}") });
        Member { name, ns, ip: format!("10.77.{}.{}", self.slot, 10 + k), holder: None, daemons: Vec::new() }
    }

    fn bring_up(&mut self, opts: &Opts) -> Result<(), String> {
        for d in [self.dir.clone(), self.dir.join("bin"), self.dir.join("state"), self.run_dir.clone()] {
            fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        for m in &self.members[1..] {
            let spool = self.dir.join("spool").join(&m.name);
            fs::create_dir_all(&spool).map_err(|e| format!("{}: {e}", spool.display()))?;
        }
        write(&self.dir.join("hosts"), &self.hosts_file())?;
        write(&self.conf(), &self.slurm_conf(opts))?;
        let br = self.bridge();
        sh("ip", &["link", "add", &br, "type", "bridge"])?;
        sh("ip", &["link", "set", &br, "up"])?;
        for k in 0..self.members.len() {
            self.plumb(k)?;
            self.enter(k)?;
        }
        self.write_wrappers()?;
        for b in &opts.binds {
            let holder = self.holder_pid(b.node + 1)?;
            let (src, dst) = (path_str(&b.src)?, path_str(&b.dst)?);
            sh("nsenter", &["-t", &holder, "-m", "--", "mount", "--bind", src, dst])?;
        }
        self.start_daemons()?;
        self.wait_ready()
    }

    /// Network namespace, veth pair into the bridge, address inside the namespace.
    fn plumb(&self, k: usize) -> Result<(), String> {
        let m = &self.members[k];
        let (host, peer) = (format!("{PREFIX}{}h{k}", self.slot), format!("{PREFIX}{}p{k}", self.slot));
        sh("ip", &["netns", "add", &m.ns])?;
        sh("ip", &["link", "add", &host, "type", "veth", "peer", "name", &peer])?;
        sh("ip", &["link", "set", &peer, "netns", &m.ns])?;
        sh("ip", &["link", "set", &host, "master", &self.bridge(), "up"])?;
        sh("ip", &["-n", &m.ns, "link", "set", &peer, "name", "eth0"])?;
        sh("ip", &["-n", &m.ns, "addr", "add", &format!("{}/24", m.ip), "dev", "eth0"])?;
        sh("ip", &["-n", &m.ns, "link", "set", "eth0", "up"])?;
        sh("ip", &["-n", &m.ns, "link", "set", "lo", "up"])
    }

    /// Starts the holder (own UTS + mount namespaces inside the netns), sets its hostname and
    /// binds the hosts file over /etc/hosts in there.
    fn enter(&mut self, k: usize) -> Result<(), String> {
        let netns = format!("--net=/run/netns/{}", self.members[k].ns);
        let holder = Command::new("nsenter")
            .args([netns.as_str(), "--", "unshare", "--uts", "--mount", "--propagation", "slave", "--"])
            .args(["sleep", "infinity"])
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn holder: {e}"))?;
        let pid = holder.id();
        self.members[k].holder = Some(holder);
        wait_unshared(pid)?;
        let pid = pid.to_string();
        sh("nsenter", &["-t", &pid, "-u", "--", "hostname", &self.members[k].name])?;
        let hosts = self.dir.join("hosts");
        sh("nsenter", &["-t", &pid, "-m", "--", "mount", "--bind", path_str(&hosts)?, "/etc/hosts"])
    }

    fn start_daemons(&mut self) -> Result<(), String> {
        let sock = self.munge_socket();
        let munged: Vec<String> = vec![
            "runuser".into(),
            "-u".into(),
            "munge".into(),
            "--".into(),
            "munged".into(),
            "--foreground".into(),
            format!("--socket={}", sock.display()),
            format!("--key-file={MUNGE_KEY}"),
            format!("--pid-file={}", self.run_dir.join("munged.pid").display()),
            format!("--log-file={}", self.run_dir.join("munged.log").display()),
            format!("--seed-file={}", self.run_dir.join("munged.seed").display()),
        ];
        sh("chown", &["munge:munge", path_str(&self.run_dir)?])?;
        self.daemon(0, &munged, "munged.out")?;
        if !wait_for(Duration::from_secs(10), || sock.exists()) {
            return Err(format!("munged did not create {}: {}", sock.display(), self.log_tail("munged.out", 20)));
        }
        let conf = path_str(&self.conf())?.to_string();
        self.daemon(0, &["slurmctld".into(), "-D".into(), "-f".into(), conf.clone()], "slurmctld.out")?;
        for k in 1..self.members.len() {
            let name = self.members[k].name.clone();
            let argv = ["slurmd".into(), "-D".into(), "-f".into(), conf.clone(), "-N".into(), name.clone()];
            self.daemon(k, &argv, &format!("slurmd.{name}.out"))?;
        }
        Ok(())
    }

    /// Runs `argv` inside member `k`'s namespaces, output to `log` in the cluster folder.
    fn daemon(&mut self, k: usize, argv: &[String], log: &str) -> Result<(), String> {
        let pid = self.holder_pid(k)?;
        let out = File::create(self.dir.join(log)).map_err(|e| format!("{log}: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("{log}: {e}"))?;
        let child = Command::new("nsenter")
            .args(["-t", &pid, "-n", "-u", "-m", "--"])
            .args(argv)
            .env("SLURM_CONF", self.conf())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", argv[0]))?;
        self.members[k].daemons.push(child);
        Ok(())
    }

    /// Every node idle (slurmd registered, nothing running).
    fn wait_ready(&self) -> Result<(), String> {
        let want = self.members.len() - 1;
        let mut last = String::new();
        let ok = wait_for(READY_WITHIN, || {
            last = self.query("sinfo", &["-h", "-N", "-o", "%N %T"]).unwrap_or_else(|e| e);
            last.lines().filter(|l| l.ends_with(" idle")).count() == want
        });
        if ok {
            return Ok(());
        }
        Err(format!(
            "nodes not idle within {READY_WITHIN:?}: {last}\nslurmctld: {}\nslurmd: {}",
            self.log_tail("slurmctld.log", 15),
            self.log_tail("slurmd.node1.log", 15)
        ))
    }

    /// Runs a real client tool inside the controller's namespaces, without logging the call.
    pub fn query(&self, tool: &str, args: &[&str]) -> Result<String, String> {
        let pid = self.holder_pid(0)?;
        let real = which(tool).ok_or_else(|| format!("{tool} not found"))?;
        let o = Command::new("nsenter")
            .args(["-t", &pid, "-n", "-u", "-m", "--"])
            .arg(real)
            .args(args)
            .env("SLURM_CONF", self.conf())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{tool}: {e}"))?;
        if !o.status.success() {
            return Err(format!("{tool} {args:?}: {}: {}", o.status, String::from_utf8_lossy(&o.stderr).trim()));
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// Folder of the client wrappers (put it first on PATH, see [`Cluster::env`]).
    pub fn bin_dir(&self) -> PathBuf {
        self.dir.join("bin")
    }

    fn calls_log(&self) -> PathBuf {
        self.dir.join("calls.log")
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("slurm.conf")
    }

    /// Every client call made through the wrappers so far, one `tool arg arg..` per call.
    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.calls_log()).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// How many calls of `tool` the wrappers saw.
    pub fn count(&self, tool: &str) -> usize {
        self.calls().iter().filter(|l| l.split(' ').next() == Some(tool)).count()
    }

    /// Forgets the calls so far.
    pub fn reset_calls(&self) {
        let _ = fs::remove_file(self.calls_log());
    }

    /// Environment for a child that submits to this cluster: PATH with the wrappers first, and
    /// SLURM_CONF.
    pub fn env(&self) -> Vec<(String, OsString)> {
        let mut path = OsString::from(self.bin_dir());
        if let Some(old) = std::env::var_os("PATH") {
            path.push(":");
            path.push(old);
        }
        vec![("PATH".into(), path), ("SLURM_CONF".into(), self.conf().into_os_string())]
    }

    pub fn node_names(&self) -> Vec<String> {
        self.members[1..].iter().map(|m| m.name.clone()).collect()
    }

    /// The cluster's folder (conf, logs, state).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills every process of node `name`'s namespaces (slurmd, its jobs, the holder): the node
    /// is gone as if it crashed. Its netns stays until the cluster is dropped.
    pub fn kill_node(&mut self, name: &str) -> Result<(), String> {
        let k = self.members.iter().position(|m| m.name == name).ok_or_else(|| format!("no node {name}"))?;
        if k == 0 {
            return Err("kill_node: that is the controller".into());
        }
        kill_netns(&self.members[k].ns);
        reap(&mut self.members[k]);
        Ok(())
    }

    /// The command lines (arguments joined by spaces) of every process of node `name`.
    pub fn processes(&self, name: &str) -> Vec<String> {
        let Some(m) = self.members.iter().find(|m| m.name == name) else { return Vec::new() };
        sys::netns_pids(&m.ns)
            .iter()
            .filter_map(|pid| fs::read(format!("/proc/{pid}/cmdline")).ok())
            .map(|raw: Vec<u8>| {
                String::from_utf8_lossy(&raw).split('\0').collect::<Vec<_>>().join(" ").trim().to_string()
            })
            .collect()
    }

    /// The last `n` lines of a file in the cluster folder (for failure messages).
    pub fn log_tail(&self, file: &str, n: usize) -> String {
        let text = fs::read_to_string(self.dir.join(file)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn holder_pid(&self, k: usize) -> Result<String, String> {
        let m = self.members.get(k).ok_or_else(|| format!("no member {k}"))?;
        m.holder.as_ref().map(|h| h.id().to_string()).ok_or_else(|| format!("{} has no namespaces", m.name))
    }

    fn bridge(&self) -> String {
        format!("{PREFIX}{}br", self.slot)
    }

    fn munge_socket(&self) -> PathBuf {
        self.run_dir.join("munge.socket.2")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            kill_netns(&m.ns);
            reap(m);
        }
        clean_slot(self.slot);
    }
}

fn reap(m: &mut Member) {
    for c in m.daemons.iter_mut().chain(m.holder.as_mut()) {
        let _ = c.kill();
        let _ = c.wait();
    }
    m.daemons.clear();
    m.holder = None;
}

#[path = "cluster/conf.rs"]
mod conf;
#[path = "cluster/sys.rs"]
mod sys;

use conf::write;
use sys::{claim_slot, clean_slot, clean_stale, is_root, kill_netns, path_str, sh, wait_for, wait_unshared, which};
