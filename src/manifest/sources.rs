//! Expands `sources:` (files and globs) into [`Source`]s with stable, safe ids.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use super::model::RawManifest;
use super::validate::check_id;
use super::{ErrCtx, Source, SourceOpts, snippet, walk};
use crate::error::Result;
use crate::p;

/// Files (or objects) found for one `sources:` entry: (id, local path).
type Found = Vec<(String, PathBuf)>;
/// Ids seen so far: id → (index of its `sources:` entry, path).
type Seen = BTreeMap<String, (usize, PathBuf)>;

pub fn expand(m: &RawManifest, root: &Path, ctx: &ErrCtx) -> Result<Vec<Source>> {
    expand_noting_absent(m, root, ctx, &mut Vec::new())
}

/// [`expand`], except that under `after_publish: {source: delete}` a `path:` source whose
/// file is gone is left out and its `sources:` index noted in `absent` (the caller checks
/// the state: a source deleted after publishing is not an error, see [`crate::lifecycle`]).
pub fn expand_noting_absent(
    m: &RawManifest,
    root: &Path,
    ctx: &ErrCtx,
    absent: &mut Vec<usize>,
) -> Result<Vec<Source>> {
    let deletes = super::after_publish::deletes_sources(m);
    let mut out: Vec<Source> = Vec::new();
    let mut seen: Seen = BTreeMap::new();
    let mut listings = super::subtitles::Listings::default();
    let mut audio_listings = super::audio_files::Listings::default();
    for (i, spec) in m.sources.iter().enumerate() {
        let opts = source_opts(m, i, ctx)?;
        let mut found = Vec::new();
        let mut remote = None;
        if let (Some(object), Some(backend)) = (&spec.object, &spec.backend) {
            let (id, local) = remote_entry(i, spec.id.as_deref(), object, root, ctx)?;
            let r = super::RemoteSource { backend: super::backend_config(m, backend, root), object: object.clone() };
            remote = Some((format!("{backend}:{object}"), r));
            found.push((id, local));
        }
        if let Some(path) = &spec.path {
            if deletes && !root.join(path).is_file() {
                absent.push(i);
            } else {
                found.push(path_entry(i, spec.id.as_deref(), path, root, ctx)?);
            }
        }
        if let Some(pattern) = &spec.glob {
            found.extend(glob_entries(i, pattern, spec.follow_symlinks.unwrap_or(false), root, ctx)?);
        }
        for (id, path) in found {
            let id: String = id.nfc().collect();
            note_id(i, &id, &path, &mut seen, ctx)?;
            let mut opts = opts.clone();
            opts.subtitles = super::subtitles::for_source(m, (i, &path, remote.is_none()), root, &mut listings, ctx)?;
            let at = (i, path.as_path(), remote.is_none());
            opts.audio_files = super::audio_files::for_source(m, at, root, &mut audio_listings, ctx)?;
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
    check_nesting(&seen, ctx)?;
    Ok(out)
}

/// An `object:` source: its id and where its local copy goes (`.vodbuild/sources/ID/NAME`).
fn remote_entry(i: usize, id: Option<&str>, object: &str, root: &Path, ctx: &ErrCtx) -> Result<(String, PathBuf)> {
    let id = match id {
        Some(id) => id.nfc().collect(),
        None => derive_id(Path::new(""), Path::new(object.trim_start_matches('/'))).ok_or_else(|| {
            ctx.err(
                &p!["sources", i, "object"],
                format!("cannot derive an id from `{object}`"),
                Some("give the source an `id:`".into()),
            )
        })?,
    };
    check_id(&id).map_err(|why| ctx.err(&p!["sources", i], format!("invalid source id `{id}`: {why}"), None))?;
    let name = Path::new(object).file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "source".into());
    let local = root.join(".vodbuild").join("sources").join(&id).join(name);
    Ok((id, local))
}

/// The error for `sources[i]` (a `path:` source) whose file does not exist.
pub fn missing_path_error(m: &RawManifest, i: usize, root: &Path, ctx: &ErrCtx) -> crate::error::Error {
    let path = m.sources[i].path.as_deref().unwrap_or_default();
    match path_entry(i, None, path, root, ctx) {
        Err(e) => e,
        Ok(_) => ctx.err(&p!["sources", i, "path"], format!("source file `{path}` appeared while loading"), None),
    }
}

/// A `path:` source: the file must exist; its id is given or derived from the path.
pub(crate) fn path_entry(
    i: usize,
    id: Option<&str>,
    path: &str,
    root: &Path,
    ctx: &ErrCtx,
) -> Result<(String, PathBuf)> {
    let abs = root.join(path);
    if !abs.is_file() {
        return Err(ctx.err(
            &p!["sources", i, "path"],
            format!("source file `{path}` does not exist (looked at {})", abs.display()),
            None,
        ));
    }
    let id = match id {
        Some(id) => id.to_string(),
        None => derive_id(root, &abs).ok_or_else(|| {
            ctx.err(
                &p!["sources", i, "path"],
                format!("cannot derive an id for `{path}` (outside the manifest folder)"),
                Some("give the source an `id:`".into()),
            )
        })?,
    };
    Ok((id, abs))
}

/// A `glob:` source: every file it matches, each with an id derived from its path.
fn glob_entries(i: usize, pattern: &str, follow: bool, root: &Path, ctx: &ErrCtx) -> Result<Found> {
    let files = walk::files(root, pattern, follow)
        .map_err(|why| ctx.err(&p!["sources", i, "glob"], format!("glob `{pattern}`: {why}"), None))?;
    if files.is_empty() {
        tracing::warn!(pattern = %snippet::escape(pattern), "source glob matches no files");
    }
    let base = walk::base_of(root, pattern);
    let mut found = Vec::with_capacity(files.len());
    for f in files {
        let id = derive_id(root, &f).or_else(|| derive_id(&base, &f)).ok_or_else(|| {
            ctx.err(&p!["sources", i, "glob"], format!("cannot derive an id for {}", f.display()), None)
        })?;
        found.push((id, f));
    }
    Ok(found)
}

/// A found id must be valid and not produced before.
fn note_id(i: usize, id: &str, path: &Path, seen: &mut Seen, ctx: &ErrCtx) -> Result<()> {
    check_id(id).map_err(|why| {
        ctx.err(
            &p!["sources", i],
            format!("invalid source id `{id}` (from {}): {why}", path.display()),
            Some("give the source an explicit `id:`".into()),
        )
    })?;
    if let Some((prev, prev_path)) = seen.insert(id.to_string(), (i, path.to_path_buf())) {
        return Err(ctx.err(
            &p!["sources", i, "id"],
            format!(
                "source id `{id}` is produced twice: by {} (sources[{prev}]) and by {}",
                prev_path.display(),
                path.display()
            ),
            Some("ids must be unique: rename a file or give an explicit `id:`".into()),
        ));
    }
    Ok(())
}

/// An id must not be a folder of another id's output (`show` and `show/hls`).
fn check_nesting(seen: &Seen, ctx: &ErrCtx) -> Result<()> {
    for id in seen.keys() {
        // Every id starting with `id/` sorts between `id/` and `id0` (`0` follows `/`).
        let (lo, hi) = (format!("{id}/"), format!("{id}0"));
        if let Some((inner, (i, _))) = seen.range(lo..hi).next() {
            return Err(ctx.err(
                &p!["sources", *i, "id"],
                format!("source id `{inner}` is inside the output folder of source `{id}`"),
                Some("ids name output folders: one id must not be a folder prefix of another".into()),
            ));
        }
    }
    Ok(())
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
    let any_audio = m.outputs.hls.as_ref().and_then(|h| h.audio.as_ref()).or(m
        .outputs
        .dash
        .as_ref()
        .and_then(|d| d.audio.as_ref()));
    if let Some((_, why)) = spec.audio_tracks.as_ref().and_then(|t| crate::audio::pick::problem(any_audio, Some(t))) {
        return Err(ctx.err(&p!["sources", i, "audio_tracks"], why, None));
    }
    Ok(SourceOpts {
        checks: spec.source_checks.unwrap_or(m.source_checks),
        renditions: spec.renditions.clone(),
        exclude: spec.exclude.clone(),
        audio_tracks: spec.audio_tracks.clone(),
        subtitles: Vec::new(),
        audio_files: Vec::new(),
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
                    .nfc()
                    .map(|c| if c.is_alphanumeric() || "-_.".contains(c) { c } else { '_' })
                    .collect();
                parts.push(s.trim_start_matches('.').to_string());
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_paths() {
        let root = Path::new("/r");
        assert_eq!(derive_id(root, Path::new("/r/media/Show 1/ep01.mp4")).unwrap(), "media/Show_1/ep01");
        assert_eq!(derive_id(root, Path::new("/elsewhere/a.mp4")), None);
        assert_eq!(derive_id(root, Path::new("/r/e\u{301}pisode.mp4")).unwrap(), "\u{e9}pisode");
    }
}
