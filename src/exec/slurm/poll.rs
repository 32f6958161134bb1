//! The jobs of one build on Slurm ([`Tracker`]): ready jobs wait to be submitted
//! ([`super::submit`]); submitted ones are judged by their result file, checked every tick
//! (a file stat each, no scheduler call). Slurm is asked only what became of jobs without a
//! result: ONE `squeue` per status cycle for the whole run, every [`Timing::status_min`],
//! doubling up to [`Timing::status_max`] while nothing changes. A job gone from the queue (or
//! ended) without a result after [`Timing::grace`] fails, unless [`super::retry`] tries it
//! again elsewhere. A failed job's log tail goes into its error and its log stays; a
//! successful job's folder and logs are removed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::attempt;
use super::batch::Batch;
use super::retry::{self, Verdict};
use super::session::Session;
use super::status::{self, State, Task};
use super::submit::{self, Array, Ask};
use crate::exec::executor::{Finished, Job, JobId, JobOutcome};
use crate::exec::run_job;
use crate::job::{JobResult, JobSpec, JobStatus};

/// `squeue` failures in a row after which the jobs without a result fail.
pub const MAX_STATUS_FAILURES: u32 = 10;

#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a job may be gone from the queue (or ended) without its result file.
    pub grace: Duration,
    pub status_min: Duration,
    pub status_max: Duration,
    /// While jobs of the run are on Slurm, a ready job waits this long for siblings to share
    /// its `sbatch` (an idle run submits at once).
    pub coalesce: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            grace: Duration::from_secs(10),
            status_min: Duration::from_secs(1),
            status_max: Duration::from_secs(8),
            coalesce: Duration::from_secs(1),
        }
    }
}

impl Timing {
    /// The defaults, with the manifest's `result_wait`.
    pub fn of(spec: &crate::manifest::executor::ExecutorSpec) -> Timing {
        let d = Timing::default();
        Timing { grace: spec.result_wait.map(Duration::from_secs).unwrap_or(d.grace), ..d }
    }
}

/// A job waiting to be submitted (again).
struct Ready {
    job: JobId,
    spec: JobSpec,
    attempt: u32,
    exclude: Vec<String>,
    /// Logs of earlier attempts (removed if the job succeeds).
    logs: Vec<PathBuf>,
    started: Instant,
    /// When it became ready (again).
    queued: Instant,
}

/// A submitted attempt.
struct Tracked {
    ready: Ready,
    /// The attempt's spec (its own temporaries).
    spec: JobSpec,
    array: String,
    task: String,
    dir: PathBuf,
    log: PathBuf,
    /// Since when Slurm has shown it ended (or not at all) without a result.
    gone: Option<Instant>,
    /// A failed result, waiting for the job to leave the queue so its log is complete.
    failed: Option<(String, Instant)>,
    node: String,
}

pub struct Tracker<'s> {
    s: &'s Session,
    timing: Timing,
    ready: Vec<Ready>,
    tracked: Vec<Tracked>,
    /// Array job id → (slots it may hold: its throttle or size, tasks unfinished).
    arrays: HashMap<String, (usize, usize)>,
    status_every: Duration,
    next_status: Instant,
    last_view: HashMap<String, String>,
    /// `squeue` failures in a row.
    status_failures: u32,
    /// Tasks given up on while Slurm may still run them (`JOBID_TASK`): cancelled together at
    /// the end of the status cycle, so nothing of a finished run keeps a node busy.
    abandoned: Vec<String>,
    /// The last attempt folder number of each job (spec id) in this run, Slurm's retries and
    /// the builder's alike: a folder is never reused.
    folders: HashMap<String, u32>,
}

impl<'s> Tracker<'s> {
    pub fn new(s: &'s Session, timing: Timing) -> Self {
        let now = Instant::now();
        Tracker {
            s,
            timing,
            ready: Vec::new(),
            tracked: Vec::new(),
            arrays: HashMap::new(),
            status_every: timing.status_min,
            next_status: now + timing.status_min,
            last_view: HashMap::new(),
            status_failures: 0,
            abandoned: Vec::new(),
            folders: HashMap::new(),
        }
    }

    /// Jobs not finished (waiting or submitted).
    pub fn in_flight(&self) -> usize {
        self.ready.len() + self.tracked.len()
    }

