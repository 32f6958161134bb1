//! Helpers for the storage tests: a manifest with a backend and publishing, and
//! comparisons of local outputs with what a backend holds.

use super::manifest::h264;
use super::servers::{env_refs, files_rel};
use super::{Manifest, Output, Workspace};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

// ------------------------------------------------------------------ manifest

/// The storage tests' manifest: SMALL's outputs from one source, published to backend `cdn`
/// under `{source}/`; the fields are what the tests change. Rendered with [`Manifest`].
pub struct Pipeline {
    /// The `storage: cdn:` body (from a fixture's `yaml`).
    pub backend: String,
    /// The one source's fields.
    pub source: Vec<(&'static str, &'static str)>,
    /// (name, height, bitrate) of each video rendition, in ladder order.
    pub video: Vec<(&'static str, u32, String)>,
    pub gop: u32,
    pub segment: u32,
    pub concurrency: u32,
    pub state: bool,
}

impl Pipeline {
    pub fn new(backend: String) -> Pipeline {
        Pipeline {
            backend,
            source: vec![("path", "media/a.mp4"), ("id", "a")],
            video: vec![("144p", 144, "200k".to_string()), ("90p", 90, "100k".to_string())],
            gop: 2,
            segment: 2,
            concurrency: 8,
            state: false,
        }
    }

