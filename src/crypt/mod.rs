//! Encryption of packages (`encryption:` on `outputs.hls` / `outputs.dash`).
//!
//! - [`keys`]: key material from the environment or a key file, never shown; its keyed digest.
//! - [`aes_segment`]: whole-segment AES-128 decrypted in memory (the packager reads its PTS).
//! - [`plan`]: checks at manifest load (what each packager can do, key files outside the
//!   output tree) and the digest that enters the package step's key.
//! - [`job`]: what a package job carries (where the key is, never the key) and, when it
//!   runs, the ffmpeg key-info file or the Shaka flag file (so the key is on no command line),
//!   in memory ([`secret_file`]: never on disk, gone with the process); [`sweep`] removes
//!   the private temp folders of the fallback (and of older versions) a killed run left.

pub mod aes_segment;
pub mod check;
pub mod decrypt;
pub mod job;
pub mod keys;
pub mod plan;
pub mod secret_file;
pub mod sweep;
