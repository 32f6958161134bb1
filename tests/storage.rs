//! Storage: publishing outputs to a backend,
//! remote state, remote sources, pruning and backend failures, each against a real
//! server from tests/common/servers/ (s3s-fs, sshd, nginx WebDAV); helpers in tests/common/publish.rs.
//!
//! Objects whose key has a component starting with `.` (e.g. a bookkeeping index under
//! the prefix, or the remote state under `.vodbuild/`) are not media and are left out
//! when the bucket is compared with the local outputs.

use crate::common;

use common::publish::*;
use common::servers::{S3Server, SftpServer, WebdavServer, closed_port, env_refs, files_rel};
use common::{Workspace, executed, planned, wait, wait_output};
use std::collections::BTreeSet;
use std::time::Duration;
use vodbuild::exit_codes::BUILD_FAILED;

#[test]
fn s3_first_run_uploads_every_output_and_a_rerun_uploads_nothing() {
    let s3 = S3Server::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    ws.write_manifest(&Pipeline::new(s3.yaml("/")).render());
    let env = s3.env();

    let run1 = run_ok(&ws, &env);
    let ran = executed(&run1);
    for id in publish_ids("a") {
        assert!(ran.contains(&id), "{id} did not run on the first run: {ran:?}");
        assert_eq!(kind_of(&run1, &id), "publish", "kind of {id}");
    }
    let local = local_outputs(&ws, "a");
    for dir in ["a/hls/", "a/dash/", "a/thumbnails/"] {
        assert!(local.keys().any(|k| k.starts_with(dir)), "no local outputs under {dir}: {:?}", local.keys());
    }
    assert!(local.contains_key("a/metadata.json"));
    assert_published("after the first run", &s3.bucket_dir(), &local, "a");
    assert_eq!(stat(&run1, "uploaded_objects"), local.len() as u64, "stats.uploaded_objects");
    assert_eq!(stat(&run1, "uploaded_bytes"), total_bytes(&local), "stats.uploaded_bytes");
    assert_eq!(stat(&run1, "deleted_objects"), 0);
    // What the server saw agrees: one write per object.
    let written: BTreeSet<String> = s3.written_keys_since(0).into_iter().filter(|k| !is_hidden(k)).collect();
    assert_eq!(written, keys(&local), "keys PUT to the server");
    // A package never published from this workspace uploads everything: nothing to list.
    let listings: Vec<_> = s3.requests().into_iter().filter(|r| r.query.contains("list-type")).collect();
    assert!(listings.is_empty(), "the first publish listed the bucket: {listings:?}");

    let mark = s3.requests().len();
    let run2 = run_ok(&ws, &env);
    assert!(executed(&run2).is_empty(), "the rerun executed {:?}", executed(&run2));
    assert_eq!(stat(&run2, "uploaded_bytes"), 0);
    assert_eq!(stat(&run2, "uploaded_objects"), 0);
    let puts = s3.written_keys_since(mark);
    assert!(puts.is_empty(), "the no-op rerun wrote to the bucket: {puts:?}");
    assert_published("after the rerun", &s3.bucket_dir(), &local, "a");
}

/// A no-op rerun trusts what this workspace itself published (no listing: no request at
/// all); `--check-remote` lists the bucket and re-publishes an object deleted behind its back.
#[test]
fn s3_check_remote_republishes_an_object_deleted_behind_our_back() {
    let s3 = S3Server::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(&Pipeline::new(s3.yaml("/")).render());
    let env = s3.env();
    run_ok(&ws, &env);

    let mark = s3.requests().len();
    assert!(executed(&run_ok(&ws, &env)).is_empty());
    assert_eq!(s3.requests().len(), mark, "a no-op rerun talked to the bucket: {:?}", &s3.requests()[mark..]);

    let victim = s3.bucket_dir().join("a/hls/master.m3u8");
    std::fs::remove_file(&victim).unwrap();
    assert!(executed(&run_ok(&ws, &env)).is_empty(), "without --check-remote the record is trusted");
    let run = run_env(&ws, &["--check-remote"], &env).success().json();
    assert_eq!(executed(&run), BTreeSet::from(["publish_hls:a".to_string()]), "{run:#}");
    assert!(common::reason(&run, "publish_hls:a").starts_with("output missing: cdn:a/hls/master.m3u8"), "{run:#}");
    assert_eq!(stat(&run, "uploaded_objects"), 1, "only the missing object is uploaded");
    assert!(victim.exists());
}

