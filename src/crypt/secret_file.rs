//! Files holding key material for a tool (ffmpeg's key and key-info files, Shaka Packager's
//! flag file) that never reach a disk: a Linux `memfd` (anonymous memory, mode 0600), named
//! to the tool by `/proc/PID/fd/N` of this process. The tool opens it like a file (the kernel
//! lets only this user's processes in); it is gone when the [`SecretFile`] is dropped, and with
//! the process when it is killed (SIGKILL included), so nothing is left to sweep. The fd is
//! close-on-exec: no other child of this process inherits it.
//!
//! Where memfd or `/proc` is missing, [`super::job::Prepared`] falls back to a 0600 file in a
//! private 0700 folder of the system temp folder ([`super::sweep`] removes those a killed run
//! left).

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Largest secret file (a flag file holds one key line and a few flags).
const MAX_BYTES: usize = 64 * 1024;

/// A secret file in memory; closed (and freed) on drop.
pub struct SecretFile {
    file: std::fs::File,
    path: PathBuf,
}

impl SecretFile {
    /// `name` shows in `/proc/PID/fd` listings (`memfd:NAME`); `bytes` is the content.
    pub fn new(name: &str, bytes: &[u8]) -> Result<SecretFile, String> {
        if bytes.len() > MAX_BYTES {
            return Err(format!("a secret file larger than {MAX_BYTES} bytes"));
        }
        let c_name = CString::new(format!("vodbuild-{name}")).map_err(|_| "a secret file name with a NUL")?;
        // SAFETY: a NUL-terminated name and documented flags; the result is checked.
        let fd = unsafe { libc::memfd_create(c_name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: a new descriptor that nothing else owns.
        let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| format!("memfd: {e}"))?;
        file.write_all(bytes).map_err(|e| format!("memfd: {e}"))?;
        let path = PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd()));
        // Another process must be able to open it by that name (needs /proc).
        let len = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?.len();
        if len != bytes.len() as u64 {
            return Err(format!("{}: not the secret file", path.display()));
        }
        Ok(SecretFile { file, path })
    }

    /// The name a tool opens it by.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretFile({}, fd {})", self.path.display(), self.file.as_raw_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_by_name_while_held_gone_after() {
        let f = SecretFile::new("test.key", b"secret bytes").unwrap();
        let path = f.path().to_path_buf();
        assert!(path.starts_with("/proc"), "{path:?}");
        assert_eq!(std::fs::read(&path).unwrap(), b"secret bytes", "read twice: each open starts at 0");
        assert_eq!(std::fs::read(&path).unwrap(), b"secret bytes");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // A child process opens it by name.
        let out = std::process::Command::new("cat").arg(&path).output().unwrap();
        assert_eq!(out.stdout, b"secret bytes");
        drop(f);
        let link = std::fs::read_link(&path);
        assert!(link.is_err() || !link.unwrap().to_string_lossy().contains("vodbuild-test.key"), "closed on drop");
    }
}