    pub fn add(&mut self, job: Job) {
        let now = Instant::now();
        let (exclude, logs) = (Vec::new(), Vec::new());
        self.ready.push(Ready { job: job.id, spec: job.spec, attempt: 1, exclude, logs, started: now, queued: now });
    }

    /// Submits what can go now (see [`Timing::coalesce`]); a job whose submission failed is
    /// finished as failed.
    pub fn submit(&mut self, now: Instant) -> Vec<Finished> {
        let oldest = self.ready.iter().map(|r| r.queued).min();
        let due = oldest.is_some_and(|t| self.tracked.is_empty() || now.duration_since(t) >= self.timing.coalesce);
        if !due {
            return Vec::new();
        }
        let asks: Vec<Ask> = self.ready.iter().map(|r| self.ask(r)).collect();
        let busy = self.arrays.values().map(|(slots, left)| (*slots).min(*left)).sum();
        let plan = submit::plan(&asks, self.s.max_array(), self.s.spec.max_jobs, busy);
        let mut slots: Vec<Option<Ready>> = std::mem::take(&mut self.ready).into_iter().map(Some).collect();
        let mut done = Vec::new();
        for array in plan {
            let jobs: Vec<Ready> = array.tasks.iter().filter_map(|i| slots[*i].take()).collect();
            if let Err((e, jobs)) = self.submit_array(&array, jobs) {
                done.extend(jobs.into_iter().map(|r| finished(&r, JobOutcome::Failed(e.clone()))));
            }
        }
        self.ready = slots.into_iter().flatten().collect();
        done
    }

    fn ask(&self, r: &Ready) -> Ask {
        let kind = r.spec.steps.first().and_then(|s| s.split(':').next()).unwrap_or("");
        Ask { resources: self.s.spec.resources.get(kind).cloned(), exclude: r.exclude.clone() }
    }

