//! vodbuild's threads do not grow with `-j`: the local executor's pool is bounded (2× the
//! cores) whatever the job slots and a running tool costs its job no extra thread, so a run
//! with every slot `-j` allows (4× the cores) starts no more threads than one with 2× the
//! cores, and no more than the pool, rayon's global pool (hashing), the main thread, the
//! signal handler and a little slack. Counted in /proc/PID/task while the run works.

use crate::common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const SOURCES: usize = 4;

fn workspace() -> Workspace {
    let ws = Workspace::new();
    for i in 0..SOURCES {
        ws.make_source(&format!("media/s{i}.mp4"), 2.0, "160x90");
    }
    ws.write_manifest(SMALL);
    ws
}

/// The most threads vodbuild had at once during `run -j JOBS` (sampled every 10 ms).
fn max_threads(jobs: usize) -> usize {
    let ws = workspace();
    let j = jobs.to_string();
    let args = ["run", "pipeline.yaml", "--json", "-j", &j];
    let child = ws.spawn(&args);
    let task = format!("/proc/{}/task", child.id());
    let (done, max) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let sampler = {
        let (done, max) = (done.clone(), max.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if let Ok(entries) = std::fs::read_dir(&task) {
                    max.fetch_max(entries.count(), Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let out = wait_output(child, &args, TIMEOUT);
    done.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let run = out.success().json();
    assert_eq!(executed(&run).len(), SOURCES * small_steps("x").len(), "{run:#}");
    max.load(Ordering::SeqCst)
}

#[test]
fn threads_do_not_grow_with_job_slots() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let many = max_threads(4 * cores);
    let bounded = max_threads(2 * cores);
    eprintln!("max threads: {many} with -j {}, {bounded} with -j {}", 4 * cores, 2 * cores);
    assert!(many > 1, "no thread seen");
    assert!(many <= bounded + 2, "-j {} started {many} threads, -j {} {bounded}", 4 * cores, 2 * cores);
    let bound = 2 * cores + cores + 4;
    assert!(many <= bound, "-j {} started {many} threads (bound {bound} on {cores} cores)", 4 * cores);
}
