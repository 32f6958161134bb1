//! Output checks: a step is recorded only after its outputs are what the step promises.
//! Run by the job ([`super::run_job`]) on its temporary outputs, before they are placed; a failed check
//! fails the step with a message naming the file, the temporary output is discarded and the
//! previously placed output stays. What each step kind must produce is listed in
//! [`crate::key`] (beside the key table) and in the README ("Output checks").

mod command;
mod decode;
pub mod expect;
mod files;
mod iframes;
mod loudness;
mod packages;
mod storyboard;

use std::path::Path;

pub use crate::job::promise::{Checks, Durations, Promise, tolerance};

use crate::job::Placement;

/// Checks every placed output of a job against its promise (on the temporary copies).
pub fn outputs(c: &Checks, ffmpeg: &Path, placements: &[Placement]) -> Result<(), String> {
    let mut dec = decode::Decoder::new(ffmpeg);
    for (step, promise) in &c.expect {
        let Some(p) = placements.iter().find(|p| &p.step == step) else { continue };
        let site = Site { tmp: &p.tmp, dest: &p.dest };
        if p.dir {
            files::none_empty(&site, &p.tmp, 0)?;
        }
        match promise {
            Promise::Json => files::json(&site, &p.tmp)?,
            Promise::Encode { video } => {
                let expected = if *video { c.durations.video } else { c.durations.audio };
                files::media_file(&site, &mut dec, &p.tmp, *video, expected, c.tolerance)?
            }
            Promise::Loudness { target, tolerance } => {
                files::media_file(&site, &mut dec, &p.tmp, false, c.durations.audio, c.tolerance)?;
                loudness::within(&site, ffmpeg, &p.tmp, *target, *tolerance)?
            }
            Promise::Hls { variants, audio } => {
                packages::hls(&site, c, &mut dec, *variants, *audio)?;
                iframes::check(&site)?
            }
            Promise::Dash { video, audio } => packages::dash(&site, c, &mut dec, *video, *audio)?,
            Promise::Thumbnails { at_least_one } => files::thumbnails(&site, &mut dec, *at_least_one)?,
            Promise::AudioOnly => files::audio_only(&site, &mut dec, c.durations.audio, c.tolerance)?,
            Promise::Nothing => {}
            Promise::Command { files } => command::files(&site, files)?,
            Promise::Storyboard { columns, rows, tile_w } => {
                storyboard::check(&site, &mut dec, (*columns, *rows, *tile_w))?
            }
            Promise::Subtitle => {
                crate::kinds::subtitle::check(&p.tmp).map_err(|e| format!("{}: {e}", site.show(&p.tmp)))?
            }
        }
    }
    // The first and last frames of everything, in one ffmpeg when all is well.
    dec.run()
}

/// A placement being checked: files are read under `tmp`, and named under `dest`.
pub struct Site<'a> {
    pub tmp: &'a Path,
    pub dest: &'a Path,
}

impl Site<'_> {
    /// The final name of a file inside the temporary output.
    pub fn show(&self, p: &Path) -> String {
        match p.strip_prefix(self.tmp) {
            Ok(rel) if rel.as_os_str().is_empty() => self.dest.display().to_string(),
            Ok(rel) => self.dest.join(rel).display().to_string(),
            Err(_) => p.display().to_string(),
        }
    }
}

/// Free space below which a failed step's output is said to have hit a full disk.
const NEARLY_FULL: u64 = 64 * 1024;

/// Names a full disk: a failure whose message says ENOSPC (an io error's text, or ffmpeg's
/// "No space left on device"), or whose output's file system has (almost) no space left,
/// becomes "disk full at PATH: ...".
pub fn name_disk_full(message: String, placements: &[Placement]) -> String {
    if message.starts_with("disk full at ") || message == "interrupted" {
        return message;
    }
    let enospc = message.contains("No space left on device") || message.contains("Disk quota exceeded");
    let full = placements.iter().find(|p| enospc || available(&p.tmp).is_some_and(|a| a < NEARLY_FULL));
    match full {
        Some(p) => format!("disk full at {}: {message}", p.dest.display()),
        None => message,
    }
}

/// Bytes available to unprivileged users on the file system holding `path` (or its nearest
/// existing ancestor).
#[allow(clippy::unnecessary_cast)] // c_ulong is u64 on 64-bit Linux only
fn available(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let existing = path.ancestors().find(|a| a.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; `c` is a valid NUL-terminated path.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut s) == 0).then(|| s.f_bavail as u64 * s.f_frsize as u64)
    }
}
