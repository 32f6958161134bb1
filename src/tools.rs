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
}

impl Toolset {
    pub fn discover(m: &Manifest, cache: &mut ToolCache) -> Result<Toolset> {
        let ffmpeg = resolve("ffmpeg", "VODBUILD_FFMPEG", m.raw.tools.ffmpeg.as_deref(), &m.root)?;
        let ffprobe = resolve("ffprobe", "VODBUILD_FFPROBE", m.raw.tools.ffprobe.as_deref(), &m.root)?;
        Ok(Toolset {
            ffmpeg: fingerprint("ffmpeg", &ffmpeg, cache)?,
            ffprobe: fingerprint("ffprobe", &ffprobe, cache)?,
        })
    }
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
        .arg("-version")
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
