//! The step DAG (petgraph): per source, probe → encode(rendition) → package_hls /
//! package_dash; thumbnails, audio_only, storyboard (which package_dash then reads, see
//! [`crate::kinds::storyboard::link_dash`]); the manifest's command steps (`command.rs`) after
//! what they read; metadata last. Edges point from a dependency to
//! package_dash; thumbnails, audio_only; metadata last; then publish, and one notify step per
//! `notify:` target (`notify.rs`); loudness measurements before a normalised audio encode and
//! after it, for metadata (`loudness.rs`); a sidecar audio file's encodes after the probe
//! (`audio_files.rs`). Edges point from a dependency to
//! its dependent. Building it (`build.rs`) asks each kind ([`crate::kinds`]) for its steps'
//! parameters; the graph as data is [`crate::dag`], the step types are [`crate::step`].

mod audio;
mod audio_files;
mod build;
mod command;
mod loudness;
mod notify;
pub mod render;
mod subtitles;

pub use crate::dag::StepGraph;
pub use crate::step::{Media, OutputLoc, PackageKind, Step, StepKind, Subject, ToolUse};
