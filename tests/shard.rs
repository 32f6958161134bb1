//! `--shard K/N`: a CI matrix of N runners, each building the sources of its shard in its
//! own workspace, sharing one bucket and remote state (a real s3s-fs server). The shards'
//! steps are disjoint, together they are the whole build, and afterwards a fresh workspace
//! plans nothing. Also the command line's checks of `--shard`.

use crate::common;

use common::publish::{is_hidden, plan_ok, remote_media, run_env};
use common::servers::{S3Server, env_refs};
use common::{Manifest, Workspace, all_ids, executed, planned, source_of};
use std::collections::{BTreeMap, BTreeSet};
use vodbuild::exit_codes::USAGE_ERROR;
use vodbuild::shard::Shard;

const SHARDS: u32 = 3;

/// Six source ids, two in each of the 3 shards (chosen from a fixed list by their hash, so
/// that no shard is empty whatever the hash gives).
fn catalog_ids() -> Vec<String> {
    let mut per: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for i in 0..200 {
        let id = format!("title{i}");
        let bucket = per.entry(Shard::of(&id, SHARDS)).or_default();
        if bucket.len() < 2 {
            bucket.push(id);
        }
    }
    let ids: Vec<String> = per.into_values().flatten().collect();
    assert_eq!(ids.len(), 6, "could not find two ids per shard");
    ids
}

/// SMALL with one source `media/ID.mp4` per id.
fn catalog(ids: &[String]) -> Manifest {
    ids.iter().fold(Manifest::small().without_sources(), |m, id| m.source(&format!("media/{id}.mp4"), id))
}

/// The catalog published to the s3s-fs bucket, with its state in the bucket.
fn manifest(s3: &S3Server, ids: &[String]) -> String {
    let sections = format!(
        "storage:\n  cdn:\n{}publish:\n  to: cdn\n  prefix: \"{{source}}/\"\nstate:\n  backend: cdn\n  prefix: .vodbuild/\n",
        s3.yaml("/")
    );
    catalog(ids).section(&sections).yaml()
}

/// A fresh runner: the manifest and a copy of the catalog's source files.
fn runner(manifest: &str, sources: &Workspace, ids: &[String]) -> Workspace {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("media")).unwrap();
    for id in ids {
        let rel = format!("media/{id}.mp4");
        std::fs::copy(sources.path(&rel), ws.path(&rel)).unwrap();
    }
    ws.write_manifest(manifest);
    ws
}

#[test]
fn three_shards_build_disjoint_parts_of_the_catalog_and_leave_nothing_to_do() {
    let s3 = S3Server::start();
    let env = s3.env();
    let ids = catalog_ids();
    let media = Workspace::new();
    for (i, id) in ids.iter().enumerate() {
        media.make_source_with(&format!("media/{id}.mp4"), 1.0, "160x90", 300 + 100 * i as u32, false);
    }
    let manifest = manifest(&s3, &ids);

    // What an unsharded build would run, from a plan before anything was built.
    let whole = planned(&plan_ok(&runner(&manifest, &media, &ids), &env));
    assert!(whole.len() >= 6 * 8, "the whole build plans only {whole:?}");

    let mut union = BTreeSet::new();
    for k in 1..=SHARDS {
        let ws = runner(&manifest, &media, &ids);
        let shard = format!("{k}/{SHARDS}");
        let run = run_env(&ws, &["--shard", &shard], &env).success().json();
        let ran = executed(&run);
        assert_eq!(all_ids(&run), ran, "shard {shard}: steps listed but not executed");
        let mine: BTreeSet<&str> = ids.iter().filter(|id| Shard::of(id, SHARDS) == k).map(|s| s.as_str()).collect();
        let sources: BTreeSet<&str> = ran.iter().map(|id| source_of(&run, id)).collect();
        assert_eq!(sources, mine, "shard {shard} built the steps of other sources");
        assert!(ran.iter().any(|id| id.starts_with("publish_hls:")), "shard {shard} published nothing: {ran:?}");
        let overlap: Vec<&String> = ran.intersection(&union).collect();
        assert!(overlap.is_empty(), "shard {shard} ran steps another shard ran: {overlap:?}");
        union.extend(ran);
    }
    assert_eq!(union, whole, "the shards together differ from the unsharded build");

    // Every source's packages are in the bucket.
    let objects: BTreeSet<String> = remote_media(&s3.bucket_dir()).into_keys().filter(|k| !is_hidden(k)).collect();
    for id in &ids {
        for entry in ["hls/master.m3u8", "dash/manifest.mpd", "metadata.json"] {
            let key = format!("{id}/{entry}");
            assert!(objects.contains(&key), "{key} not published: {objects:?}");
        }
    }

    // The final CI job: a fresh workspace, no --shard, plans nothing.
    let last = runner(&manifest, &media, &ids);
    let stale = planned(&plan_ok(&last, &env));
    assert!(stale.is_empty(), "after all shards ran, a fresh workspace plans {stale:?}");
}

