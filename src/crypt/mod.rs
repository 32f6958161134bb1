//! Encryption of packages (`encryption:` on `outputs.hls` / `outputs.dash`).
//!
//! - [`keys`]: key material from the environment or a key file, never shown; its keyed digest.
//! - [`plan`]: checks at manifest load (what each packager can do, key files outside the
//!   output tree) and the digest that enters the package step's key.
//! - [`job`]: what a package job carries (where the key is, never the key) and, when it
//!   runs, the private 0700 folder with the ffmpeg key-info file or the Shaka flag file
//!   (so the key is on no command line), removed afterwards.

pub mod aes_segment;
pub mod check;
pub mod decrypt;
pub mod job;
pub mod keys;
pub mod plan;
