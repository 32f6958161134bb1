//! Private key folders a killed process left in the system temp folder: older versions (and
//! the fallback where in-memory key files are unavailable, see [`super::secret_file`]) wrote
//! key files into `vodbuild-key-PID-HEX-N` folders, removed when the tool ends but left
//! behind by a SIGKILL. Each time vodbuild is about to make such a folder (the fallback,
//! `verify`'s decryption scratch) and at the start of every run of a manifest with
//! `encryption:`, it removes them — only folders with exactly that name pattern, owned by
//! this user, not symlinks, whose process is no longer alive and whose lock nobody holds (the
//! maker holds an exclusive `flock` on the folder while it uses it, [`hold`]: a pid alone says
//! nothing across PID namespaces sharing one /tmp); one `read_dir` of the temp folder, at most
//! [`MAX_ENTRIES`] entries looked at.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The name every private key folder starts with.
pub const PREFIX: &str = "vodbuild-key-";
/// Most temp-folder entries looked at in one sweep.
const MAX_ENTRIES: usize = 100_000;

/// At the start of a run: the sweep of the system temp folder, when `m` encrypts anything.
pub fn before_run(m: &crate::manifest::Manifest) -> usize {
    let o = &m.raw.outputs;
    let encrypts = o.hls.as_ref().is_some_and(|h| h.encryption.is_some())
        || o.dash.as_ref().is_some_and(|d| d.encryption.is_some());
    if encrypts { remove_stale_key_folders(&std::env::temp_dir()) } else { 0 }
}

/// Removes stale key folders in `tmp`; returns how many.
pub fn remove_stale_key_folders(tmp: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(tmp) else { return 0 };
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    let mut removed = 0;
    for e in entries.take(MAX_ENTRIES).flatten() {
        let Some(pid) = e.file_name().to_str().and_then(owner_pid) else { continue };
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else { continue };
        if !meta.is_dir() || meta.uid() != uid || pid == std::process::id() || alive(pid) || held(&e.path()) {
            continue;
        }
        match std::fs::remove_dir_all(e.path()) {
            Ok(()) => {
                tracing::debug!(path = %e.path().display(), "removed a stale key folder");
                removed += 1;
            }
            Err(err) => tracing::warn!(path = %e.path().display(), error = %err, "cannot remove a stale key folder"),
        }
    }
    removed
}

/// Locks folder `dir` for as long as the returned handle lives (an exclusive `flock`, released
/// by the kernel when the process ends however it ends).
pub fn hold(dir: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::File::open(dir)?;
    // SAFETY: flock on a descriptor this function owns; no memory is passed.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&f), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(f)
}

/// Whether a live process (of any PID namespace) holds `dir`'s lock; an unreadable folder
/// counts as held.
fn held(dir: &Path) -> bool {
    match hold(dir) {
        Ok(_released_on_drop) => false,
        Err(_) => true,
    }
}

/// The process id in a key folder's name `vodbuild-key-PID-HEX-N`.
fn owner_pid(name: &str) -> Option<u32> {
    let mut parts = name.strip_prefix(PREFIX)?.split('-');
    let (pid, hex, n) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let hexes = !hex.is_empty() && hex.len() <= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    (parts.next().is_none() && digits(pid) && hexes && digits(n)).then(|| pid.parse().ok()).flatten()
}

/// Whether process `pid` exists (as far as this process can tell: a process of another user
/// counts as alive).
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_folders_of_dead_processes_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let me = std::process::id();
        let stale = [format!("{PREFIX}{dead}-18f3a2b-0"), format!("{PREFIX}{dead}-0-15")];
        let kept = [
            format!("{PREFIX}{me}-18f3a2b-0"),         // this process
            format!("{PREFIX}1-18f3a2b-0"),            // alive (init)
            format!("{PREFIX}{dead}-xyz-0"),           // not the pattern
            format!("{PREFIX}{dead}-18f3a2b-0-1"),     // not the pattern
            format!("vodbuild-keys-{dead}-18f3a2b-0"), // not the prefix
        ];
        for d in stale.iter().chain(&kept) {
            std::fs::create_dir(tmp.path().join(d)).unwrap();
            std::fs::write(tmp.path().join(d).join("content.key"), "k").unwrap();
        }
        // A file and a symlink with the pattern are not folders vodbuild made.
        let file = format!("{PREFIX}{dead}-ab-1");
        std::fs::write(tmp.path().join(&file), "x").unwrap();
        let target = tempfile::tempdir().unwrap();
        let link = format!("{PREFIX}{dead}-ab-2");
        std::os::unix::fs::symlink(target.path(), tmp.path().join(&link)).unwrap();
        // A folder of a "dead" pid whose lock is held (a live process of another PID namespace).
        let locked = format!("{PREFIX}{dead}-ab-3");
        std::fs::create_dir(tmp.path().join(&locked)).unwrap();
        let _lock = hold(&tmp.path().join(&locked)).unwrap();
        assert_eq!(remove_stale_key_folders(tmp.path()), 2);
        assert!(tmp.path().join(&locked).exists(), "a held folder was removed");
        for d in &stale {
            assert!(!tmp.path().join(d).exists(), "{d} survived");
        }
        for d in kept.iter().chain([&file, &link]) {
            assert!(tmp.path().join(d).symlink_metadata().is_ok(), "{d} removed");
        }
        assert!(target.path().exists());
    }

    /// A pid no process has: a child that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
        pid
    }
}
