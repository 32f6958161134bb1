//! Content digests of the selected sources, which every step key starts from.
//!
//! Files: the stat cache answers for unchanged ones; the rest are hashed in parallel
//! (memory-mapped, multi-threaded for large files). Remote sources (objects in a backend):
//! the backend's identity (ETag, size, last-modified, see [`crate::storage::sources`]) stands
//! for the bytes. [`scan`] only reads — it never downloads or writes, so `plan`, `status`
//! and `graph` use it as is; a remote source whose object is not the recorded one then gets
//! a placeholder digest naming its new identity, which makes every step reading it stale
//! ("source changed"). `run` also calls [`Digests::fetch_changed`], which downloads those
//! objects and hashes them, and [`Digests::record`] to update the stat cache.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::hash::{FileStat, hash_file};
use crate::manifest::{Manifest, Source};
use crate::record::SourceEntry;
use crate::state::State;
use crate::storage;

/// Statistics of source hashing.
#[derive(Debug, Default, Clone, Copy)]
pub struct HashStats {
    pub sources_hashed: usize,
    pub bytes_hashed: u64,
}

/// What [`scan`] found.
#[derive(Debug, Default)]
pub struct Digests {
    /// source id → content digest (a placeholder for a changed remote source not fetched).
    pub by_source: HashMap<String, String>,
    pub stats: HashStats,
    /// New stat cache entries: (source `rel`, entry).
    entries: Vec<(String, SourceEntry)>,
    /// Remote sources whose object is not the recorded one: (source id, its identity now).
    changed: Vec<(String, String)>,
}

/// One source's answer.
enum Found {
    /// The stat cache (or the recorded identity) answered.
    Cached(String),
    /// Hashed now.
    Hashed(SourceEntry),
    /// A remote object that is not the recorded one: its identity.
    Changed(String),
}

/// The digests of the `wanted` sources. Reads files and asks backends for object metadata;
/// downloads nothing and writes nothing (not even `state`).
pub fn scan(m: &Manifest, wanted: &[&str], state: &State) -> Result<Digests> {
    let wanted: std::collections::HashSet<&str> = wanted.iter().copied().collect();
    let work: Vec<&Source> = m.sources.iter().filter(|s| wanted.contains(s.id.as_str())).collect();
    let found: Vec<Result<Found>> = work.par_iter().map(|s| find(s, state)).collect();
    let mut d = Digests::default();
    for (r, s) in found.into_iter().zip(&work) {
        let digest = match r? {
            Found::Cached(digest) => digest,
            Found::Hashed(entry) => d.add_hashed(s, entry),
            Found::Changed(identity) => {
                d.changed.push((s.id.clone(), identity.clone()));
                format!("remote:{identity}")
            }
        };
        d.by_source.insert(s.id.clone(), digest);
    }
    Ok(d)
}

fn find(s: &Source, state: &State) -> Result<Found> {
    let recorded = state.data.sources.get(&s.rel);
    if let Some(r) = &s.remote {
        let identity =
            storage::sources::identity(&r.backend, &r.object).map_err(|message| Error::Storage { message })?;
        return Ok(match recorded {
            Some(e) if e.identity.as_deref() == Some(identity.as_str()) => Found::Cached(e.digest.clone()),
            _ => Found::Changed(identity),
        });
    }
    let stat = FileStat::of(&s.path).map_err(|e| media_err(s, e))?;
    if let Some(e) = recorded
        && e.stat == stat
    {
        return Ok(Found::Cached(e.digest.clone()));
    }
    let digest = hash_file(&s.path, stat.size).map_err(|e| media_err(s, e))?;
    Ok(Found::Hashed(SourceEntry { stat, digest, identity: None }))
}

impl Digests {
    fn add_hashed(&mut self, s: &Source, entry: SourceEntry) -> String {
        self.stats.sources_hashed += 1;
        self.stats.bytes_hashed += entry.stat.size;
        let digest = entry.digest.clone();
        self.entries.push((s.rel.clone(), entry));
        digest
    }

