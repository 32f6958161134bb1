//! The workspace lock: one vodbuild run per workspace at a time. An advisory lock on
//! `.vodbuild/<manifest file name>/lock` (never opened through a symlink), released by the
//! kernel when the process exits, even on SIGKILL.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

pub struct WorkspaceLock {
    _file: File,
}

impl WorkspaceLock {
    pub fn acquire(state_dir: &Path) -> Result<WorkspaceLock> {
        std::fs::create_dir_all(state_dir).ctx(|| format!("creating {}", state_dir.display()))?;
        let path = state_dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .ctx(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(WorkspaceLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::Locked { path: state_dir.to_path_buf() }),
            Err(TryLockError::Error(e)) => Err(Error::io(format!("locking {}", path.display()), e)),
        }
    }
}
