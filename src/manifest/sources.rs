//! Expands `sources:` (files and globs) into [`Source`]s with stable, safe ids.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::model::RawManifest;
use super::validate::check_id;
use super::{ErrCtx, Source, SourceOpts};
use crate::error::Result;
use crate::p;

pub fn expand(m: &RawManifest, root: &Path, ctx: &ErrCtx) -> Result<Vec<Source>> {
    let mut out: Vec<Source> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, spec) in m.sources.iter().enumerate() {
        let opts = source_opts(m, i, ctx)?;
        let mut found = Vec::new();
        let mut remote = None;
        if let (Some(object), Some(backend)) = (&spec.object, &spec.backend) {
            let id = match &spec.id {
                Some(id) => id.clone(),
                None => derive_id(Path::new(""), Path::new(object.trim_start_matches('/'))).ok_or_else(|| {
                    ctx.err(
                        &p!["sources", i, "object"],
                        format!("cannot derive an id from `{object}`"),
                        Some("give the source an `id:`".into()),
                    )
                })?,
            };
            check_id(&id)
                .map_err(|why| ctx.err(&p!["sources", i], format!("invalid source id `{id}`: {why}"), None))?;
            let name = Path::new(object).file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "source".into());
            let local = root.join(".vodbuild").join("sources").join(&id).join(name);
            remote = Some((
                format!("{backend}:{object}"),
                super::RemoteSource { backend: super::backend_config(m, backend), object: object.clone() },
            ));
            found.push((id, local));
        }
        if let Some(path) = &spec.path {
            let abs = root.join(path);
            if !abs.is_file() {
                return Err(ctx.err(
                    &p!["sources", i, "path"],
                    format!("source file `{path}` does not exist (looked at {})", abs.display()),
                    None,
                ));
            }
            let id = match &spec.id {
                Some(id) => id.clone(),
                None => derive_id(root, &abs).ok_or_else(|| {
                    ctx.err(
                        &p!["sources", i, "path"],
                        format!("cannot derive an id for `{path}` (outside the manifest folder)"),
                        Some("give the source an `id:`".into()),
                    )
                })?,
            };
            found.push((id, abs));
        }
        if let Some(pattern) = &spec.glob {
            let full = root.join(pattern);
            let full = full.to_string_lossy();
            let paths = glob::glob(&full)
                .map_err(|e| ctx.err(&p!["sources", i, "glob"], format!("invalid glob `{pattern}`: {e}"), None))?;
            let mut files: Vec<PathBuf> = paths.filter_map(|r| r.ok()).filter(|p| p.is_file()).collect();
            files.sort();
            if files.is_empty() {
                tracing::warn!(pattern = %pattern, "source glob matches no files");
            }
            let base = glob_base(root, pattern);
            for f in files {
                let id = derive_id(root, &f).or_else(|| derive_id(&base, &f)).ok_or_else(|| {
                    ctx.err(&p!["sources", i, "glob"], format!("cannot derive an id for {}", f.display()), None)
                })?;
                found.push((id, f));
            }
        }
        for (id, path) in found {
            check_id(&id).map_err(|why| {
                ctx.err(
                    &p!["sources", i],
                    format!("invalid source id `{id}` (from {}): {why}", path.display()),
                    Some("give the source an explicit `id:`".into()),
                )
            })?;
            if let Some(prev) = seen.insert(id.clone(), i) {
                return Err(ctx.err(
                    &p!["sources", i],
                    format!("source id `{id}` is produced twice (also by sources[{prev}])"),
                    Some("ids must be unique: rename a file or give an explicit `id:`".into()),
                ));
            }
            let rel = path
                .strip_prefix(root)
                .map(|r| r.to_string_lossy().into_owned())
                .unwrap_or_else(|_| path.to_string_lossy().into_owned());
            match remote.take() {
                Some((rel, r)) => out.push(Source { id, path, rel, remote: Some(r), opts: opts.clone() }),
                None => out.push(Source { id, path, rel, remote: None, opts: opts.clone() }),
            }
        }
    }
    Ok(out)
}

/// The per-source settings of `sources[i]`; rung names must be video profiles.
fn source_opts(m: &RawManifest, i: usize, ctx: &ErrCtx) -> Result<SourceOpts> {
    let spec = &m.sources[i];
    let lists = [("renditions", spec.renditions.as_deref().unwrap_or_default()), ("exclude", &spec.exclude[..])];
    for (field, names) in lists {
        if let Some((j, name)) = names.iter().enumerate().find(|(_, n)| !m.profiles.video.contains_key(*n)) {
            let known: Vec<&str> = m.profiles.video.keys().map(String::as_str).collect();
            return Err(ctx.err(
                &p!["sources", i, field, j],
                format!("`{name}` is not a video profile"),
                Some(format!("use one of: {}", known.join(", "))),
            ));
        }
    }
    Ok(SourceOpts {
        checks: spec.source_checks.unwrap_or(m.source_checks),
        renditions: spec.renditions.clone(),
        exclude: spec.exclude.clone(),
    })
}

/// `media/Show 1/ep01.mp4` → `media/Show_1/ep01`: relative path, extension dropped,
/// characters outside the safe set replaced. None when the file is outside `base`.
fn derive_id(base: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(base).ok()?;
    let mut parts = Vec::new();
    for c in rel.with_extension("").components() {
        match c {
            Component::Normal(s) => {
                let s: String = s
                    .to_string_lossy()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
                    .collect();
                parts.push(s.trim_start_matches('.').to_string());
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The folder before the first wildcard of a pattern.
fn glob_base(root: &Path, pattern: &str) -> PathBuf {
    let mut base = root.to_path_buf();
    for part in Path::new(pattern).components() {
        let s = part.as_os_str().to_string_lossy();
        if s.contains(['*', '?', '[']) {
            break;
        }
        base.push(part);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_paths() {
        let root = Path::new("/r");
        assert_eq!(derive_id(root, Path::new("/r/media/Show 1/ep01.mp4")).unwrap(), "media/Show_1/ep01");
        assert_eq!(derive_id(root, Path::new("/elsewhere/a.mp4")), None);
        assert_eq!(glob_base(root, "cat/**/*.mp4"), PathBuf::from("/r/cat"));
    }
}
