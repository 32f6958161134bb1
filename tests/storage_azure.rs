//! Publishing to Azure Blob Storage (opendal `azblob`) against a real Azure Blob endpoint:
//! Azurite, Microsoft's emulator (tests/common/servers/azurite.rs, installed in
//! tests/azurite by `cargo xtask setup`).
//!
//! Blobs whose name has a component starting with `.` (bookkeeping under the prefix) are
//! not media and are left out when the container is compared with the local outputs.

use crate::common;

use base64::Engine as _;
use common::servers::{AzuriteServer, env_refs, files_rel};
use common::{Manifest, Output, Workspace, executed, planned};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use vodbuild::exit_codes::BUILD_FAILED;

/// The backend's name in `storage:`; its key comes from `VODBUILD_AZ_ACCOUNT_KEY`.
const BACKEND: &str = "az";
/// The id SMALL's glob gives `media/a.mp4`; outputs are `out/media/a/…`, blobs `media/a/…`.
const SRC: &str = "media/a";

/// The SMALL manifest (media/*.mp4, two H.264 rungs, AAC, HLS + DASH, thumbnails,
/// metadata), published to `az` under `{source}/`.
fn manifest(az: &AzuriteServer) -> String {
    let storage =
        format!("storage:\n  {BACKEND}:\n{}publish:\n  to: {BACKEND}\n  prefix: \"{{source}}/\"\n", az.yaml(BACKEND));
    Manifest::small().section(&storage).yaml()
}

