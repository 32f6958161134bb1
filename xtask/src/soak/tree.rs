//! Folder trees: listing, temporaries left behind, and byte-for-byte comparison.

use std::path::Path;

/// Every file under `dir`, as a path relative to it with `/` separators, sorted. Symlinks are
/// not followed. A missing `dir` is an empty list.
pub fn files(dir: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, "", &mut out)?;
    }
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path(), &r, out)?,
            _ => out.push(r),
        }
    }
    Ok(())
}

/// Names vodbuild gives its temporaries: `.NAME.tmp-PID-N`, `.NAME.old-PID` (placement),
/// `state.json.tmp-PID` (state snapshot), `NAME.download-PID` (remote sources).
pub fn is_temporary(name: &str) -> bool {
    name.contains(".tmp-") || name.contains(".old-") || name.contains(".download-")
}

/// Temporaries (files or folders) anywhere under `dir`, relative to it.
pub fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    find_temporaries(dir, "", &mut out);
    out.sort();
    out
}

fn find_temporaries(dir: &Path, rel: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if is_temporary(&name) {
            out.push(r);
        } else if e.file_type().is_ok_and(|t| t.is_dir()) {
            find_temporaries(&e.path(), &r, out);
        }
    }
}

/// How tree `a` compares with tree `b`.
#[derive(Default, Debug)]
pub struct Diff {
    /// In `b` but not in `a`.
    pub missing: Vec<String>,
    /// In `a` but not in `b`.
    pub extra: Vec<String>,
    /// In both, with different bytes.
    pub differ: Vec<String>,
    pub same: usize,
}

impl Diff {
    pub fn identical(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.differ.is_empty()
    }
}

/// Compares every file of `a` with `b`'s file of the same path, byte for byte.
pub fn compare(a: &Path, b: &Path) -> Result<Diff, String> {
    let (fa, fb) = (files(a)?, files(b)?);
    let mut d = Diff::default();
    let in_b: std::collections::BTreeSet<&String> = fb.iter().collect();
    let in_a: std::collections::BTreeSet<&String> = fa.iter().collect();
    d.missing = fb.iter().filter(|f| !in_a.contains(f)).cloned().collect();
    for f in &fa {
        if !in_b.contains(f) {
            d.extra.push(f.clone());
            continue;
        }
        let read = |root: &Path| std::fs::read(root.join(f)).map_err(|e| format!("{}: {e}", root.join(f).display()));
        if read(a)? == read(b)? {
            d.same += 1;
        } else {
            d.differ.push(f.clone());
        }
    }
    Ok(d)
}