// ------------------------------------------------------------------ b. one rendition changes

#[test]
fn s3_changed_bitrate_reuploads_only_what_changed() {
    let s3 = S3Server::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 4.0, "320x180");
    let mut p = Pipeline::new(s3.yaml("/"));
    ws.write_manifest(&p.render());
    let env = s3.env();
    run_ok(&ws, &env);
    let before = local_outputs(&ws, "a");
    assert_published("after the first run", &s3.bucket_dir(), &before, "a");

    p.video[0].2 = "260k".to_string(); // 144p: 200k -> 260k
    ws.write_manifest(&p.render());
    let mark = s3.requests().len();
    let run2 = run_ok(&ws, &env);
    let ran = executed(&run2);
    assert!(ran.contains("encode:a:144p"), "144p was not re-encoded: {ran:?}");
    assert!(
        !ran.contains("encode:a:90p") && !ran.contains("encode:a:aac64"),
        "unchanged renditions re-encoded: {ran:?}"
    );

    let after = local_outputs(&ws, "a");
    assert_published("after the change", &s3.bucket_dir(), &after, "a");
    let changed: BTreeSet<String> =
        after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
    let written: BTreeSet<String> = s3.written_keys_since(mark).into_iter().filter(|k| !is_hidden(k)).collect();
    // The uploads are exactly the objects whose bytes changed.
    let needless: Vec<_> = written.difference(&changed).collect();
    let skipped: Vec<_> = changed.difference(&written).collect();
    assert!(
        needless.is_empty() && skipped.is_empty(),
        "uploads != changed objects\nuploaded but unchanged: {needless:?}\nchanged but not uploaded: {skipped:?}"
    );
    assert_eq!(stat(&run2, "uploaded_objects"), written.len() as u64, "stats.uploaded_objects");
    let changed_bytes: u64 = changed.iter().map(|k| after[k].len() as u64).sum();
    assert_eq!(stat(&run2, "uploaded_bytes"), changed_bytes, "stats.uploaded_bytes");
    // And what changed is the 144p rendition plus what names it.
    assert!(written.contains("a/hls/master.m3u8"), "master playlist not re-uploaded: {written:?}");
    assert!(written.contains("a/dash/manifest.mpd"), "MPD not re-uploaded: {written:?}");
    assert!(written.iter().any(|k| k.starts_with("a/hls/144p/")), "no 144p HLS object re-uploaded: {written:?}");
    let unexpected: Vec<_> = written
        .iter()
        .filter(|k| k.starts_with("a/hls/90p/") || k.starts_with("a/hls/aac64/") || k.starts_with("a/thumbnails/"))
        .collect();
    assert!(unexpected.is_empty(), "objects of unchanged renditions re-uploaded: {unexpected:?}");
}

// ------------------------------------------------------------------ c. server dies mid-sync

