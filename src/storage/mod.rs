//! Storage backends (opendal operators): where outputs are published, where remote sources
//! and remote state live. Configured in the manifest's `storage:` section; credentials come
//! only from the environment and never enter keys, state or logs.
//!
//! The rest of vodbuild is synchronous (rayon); storage calls run on one small tokio runtime
//! shared by the process.

pub mod index;
pub mod remote_state;
pub mod secrets;
pub mod sources;
pub mod sync;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use opendal::Operator;
use opendal::layers::RetryLayer;
use serde::{Deserialize, Serialize};

pub const SERVICES: &[&str] = &["fs", "s3", "gcs", "azblob", "sftp", "webdav"];

/// A backend as configured: its name, opendal service, and non-secret config.
/// Serializable so that a job description can name it; secrets are added at connect time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BackendConfig {
    pub name: String,
    pub service: String,
    pub config: BTreeMap<String, String>,
    /// The manifest's folder: a relative fs `root` is relative to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<std::path::PathBuf>,
}

impl BackendConfig {
    /// The environment variables that may complete this backend's config:
    /// `VODBUILD_<NAME>_<KEY>` (upper case, `-` as `_`), e.g. `VODBUILD_CDN_PASSWORD`.
    pub(crate) fn env_overrides(&self) -> Vec<(String, String)> {
        let prefix = format!("VODBUILD_{}_", self.name.to_ascii_uppercase().replace('-', "_"));
        std::env::vars().filter_map(|(k, v)| k.strip_prefix(&prefix).map(|key| (key.to_ascii_lowercase(), v))).collect()
    }

    /// An opendal operator for this backend, with retries (exponential backoff, jitter).
    /// One per backend and process: connections (an ssh master for sftp) are reused.
    pub fn connect(&self) -> Result<Operator, String> {
        static CACHE: OnceLock<Mutex<HashMap<BackendConfig, Operator>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(op) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(self) {
            return Ok(op.clone());
        }
        let op = self.build()?;
        cache.lock().unwrap_or_else(|e| e.into_inner()).insert(self.clone(), op.clone());
        Ok(op)
    }

    fn build(&self) -> Result<Operator, String> {
        init();
        let mut cfg: BTreeMap<String, String> = self.config.clone();
        if self.service == "s3" {
            cfg.entry("region".into())
                .or_insert_with(|| std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()));
        }
        if self.service == "sftp" {
            // Tests and first connections: accept the server's key (documented in the README).
            cfg.entry("known_hosts_strategy".into()).or_insert_with(|| "accept".into());
        }
        for (k, v) in self.env_overrides() {
            cfg.insert(k, v);
        }
        if self.service == "fs"
            && let (Some(base), Some(root)) = (&self.base, cfg.get("root"))
            && std::path::Path::new(root).is_relative()
        {
            let abs = base.join(root).to_string_lossy().into_owned();
            cfg.insert("root".into(), abs);
        }
        let op = Operator::via_iter(&self.service, cfg).map_err(|e| self.describe_err(&e))?;
        Ok(op.layer(
            RetryLayer::new()
                .with_max_times(4)
                .with_min_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_secs(2))
                .with_jitter(),
        ))
    }

    /// An error message naming the backend, without any configuration value.
    pub fn describe_err(&self, e: &opendal::Error) -> String {
        format!("backend `{}` ({}): {} ({})", self.name, self.service, e.kind(), first_line(&e.to_string()))
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn init() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(opendal::install_default);
}

/// Runs a storage future to completion from synchronous code.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("vodbuild-io")
            .build()
            .expect("tokio runtime")
    });
    rt.block_on(f)
}

/// Joins a prefix and a relative path with exactly one `/`.
pub fn join(prefix: &str, rel: &str) -> String {
    let p = prefix.trim_end_matches('/');
    if p.is_empty() { rel.trim_start_matches('/').to_string() } else { format!("{p}/{}", rel.trim_start_matches('/')) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(service: &str, cfg: &[(&str, &str)]) -> BackendConfig {
        BackendConfig {
            name: "b".into(),
            service: service.into(),
            config: cfg.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            base: None,
        }
    }

    /// Every service the manifest accepts is compiled in and builds from its configuration
    /// (GCS and Azure too, though no emulator for GCS runs in the test suite).
    #[test]
    fn every_service_builds_an_operator() {
        let cases = [
            backend("fs", &[("root", "/tmp")]),
            backend("s3", &[("bucket", "vod"), ("endpoint", "http://127.0.0.1:9")]),
            backend("gcs", &[("bucket", "vod"), ("endpoint", "http://127.0.0.1:9"), ("allow_anonymous", "true")]),
            backend(
                "azblob",
                &[("container", "vod"), ("endpoint", "http://127.0.0.1:9/acct"), ("account_name", "acct")],
            ),
            backend("webdav", &[("endpoint", "http://127.0.0.1:9")]),
            backend("sftp", &[("endpoint", "ssh://127.0.0.1:9"), ("user", "u")]),
        ];
        for b in cases {
            assert!(SERVICES.contains(&b.service.as_str()));
            let op = b.build().unwrap_or_else(|e| panic!("{}: {e}", b.service));
            assert_eq!(op.info().scheme().to_string(), b.service, "{}", b.service);
        }
    }

    /// A relative fs root is relative to the manifest's folder, not the current directory.
    #[test]
    fn relative_fs_root_is_under_the_manifest_folder() {
        let dir = tempfile::tempdir().unwrap();
        let b = BackendConfig { base: Some(dir.path().to_path_buf()), ..backend("fs", &[("root", "published")]) };
        let root = b.build().unwrap().info().root().to_string();
        assert!(root.starts_with(&dir.path().to_string_lossy().into_owned()), "{root}");
        assert!(root.trim_end_matches('/').ends_with("published"), "{root}");
    }

    #[test]
    fn join_has_one_slash() {
        assert_eq!(join("a/", "/b"), "a/b");
        assert_eq!(join("", "b"), "b");
        assert_eq!(join("a", "b/c"), "a/b/c");
    }
}