    /// The next attempt folder number of job `spec_id` (1 for its first attempt in the run).
    fn next_folder(&mut self, spec_id: &str) -> u32 {
        let n = self.folders.entry(spec_id.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    /// One `sbatch` for `jobs`; on failure, the error and the jobs back.
    fn submit_array(&mut self, array: &Array, jobs: Vec<Ready>) -> Result<(), (String, Vec<Ready>)> {
        let arrays = self.s.max_array() > 0;
        let numbers: Vec<u32> = jobs.iter().map(|r| self.next_folder(&r.spec.id)).collect();
        let specs: Vec<JobSpec> =
            jobs.iter().zip(&numbers).map(|(r, n)| attempt::spec_for(&r.spec, &self.s.run_id, *n)).collect();
        let rels: Vec<String> = jobs.iter().zip(&numbers).map(|(r, n)| attempt::rel_dir(&r.spec.id, *n)).collect();
        let batch = Batch { root: self.s.root.clone(), run_dir: self.s.dir.clone(), tasks: rels.clone() };
        let path = self.s.next_batch();
        let written = rels
            .iter()
            .zip(&specs)
            .try_for_each(|(rel, spec)| attempt::prepare(&self.s.dir.join(rel), spec))
            .and_then(|()| batch.write(&path, &self.s.exe));
        if let Err(e) = written {
            return Err((e, jobs));
        }
        let args = submit::sbatch_args(self.s, array, jobs.len(), &path, arrays);
        self.s.count(|c| c.sbatch_calls += 1);
        let id = match self.s.runner.run("sbatch", &args).check("sbatch").and_then(|out| submit::parse_job_id(&out)) {
            Ok(id) => id,
            Err(e) => return Err((e, jobs)),
        };
        tracing::info!(job = %id, tasks = jobs.len(), "submitted to Slurm");
        self.s.count(|c| c.submitted_jobs += jobs.len() as u64);
        self.arrays.insert(id.clone(), (array.throttle.unwrap_or(jobs.len()), jobs.len()));
        for (i, (ready, spec)) in jobs.into_iter().zip(specs).enumerate() {
            let task = submit::task_id(&id, i, arrays);
            let (dir, log) = (self.s.dir.join(&rels[i]), self.s.dir.join("logs").join(format!("{task}.log")));
            let t = Tracked {
                ready,
                spec,
                array: id.clone(),
                task,
                dir,
                log,
                gone: None,
                failed: None,
                node: String::new(),
            };
            self.tracked.push(t);
        }
        Ok(())
    }

    /// Reads the result files; at status time, asks Slurm about the jobs still without one.
    pub fn poll(&mut self, now: Instant) -> Vec<Finished> {
        let mut done = self.check_results(now);
        if !self.tracked.is_empty() && now >= self.next_status {
            done.extend(self.status(now));
        }
        done
    }

    /// The jobs whose result file says how they ended.
    fn check_results(&mut self, now: Instant) -> Vec<Finished> {
        let mut done = Vec::new();
        let mut i = 0;
        while i < self.tracked.len() {
            let t = &mut self.tracked[i];
            let outcome = match (t.failed.is_some(), attempt::result(&t.dir)) {
                (false, Some(Ok(r))) => judge(self.s, t, r, now),
                (false, Some(Err(e))) => Some(JobOutcome::Failed(e)),
                _ => None,
            };
            match outcome {
                Some(o) => done.push(self.finish(i, o)),
                None => i += 1,
            }
        }
        done
    }

    /// One `squeue` for the whole run; what it says decides the jobs without a result.
    fn status(&mut self, now: Instant) -> Vec<Finished> {
        self.s.count(|c| c.status_calls += 1);
        let out = self.s.runner.run("squeue", &status::squeue_args(&self.s.run_id));
        let view = match out.check("squeue") {
            Ok(text) => status::parse_squeue(&text),
            Err(e) => return self.status_failed(e, now),
        };
        self.status_failures = 0;
        let before = self.in_flight();
        let mut done = Vec::new();
        let mut i = 0;
        while i < self.tracked.len() {
            match self.decide(i, view.get(&self.tracked[i].task), now) {
                Some(Some(outcome)) => done.push(self.finish(i, outcome)),
                Some(None) => self.requeue(i),
                None => i += 1,
            }
        }
        let changed = self.seen(&view) || !done.is_empty() || before != self.in_flight();
        self.backoff(now, changed);
        self.cancel_abandoned();
        done
    }

    /// One `scancel` of the tasks given up on this cycle (best effort: a failure is logged).
    fn cancel_abandoned(&mut self) {
        if self.abandoned.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut self.abandoned);
        let out = self.s.runner.run("scancel", &ids);
        if !out.ok {
            tracing::warn!("scancel: {}", out.stderr.trim());
        }
    }

    /// A failed `squeue`: waits (backing off); after [`MAX_STATUS_FAILURES`] in a row, every
    /// job still without a result fails with its error.
    fn status_failed(&mut self, e: String, now: Instant) -> Vec<Finished> {
        tracing::warn!("{e}");
        self.status_failures += 1;
        self.backoff(now, false);
        if self.status_failures < MAX_STATUS_FAILURES {
            return Vec::new();
        }
        let why = format!("Slurm cannot be asked about the job: {e}");
        let mut done = Vec::new();
        while !self.tracked.is_empty() {
            self.abandoned.push(self.tracked[0].task.clone());
            done.push(self.finish(0, JobOutcome::Failed(why.clone())));
        }
        self.cancel_abandoned();
        done
    }

    /// Whether the run's view differs from the last status cycle.
    fn seen(&mut self, view: &HashMap<String, Task>) -> bool {
        let now: HashMap<String, String> = view.iter().map(|(k, t)| (k.clone(), t.state_name.clone())).collect();
        let changed = now != self.last_view;
        self.last_view = now;
        changed
    }

    fn backoff(&mut self, now: Instant, changed: bool) {
        self.status_every =
            if changed { self.timing.status_min } else { (self.status_every * 2).min(self.timing.status_max) };
        self.next_status = now + self.status_every;
    }

    /// For a tracked job without a success: None to wait, Some(None) to retry, Some(outcome) to finish.
    fn decide(&mut self, i: usize, task: Option<&Task>, now: Instant) -> Option<Option<JobOutcome>> {
        let grace = self.timing.grace;
        let t = &mut self.tracked[i];
        let active = task.is_some_and(|k| k.state == State::Active);
        if let Some(k) = task.filter(|k| !k.node.is_empty()) {
            t.node = k.node.clone();
        }
        if let Some((error, since)) = &t.failed {
            let ended = !active || now.duration_since(*since) >= grace;
            if ended && active {
                self.abandoned.push(t.task.clone());
            }
            return ended.then(|| Some(JobOutcome::Failed(with_log(t, error))));
        }
        let task = match task {
            Some(k) if k.state == State::Active => {
                t.gone = None;
                return None;
            }
            Some(k) if k.state == State::Retryable => k,
            other => {
                let since = *t.gone.get_or_insert(now);
                if now.duration_since(since) < grace {
                    return None;
                }
                let state = other.map(|k| k.state_name.as_str()).unwrap_or("gone from the queue");
                let why = format!("the Slurm job ended {state} without writing its result");
                return Some(Some(JobOutcome::Failed(with_log(t, &why))));
            }
        };
        match retry::after(task, t.ready.attempt) {
            Verdict::Retry { exclude } => {
                tracing::warn!(job = %t.task, state = %task.state_name, node = %task.node, "retrying on another node");
                t.ready.exclude.extend(exclude.filter(|n| !t.ready.exclude.contains(n)));
                t.ready.exclude.sort();
                Some(None)
            }
            Verdict::Fail(why) => {
                let stable = retry::without_identity(task, t.ready.attempt);
                Some(Some(JobOutcome::Failed(with_log(t, &format!("{stable}{}{why}", attempt::CLUSTER_DETAILS)))))
            }
        }
    }

    /// Takes tracked job `i` back to the ready list as its next attempt.
    fn requeue(&mut self, i: usize) {
        let t = self.untrack(i);
        let mut r = t.ready;
        r.attempt += 1;
        r.logs.push(t.log);
        r.queued = Instant::now();
        self.s.count(|c| c.retries += 1);
        self.ready.push(r);
    }

    fn untrack(&mut self, i: usize) -> Tracked {
        let t = self.tracked.swap_remove(i);
        if let Some((_, left)) = self.arrays.get_mut(&t.array) {
            *left -= 1;
            if *left == 0 {
                self.arrays.remove(&t.array);
            }
        }
        t
    }

    /// Ends tracked job `i`: a success's folder and logs go, a failure's stay.
    fn finish(&mut self, i: usize, outcome: JobOutcome) -> Finished {
        let t = self.untrack(i);
        if let JobOutcome::Built { .. } = outcome {
            let _ = std::fs::remove_dir_all(self.s.dir.join("jobs").join(&t.ready.spec.id));
            t.ready.logs.iter().chain([&t.log]).for_each(|l| {
                let _ = std::fs::remove_file(l);
            });
        }
        finished(&t.ready, outcome)
    }

    /// Every job still here is interrupted; one `scancel` for every array job submitted.
    pub fn cancel(&mut self) -> Vec<Finished> {
        super::cancel::cancel_all(self.s, self.arrays.keys().cloned().collect());
        let mut done: Vec<Finished> = self.ready.drain(..).map(|r| finished(&r, JobOutcome::Interrupted)).collect();
        while !self.tracked.is_empty() {
            let t = self.untrack(0);
            done.push(finished(&t.ready, JobOutcome::Interrupted));
        }
        done
    }
}

/// What a result file says: a success is checked and placed; a failure waits for the log.
fn judge(s: &Session, t: &mut Tracked, r: JobResult, now: Instant) -> Option<JobOutcome> {
    match r.status {
        JobStatus::Succeeded => Some(place(s, &t.spec, r)),
        JobStatus::Failed => {
            t.failed = Some((r.error.unwrap_or_default(), now));
            None
        }
        // Stopped on the node (a time limit, a node shutting down): Slurm says what happened.
        JobStatus::Interrupted => None,
    }
}

fn place(s: &Session, spec: &JobSpec, r: JobResult) -> JobOutcome {
    let placed = attempt::verify(spec, &s.root, &r).and_then(|()| run_job::place(spec, &s.root, r));
    match placed {
        Ok((outputs, sync)) => JobOutcome::Built { outputs, sync },
        Err(e) => JobOutcome::Failed(e),
    }
}

/// `error` (naming nothing of the cluster before any [`attempt::CLUSTER_DETAILS`]), then, as
/// cluster details, where the job ran and the tail of its log.
fn with_log(t: &Tracked, error: &str) -> String {
    let on = if t.node.is_empty() { String::new() } else { format!(" on {}", t.node) };
    let (details, log) = (attempt::CLUSTER_DETAILS, t.log.display());
    format!("{error}{details}Slurm job {}{on}, log {log} (last lines):\n{}", t.task, attempt::log_tail(&t.log))
}

fn finished(r: &Ready, outcome: JobOutcome) -> Finished {
    Finished { id: r.job, outcome, duration_ms: r.started.elapsed().as_millis() as u64 }
}
