//! Where a job runs: the workspace root and the tools of that machine ([`JobEnv`]). Used by
//! [`super::run_job`] and the action's [`super::perform`].

use std::path::{Path, PathBuf};

use crate::job::ToolPin;
use crate::step::ToolUse;
use crate::tools::Toolset;

/// The tools of the machine that runs a job.
#[derive(Debug, Clone, Default)]
pub struct ToolPaths {
    pub ffmpeg: Option<PathBuf>,
    pub ffprobe: Option<PathBuf>,
    pub packager: Option<PathBuf>,
}

impl ToolPaths {
    /// The coordinator's tools (the ones the job's pins were taken from).
    pub fn of(t: &Toolset) -> ToolPaths {
        ToolPaths {
            ffmpeg: Some(t.ffmpeg.path.clone()),
            ffprobe: Some(t.ffprobe.path.clone()),
            packager: t.packager.as_ref().map(|p| p.path.clone()),
        }
    }

    /// Finds each pinned tool on this machine; one whose fingerprint differs is refused (its
    /// outputs would not be what the steps' keys say).
    pub fn locate(pins: &[ToolPin], root: &Path) -> crate::Result<ToolPaths> {
        let mut t = ToolPaths::default();
        for pin in pins {
            let name = tool_name(pin.tool);
            let found = crate::tools::locate(name, pin.configured.as_deref(), root)?;
            if found.digest != pin.digest {
                let message = format!(
                    "{} is not the build the job was planned with: its fingerprint is {}, the job's (the \
                     coordinator's {name}) is {}",
                    found.path.display(),
                    found.digest,
                    pin.digest
                );
                return Err(crate::Error::Tool { tool: name.into(), message });
            }
            let slot = match pin.tool {
                ToolUse::Ffmpeg => &mut t.ffmpeg,
                ToolUse::Ffprobe => &mut t.ffprobe,
                ToolUse::Packager => &mut t.packager,
                // A command step's program is located and checked by its action.
                ToolUse::Builtin | ToolUse::Command => continue,
            };
            *slot = Some(found.path);
        }
        Ok(t)
    }

    pub fn get(&self, tool: ToolUse) -> Result<&Path, String> {
        let p = match tool {
            ToolUse::Ffmpeg => &self.ffmpeg,
            ToolUse::Ffprobe => &self.ffprobe,
            ToolUse::Packager => &self.packager,
            ToolUse::Builtin | ToolUse::Command => &None,
        };
        p.as_deref().ok_or_else(|| format!("{} was not found", tool_name(tool)))
    }
}

fn tool_name(t: ToolUse) -> &'static str {
    match t {
        ToolUse::Ffmpeg => "ffmpeg",
        ToolUse::Ffprobe => "ffprobe",
        ToolUse::Packager => "packager",
        ToolUse::Builtin => "vodbuild",
        ToolUse::Command => "command",
    }
}

/// Where a job runs: the workspace root on this machine and its tools.
#[derive(Debug, Clone)]
pub struct JobEnv {
    pub root: PathBuf,
    pub tools: ToolPaths,
    /// Hash every input and compare it with the spec's digest (a job run from a copy of the
    /// workspace); the coordinator's own jobs skip it (it has just evaluated them).
    pub verify_inputs: bool,
}
