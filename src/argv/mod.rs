//! The argument vectors of the tools a job runs (ffmpeg, Shaka Packager), built from the
//! manifest's settings and the probe; the kinds ([`crate::kinds`]) put them into their jobs'
//! actions. Plain functions: they run nothing.

pub mod ffmpeg;
pub mod filters;
pub mod loudness;
pub mod shaka;
pub mod storyboard;
