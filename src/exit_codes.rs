//! Documented process exit codes. Scripts and CI may rely on these values.

/// Everything requested was built (or already fresh).
pub const SUCCESS: i32 = 0;
/// At least one step failed (ffmpeg error, bad media, I/O error while building).
pub const BUILD_FAILED: i32 = 1;
/// The command line was invalid (unknown flag, missing argument). Same as clap's default.
pub const USAGE_ERROR: i32 = 2;
/// The manifest could not be read, parsed or validated.
pub const MANIFEST_ERROR: i32 = 3;
/// Another vodbuild process holds the workspace lock.
pub const LOCKED: i32 = 4;
/// A required tool (ffmpeg, ffprobe) is missing or unusable.
pub const TOOL_ERROR: i32 = 5;
/// `vodbuild verify` found problems in the packages.
pub const VERIFY_FAILED: i32 = 6;
/// Interrupted by Ctrl-C / SIGTERM; finished steps are recorded, nothing partial is.
pub const INTERRUPTED: i32 = 130;
