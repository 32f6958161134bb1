//! Stats of many files of one folder, resolved relative to the folder (`fstatat(2)` on its
//! descriptor): the kernel walks the folder's own path once, not once per file. A no-op run
//! over a catalog checks about 23 recorded outputs a title, and walking each absolute path
//! again was a fifth of its time (perf, 1,000 titles). Same answer as [`FileStat::of`] on
//! `dir.join(rel)`: symlinks are followed, and an absolute `rel` ignores the folder.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::hash::FileStat;

/// An open folder (`O_PATH`: no read permission needed, nothing read through it).
pub struct Folder {
    fd: OwnedFd,
}

impl Folder {
    pub fn open(dir: &Path) -> io::Result<Folder> {
        let c = cstring(dir.as_os_str().as_bytes())?;
        // SAFETY: `c` is a valid NUL-terminated string; the descriptor returned is owned here.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and nothing else owns it.
        Ok(Folder { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// The stat of `rel` inside the folder.
    pub fn stat(&self, rel: &str) -> io::Result<FileStat> {
        let c = cstring(rel.as_bytes())?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: valid descriptor and string; `st` is written by the call when it returns 0.
        let r = unsafe { libc::fstatat(self.fd.as_raw_fd(), c.as_ptr(), st.as_mut_ptr(), 0) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fstatat returned 0, so it filled `st`.
        let st = unsafe { st.assume_init() };
        Ok(FileStat {
            size: st.st_size as u64,
            mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
            ino: st.st_ino,
            ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec,
        })
    }
}

fn cstring(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_stat_as_by_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/seg.m4s"), b"data").unwrap();
        std::os::unix::fs::symlink("b/seg.m4s", dir.path().join("a/link")).unwrap();
        let f = Folder::open(&dir.path().join("a")).unwrap();
        let by_path = FileStat::of(&dir.path().join("a/b/seg.m4s")).unwrap();
        assert_eq!(f.stat("b/seg.m4s").unwrap(), by_path);
        assert_eq!(f.stat("link").unwrap(), by_path, "symlinks are followed");
        let abs = dir.path().join("a/b/seg.m4s");
        assert_eq!(f.stat(abs.to_str().unwrap()).unwrap(), by_path);
        assert_eq!(f.stat("b/none").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(f.stat("b\0x").is_err());
        assert!(Folder::open(&dir.path().join("none")).is_err());
    }
}
