//! What a backend holds, listed once per run and cached: publish steps are fresh only when
//! every object they recorded is still there with its recorded size.

use std::collections::{BTreeMap, HashMap};

use super::{BackendConfig, block_on};

#[derive(Default)]
pub struct RemoteIndex {
    /// (backend name, listed prefix) → object path → size
    listed: HashMap<(String, String), Result<BTreeMap<String, u64>, String>>,
}

impl RemoteIndex {
    /// The size of `path` on `backend`, listing `root` (recursively) the first time it is asked.
    /// `root` must be a prefix of `path`.
    pub fn size(&mut self, backend: &BackendConfig, root: &str, path: &str) -> Result<Option<u64>, String> {
        let key = (backend.name.clone(), root.to_string());
        let listing = self.listed.entry(key).or_insert_with(|| list(backend, root));
        match listing {
            Ok(map) => Ok(map.get(path).copied()),
            Err(e) => Err(e.clone()),
        }
    }

    /// The first object under `folder/` that is not in `known` (relative paths), if any.
    pub fn extra(
        &mut self,
        backend: &BackendConfig,
        root: &str,
        folder: &str,
        known: &std::collections::HashSet<&str>,
    ) -> Result<Option<String>, String> {
        let key = (backend.name.clone(), root.to_string());
        let listing = self.listed.entry(key).or_insert_with(|| list(backend, root));
        let map = listing.as_ref().map_err(Clone::clone)?;
        let dir = format!("{}/", folder.trim_end_matches('/'));
        Ok(map
            .range(dir.clone()..)
            .take_while(|(k, _)| k.starts_with(&dir))
            .map(|(k, _)| k)
            .find(|k| !known.contains(&k[dir.len()..]))
            .cloned())
    }
}

/// Every object under `root`: path → size.
pub fn list(backend: &BackendConfig, root: &str) -> Result<BTreeMap<String, u64>, String> {
    let op = backend.connect()?;
    block_on(async {
        let entries = match op.list_with(root).recursive(true).await {
            Ok(e) => e,
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(backend.describe_err(&e)),
        };
        let mut out = BTreeMap::new();
        for e in entries {
            if !e.metadata().is_file() {
                continue;
            }
            let mut size = e.metadata().content_length();
            if size == 0 {
                // Some services list without sizes: ask.
                size = op.stat(e.path()).await.map(|m| m.content_length()).unwrap_or(0);
            }
            out.insert(e.path().to_string(), size);
        }
        Ok(out)
    })
}
