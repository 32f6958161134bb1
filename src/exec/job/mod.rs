//! Building jobs ([`build()`]): the job of one step, or of several encodes of one source fused
//! into one ffmpeg, from the graph, the records and `probe.json`, through each step kind's
//! builder ([`crate::kinds`]). The job types themselves are [`crate::job`], below the kinds.

pub(crate) mod build;

pub use crate::job::ctx::JobCtx;
pub use build::build;
