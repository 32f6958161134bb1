//! Execution, split like ninja's build: the [`scheduler`] (one state per step: judged as
//! its dependencies finish, absent intermediates rebuilt on demand, early cutoff, failure
//! and `--keep-going`), the [`fusion`] policy (the stale video encodes of a source are one
//! job), the [`builder`] loop with its [`work`] (freshness, jobs, records), the [`recorder`] (each finished step into the state before
//! its dependents start), and the [`executor`] interface (start / wait for any / cancel all)
//! with its local implementation on a bounded rayon pool ([`pool`]) and the [`slurm`] one
//! (compute jobs on a Slurm cluster). Cancellation is a [`cancel::Cancel`] handle passed in.
//! [`report`] types what a run did; [`junit`], [`metrics`] and [`step_summary`] render it for
//! CI. [`retry`]: transient failures run again after a backoff (the builder's loop);
//! [`webhook`] sends notify requests. A command step's tool runs through [`command`],
//! confined by [`landlock`].

pub mod builder;
pub mod cancel;
pub mod check;
pub mod command;
pub mod env;
pub mod executor;
pub mod fusion;
pub mod job;
pub mod junit;
pub mod landlock;
pub mod local;
pub mod metrics;
pub mod perform;
pub mod pipes;
pub mod place;
pub mod pool;
pub mod probe_source;
pub mod progress;
pub mod progress_line;
pub mod queue;
pub mod recorder;
pub mod report;
pub mod retry;
pub mod run_job;
pub mod runner;
pub mod scheduler;
pub mod slurm;
pub mod step_summary;
pub mod sweep;
pub mod webhook;
pub mod work;

pub use report::{RunReport, Status, StepReport};

use crate::plan::Context;
use crate::state::State;
use builder::Builder;
use job::JobCtx;
use pool::LocalPool;
use progress::Progress;
use scheduler::Scheduler;
use slurm::{SlurmExecutor, Timing};
use work::StateWork;

pub struct RunOptions {
    /// `-j`: jobs in flight.
    pub jobs: usize,
    pub keep_going: bool,
    pub force: bool,
    /// Delete published objects the manifest no longer produces.
    pub prune: bool,
    pub progress: progress::Mode,
    /// Cancelling it stops the run (Ctrl-C / SIGTERM cancel [`crate::signals::token`]).
    pub cancel: cancel::Cancel,
    /// `run --keep-jobs DIR` (hidden): each job's spec and result are also saved there.
    pub keep_jobs: Option<std::path::PathBuf>,
    /// The Slurm session when compute jobs go to Slurm (`executor: slurm`).
    pub slurm: Option<std::sync::Arc<slurm::Session>>,
    /// Remove what killed runs left ([`sweep`]): false when the last run left the
    /// workspace clean ([`sweep::CLEAN_MARK`]).
    pub sweep: bool,
}

/// Runs the selected steps on this machine; `actions` runs one job's work.
pub fn run(
    ctx: &Context,
    state: &mut State,
    selected: &[bool],
    opts: &RunOptions,
    actions: &dyn local::Executor,
) -> RunReport {
    let state_dir = ctx.m.state_dir();
    if opts.sweep {
        sweep::remove_stale_temporaries(ctx.sg, selected, &[&ctx.m.output_dir, &state_dir]);
    }
    crate::crypt::sweep::before_run(ctx.m);
    ctx.check_outputs_ahead(state, selected);
    let progress = Progress::new(opts.progress);
    progress.set_total(selected.iter().filter(|s| **s).count());
    let threads = pool::threads(opts.jobs);
    let env =
        run_job::JobEnv { root: ctx.m.root.clone(), tools: run_job::ToolPaths::of(ctx.tools), verify_inputs: false };
    // Publish and notify jobs wait on the network: they run on threads of their own, as
    // many at once as `publish.concurrency` (whose uploads share that bound), beside `-j`.
    let network_slots = ctx.m.raw.publish.as_ref().map_or(0, |p| p.concurrency);
    pool::shared(threads).in_place_scope(|scope| {
        std::thread::scope(|threads| {
            let executor = LocalPool::new(scope, actions, &env, &progress, opts.cancel.clone(), opts.jobs)
                .with_network(&threads, network_slots);
            build(ctx, state, selected, opts, &progress, executor)
        })
    })
}

/// The builder over the scheduler, on `executor` (or on Slurm with `executor` for the jobs
/// that stay on this machine).
fn build(
    ctx: &Context,
    state: &mut State,
    selected: &[bool],
    opts: &RunOptions,
    progress: &Progress,
    mut executor: LocalPool,
) -> RunReport {
    let jctx = JobCtx { m: ctx.m, sg: ctx.sg, tools: ctx.tools, sources: &ctx.sources, prune: opts.prune };
    let mut work = StateWork { ctx, state, force: opts.force, jctx };
    let sched = Scheduler::new(ctx.sg, selected, opts.keep_going);
    let builder = Builder::new(sched, ctx.sg, &mut work, progress, opts.cancel.clone())
        .with_retries(retry::RetryPolicy::of(ctx.m.raw.retries.as_ref()));
    match &opts.slurm {
        Some(s) => builder.build(&mut SlurmExecutor::new(s, Timing::of(&s.spec), executor, opts.cancel.clone())),
        None => builder.build(&mut executor),
    }
}
