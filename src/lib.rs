//! vodbuild: a make-like build tool for video-on-demand catalogs.
//!
//! The modules follow the data:
//! [`manifest`] (YAML → validated model) → [`graph`] (petgraph step DAG) →
//! [`plan`] (stale or fresh, with reasons; keys in [`key`]) → [`exec`] (rayon scheduler,
//! child ffmpeg processes) → [`state`] (crash-safe records, stat cache, lock).
//!
//! Layers, bottom up, no import cycle between modules: plain data ([`step`] types, the
//! [`dag`], [`key`], [`layout`], the [`job`] types, [`argv`] tool arguments,
//! [`shard`] the `--shard` split of sources, [`command_tool`] a command step's program) →
//! [`kinds`] (each
//! kind's parameters, actions, promises) → [`graph`] building, [`plan`], [`exec`] (job
//! building, checks, running) → [`cli`].
//! After a run, [`lifecycle`] deletes sources that are published and verified
//! (`after_publish`); [`serve`] is the preview server (`vodbuild serve`).

pub mod argv;
pub mod atomic;
pub mod audio;
pub mod cli;
pub mod command_tool;
pub mod confine;
pub mod crypt;
pub mod dag;
pub mod digests;
pub mod error;
pub mod exec;
pub mod exit_codes;
pub mod graph;
pub mod hash;
pub mod job;
pub mod key;
pub mod kinds;
pub mod ladder;
pub mod layout;
pub mod lifecycle;
pub mod manifest;
pub mod media;
pub mod plan;
pub mod record;
pub mod serve;
pub mod shard;
pub mod signals;
pub mod skip;
pub mod statat;
pub mod state;
pub mod step;
pub mod storage;
pub mod term;
pub mod tools;
pub mod verify;

pub use error::{Error, Result};
