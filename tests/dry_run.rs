//! `plan` is a dry run: with a remote source (an object in a real S3 server, s3s-fs, see
//! tests/common/servers/) it asks the backend for the object's identity and nothing more.
//! It downloads nothing and writes nothing in the workspace, whether the source is new or its
//! object changed; `run` then fetches the object and builds.

use crate::common;

use common::publish::*;
use common::servers::S3Server;
use common::{Workspace, executed, planned, reason};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// Every entry under `root`: relative path → (is a folder, size, modification time).
fn listing(root: &Path) -> BTreeMap<String, (bool, u64, SystemTime)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (bool, u64, SystemTime)>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).expect("stat");
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(rel, (meta.is_dir(), meta.len(), meta.modified().expect("mtime")));
            if meta.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn plan_with_a_remote_source_downloads_and_writes_nothing() {
    let s3 = S3Server::start();
    let env = s3.env();
    let ws = Workspace::new();
    let v1 = std::fs::read(ws.make_source_with("gen/a1.mp4", 2.0, "160x90", 440, false)).unwrap();
    let v2 = std::fs::read(ws.make_source_with("gen/a2.mp4", 2.0, "160x90", 660, false)).unwrap();
    assert_ne!(v1, v2);
    s3.put_object("masters/a.mp4", &v1);
    let mut p = Pipeline::new(s3.yaml("/"));
    p.source = vec![("object", "masters/a.mp4"), ("backend", "cdn"), ("id", "a")];
    ws.write_manifest(&p.render());
    let gets_since = |since: usize| {
        s3.requests()
            .into_iter()
            .skip(since)
            .filter(|r| r.method == "GET" && r.key(s3.bucket()).as_deref() == Some("masters/a.mp4"))
            .count()
    };
    let local_copy = ws.path(".vodbuild/sources/a/a.mp4");
    let encodes = ["encode:a:90p", "encode:a:aac64"];

    // A new remote source: stale, and still not downloaded.
    let (before, mark) = (listing(ws.root()), s3.requests().len());
    let plan = plan_ok(&ws, &env);
    for id in encodes {
        assert!(planned(&plan).contains(id), "{id} is not stale in the first plan: {plan:#}");
    }
    assert_eq!(gets_since(mark), 0, "plan downloaded the object");
    assert_eq!(listing(ws.root()), before, "plan changed the workspace");
    assert!(!local_copy.exists(), "plan made a local copy of the source");

    // `run` fetches it and builds.
    let run1 = run_ok(&ws, &env);
    assert!(executed(&run1).contains("encode:a:90p"), "{:?}", executed(&run1));
    assert_eq!(stat(&run1, "downloaded_bytes"), v1.len() as u64, "stats.downloaded_bytes of the first run");
    assert_eq!(std::fs::read(&local_copy).unwrap(), v1, "the local copy after the first run");

    // The object changes: plan says so without fetching it, and leaves the old copy alone.
    s3.put_object("masters/a.mp4", &v2);
    let (before, mark) = (listing(ws.root()), s3.requests().len());
    let plan = plan_ok(&ws, &env);
    for id in encodes {
        assert_eq!(reason(&plan, id), "source changed", "{id} in the plan after the object changed");
    }
    assert_eq!(gets_since(mark), 0, "plan downloaded the changed object");
    assert_eq!(listing(ws.root()), before, "plan changed the workspace");
    assert_eq!(std::fs::read(&local_copy).unwrap(), v1, "plan replaced the local copy");

    // `run` fetches the new object and rebuilds; then nothing is stale.
    let run2 = run_ok(&ws, &env);
    let ran = executed(&run2);
    for id in encodes {
        assert!(ran.contains(id), "{id} did not re-run after the object changed: {ran:?}");
    }
    assert_eq!(stat(&run2, "downloaded_bytes"), v2.len() as u64, "stats.downloaded_bytes after the change");
    assert_eq!(std::fs::read(&local_copy).unwrap(), v2, "the local copy after the second run");
    let plan = plan_ok(&ws, &env);
    assert!(planned(&plan).is_empty(), "stale after the run: {:?}", planned(&plan));
}