fn run(ws: &Workspace, args: &[&str], env: &[(&'static str, String)]) -> Output {
    ws.vodbuild_env(args, &env_refs(env))
}

fn run_ok(ws: &Workspace, env: &[(&'static str, String)]) -> Value {
    run(ws, &["run", "pipeline.yaml", "--json"], env).success().json()
}

/// `stats.NAME` of a run JSON, which the storage contract requires.
fn stat(run: &Value, name: &str) -> u64 {
    run["stats"][name].as_u64().unwrap_or_else(|| panic!("run JSON has no numeric stats.{name}: {run:#}"))
}

fn is_hidden(key: &str) -> bool {
    key.split('/').any(|c| c.starts_with('.'))
}

/// Every local output file of source `id`, keyed as published: `id/REL` → bytes.
fn local_outputs(ws: &Workspace, id: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = ws.path(&format!("out/{id}"));
    let out: BTreeMap<String, Vec<u8>> = files_rel(&dir)
        .into_iter()
        .filter(|k| !is_hidden(k))
        .map(|k| (format!("{id}/{k}"), std::fs::read(dir.join(&k)).unwrap()))
        .collect();
    assert!(out.keys().any(|k| k.ends_with(".m3u8")), "no HLS playlist among the outputs: {:?}", out.keys());
    assert!(out.keys().any(|k| k.ends_with(".mpd")), "no MPD among the outputs: {:?}", out.keys());
    out
}

fn total_bytes(m: &BTreeMap<String, Vec<u8>>) -> u64 {
    m.values().map(|v| v.len() as u64).sum()
}

/// Asserts the container holds exactly the local outputs (same names, sizes and bytes),
/// ignoring hidden blobs.
fn assert_published(what: &str, az: &AzuriteServer, local: &BTreeMap<String, Vec<u8>>) {
    let listed: BTreeMap<String, u64> = az.blobs().into_iter().filter(|(k, _)| !is_hidden(k)).collect();
    let missing: Vec<&String> = local.keys().filter(|k| !listed.contains_key(*k)).collect();
    let extra: Vec<&String> = listed.keys().filter(|k| !local.contains_key(*k)).collect();
    let wrong_size: Vec<(&String, u64, u64)> = local
        .iter()
        .filter_map(|(k, v)| listed.get(k).filter(|&&n| n != v.len() as u64).map(|&n| (k, v.len() as u64, n)))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && wrong_size.is_empty(),
        "{what}: the container's listing differs from the local outputs\nmissing: {missing:?}\nextra: {extra:?}\n\
         (name, local size, blob size): {wrong_size:?}"
    );
    let differ: Vec<&String> = local.iter().filter(|(k, v)| az.blob(k).as_ref() != Some(*v)).map(|(k, _)| k).collect();
    assert!(differ.is_empty(), "{what}: blobs whose bytes differ from the local file: {differ:?}");
}

fn publish_ids(id: &str) -> BTreeSet<String> {
    ["hls", "dash", "thumbnails", "metadata"].iter().map(|k| format!("publish_{k}:{id}")).collect()
}

// ------------------------------------------------------------------ tests

#[test]
fn azblob_publish_uploads_every_output_once() {
    let az = AzuriteServer::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(&manifest(&az));
    let env = az.env(BACKEND);

    let run1 = run_ok(&ws, &env);
    let ran = executed(&run1);
    for id in publish_ids(SRC) {
        assert!(ran.contains(&id), "the first run did not execute {id}: {ran:?}");
    }
    let local = local_outputs(&ws, SRC);
    assert_published("azurite after the first run", &az, &local);
    assert_eq!(stat(&run1, "uploaded_objects"), local.len() as u64, "{run1:#}");
    assert_eq!(stat(&run1, "uploaded_bytes"), total_bytes(&local), "{run1:#}");

    let mark = az.requests().len();
    assert!(mark > 0, "Azurite logged no requests; log:\n{}", az.log_tail());
    let run2 = run_ok(&ws, &env);
    assert!(executed(&run2).is_empty(), "the rerun executed {:?}", executed(&run2));
    assert_eq!(stat(&run2, "uploaded_bytes"), 0, "{run2:#}");
    let container = az.container().to_string();
    let writes: Vec<_> =
        az.requests().into_iter().skip(mark).filter(|r| r.is_blob_write(&container) || r.method == "DELETE").collect();
    assert!(writes.is_empty(), "the no-op rerun wrote to the container: {writes:?}");
    assert_published("azurite after the rerun", &az, &local);
}

#[test]
fn azblob_wrong_account_key_fails_naming_the_backend() {
    let az = AzuriteServer::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(&manifest(&az));
    // Valid base64, so the key is used (and refused), not rejected as malformed.
    let wrong = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    let bad_env = az.env_with_key(BACKEND, &wrong);
    let named = format!("backend `{BACKEND}`");

    // Plain output: the error is on stderr.
    let out = run(&ws, &["run", "pipeline.yaml"], &bad_env);
    assert_eq!(out.code, BUILD_FAILED, "expected exit 1\n{}", out.describe());
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    assert!(out.stderr.contains(&named), "stderr does not name {named}\n{}", out.describe());
    assert!(!out.stderr.contains(&wrong), "stderr shows the account key\n{}", out.describe());

    // --json: the failed publish steps name the backend in their `error`.
    let out = run(&ws, &["run", "pipeline.yaml", "--json"], &bad_env);
    assert_eq!(out.code, BUILD_FAILED, "expected exit 1\n{}", out.describe());
    let run = out.json();
    let failed = common::with_status(&run, "failed");
    assert!(!failed.is_empty(), "no failed step in {run:#}");
    for id in &failed {
        let err = common::step(&run, id)["error"].as_str().unwrap_or("");
        assert!(err.contains(&named), "{id} failed without naming {named}: {err:?}");
    }

    // Nothing reached the container and nothing was recorded as published.
    let blobs = az.keys();
    assert!(blobs.is_empty(), "blobs were written with a refused key: {blobs:?}");
    let refused: Vec<_> = az.requests().into_iter().filter(|r| r.status == 403).collect();
    assert!(!refused.is_empty(), "Azurite refused no request; log:\n{}", az.log_tail());
    let plan = ws.vodbuild_env(&["plan", "pipeline.yaml", "--json"], &env_refs(&az.env(BACKEND))).success().json();
    let stale = planned(&plan);
    for id in publish_ids(SRC) {
        assert!(stale.contains(&id), "{id} is not stale after the failed run (was it recorded?): {stale:?}");
    }
}

/// The fixture itself: its SharedKey signing is what Azurite checks (a wrong key is
/// refused), the new container is empty, and the access log records each request.
#[test]
fn azurite_fixture_signs_lists_and_logs() {
    let az = AzuriteServer::start();
    assert!(az.blobs().is_empty(), "a new container is not empty: {:?}", az.blobs());
    let list = [("restype", "container"), ("comp", "list")];
    let path = format!("/{}", az.container());
    let wrong = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    let (code, body) = az.signed("GET", &path, &list, &wrong);
    assert_eq!(code, 403, "a request signed with a wrong key was not refused: {}", String::from_utf8_lossy(&body));
    let (code, body) = az.signed("GET", &path, &list, az.account_key());
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(az.blob("no/such/blob"), None);

    let reqs = az.requests();
    let summary: Vec<(&str, &str, u16)> = reqs.iter().map(|r| (r.method.as_str(), r.path.as_str(), r.status)).collect();
    let container = format!("/{}/{}", AzuriteServer::ACCOUNT, az.container());
    assert_eq!(
        summary,
        vec![
            ("PUT", container.as_str(), 201),
            ("GET", container.as_str(), 200),
            ("GET", container.as_str(), 403),
            ("GET", container.as_str(), 200),
            ("GET", &format!("{container}/no/such/blob"), 404),
        ],
        "{reqs:#?}"
    );
    assert_eq!(reqs[0].query, "restype=container");
    assert_eq!(reqs[4].blob(az.container()).as_deref(), Some("no/such/blob"));
}
