//! Jobs: self-contained, serializable descriptions of the work for one step, or for several
//! encodes of one source fused into one ffmpeg (one decode).
//!
//! A [`JobSpec`] depends on nothing of the coordinator: every path in it (and in its tool
//! arguments) is relative to the workspace root, written `{root}/…` ([`paths`]; only files
//! outside the workspace stay absolute); it names its inputs with their digests, its outputs
//! and their temporaries (`.NAME.tmp-ID`, ID a digest of the step ids, no pid), the tools it
//! needs with their fingerprints, every argument that changes output bytes (no core count: see
//! [`super::ffmpeg::ENCODER_THREADS`]) and the checks its outputs must pass. So it runs the
//! same on this machine ([`super::local::LocalExecutor`]) or another one (`vodbuild exec-job
//! SPEC.json --root DIR`), both through [`super::run_job::run`]. Building a job
//! ([`build::build`]) reads the graph, records and `probe.json`; it downloads and writes nothing.
//!
//! Layers, bottom up: [`paths`] and [`spec`] (the data), [`ctx`] (what a kind's job builder is
//! given), then the kinds ([`crate::kinds`]), then [`build`] (which calls them).

pub(crate) mod build;
pub mod ctx;
pub mod paths;
pub mod spec;

pub use build::build;
pub use ctx::JobCtx;
pub use spec::{
    Action, Fetch, FileDigest, JobInput, JobOutput, JobResult, JobSpec, JobStatus, Placement, StepFiles, ToolPin,
};
