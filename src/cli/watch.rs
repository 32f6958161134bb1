//! `vodbuild watch FILE`: builds (as `vodbuild run FILE` does), then rebuilds whenever the
//! manifest or a source folder changes: for drop folders.
//!
//! File events come from the `notify` crate (inotify): the manifest's folder, each glob's
//! base folder (recursively) and each `path:` source's folder are watched, re-chosen after
//! every build; events inside the output folder and the workspace are ignored. After an
//! event it waits until the sources have settled: the manifest and every source file keep
//! the same size and mtime over `--settle` seconds ([`fingerprint`]), so a file still being
//! copied (growing) is never built. A build runs only when that settled picture differs
//! from the one the last build started from, so its own outputs never trigger another.
//! Errors (a failed step, a broken manifest while editing it, a locked workspace) are shown
//! and watching goes on; a failed build is tried again after a backoff (`--settle`, doubled
//! each time, at most a minute) even when nothing changed. Each build's report stays in
//! memory (appended to `--report` when given). Ctrl-C ends it with exit code 130, whether a build is running (it
//! stops as `run` does: finished steps recorded) or not.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use clap::{Args, Parser};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::{Cli, Command};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, walk};

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The pipeline manifest (YAML).
    pub file: PathBuf,
    /// Job slots for each build (see `run -j`).
    #[arg(short, long, value_parser = super::parse_jobs)]
    pub jobs: Option<usize>,
    /// After a failure, go on with work that does not depend on it (see `run --keep-going`).
    #[arg(short, long)]
    pub keep_going: bool,
    /// Seconds the manifest and every source must keep their size and mtime before a build
    /// starts (0.1 to 3600): a file still being copied is not built.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_settle)]
    pub settle: f64,
    /// Append each build's report (the `run --json` document, on one line) to PATH.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

fn parse_settle(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.1..=3600.0).contains(&s) => Ok(s),
        _ => Err("expected seconds from 0.1 to 3600".into()),
    }
}

/// What a build starts from: the manifest's and each source's (path, size, mtime), or the
/// manifest's error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Picture {
    Sources(BTreeSet<(PathBuf, u64, Option<SystemTime>)>),
    Broken(String),
}

pub fn watch(cli: &Cli, a: &WatchArgs) -> Result<()> {
    Manifest::load(&a.file)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).map_err(|e| Error::Usage(format!("cannot watch files: {e}")))?;
    let mut watched = BTreeSet::new();
    let settle = Duration::from_secs_f64(a.settle);
    let (mut last, mut builds, mut retry) = (None, 0u64, None);
    loop {
        let now = settled(&a.file, settle, &rx);
        if last.as_ref() != Some(&now) {
            let ok = match &now {
                Picture::Broken(e) => {
                    crate::say!("vodbuild watch: {e}");
                    true
                }
                Picture::Sources(_) => {
                    builds += 1;
                    build(cli, a, builds)?
                }
            };
            // A failed build is tried again after a backoff, even with nothing changed.
            retry = if ok { None } else { Some(backoff(retry, settle)) };
            if ok {
                last = Some(now);
            }
        }
        rewatch(&mut watcher, &mut watched, &a.file);
        wait_for_change(&rx, &a.file, retry);
    }
}

/// The longest wait before a failed build is tried again.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// The wait before trying a failed build again: `settle`, then doubled, at most [`MAX_RETRY`].
fn backoff(previous: Option<Duration>, settle: Duration) -> Duration {
    previous.map_or(settle, |d| d.saturating_mul(2)).min(MAX_RETRY)
}

/// The picture once it stays the same over `settle` (events meanwhile are drained).
fn settled(file: &Path, settle: Duration, rx: &Receiver<notify::Result<notify::Event>>) -> Picture {
    let mut before = fingerprint(file);
    loop {
        std::thread::sleep(settle);
        while rx.try_recv().is_ok() {}
        let after = fingerprint(file);
        if after == before {
            return after;
        }
        before = after;
    }
}

fn fingerprint(file: &Path) -> Picture {
    let m = match Manifest::load(file) {
        Ok(m) => m,
        Err(e) => return Picture::Broken(format!("{:?}", miette::Report::new(e))),
    };
    let stat = |p: &Path| {
        let md = std::fs::metadata(p).ok();
        (p.to_path_buf(), md.as_ref().map_or(0, |m| m.len()), md.and_then(|m| m.modified().ok()))
    };
    let files = std::iter::once(file.to_path_buf())
        .chain(m.sources.iter().filter(|s| s.remote.is_none()).map(|s| s.path.clone()));
    Picture::Sources(files.map(|p| stat(&p)).collect())
}