/// A shard's plan lists only its own sources' steps, and `--only` narrows it further.
#[test]
fn plan_shard_selects_by_source_and_intersects_with_only() {
    let ids = catalog_ids();
    let ws = Workspace::new();
    for id in &ids {
        ws.make_source(&format!("media/{id}.mp4"), 1.0, "160x90");
    }
    ws.write_manifest(&catalog(&ids).yaml());
    // Each stale step of a plan, with its source.
    let plan = |extra: &[&str]| -> BTreeMap<String, String> {
        let mut args = vec!["plan", "pipeline.yaml", "--json"];
        args.extend_from_slice(extra);
        let v = ws.vodbuild_env(&args, &env_refs(&[])).success().json();
        planned(&v).into_iter().map(|id| (source_of(&v, &id).to_string(), id)).map(|(s, id)| (id, s)).collect()
    };
    let in_shard = |k: u32| -> Vec<&String> { ids.iter().filter(|id| Shard::of(id, SHARDS) == k).collect() };
    let whole = plan(&[]);
    let shard1 = plan(&["--shard", "1/3"]);
    let expected: BTreeMap<String, String> =
        whole.iter().filter(|(_, s)| in_shard(1).contains(s)).map(|(i, s)| (i.clone(), s.clone())).collect();
    assert!(!expected.is_empty() && expected.len() < whole.len(), "shard 1 of {whole:?}");
    assert_eq!(shard1, expected, "plan --shard 1/3");

    let one = in_shard(1)[0];
    let only = plan(&["--shard", "1/3", "--only", one]);
    let expected: BTreeMap<String, String> = whole.into_iter().filter(|(_, s)| s == one).collect();
    assert_eq!(only, expected, "--shard 1/3 --only {one}");
    let none = plan(&["--shard", "1/3", "--only", in_shard(2)[0]]);
    assert!(none.is_empty(), "--only a source of another shard planned {none:?}");
}

#[test]
fn shard_is_checked_at_the_command_line() {
    let ws = Workspace::new();
    ws.write_manifest(&Manifest::small().yaml());
    for bad in ["0/3", "4/3", "1/0", "1/1001", "3", "x/y"] {
        let out = ws.vodbuild(&["run", "pipeline.yaml", "--shard", bad]).assert_code(USAGE_ERROR);
        assert!(out.stderr.contains("K/N"), "--shard {bad}: {}", out.stderr);
    }
    let out = ws.vodbuild(&["run", "pipeline.yaml", "--shard", "1/3", "--prune"]).assert_code(USAGE_ERROR);
    assert!(out.stderr.contains("--prune"), "--shard with --prune: {}", out.stderr);
}

/// The CI example's manifest (examples/ci/) loads and plans a shard against a real S3
/// server: only the bucket's endpoint comes from the environment, as in CI.
#[test]
fn ci_example_manifest_plans_a_shard() {
    let s3 = S3Server::start_with_bucket("my-vod-bucket");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let ws = Workspace::new();
    std::fs::copy(repo.join("examples/ci/pipeline.yaml"), ws.path("pipeline.yaml")).unwrap();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    ws.make_source("media/films/b.mp4", 1.0, "160x90");
    let mut env = s3.env();
    env.push(("VODBUILD_CDN_ENDPOINT", s3.endpoint()));
    let sources = |extra: &[&str]| -> BTreeSet<String> {
        let mut args = vec!["plan", "pipeline.yaml", "--json"];
        args.extend_from_slice(extra);
        let v = ws.vodbuild_env(&args, &env_refs(&env)).success().json();
        planned(&v).iter().map(|id| source_of(&v, id).to_string()).collect()
    };
    assert_eq!(sources(&[]), BTreeSet::from(["media/a".to_string(), "media/films/b".to_string()]));
    let mut union = BTreeSet::new();
    for k in 1..=8 {
        let part = sources(&["--shard", &format!("{k}/8")]);
        assert!(part.is_disjoint(&union), "shard {k}/8 overlaps: {part:?}");
        union.extend(part);
    }
    assert_eq!(union.len(), 2, "the 8 shards plan {union:?}");
}

/// The CI examples parse as YAML, run 8 shards (each with `--shard`), then `plan` and `verify`.
#[test]
fn ci_examples_run_eight_shards_then_plan_and_verify() {
    use yaml_rust2::{Yaml, YamlLoader};
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let load = |name: &str| -> (Yaml, String) {
        let text = std::fs::read_to_string(repo.join("examples/ci").join(name)).unwrap();
        let doc = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}")).remove(0);
        (doc, text)
    };
    let (gh, gh_text) = load("github-actions.yml");
    let matrix: Vec<i64> =
        gh["jobs"]["shard"]["strategy"]["matrix"]["shard"].as_vec().unwrap().iter().filter_map(Yaml::as_i64).collect();
    assert_eq!(matrix, (1..=8).collect::<Vec<_>>(), "the GitHub matrix");
    assert!(gh_text.contains("--shard ${{ matrix.shard }}/8"), "the GitHub shard job passes no --shard");
    let (gl, gl_text) = load("gitlab-ci.yml");
    assert_eq!(gl["shard"]["parallel"].as_i64(), Some(8), "the GitLab parallel jobs");
    assert!(gl_text.contains("--shard \"$CI_NODE_INDEX/$CI_NODE_TOTAL\""), "the GitLab shard job passes no --shard");
    for text in [&gh_text, &gl_text] {
        for step in ["plan \"$MANIFEST\" --json | jq -e '.summary.stale == 0'", "verify \"$MANIFEST\""] {
            assert!(text.contains(step), "a CI example lacks `{step}`");
        }
    }
}
