//! A command step's program ([`crate::manifest::steps`]): where it is and its fingerprint.
//! A name without `/` is looked up on PATH, a path is relative to the manifest's folder. The
//! fingerprint is the BLAKE3 of what `program VERSION_ARGS...` prints on stdout (its first
//! MiB; it must exit 0 within [`VERSION_TIMEOUT`]), or, without `version_args`, of the program
//! file itself (a script's text). A program given as a path (a project's own script) with
//! `version_args` is fingerprinted by both, its file digest and its version output, so that
//! editing the script re-runs its steps. Cached in the state's tool cache by the program
//! file's identity, like ffmpeg's.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::hash::{FileStat, hash_bytes, hash_file};
use crate::manifest::Manifest;
use crate::tools::{CachedTool, Tool, ToolCache};

/// The most of a version output that is read (and hashed).
const VERSION_OUTPUT_MAX: u64 = 1 << 20;

/// How long `program VERSION_ARGS...` may take before it is killed.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// Every command step's program, fingerprinted, by step name.
pub fn discover(m: &Manifest, cache: &mut ToolCache) -> Result<BTreeMap<String, Tool>> {
    let mut tools = BTreeMap::new();
    for (name, s) in &m.raw.steps {
        let tool_err = |message| Error::CommandTool { step: name.clone(), program: s.program.clone(), message };
        let path = locate(&s.program, &m.root).map_err(tool_err)?;
        let tool = fingerprint(&path, is_path(&s.program), s.version_args.as_deref(), cache).map_err(tool_err)?;
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

/// Whether `program` names a path (a project's script) rather than a name looked up on PATH.
pub fn is_path(program: &str) -> bool {
    let p = Path::new(program);
    p.components().count() > 1 || p.is_absolute()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// The program's fingerprint (see the module docs), from `cache` when the file is unchanged.
/// `named_by_path`: the manifest gave the program as a path ([`is_path`]).
pub fn fingerprint(
    path: &Path,
    named_by_path: bool,
    version_args: Option<&[String]>,
    cache: &mut ToolCache,
) -> std::result::Result<Tool, String> {
    let stat = FileStat::of(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let args = version_args.unwrap_or_default();
    let cache_key = format!("command\0{}\0{named_by_path}\0{}", path.display(), args.join("\0"));
    if let Some(c) = cache.get(&cache_key)
        && c.stat == stat
    {
        return Ok(c.tool.clone());
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file_digest = || hash_file(path, stat.size).map_err(|e| format!("{}: {e}", path.display()));
    let (version, digest) = match version_args {
        Some(args) => {
            let out = version_output(path, args, VERSION_TIMEOUT)?;
            let text = String::from_utf8_lossy(&out);
            let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("unknown");
            let digest = if named_by_path {
                hash_bytes(format!("{}\0{}", file_digest()?, hash_bytes(&out)).as_bytes())
            } else {
                hash_bytes(&out)
            };
            (first.chars().take(80).collect(), digest)
        }
        None => {
            let digest = file_digest()?;
            (format!("blake3:{}", &digest[..12]), digest)
        }
    };
    let tool = Tool { name, path: path.to_path_buf(), version, digest };
    cache.insert(cache_key, CachedTool { stat, tool: tool.clone() });
    Ok(tool)
}

/// What `path args...` prints on stdout (its first MiB); it must exit 0 within `timeout`.
fn version_output(path: &Path, args: &[String], timeout: Duration) -> std::result::Result<Vec<u8>, String> {
    let shown = || crate::term::shell_line(path, args);
    let mut child = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run `{}`: {e}", shown()))?;
    let stdout = child.stdout.take().expect("piped");
    let full = Arc::new(AtomicBool::new(false));
    let reader = std::thread::spawn({
        let full = full.clone();
        move || {
            let mut out = Vec::new();
            let read = stdout.take(VERSION_OUTPUT_MAX).read_to_end(&mut out);
            full.store(out.len() as u64 >= VERSION_OUTPUT_MAX, Ordering::Release);
            read.map(|_| out)
        }
    });
    let status = wait_bounded(&mut child, &full, timeout).map_err(|e| format!("waiting for `{}`: {e}", shown()))?;
    let Some(status) = status else {
        return Err(format!("`{}` did not finish within {} s; it was stopped", shown(), timeout.as_secs()));
    };
    let out = reader.join().map_err(|_| format!("reading `{}` panicked", shown()))?;
    let out = out.map_err(|e| format!("reading `{}`: {e}", shown()))?;
    if !status.success() && (out.len() as u64) < VERSION_OUTPUT_MAX {
        return Err(format!("`{}` failed ({status})", shown()));
    }
    Ok(out)
}

/// Waits for `child` until `timeout`; then kills it and answers `None`. A child still writing
/// once the reader has its MiB (`full`) is killed too (its status then does not matter).
fn wait_bounded(child: &mut Child, full: &AtomicBool, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if full.load(Ordering::Acquire) {
            let _ = child.kill(); // still writing past the limit
            return child.wait().map(Some);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("tool.sh");
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn editing_a_script_with_version_args_changes_its_fingerprint() {
        let d = tempfile::tempdir().unwrap();
        let args = vec!["--version".to_string()];
        let p = script(d.path(), "#!/bin/sh\necho tool 1.0\n");
        let before = fingerprint(&p, true, Some(&args), &mut ToolCache::new()).unwrap();
        let p = script(d.path(), "#!/bin/sh\necho tool 1.0\n# edited\n");
        let after = fingerprint(&p, true, Some(&args), &mut ToolCache::new()).unwrap();
        assert_eq!(before.version, after.version);
        assert_ne!(before.digest, after.digest, "an edited script must get a new fingerprint");
        let on_path = fingerprint(&p, false, Some(&args), &mut ToolCache::new()).unwrap();
        assert_eq!(on_path.digest, hash_bytes(b"tool 1.0\n"), "a program on PATH: its version output only");
    }

    #[test]
    fn a_version_command_that_hangs_is_stopped() {
        let d = tempfile::tempdir().unwrap();
        let p = script(d.path(), "#!/bin/sh\nexec sleep 60\n");
        let err = version_output(&p, &["--version".into()], Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("did not finish") && err.contains("tool.sh"), "{err}");
    }

    #[test]
    fn names_and_paths() {
        assert!(!is_path("ffmpeg"));
        assert!(is_path("./transcribe.py") && is_path("bin/tool") && is_path("/usr/bin/env"));
    }
}
