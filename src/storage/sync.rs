//! Publishing a package: upload only what the backend lacks or holds with another digest,
//! with bounded concurrency, multipart for large files, and in an order that never lets a
//! reader see a playlist naming a missing object: media and init segments first, then media
//! playlists, then master playlists and MPDs. Removing objects the package no longer has is
//! opt-in (`--prune`) and happens last.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use opendal::Operator;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::{BackendConfig, block_on, join};

/// Files at least this large are uploaded in parts.
const MULTIPART_THRESHOLD: u64 = 16 << 20;
const PART_SIZE: usize = 8 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishJob {
    pub backend: BackendConfig,
    /// Remote folder (or, for a single file, the folder it goes into).
    pub remote: String,
    /// Local folder the relative paths are read from.
    pub local: PathBuf,
    /// (relative path, size, digest) of every file to publish.
    pub files: Vec<(String, u64, String)>,
    /// What the last successful publish recorded: relative path → digest.
    pub previous: BTreeMap<String, String>,
    /// Whether `remote` is a folder owned by this package (listed, and pruned with --prune).
    pub owns_folder: bool,
    pub concurrency: usize,
    pub prune: bool,
}

/// A publish step's params, as the graph builds them and its record keeps them: where the
/// package goes. Read back to delete what a dropped step published (`run --prune`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishParams {
    pub backend: Destination,
    /// The remote folder (or, for a single file, the folder it goes into).
    pub remote: String,
}

/// A backend as a step key sees it: no secret (see [`BackendConfig::destination`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub name: String,
    pub service: String,
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncStats {
    pub uploaded_objects: u64,
    pub uploaded_bytes: u64,
    pub deleted_objects: u64,
}

impl std::ops::AddAssign for SyncStats {
    fn add_assign(&mut self, o: SyncStats) {
        self.uploaded_objects += o.uploaded_objects;
        self.uploaded_bytes += o.uploaded_bytes;
        self.deleted_objects += o.deleted_objects;
    }
}

/// 0: media and init segments, 1: media playlists, 2: master playlists and MPDs.
fn tier(rel: &str) -> u8 {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    if name.ends_with(".mpd") || name == "master.m3u8" {
        2
    } else if name.ends_with(".m3u8") {
        1
    } else {
        0
    }
}

/// Publishes `job`; once `stopped()` says so (Ctrl-C), no further upload starts and it fails
/// (the uploads in flight finish; playlists go last, so nothing names a missing object).
pub fn publish(job: &PublishJob, stopped: &(dyn Fn() -> bool + Sync)) -> Result<SyncStats, String> {
    let op = job.backend.connect()?;
    block_on(publish_async(&op, job, stopped))
}

