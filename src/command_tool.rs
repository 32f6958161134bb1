//! A command step's program ([`crate::manifest::steps`]): where it is and its fingerprint.
//! A name without `/` is looked up on PATH, a path is relative to the manifest's folder. The
//! fingerprint is the BLAKE3 of what `program VERSION_ARGS...` prints on stdout (its first
//! MiB; it must exit 0), or, without `version_args`, of the program file itself (a script's
//! text). Cached in the state's tool cache by the program file's identity, like ffmpeg's.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::hash::{FileStat, hash_bytes, hash_file};
use crate::manifest::Manifest;
use crate::tools::{CachedTool, Tool, ToolCache};

/// The most of a version output that is read (and hashed).
const VERSION_OUTPUT_MAX: u64 = 1 << 20;

/// Every command step's program, fingerprinted, by step name.
pub fn discover(m: &Manifest, cache: &mut ToolCache) -> Result<BTreeMap<String, Tool>> {
    let mut tools = BTreeMap::new();
    for (name, s) in &m.raw.steps {
        let tool_err = |message| Error::CommandTool { step: name.clone(), program: s.program.clone(), message };
        let path = locate(&s.program, &m.root).map_err(tool_err)?;
        let tool = fingerprint(&path, s.version_args.as_deref(), cache).map_err(tool_err)?;
        tools.insert(name.clone(), tool);
    }
    Ok(tools)
}

/// The program's file on this machine (`root`: the manifest's folder, or a job's workspace).
pub fn locate(program: &str, root: &Path) -> std::result::Result<PathBuf, String> {
    let program = crate::job::paths::resolve(root, Path::new(program));
    if program.components().count() > 1 || program.is_absolute() {
        let p = root.join(&program);
        return if is_executable(&p) { Ok(p) } else { Err(format!("{} is not an executable file", p.display())) };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(&program))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("`{}` was not found on PATH", program.display()))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// The program's fingerprint (see the module docs), from `cache` when the file is unchanged.
pub fn fingerprint(
    path: &Path,
    version_args: Option<&[String]>,
    cache: &mut ToolCache,
) -> std::result::Result<Tool, String> {
    let stat = FileStat::of(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let args = version_args.unwrap_or_default();
    let cache_key = format!("command\0{}\0{}", path.display(), args.join("\0"));
    if let Some(c) = cache.get(&cache_key)
        && c.stat == stat
    {
        return Ok(c.tool.clone());
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (version, digest) = match version_args {
        Some(args) => {
            let out = version_output(path, args)?;
            let text = String::from_utf8_lossy(&out);
            let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("unknown");
            (first.chars().take(80).collect(), hash_bytes(&out))
        }
        None => {
            let digest = hash_file(path, stat.size).map_err(|e| format!("{}: {e}", path.display()))?;
            (format!("blake3:{}", &digest[..12]), digest)
        }
    };
    let tool = Tool { name, path: path.to_path_buf(), version, digest };
    cache.insert(cache_key, CachedTool { stat, tool: tool.clone() });
    Ok(tool)
}

/// What `path args...` prints on stdout (its first MiB); it must exit 0.
fn version_output(path: &Path, args: &[String]) -> std::result::Result<Vec<u8>, String> {
    let shown = || crate::term::shell_line(path, args);
    let mut child = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", shown()))?;
    let mut out = Vec::new();
    let read = child.stdout.take().expect("piped").take(VERSION_OUTPUT_MAX).read_to_end(&mut out);
    if out.len() as u64 >= VERSION_OUTPUT_MAX {
        let _ = child.kill(); // still writing past the limit
    }
    let status = child.wait().map_err(|e| format!("waiting for `{}`: {e}", shown()))?;
    read.map_err(|e| format!("reading `{}`: {e}", shown()))?;
    if !status.success() && (out.len() as u64) < VERSION_OUTPUT_MAX {
        return Err(format!("`{}` failed ({status})", shown()));
    }
    Ok(out)
}