#[test]
fn s3_killed_mid_sync_leaves_consistent_playlists_and_the_next_run_completes() {
    let mut s3 = S3Server::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 12.0, "320x180");
    let mut p = Pipeline::new(s3.yaml("/"));
    p.video =
        vec![("180p", 180, "300k".to_string()), ("144p", 144, "200k".to_string()), ("90p", 90, "100k".to_string())];
    p.gop = 1;
    p.segment = 1;
    p.concurrency = 1; // one object at a time: a wide window to kill the server in
    ws.write_manifest(&p.render());
    let env = s3.env();

    // Without --json: the error goes to stderr (with --json it is in the failed step's `error`).
    let args = ["run", "pipeline.yaml"];
    let mut child = ws.spawn_env(&args, &env_refs(&env));
    // Kill the server as soon as the first HLS or DASH object lands.
    let landed = || files_rel(&s3.bucket_dir()).iter().any(|k| k.starts_with("a/hls/") || k.starts_with("a/dash/"));
    // `Some(None)`: an object landed; `Some(Some(status))`: vodbuild ended first.
    let first = wait::poll(common::TIMEOUT, Duration::from_millis(1), || {
        if landed() { Some(None) } else { child.try_wait().unwrap().map(Some) }
    });
    match first {
        Some(None) => s3.kill(),
        Some(Some(status)) => {
            panic!("vodbuild finished ({status}) before any HLS/DASH object reached the bucket; keys: {:?}", s3.keys())
        }
        None => panic!("no HLS/DASH object reached the bucket in time"),
    }
    let out = wait_output(child, &args, common::TIMEOUT);
    assert_eq!(out.code, BUILD_FAILED, "a run whose backend died must fail with 1\n{}", out.describe());
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    assert!(out.stderr.contains("backend `cdn`"), "the error does not name the backend `cdn`\n{}", out.describe());

    let local = local_outputs(&ws, "a");
    let frozen = remote_media(&s3.bucket_dir());
    assert!(
        keys(&local).difference(&keys(&frozen)).next().is_some(),
        "the bucket was complete when the server died: the kill came too late to test anything"
    );
    assert_playlists_name_existing("right after the server died", &frozen);

    s3.restart();
    let run2 = run_ok(&ws, &env);
    let local = local_outputs(&ws, "a");
    assert_published("after the run that followed the restart", &s3.bucket_dir(), &local, "a");
    assert_playlists_name_existing("after the restart", &remote_media(&s3.bucket_dir()));
    let missing_before = keys(&local).difference(&keys(&frozen)).count() as u64;
    assert!(
        stat(&run2, "uploaded_objects") >= missing_before,
        "{} objects were missing but only {} uploaded",
        missing_before,
        stat(&run2, "uploaded_objects")
    );
}

// ------------------------------------------------------------------ d. remote state

#[test]
fn s3_remote_state_lets_a_fresh_workspace_skip_encodes() {
    let s3 = S3Server::start();
    let env = s3.env();
    let mut p = Pipeline::new(s3.yaml("/"));
    p.state = true;
    let manifest = p.render();

    let ws1 = Workspace::new();
    let src = ws1.make_source("media/a.mp4", 3.0, "320x180");
    ws1.write_manifest(&manifest);
    run_ok(&ws1, &env);
    let records = s3.keys_under(".vodbuild/steps/");
    assert!(!records.is_empty(), "no step records under .vodbuild/steps/ in the bucket: {:?}", s3.keys());

    // A fresh checkout on another runner: same manifest, same source bytes, no .vodbuild/.
    let ws2 = Workspace::new();
    std::fs::create_dir_all(ws2.path("media")).unwrap();
    std::fs::copy(&src, ws2.path("media/a.mp4")).unwrap();
    ws2.write_manifest(&manifest);
    assert!(!ws2.path(".vodbuild").exists());

    let plan = plan_ok(&ws2, &env);
    let stale = planned(&plan);
    let run = run_ok(&ws2, &env);
    let ran = executed(&run);
    let encodes: Vec<_> = ran.iter().filter(|id| id.starts_with("encode:")).collect();
    assert!(encodes.is_empty(), "the fresh workspace re-encoded {encodes:?} despite the remote state");
    assert_eq!(stale, ran, "plan --json and run --json disagree on what runs");
}

// ------------------------------------------------------------------ e. remote source