async fn publish_async(
    op: &Operator,
    job: &PublishJob,
    stopped: &(dyn Fn() -> bool + Sync),
) -> Result<SyncStats, String> {
    let b = &job.backend;
    let remote = remote_sizes(op, job).await?;
    let mut stats = SyncStats::default();
    let mut tiers: [Vec<&(String, u64, String)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for f in &job.files {
        let (rel, size, digest) = f;
        let same = job.previous.get(rel) == Some(digest) && remote.get(rel) == Some(size);
        if !same {
            tiers[tier(rel) as usize].push(f);
        }
    }
    let permits = upload_permits(job.concurrency);
    for t in tiers {
        let sizes: Vec<u64> = futures::stream::iter(t)
            .map(|(rel, size, _)| async {
                let _permit = permits.acquire().await.map_err(|e| e.to_string())?;
                if stopped() {
                    return Err("interrupted".to_string());
                }
                upload(op, job, rel, *size).await
            })
            .buffer_unordered(job.concurrency.max(1))
            .try_collect()
            .await?;
        stats.uploaded_objects += sizes.len() as u64;
        stats.uploaded_bytes += sizes.iter().sum::<u64>();
    }
    if job.prune && job.owns_folder {
        let keep: std::collections::HashSet<&str> = job.files.iter().map(|(r, _, _)| r.as_str()).collect();
        for rel in remote.keys().filter(|r| !keep.contains(r.as_str())) {
            op.delete(&join(&job.remote, rel)).await.map_err(|e| b.describe_err(&e))?;
            stats.deleted_objects += 1;
        }
    }
    Ok(stats)
}

/// The uploads in flight across every package this process publishes share `concurrency`
/// (the packages publishing at once, one per network slot, never multiply it).
fn upload_permits(concurrency: usize) -> Arc<Semaphore> {
    static PERMITS: Mutex<Option<(usize, Arc<Semaphore>)>> = Mutex::new(None);
    let mut permits = PERMITS.lock().unwrap_or_else(|e| e.into_inner());
    match permits.as_ref() {
        Some((n, s)) if *n == concurrency => s.clone(),
        _ => {
            let s = Arc::new(Semaphore::new(concurrency.max(1)));
            *permits = Some((concurrency, s.clone()));
            s
        }
    }
}

/// What the backend holds of this package now (relative path → size), asked only when it can
/// change what happens: a file is skipped only when the last publish recorded its digest, and
/// extra objects matter only to `--prune`. A package this workspace never published uploads
/// every file whatever the backend holds, so it skips the listing (on stores that answer a
/// listing by walking everything, one listing per package made a first publish quadratic).
async fn remote_sizes(op: &Operator, job: &PublishJob) -> Result<HashMap<String, u64>, String> {
    let b = &job.backend;
    let mut remote: HashMap<String, u64> = HashMap::new();
    if job.previous.is_empty() && !job.prune {
        return Ok(remote);
    }
    if job.owns_folder {
        let dir = format!("{}/", job.remote.trim_end_matches('/'));
        match op.list_with(&dir).recursive(true).await {
            Ok(entries) => {
                for e in entries.into_iter().filter(|e| e.metadata().is_file()) {
                    let rel = e.path().strip_prefix(&dir).unwrap_or(e.path()).to_string();
                    let mut size = e.metadata().content_length();
                    if size == 0 {
                        size = op.stat(e.path()).await.map(|m| m.content_length()).unwrap_or(0);
                    }
                    remote.insert(rel, size);
                }
            }
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
            Err(e) => return Err(b.describe_err(&e)),
        }
    } else {
        for (rel, _, _) in job.files.iter().filter(|(rel, _, _)| job.previous.contains_key(rel)) {
            match op.stat(&join(&job.remote, rel)).await {
                Ok(m) => {
                    remote.insert(rel.clone(), m.content_length());
                }
                Err(e) if e.kind() == opendal::ErrorKind::NotFound => {}
                Err(e) => return Err(b.describe_err(&e)),
            }
        }
    }
    Ok(remote)
}

async fn upload(op: &Operator, job: &PublishJob, rel: &str, size: u64) -> Result<u64, String> {
    let b = &job.backend;
    let local = job.local.join(rel);
    let path = join(&job.remote, rel);
    if size < MULTIPART_THRESHOLD {
        let bytes = std::fs::read(&local).map_err(|e| format!("reading {}: {e}", local.display()))?;
        op.write(&path, bytes).await.map_err(|e| b.describe_err(&e))?;
    } else {
        use std::io::Read;
        let mut w = op.writer_with(&path).chunk(PART_SIZE).await.map_err(|e| b.describe_err(&e))?;
        let mut file = std::fs::File::open(&local).map_err(|e| format!("reading {}: {e}", local.display()))?;
        let mut buf = vec![0u8; PART_SIZE];
        loop {
            let n = file.read(&mut buf).map_err(|e| format!("reading {}: {e}", local.display()))?;
            if n == 0 {
                break;
            }
            w.write(buf[..n].to_vec()).await.map_err(|e| b.describe_err(&e))?;
        }
        w.close().await.map_err(|e| b.describe_err(&e))?;
    }
    Ok(size)
}

/// Deletes the objects a dropped package had published (`--prune`).
pub fn delete_all(backend: &BackendConfig, paths: &[String]) -> Result<u64, String> {
    let op = backend.connect()?;
    block_on(async {
        for p in paths {
            op.delete(p).await.map_err(|e| backend.describe_err(&e))?;
        }
        Ok(paths.len() as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::tier;

    #[test]
    fn playlists_go_last() {
        assert_eq!(tier("360p/seg_00001.m4s"), 0);
        assert_eq!(tier("360p/init_0.mp4"), 0);
        assert_eq!(tier("360p/index.m3u8"), 1);
        assert_eq!(tier("master.m3u8"), 2);
        assert_eq!(tier("manifest.mpd"), 2);
    }
}