    pub fn render(&self) -> String {
        let heights: Vec<String> = self.video.iter().map(|(_, height, _)| height.to_string()).collect();
        let fields: Vec<[(&str, &str); 4]> = (self.video.iter().zip(&heights))
            .map(|((_, _, bitrate), height)| h264(height, bitrate, "ultrafast"))
            .collect();
        let ladder: Vec<(&str, &[(&str, &str)])> =
            self.video.iter().zip(&fields).map(|((name, _, _), f)| (*name, &f[..])).collect();
        let segment = self.segment.to_string();
        let mut sections = format!("storage:\n  cdn:\n{}", self.backend);
        sections += &format!("publish:\n  to: cdn\n  prefix: \"{{source}}/\"\n  concurrency: {}\n", self.concurrency);
        if self.state {
            sections += "state:\n  backend: cdn\n  prefix: .vodbuild/\n";
        }
        Manifest::small()
            .gop(&self.gop.to_string())
            .without_sources()
            .source_with(&self.source)
            .ladder(&ladder)
            .output_field("hls", "segment_seconds", &segment)
            .output_field("dash", "segment_seconds", &segment)
            .section(&sections)
            .yaml()
    }
}

// ------------------------------------------------------------------ helpers

pub fn run_env(ws: &Workspace, extra: &[&str], env: &[(&'static str, String)]) -> Output {
    let mut args = vec!["run", "pipeline.yaml", "--json"];
    args.extend_from_slice(extra);
    ws.vodbuild_env(&args, &env_refs(env))
}

pub fn run_ok(ws: &Workspace, env: &[(&'static str, String)]) -> Value {
    run_env(ws, &[], env).success().json()
}

pub fn plan_ok(ws: &Workspace, env: &[(&'static str, String)]) -> Value {
    ws.vodbuild_env(&["plan", "pipeline.yaml", "--json"], &env_refs(env)).success().json()
}

/// `stats.NAME` of a run JSON, which the storage contract requires.
pub fn stat(run: &Value, name: &str) -> u64 {
    run["stats"][name].as_u64().unwrap_or_else(|| panic!("run JSON has no numeric stats.{name}: {run:#}"))
}

pub fn is_hidden(key: &str) -> bool {
    key.split('/').any(|c| c.starts_with('.'))
}

/// Every local output file of source `id`, keyed as published: `id/REL` → bytes.
pub fn local_outputs(ws: &Workspace, id: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = ws.path(&format!("out/{id}"));
    files_rel(&dir)
        .into_iter()
        .filter(|k| !is_hidden(k))
        .map(|k| (format!("{id}/{k}"), std::fs::read(dir.join(&k)).unwrap()))
        .collect()
}

/// Every non-hidden file under `root` (a bucket dir or a server root) → bytes.
pub fn remote_media(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_rel(root)
        .into_iter()
        .filter(|k| !is_hidden(k))
        .map(|k| {
            let bytes = std::fs::read(root.join(&k)).unwrap();
            (k, bytes)
        })
        .collect()
}

pub fn keys(m: &BTreeMap<String, Vec<u8>>) -> BTreeSet<String> {
    m.keys().cloned().collect()
}

pub fn total_bytes(m: &BTreeMap<String, Vec<u8>>) -> u64 {
    m.values().map(|v| v.len() as u64).sum()
}

/// Asserts the remote copy under `root` holds exactly the local outputs of `id` (same
/// keys, same bytes), ignoring keys outside `id/`.
pub fn assert_published(what: &str, root: &Path, local: &BTreeMap<String, Vec<u8>>, id: &str) {
    let remote: BTreeMap<String, Vec<u8>> =
        remote_media(root).into_iter().filter(|(k, _)| k.starts_with(&format!("{id}/"))).collect();
    let missing: Vec<&String> = local.keys().filter(|k| !remote.contains_key(*k)).collect();
    let extra: Vec<&String> = remote.keys().filter(|k| !local.contains_key(*k)).collect();
    let differ: Vec<&String> =
        local.iter().filter(|(k, v)| remote.get(*k).is_some_and(|r| r != *v)).map(|(k, _)| k).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "{what}: remote copy differs from the local outputs\nmissing: {missing:?}\nextra: {extra:?}\ndifferent bytes: {differ:?}"
    );
}

pub fn publish_ids(id: &str) -> BTreeSet<String> {
    ["hls", "dash", "thumbnails", "metadata"].iter().map(|k| format!("publish_{k}:{id}")).collect()
}

pub fn kind_of<'a>(run: &'a Value, id: &str) -> &'a str {
    super::step(run, id)["kind"].as_str().unwrap_or("")
}

/// Resolves `uri` relative to the folder of `key` (handles `./` and `../`).
pub fn resolve(key: &str, uri: &str) -> String {
    let mut parts: Vec<&str> = key.split('/').collect();
    parts.pop();
    for seg in uri.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Every object that a playlist (.m3u8) or MPD in `objects` names, with the name of the
/// playlist that names it.
pub fn named_objects(objects: &BTreeMap<String, Vec<u8>>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, bytes) in objects {
        let text = String::from_utf8_lossy(bytes);
        if key.ends_with(".m3u8") {
            if text.contains("#EXT-X-STREAM-INF") {
                let master = super::media::parse_master(&text);
                for v in &master.variants {
                    out.push((key.clone(), resolve(key, &v.uri)));
                }
                for m in &master.media {
                    if let Some(uri) = super::media::attr(m, "URI") {
                        out.push((key.clone(), resolve(key, uri)));
                    }
                }
            } else {
                let pl = super::media::parse_media(&text);
                for uri in pl.init.iter().chain(pl.segments.iter().map(|(_, u)| u)) {
                    out.push((key.clone(), resolve(key, uri)));
                }
            }
        } else if key.ends_with(".mpd") {
            for rep in super::mpd::representations(&text) {
                for f in rep.files {
                    out.push((key.clone(), resolve(key, &f)));
                }
            }
        }
    }
    out
}

/// No playlist or MPD in the bucket names an object that is not there.
pub fn assert_playlists_name_existing(what: &str, objects: &BTreeMap<String, Vec<u8>>) {
    let dangling: Vec<String> = named_objects(objects)
        .into_iter()
        .filter(|(_, target)| !objects.contains_key(target))
        .map(|(pl, target)| format!("{pl} -> {target}"))
        .collect();
    assert!(dangling.is_empty(), "{what}: playlists name missing objects:\n{}", dangling.join("\n"));
}

// ------------------------------------------------------------------ a. publish, then no-op