#[test]
fn s3_remote_source_is_downloaded_once_and_rebuilt_when_the_object_changes() {
    let s3 = S3Server::start();
    let env = s3.env();
    let ws = Workspace::new();
    let gen_a = ws.make_source_with("gen/a1.mp4", 3.0, "320x180", 440, false);
    let gen_b = ws.make_source_with("gen/a2.mp4", 3.0, "320x180", 660, false);
    let v1 = std::fs::read(&gen_a).unwrap();
    let v2 = std::fs::read(&gen_b).unwrap();
    assert_ne!(v1, v2);
    s3.put_object("masters/a.mp4", &v1);

    let mut p = Pipeline::new(s3.yaml("/"));
    p.source = vec![("object", "masters/a.mp4"), ("backend", "cdn"), ("id", "a")];
    ws.write_manifest(&p.render());

    let run1 = run_ok(&ws, &env);
    assert!(executed(&run1).contains("encode:a:144p"), "{:?}", executed(&run1));
    assert_eq!(stat(&run1, "downloaded_bytes"), v1.len() as u64, "stats.downloaded_bytes on the first run");
    let gets_of = |since: usize| {
        s3.requests()
            .into_iter()
            .skip(since)
            .filter(|r| r.method == "GET" && r.key(s3.bucket()).as_deref() == Some("masters/a.mp4"))
            .count()
    };

    let mark = s3.requests().len();
    let run2 = run_ok(&ws, &env);
    assert!(executed(&run2).is_empty(), "a rerun with the object unchanged executed {:?}", executed(&run2));
    assert_eq!(stat(&run2, "downloaded_bytes"), 0, "the unchanged object was downloaded again");
    assert_eq!(gets_of(mark), 0, "the unchanged object was fetched (GET) again");

    s3.put_object("masters/a.mp4", &v2);
    let run3 = run_ok(&ws, &env);
    let ran = executed(&run3);
    for id in ["encode:a:144p", "encode:a:90p", "encode:a:aac64"] {
        assert!(ran.contains(id), "{id} did not re-run after the object changed: {ran:?}");
    }
    assert_eq!(stat(&run3, "downloaded_bytes"), v2.len() as u64, "stats.downloaded_bytes after the change");
}

// ------------------------------------------------------------------ f. --prune

#[test]
fn s3_prune_deletes_only_objects_no_longer_produced() {
    let s3 = S3Server::start();
    let env = s3.env();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 3.0, "320x180");
    let mut p = Pipeline::new(s3.yaml("/"));
    ws.write_manifest(&p.render());
    run_ok(&ws, &env);
    s3.put_object("unrelated/keep.txt", b"not vodbuild's");
    let first = remote_media(&s3.bucket_dir());
    assert!(first.keys().any(|k| k.starts_with("a/hls/90p/")), "{:?}", first.keys());

    // Drop 90p from the ladder.
    p.video.retain(|v| v.0 != "90p");
    ws.write_manifest(&p.render());
    let run2 = run_ok(&ws, &env);
    assert_eq!(stat(&run2, "deleted_objects"), 0, "a run without --prune deleted objects");
    let second = remote_media(&s3.bucket_dir());
    let gone: Vec<_> = keys(&first).difference(&keys(&second)).cloned().collect();
    assert!(gone.is_empty(), "a run without --prune removed {gone:?}");

    let run3 = run_env(&ws, &["--prune"], &env).success().json();
    let third = remote_media(&s3.bucket_dir());
    let local = local_outputs(&ws, "a");
    let survivors: Vec<&String> = third.keys().filter(|k| k.starts_with("a/hls/90p/")).collect();
    assert!(survivors.is_empty(), "90p objects survived --prune: {survivors:?}\nrun --prune stats: {}", run3["stats"]);
    assert!(third.contains_key("unrelated/keep.txt"), "--prune deleted an object outside the published prefixes");
    let mut expected = keys(&local);
    expected.insert("unrelated/keep.txt".to_string());
    let deleted: BTreeSet<String> = keys(&second).difference(&keys(&third)).cloned().collect();
    let wrongly: Vec<_> = deleted.intersection(&expected).collect();
    assert!(wrongly.is_empty(), "--prune deleted objects the manifest still produces: {wrongly:?}");
    assert_eq!(keys(&third), expected, "after --prune the bucket should hold exactly the current outputs");
    assert_published("after --prune", &s3.bucket_dir(), &local, "a");
    assert_eq!(stat(&run3, "deleted_objects"), deleted.len() as u64, "stats.deleted_objects");
    assert_playlists_name_existing("after --prune", &third);
}

// ------------------------------------------------------------------ g. backend failures

