//! Moving finished outputs into position and fingerprinting them. Outputs are written to a
//! hidden temporary sibling and renamed into place only when the step succeeded, so a
//! crash or kill leaves either the old complete output or nothing — never a partial one
//! under the real name. Nothing is written or removed before [`confine`] passed.

use std::path::{Path, PathBuf};

use crate::hash::{FileStat, hash_file};
use crate::job::{FileDigest, Placement};
use crate::state::OutputFile;

/// Refuses a placement whose folder is reached through a symlink leading out of its root
/// (see [`crate::confine`]); checked before anything is created, written or removed there.
pub fn confine(p: &Placement) -> Result<(), String> {
    match &p.root {
        Some(root) => crate::confine::check(root, &p.dest),
        None => Err(format!("refusing to write {}: outside the output folder and the workspace", p.dest.display())),
    }
}

/// Renames the temporary output into position (a folder is swapped whole).
pub fn place(p: &Placement) -> Result<(), String> {
    let err = |e: std::io::Error| format!("moving {} into place: {e}", p.dest.display());
    if p.dir && p.dest.exists() {
        let old = sibling(&p.dest, "old");
        std::fs::rename(&p.dest, &old).map_err(err)?;
        std::fs::rename(&p.tmp, &p.dest).map_err(err)?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    } else {
        std::fs::rename(&p.tmp, &p.dest).map_err(err)
    }
}

/// Removes a failed job's temporary output.
pub fn discard(p: &Placement) {
    // Never through a path that leads out of the output root (a symlinked folder).
    if confine(p).is_err() {
        return;
    }
    let _ = if p.dir { std::fs::remove_dir_all(&p.tmp) } else { std::fs::remove_file(&p.tmp) };
}

/// Removes temporaries that an earlier, killed run left beside `dest`.
pub fn remove_leftovers(dest: &Path) {
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else { return };
    let name = name.to_string_lossy();
    let prefixes = [format!(".{name}.tmp-"), format!(".{name}.old-")];
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        if prefixes.iter().any(|p| f.starts_with(p.as_str())) {
            let path = e.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}

fn sibling(dest: &Path, what: &str) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Size and digest of every file of a job's temporary output (sorted by path).
pub fn digest(p: &Placement) -> Result<Vec<FileDigest>, String> {
    files_of(p, &p.tmp)?
        .into_iter()
        .map(|(rel, path)| {
            let size = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?.len();
            let digest = hash_file(&path, size).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(FileDigest { path: rel, size, digest })
        })
        .collect()
}

/// The placed output's files as a record holds them: the job's digests, and each file's stat
/// now that it is in position (for the stat cache). A file that is not what the job reported
/// fails the step.
pub fn record(p: &Placement, files: &[FileDigest]) -> Result<Vec<OutputFile>, String> {
    let placed = files_of(p, &p.dest)?;
    if placed.len() != files.len() || placed.iter().zip(files).any(|((rel, _), f)| *rel != f.path) {
        return Err(format!("{}: not the files the job reported", p.dest.display()));
    }
    placed
        .into_iter()
        .zip(files)
        .map(|((_, path), f)| {
            let stat = FileStat::of(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if stat.size != f.size {
                return Err(format!("{}: not the file the job reported", path.display()));
            }
            Ok(OutputFile { path: f.path.clone(), size: f.size, digest: f.digest.clone(), stat })
        })
        .collect()
}

/// (relative path, path) of every file of an output at `at` (its temporary or its position).
fn files_of(p: &Placement, at: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut files = Vec::new();
    if p.dir {
        walk(at, at, &mut files).map_err(|e| format!("listing {}: {e}", at.display()))?;
        files.sort();
    } else {
        let name = p.dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        files.push((name, at.to_path_buf()));
    }
    Ok(files)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let path = e.path();
        if e.file_type()?.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
            out.push((rel, path));
        }
    }
    Ok(())
}
