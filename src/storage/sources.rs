//! Sources that are objects in a backend. Their identity for staleness is the backend's
//! metadata (ETag, size, last-modified), like the stat cache for files; their bytes are
//! downloaded only by a run: when that identity changes (before the steps are judged, see
//! [`crate::digests`]) or when a job needs the local copy and it is gone ([`ensure_local`]).
//! A dry command (`plan`, `status`, `graph`) only asks for the identity.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::TryStreamExt;

use super::{BackendConfig, block_on};

static DOWNLOADED: AtomicU64 = AtomicU64::new(0);

/// Bytes of remote sources downloaded by this process.
pub fn downloaded_bytes() -> u64 {
    DOWNLOADED.load(Ordering::Relaxed)
}

/// `etag|size|last-modified` of the object.
pub fn identity(backend: &BackendConfig, object: &str) -> Result<String, String> {
    let op = backend.connect()?;
    let meta = block_on(op.stat(object)).map_err(|e| format!("{} (object {object})", backend.describe_err(&e)))?;
    let modified = meta.last_modified().map(|t| t.to_string()).unwrap_or_default();
    Ok(format!("{}|{}|{modified}", meta.etag().unwrap_or(""), meta.content_length()))
}

/// The local copy of a remote source, downloaded when it is missing (a job about to read it
/// on a workspace whose copy was deleted); returns the bytes downloaded (0 when present).
pub fn ensure_local(backend: &BackendConfig, object: &str, dest: &Path) -> Result<u64, String> {
    if dest.exists() { Ok(0) } else { download(backend, object, dest) }
}

/// Downloads `object` to `dest` (through a temporary file, renamed on success); returns bytes.
pub fn download(backend: &BackendConfig, object: &str, dest: &Path) -> Result<u64, String> {
    let op = backend.connect()?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    }
    let tmp = dest.with_extension(format!("download-{}", std::process::id()));
    let result = block_on(async {
        let reader = op.reader_with(object).chunk(8 << 20).await.map_err(|e| backend.describe_err(&e))?;
        let mut stream = reader.into_bytes_stream(..).await.map_err(|e| backend.describe_err(&e))?;
        let mut file = std::fs::File::create(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
        let mut total = 0u64;
        while let Some(chunk) =
            stream.try_next().await.map_err(|e| format!("backend `{}`: reading {object}: {e}", backend.name))?
        {
            file.write_all(&chunk).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
            total += chunk.len() as u64;
        }
        file.sync_all().map_err(|e| format!("writing {}: {e}", tmp.display()))?;
        Ok::<u64, String>(total)
    });
    match result {
        Ok(n) => {
            DOWNLOADED.fetch_add(n, Ordering::Relaxed);
            std::fs::rename(&tmp, dest).map_err(|e| format!("moving {} into place: {e}", dest.display()))?;
            Ok(n)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