fn assert_backend_failure(ws: &Workspace, env: &[(&'static str, String)], plan_env: &[(&'static str, String)]) {
    // Plain output: the error is on stderr.
    let out = ws.vodbuild_env(&["run", "pipeline.yaml"], &env_refs(env));
    assert_eq!(out.code, BUILD_FAILED, "expected exit 1\n{}", out.describe());
    assert!(!out.stderr.contains("panicked"), "{}", out.describe());
    assert!(out.stderr.contains("backend `cdn`"), "stderr does not name backend `cdn`\n{}", out.describe());
    // --json: the failed publish steps name it in their `error`.
    let out = run_env(ws, &[], env);
    assert_eq!(out.code, BUILD_FAILED, "expected exit 1\n{}", out.describe());
    let run = out.json();
    let failed = common::with_status(&run, "failed");
    assert!(!failed.is_empty(), "no failed step in {run:#}");
    for id in &failed {
        let err = common::step(&run, id)["error"].as_str().unwrap_or("");
        assert!(err.contains("backend `cdn`"), "{id} failed without naming backend `cdn`: {err:?}");
    }
    let plan = plan_ok(ws, plan_env);
    let stale = planned(&plan);
    for id in publish_ids("a") {
        assert!(stale.contains(&id), "{id} is not stale after the failed run (was it recorded?): {stale:?}");
    }
}

#[test]
fn s3_unreachable_backend_fails_naming_it_and_records_nothing() {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    let port = closed_port();
    let backend = format!(
        "    service: s3\n    bucket: vod\n    endpoint: http://127.0.0.1:{port}\n    region: us-east-1\n    root: /\n"
    );
    ws.write_manifest(&Pipeline::new(backend).render());
    let env = vec![
        ("AWS_ACCESS_KEY_ID", "k".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "s".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    assert_backend_failure(&ws, &env, &env);
}

#[test]
fn s3_refused_credentials_fail_naming_the_backend_and_record_nothing() {
    let s3 = S3Server::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(&Pipeline::new(s3.yaml("/")).render());
    assert_backend_failure(&ws, &s3.env_with_secret("wrong-secret"), &s3.env());
    assert!(remote_media(&s3.bucket_dir()).is_empty(), "objects were written with refused credentials");
}

// ------------------------------------------------------------------ h. SFTP and WebDAV

#[test]
fn sftp_publish_uploads_once() {
    let sftp = SftpServer::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(&Pipeline::new(sftp.yaml()).render());
    let env = Vec::new();

    let run1 = run_ok(&ws, &env);
    let local = local_outputs(&ws, "a");
    assert_published("sftp after the first run", &sftp.root(), &local, "a");
    assert_eq!(stat(&run1, "uploaded_objects"), local.len() as u64);
    assert_eq!(stat(&run1, "uploaded_bytes"), total_bytes(&local));

    let written = sftp.bytes_written();
    let run2 = run_ok(&ws, &env);
    assert!(executed(&run2).is_empty(), "the rerun executed {:?}", executed(&run2));
    assert_eq!(stat(&run2, "uploaded_bytes"), 0);
    assert_eq!(sftp.bytes_written(), written, "the no-op rerun wrote files over SFTP");
    assert_published("sftp after the rerun", &sftp.root(), &local, "a");
}

#[test]
fn webdav_publish_uploads_once() {
    let dav = WebdavServer::start();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 2.0, "160x90");
    ws.write_manifest(&Pipeline::new(dav.yaml("/")).render());
    let env = dav.env();

    let run1 = run_ok(&ws, &env);
    let local = local_outputs(&ws, "a");
    assert_published("webdav after the first run", &dav.root(), &local, "a");
    assert_eq!(stat(&run1, "uploaded_objects"), local.len() as u64);
    assert_eq!(stat(&run1, "uploaded_bytes"), total_bytes(&local));

    let mark = dav.requests().len();
    let run2 = run_ok(&ws, &env);
    assert!(executed(&run2).is_empty(), "the rerun executed {:?}", executed(&run2));
    assert_eq!(stat(&run2, "uploaded_bytes"), 0);
    let puts: Vec<_> = dav.requests().into_iter().skip(mark).filter(|r| r.method == "PUT").collect();
    assert!(puts.is_empty(), "the no-op rerun PUT {puts:?}");
    assert_published("webdav after the rerun", &dav.root(), &local, "a");
}