    /// For `run`: downloads every remote source whose object changed (see
    /// [`storage::sources::download`]) and hashes the copy, so the steps reading it are keyed
    /// by its content.
    pub fn fetch_changed(&mut self, m: &Manifest) -> Result<()> {
        let changed = std::mem::take(&mut self.changed);
        let fetched: Vec<Result<(&Source, SourceEntry)>> = changed
            .par_iter()
            .filter_map(|(id, identity)| Some((m.source(id)?, identity)))
            .map(|(s, identity)| fetch(s, identity).map(|entry| (s, entry)))
            .collect();
        for r in fetched {
            let (s, entry) = r?;
            let digest = self.add_hashed(s, entry);
            self.by_source.insert(s.id.clone(), digest);
        }
        Ok(())
    }

    /// A sidecar file's digest under `key` (see [`crate::audio::files::digest_key`]) and, when
    /// it was hashed now, its stat cache entry under `rel` (its bytes count as hashed).
    pub fn add_file(&mut self, key: String, rel: &str, digest: String, hashed: Option<SourceEntry>) {
        if let Some(entry) = hashed {
            self.stats.bytes_hashed += entry.stat.size;
            self.entries.push((rel.to_string(), entry));
        }
        self.by_source.insert(key, digest);
    }

    /// Notes what was hashed or fetched in the stat cache (saved with the state by `run`).
    pub fn record(&self, state: &mut State) {
        for (rel, entry) in &self.entries {
            state.record_source(rel, entry.clone());
        }
    }
}

fn fetch(s: &Source, identity: &str) -> Result<SourceEntry> {
    let r = s.remote.as_ref().expect("a changed source is remote");
    storage::sources::download(&r.backend, &r.object, &s.path).map_err(|message| Error::Storage { message })?;
    let stat = FileStat::of(&s.path).map_err(|e| media_err(s, e))?;
    let digest = hash_file(&s.path, stat.size).map_err(|e| media_err(s, e))?;
    Ok(SourceEntry { stat, digest, identity: Some(identity.to_string()) })
}

fn media_err(s: &Source, e: std::io::Error) -> Error {
    Error::Media { source_id: s.id.clone(), path: s.path.to_path_buf(), message: format!("cannot read: {e}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest whose one source is the object `masters/a.mp4` in an `fs` backend (the
    /// folder `bucket/`), holding `bytes`.
    fn remote_manifest(dir: &std::path::Path, bytes: &[u8]) -> Manifest {
        std::fs::create_dir_all(dir.join("bucket/masters")).unwrap();
        std::fs::write(dir.join("bucket/masters/a.mp4"), bytes).unwrap();
        let text = "version: 1\nstorage:\n  b:\n    service: fs\n    root: bucket\n\
                    sources:\n  - object: masters/a.mp4\n    backend: b\n    id: a\n\
                    profiles:\n  video:\n    v: {codec: h264, height: 90, bitrate: 100k}\n\
                    outputs:\n  hls: {renditions: [v], segment_seconds: 2}\n";
        Manifest::from_text("p.yaml", text, dir, |_| None).unwrap()
    }

    #[test]
    fn scan_never_downloads_and_fetch_changed_does() {
        let dir = tempfile::tempdir().unwrap();
        let m = remote_manifest(dir.path(), b"version one");
        let copy = m.sources[0].path.clone();
        let mut state = State::load(&m.state_dir()).unwrap();

        let mut d = scan(&m, &["a"], &state).unwrap();
        assert!(d.by_source["a"].starts_with("remote:"), "a new remote source: {:?}", d.by_source);
        assert!(!copy.exists(), "scan downloaded the object");
        assert!(!dir.path().join(".vodbuild").exists(), "scan wrote under .vodbuild/");

        d.fetch_changed(&m).unwrap();
        assert_eq!(std::fs::read(&copy).unwrap(), b"version one");
        assert_eq!(d.by_source["a"], hash_file(&copy, 11).unwrap());
        assert_eq!(d.stats.sources_hashed, 1);
        d.record(&mut state);

        // Unchanged object: the recorded digest, even with the local copy gone.
        std::fs::remove_file(&copy).unwrap();
        let again = scan(&m, &["a"], &state).unwrap();
        assert_eq!(again.by_source["a"], d.by_source["a"]);
        assert!(!copy.exists(), "scan fetched an unchanged object");

        // Changed object: a placeholder, nothing fetched.
        std::fs::write(dir.path().join("bucket/masters/a.mp4"), b"version two, longer").unwrap();
        let changed = scan(&m, &["a"], &state).unwrap();
        assert!(changed.by_source["a"].starts_with("remote:"), "{:?}", changed.by_source);
        assert!(!copy.exists(), "scan fetched the changed object");
    }
}
