//! The integration tests: ONE test binary (`integration`) with a module per file, so the
//! tests compile and link once instead of once per file (`autotests = false` in Cargo.toml).
//!
//! Adding a test file `tests/NAME.rs`: add `mod NAME;` below (kept in alphabetical order) and
//! start the file with `use crate::common;` (not `mod common;`). Run one file's tests with
//! `cargo test --test integration NAME::` (one test: `NAME::TEST_NAME`).

mod common;

mod audio_jobs;
mod audio_languages;
mod audio_sidecar;
mod awkward;
mod browser;
mod browser_audio;
mod browser_audio_sidecar;
mod browser_crypt;
mod browser_crypt_subs;
mod browser_iframets;
mod browser_story;
mod browser_subtitles;
mod catalog_scale;
mod ci_reports;
mod cli;
mod command_steps;
mod crash;
mod crypt_killed;
mod crypt_subtitles;
mod destinations;
mod determinism;
mod dry_run;
mod encryption;
mod exec_job;
mod hints;
mod hostile;
mod iframes;
mod iframes_ts;
mod incremental;
mod lifecycle;
mod loudness;
mod manifest_corpus;
mod manifest_errors;
mod notify;
mod ott_complete;
mod output_checks;
mod outputs;
mod packagers;
mod params;
mod progress;
mod retries;
mod serve;
mod servers_selftest;
mod settings;
mod shard;
mod shell_support;
mod slurm;
mod slurm_cluster;
mod slurm_support;
mod source_geometry;
mod storage;
mod storage_azure;
mod storyboard;
mod subtitles;
mod tamper;
mod threads;
mod verify;
mod verify_fixes;
mod watch;

/// With `autotests = false`, a `tests/NAME.rs` without its `mod NAME;` line above would
/// silently never run: this test names it.
#[test]
fn every_test_file_is_a_module_of_this_binary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let harness = std::fs::read_to_string(dir.join("lib.rs")).expect("read tests/lib.rs");
    let declared: std::collections::BTreeSet<&str> =
        harness.lines().filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';')).collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("list tests/") {
        let name = entry.expect("entry of tests/").file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_suffix(".rs")
            && module != "lib"
            && !declared.contains(module)
        {
            missing.push(module.to_string());
        }
    }
    assert!(missing.is_empty(), "add `mod NAME;` to tests/lib.rs for: {missing:?}");
}
