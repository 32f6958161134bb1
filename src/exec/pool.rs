//! The local executor: jobs run on a rayon pool on this machine, each through
//! [`super::local::Executor`] ([`run_job::run`]: the tool, post-processing, output checks,
//! digests), then placed ([`run_job::place`]). `-j` is how many jobs are in flight; the pool has at most
//! [`threads`] threads whatever `-j` says (a running job holds one while its tool runs), so
//! the jobs beyond that wait in the pool's queue. One pool serves every run of a process.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use super::cancel::Cancel;
use super::executor::{Executor, Finished, Job, JobId, JobOutcome};
use super::local;
use super::progress::Progress;
use super::run_job::{self, JobEnv};

/// Threads of the pool for `-j jobs`: at most twice the cores.
pub fn threads(jobs: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    jobs.clamp(1, 2 * cores)
}

/// The process's pool of `threads` threads, made once and shared by the runs of one
/// command (the probes, then the rest), so their threads never add up.
pub fn shared(threads: usize) -> Arc<rayon::ThreadPool> {
    static POOL: Mutex<Option<Arc<rayon::ThreadPool>>> = Mutex::new(None);
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    match pool.as_ref() {
        Some(p) if p.current_num_threads() == threads => p.clone(),
        _ => {
            let p = Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool"));
            *pool = Some(p.clone());
            p
        }
    }
}

/// Runs a job on a thread of its own that may borrow what the pool's jobs borrow (`'a`):
/// a `std::thread::Scope`.
pub trait SpawnThread<'a>: Sync {
    fn spawn_job(&self, job: Box<dyn FnOnce() + Send + 'a>);
}

impl<'a: 't, 't, 'e> SpawnThread<'a> for &'t std::thread::Scope<'t, 'e> {
    fn spawn_job(&self, job: Box<dyn FnOnce() + Send + 'a>) {
        (*self).spawn(job);
    }
}

pub struct LocalPool<'s, 'a> {
    scope: &'s rayon::Scope<'a>,
    actions: &'a dyn local::Executor,
    env: &'a JobEnv,
    progress: &'a Progress,
    cancel: Cancel,
    slots: usize,
    /// Jobs in flight in `-j` slots.
    in_flight: usize,
    /// Where network jobs run beside the `-j` slots (a thread each, in this scope), and how
    /// many at once.
    network: Option<(&'s dyn SpawnThread<'a>, usize)>,
    network_jobs: HashSet<JobId>,
    tx: mpsc::Sender<Finished>,
    rx: mpsc::Receiver<Finished>,
}

impl<'s, 'a> LocalPool<'s, 'a> {
    /// `slots`: the `-j` jobs in flight; `scope`: of a pool of [`threads`]`(slots)` threads.
    pub fn new(
        scope: &'s rayon::Scope<'a>,
        actions: &'a dyn local::Executor,
        env: &'a JobEnv,
        progress: &'a Progress,
        cancel: Cancel,
        slots: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel();
        let network_jobs = HashSet::new();
        LocalPool {
            scope,
            actions,
            env,
            progress,
            cancel,
            slots: slots.max(1),
            in_flight: 0,
            network: None,
            network_jobs,
            tx,
            rx,
        }
    }

    /// Up to `slots` jobs that only wait on the network (publish, notify) run on threads of
    /// their own in `threads`, beside the `-j` slots (0: they take `-j` slots).
    pub fn with_network(mut self, threads: &'s dyn SpawnThread<'a>, slots: usize) -> Self {
        self.network = (slots > 0).then_some((threads, slots));
        self
    }

    /// What running `job` gives, on whatever thread calls it.
    fn body(&self, job: Job) -> impl FnOnce() + Send + 'a {
        let (tx, actions, env, progress) = (self.tx.clone(), self.actions, self.env, self.progress);
        let cancel = self.cancel.clone();
        move || {
            let start = Instant::now();
            // A panic in a job (or its progress bar) fails that job; it must not leave the
            // builder waiting for a `Finished` that never comes.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut bar = progress.start(&job.spec.label, job.spec.duration, job.spec.steps.len());
                let result = actions.execute(env, &job.spec, &cancel, &mut |s| bar.update(s));
                let result = run_job::place(&job.spec, &env.root, result);
                bar.finish(result.is_ok());
                result
            }))
            .unwrap_or_else(|_| Err("internal error (a panic) while running the step".into()));
            let outcome = match result {
                Ok((outputs, sync)) => JobOutcome::Built { outputs, sync },
                Err(_) if cancel.is_cancelled() => JobOutcome::Interrupted,
                Err(e) => JobOutcome::Failed(e),
            };
            let _ = tx.send(Finished { id: job.id, outcome, duration_ms: start.elapsed().as_millis() as u64 });
        }
    }

    /// Counts `f` out of the slot it held.
    fn returned(&mut self, f: Finished) -> Finished {
        if !self.network_jobs.remove(&f.id) {
            self.in_flight -= 1;
        }
        f
    }
}

impl Executor for LocalPool<'_, '_> {
    fn can_run_more(&self) -> usize {
        self.slots.saturating_sub(self.in_flight)
    }

    fn can_run_more_network(&self) -> usize {
        self.network.map_or(0, |(_, slots)| slots.saturating_sub(self.network_jobs.len()))
    }

    fn start(&mut self, job: Job) {
        let network = job.spec.waits_on_network() && self.can_run_more_network() > 0;
        let id = job.id;
        let body = self.body(job);
        match self.network.filter(|_| network) {
            Some((threads, _)) => {
                self.network_jobs.insert(id);
                threads.spawn_job(Box::new(body));
            }
            None => {
                self.in_flight += 1;
                self.scope.spawn(move |_| body());
            }
        }
    }

    fn wait_any(&mut self) -> Option<Finished> {
        if self.in_flight() == 0 {
            return None;
        }
        let f = self.rx.recv().ok()?;
        Some(self.returned(f))
    }

    fn cancel_all(&mut self) {
        self.cancel.cancel();
    }
}

impl LocalPool<'_, '_> {
    /// Jobs started and not yet returned by a wait.
    pub fn in_flight(&self) -> usize {
        self.in_flight + self.network_jobs.len()
    }

    /// Like [`Executor::wait_any`], giving up after `timeout` (for an executor that also polls).
    pub fn wait_timeout(&mut self, timeout: std::time::Duration) -> Option<Finished> {
        if self.in_flight() == 0 {
            return None;
        }
        let f = self.rx.recv_timeout(timeout).ok()?;
        Some(self.returned(f))
    }
}