/// One build: `vodbuild run FILE` in this process (its report appended to `--report`).
/// Whether it succeeded.
fn build(cli: &Cli, a: &WatchArgs, n: u64) -> Result<bool> {
    let mut argv = vec!["vodbuild".into(), "run".into(), a.file.clone().into_os_string()];
    if let Some(j) = a.jobs {
        argv.extend(["-j".into(), j.to_string().into()]);
    }
    if a.keep_going {
        argv.push("--keep-going".into());
    }
    let parsed = Cli::try_parse_from(&argv).map_err(Error::CommandLine)?;
    let Command::Run(run) = &parsed.command else { unreachable!("parsed as `run`") };
    if !cli.quiet {
        crate::say!("vodbuild watch: build {n}");
    }
    // The document stays in memory: no file of a guessable name is written.
    let mut doc = None;
    let outcome = super::commands::run_then(cli, run, &mut doc, super::commands::Then::More);
    if let (Some(path), Some(doc)) = (&a.report, &doc) {
        append_line(path, doc)?;
    }
    match outcome {
        Err(Error::Interrupted) => Err(Error::Interrupted),
        Err(e) => {
            super::report_error(e, cli.log_format == super::LogFormat::Json);
            Ok(false)
        }
        Ok(()) => Ok(true),
    }
}

/// Appends the JSON document `doc` as one line.
fn append_line(path: &Path, value: &serde_json::Value) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    // One write of the whole line: a reader never sees half of it.
    let line = format!("{value}\n");
    f.write_all(line.as_bytes()).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// Watches what the manifest names now (when it loads): its folder, glob bases, path folders.
fn rewatch(w: &mut RecommendedWatcher, watched: &mut BTreeSet<(PathBuf, bool)>, file: &Path) {
    let mut want = BTreeSet::new();
    let manifest_dir = std::path::absolute(file).ok().and_then(|p| p.parent().map(Path::to_path_buf));
    want.extend(manifest_dir.map(|d| (d, false)));
    if let Ok(m) = Manifest::load(file) {
        for s in &m.raw.sources {
            match (&s.path, &s.glob) {
                (Some(p), _) => want.extend(m.root.join(p).parent().map(|d| (d.to_path_buf(), false))),
                (_, Some(g)) => {
                    want.insert(existing(walk::base_of(&m.root, g)));
                }
                _ => {}
            }
        }
    }
    for gone in watched.difference(&want) {
        let _ = w.unwatch(&gone.0);
    }
    let mut now = BTreeSet::new();
    for (dir, recursive) in want {
        let mode = if recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
        if watched.contains(&(dir.clone(), recursive)) || w.watch(&dir, mode).is_ok() {
            now.insert((dir, recursive));
        }
    }
    *watched = now;
}

/// A glob's base folder (recursive), or while it does not exist its nearest existing parent.
fn existing(base: PathBuf) -> (PathBuf, bool) {
    let mut dir = base.as_path();
    let recursive = dir.is_dir();
    while !dir.is_dir() {
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
    (dir.to_path_buf(), recursive)
}

/// Blocks until an event outside the output folder and the workspace arrives; re-checks
/// every minute anyway (a change the watcher could not see: a folder created later), or
/// after `retry` when the last build failed.
fn wait_for_change(rx: &Receiver<notify::Result<notify::Event>>, file: &Path, retry: Option<Duration>) {
    let ignored: Vec<PathBuf> =
        Manifest::load(file).map(|m| vec![m.output_dir.clone(), m.root.join(".vodbuild")]).unwrap_or_default();
    let deadline = std::time::Instant::now() + retry.unwrap_or(MAX_RETRY);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(Ok(ev)) if ev.paths.is_empty() || ev.paths.iter().any(|p| !ignored.iter().any(|d| p.starts_with(d))) => {
                return;
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => return,
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_secs(1));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_build_is_retried_after_a_doubling_bounded_backoff() {
        let settle = Duration::from_secs(2);
        let mut d = None;
        let waits: Vec<u64> = (0..7)
            .map(|_| {
                d = Some(backoff(d, settle));
                d.unwrap().as_secs()
            })
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(None, Duration::from_secs(3600)), MAX_RETRY);
    }
}
