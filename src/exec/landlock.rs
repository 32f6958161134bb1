//! Keeping a command step's tool from writing outside its output folder, with Linux Landlock
//! (5.13+): a ruleset that handles every write access (create, write, truncate, remove,
//! rename, link) and allows them only beneath the given folders (and on the given files, such
//! as `/dev/null`), applied to the child between fork and exec. Reading is not restricted.
//! On a kernel without Landlock, [`Ruleset::new`] gives None and the tool runs unconfined (its
//! working directory and `TMPDIR` are still its folder; vodbuild keeps only declared outputs).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const CREATE_RULESET_VERSION: libc::c_uint = 1;
const RULE_PATH_BENEATH: libc::c_int = 1;

const WRITE_FILE: u64 = 1 << 1;
const REMOVE_DIR: u64 = 1 << 4;
const REMOVE_FILE: u64 = 1 << 5;
/// MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM.
const MAKE_ANY: u64 = 0b111_1111 << 6;
/// ABI 2: linking or renaming across folders.
const REFER: u64 = 1 << 13;
/// ABI 3.
const TRUNCATE: u64 = 1 << 14;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The Landlock ABI version of this kernel (0 when Landlock is unavailable).
pub fn abi() -> i64 {
    // SAFETY: the documented version query: no attribute, size 0.
    let v = unsafe {
        libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<RulesetAttr>(), 0, CREATE_RULESET_VERSION)
    };
    v.max(0)
}

/// A ruleset allowing writes only beneath some folders and on some files.
pub struct Ruleset(OwnedFd);

impl Ruleset {
    /// None when the kernel has no Landlock.
    pub fn new(dirs: &[&Path], files: &[&Path]) -> Result<Option<Ruleset>, String> {
        let abi = abi();
        if abi < 1 {
            return Ok(None);
        }
        let mut handled = WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_ANY;
        if abi >= 2 {
            handled |= REFER;
        }
        if abi >= 3 {
            handled |= TRUNCATE;
        }
        let attr = RulesetAttr { handled_access_fs: handled };
        // SAFETY: a valid attribute of the size given.
        let fd = unsafe {
            libc::syscall(libc::SYS_landlock_create_ruleset, &attr as *const RulesetAttr, size_of::<RulesetAttr>(), 0)
        };
        if fd < 0 {
            return Err(format!("landlock: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: a new file descriptor this process owns (close-on-exec).
        let ruleset = Ruleset(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        for d in dirs {
            ruleset.allow(d, handled)?;
        }
        for f in files.iter().filter(|f| f.exists()) {
            ruleset.allow(f, handled & (WRITE_FILE | TRUNCATE))?;
        }
        Ok(Some(ruleset))
    }

    fn allow(&self, path: &Path, access: u64) -> Result<(), String> {
        let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| format!("{}: NUL in path", path.display()))?;
        // SAFETY: opening a NUL-terminated path for reference only.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(format!("landlock: {}: {}", path.display(), std::io::Error::last_os_error()));
        }
        // SAFETY: the descriptor just opened.
        let parent = unsafe { OwnedFd::from_raw_fd(fd) };
        let rule = PathBeneathAttr { allowed_access: access, parent_fd: parent.as_raw_fd() };
        // SAFETY: a valid rule for the ruleset this value owns.
        let r = unsafe {
            libc::syscall(
                libc::SYS_landlock_add_rule,
                self.0.as_raw_fd(),
                RULE_PATH_BENEATH,
                &rule as *const PathBeneathAttr,
                0,
            )
        };
        if r < 0 {
            return Err(format!("landlock: {}: {}", path.display(), std::io::Error::last_os_error()));
        }
        Ok(())
    }

    pub fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Applies ruleset `fd` to the calling process: for a child between fork and exec (only
/// async-signal-safe calls: prctl and a system call).
pub fn restrict_self(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: plain system calls on integers.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
