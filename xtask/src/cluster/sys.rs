//! The host side of the cluster: slot locks, commands, namespaces' processes, and the cleanup
//! of anything a killed earlier run left behind.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{MAX_NODES, MAX_SLOTS, PREFIX, RUN_DIR};

/// Runs a host command (argv, no shell); Err carries its stderr.
pub fn sh(program: &str, args: &[&str]) -> Result<(), String> {
    let o = Command::new(program).args(args).output().map_err(|e| format!("{program}: {e}"))?;
    if o.status.success() {
        return Ok(());
    }
    Err(format!("{program} {}: {}: {}", args.join(" "), o.status, String::from_utf8_lossy(&o.stderr).trim()))
}

fn stdout_of(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// The real program: system folders first (never a harness wrapper), then PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let system = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from);
    system
        .into_iter()
        .chain(std::env::split_paths(&path))
        .map(|d| d.join(name))
        .find(|p| p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false))
}

pub fn is_root() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"));
    uid.and_then(|u| u.split_whitespace().nth(1)) == Some("0")
}

pub fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str().ok_or_else(|| format!("not UTF-8: {}", p.display()))
}

/// Calls `cond` every 100 ms until it holds or `within` passes.
pub fn wait_for(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn slot_lock(slot: u32) -> Option<File> {
    let path = Path::new(RUN_DIR).join(format!("slot-{slot}.lock"));
    let f = OpenOptions::new().create(true).truncate(false).write(true).open(path).ok()?;
    f.try_lock().ok().map(|()| f)
}

/// The first free slot, held by its lock for the cluster's life.
pub fn claim_slot() -> Result<(u32, File), String> {
    (1..=MAX_SLOTS)
        .find_map(|s| slot_lock(s).map(|f| (s, f)))
        .ok_or_else(|| format!("all {MAX_SLOTS} cluster slots under {RUN_DIR} are in use"))
}

/// Slots that have kernel objects (namespaces, links) named after them.
fn slots_in_use() -> Vec<u32> {
    let netns = stdout_of("ip", &["netns", "list"]);
    let links = stdout_of("ip", &["-o", "link", "show"]);
    let names = netns
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .chain(links.lines().filter_map(|l| l.split(':').nth(1)).map(|n| n.trim().split('@').next().unwrap_or("")));
    let mut slots: Vec<u32> = names
        .filter_map(|n| n.strip_prefix(PREFIX))
        .filter_map(|rest| rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len())].parse().ok())
        .collect();
    slots.sort_unstable();
    slots.dedup();
    slots
}

/// Removes what a killed earlier run left: every slot with objects whose lock nobody holds.
pub fn clean_stale() {
    for slot in slots_in_use() {
        if let Some(lock) = slot_lock(slot) {
            clean_slot(slot);
            drop(lock);
        }
    }
}

/// Kills the slot's processes, deletes its namespaces, veths, bridge and /run folder.
pub fn clean_slot(slot: u32) {
    let mine = format!("{PREFIX}{slot}-");
    let netns = stdout_of("ip", &["netns", "list"]);
    for ns in netns.lines().filter_map(|l| l.split_whitespace().next()).filter(|n| n.starts_with(&mine)) {
        kill_netns(ns);
        let _ = sh("ip", &["netns", "del", ns]);
    }
    for k in 0..=MAX_NODES {
        let _ = sh("ip", &["link", "del", &format!("{PREFIX}{slot}h{k}")]);
    }
    let _ = sh("ip", &["link", "del", &format!("{PREFIX}{slot}br")]);
    let _ = fs::remove_dir_all(Path::new(RUN_DIR).join(format!("slot-{slot}")));
}

/// The pids of every process in network namespace `ns`.
pub fn netns_pids(ns: &str) -> Vec<String> {
    stdout_of("ip", &["netns", "pids", ns]).split_whitespace().map(str::to_string).collect()
}

/// SIGKILLs every process of a network namespace until none is left (bounded).
pub fn kill_netns(ns: &str) {
    for _ in 0..100 {
        let pids = netns_pids(ns);
        if pids.is_empty() {
            return;
        }
        let mut kill = Command::new("kill");
        kill.arg("-KILL").args(&pids);
        let _ = kill.output();
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ns_link(pid: &str, ns: &str) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/ns/{ns}")).ok()
}

/// Waits until the holder `pid` has exec'd `sleep` in its own UTS and mount namespaces, so that
/// setting a hostname or mounting through it can never touch the host's.
pub fn wait_unshared(pid: u32) -> Result<(), String> {
    let p = pid.to_string();
    let ready = wait_for(Duration::from_secs(10), || {
        let comm = fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        comm.trim() == "sleep"
            && ["uts", "mnt"].iter().all(|ns| ns_link(&p, ns).is_some_and(|l| Some(l) != ns_link("self", ns)))
    });
    if ready { Ok(()) } else { Err(format!("holder {pid} did not enter its own namespaces")) }
}
