//! Checks of every value that names a place: backend settings (no credentials, no
//! `user:password@` in URLs), storage prefixes and object names (relative, no `..`, no
//! control characters), and local paths (no control characters).

use super::ErrCtx;
use super::model::{BackendSpec, RawManifest};
use crate::error::{Error, ManifestError, Position, Result};
use crate::p;
use crate::storage::secrets::{has_userinfo, is_secret};

/// Longest prefix, object name or path accepted.
const MAX_LEN: usize = 1024;

/// A storage prefix or object name: relative, `/`-separated, no `.`/`..` or empty segments
/// (a trailing `/` is fine), no backslash or control characters.
pub fn check_prefix(s: &str) -> Result<(), String> {
    if s.len() > MAX_LEN {
        return Err(format!("longer than {MAX_LEN} bytes"));
    }
    if let Some(c) = s.chars().find(|c| c.is_control() || *c == '\\') {
        return Err(format!("character `{}` is not allowed", c.escape_default()));
    }
    if s.starts_with('/') {
        return Err("must be relative (no leading `/`)".into());
    }
    let body = s.strip_suffix('/').unwrap_or(s);
    if !body.is_empty() && body.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err("must not contain empty, `.` or `..` segments".into());
    }
    Ok(())
}

/// A local path or glob from the manifest: no control characters, bounded length.
pub fn check_path(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_LEN {
        return Err(format!("must be 1..{MAX_LEN} bytes"));
    }
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("character `{}` is not allowed", c.escape_default())),
        None => Ok(()),
    }
}

/// One backend's settings.
pub fn check_backend(name: &str, b: &BackendSpec, ctx: &ErrCtx) -> Result<()> {
    for (k, v) in &b.config {
        let at = p!["storage", name, k.as_str()];
        if is_secret(k) {
            let env = format!(
                "VODBUILD_{}_{}",
                name.to_ascii_uppercase().replace('-', "_"),
                k.to_ascii_uppercase().replace('-', "_")
            );
            return Err(ctx.err(
                &at,
                format!("`{k}` is a credential: it must not be written in the manifest"),
                Some(format!("give it through the environment ({env}, or the service's standard variables)")),
            ));
        }
        if has_userinfo(&v.0) {
            return Err(redacted(
                ctx,
                &at,
                format!("`{k}` holds a user name or password (`user:password@host`); it is not shown here"),
                format!(
                    "remove the `user:password@` part; give credentials through the environment (VODBUILD_{}_...)",
                    name.to_ascii_uppercase().replace('-', "_")
                ),
            ));
        }
        if k == "root" {
            check_path(&v.0).map_err(|why| ctx.err(&at, format!("invalid root: {why}"), None))?;
        } else if let Some(c) = v.0.chars().find(|c| c.is_control()) {
            return Err(ctx.err(&at, format!("character `{}` is not allowed in `{k}`", c.escape_default()), None));
        }
    }
    Ok(())
}

/// A located error that shows no manifest text (the line holds a secret).
fn redacted(ctx: &ErrCtx, path: &[super::yaml::Seg], message: String, help: String) -> Error {
    let (line, col) = super::yaml::locate(ctx.text, path);
    let field = super::yaml::path_to_string(path);
    ManifestError::new(Position::hidden(ctx.file, line, col), &field, message, Some(help)).into()
}

/// Prefixes, object names and local paths of the whole manifest.
pub fn check_all(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    check_path(&m.output_dir).map_err(|why| ctx.err(&p!["output_dir"], format!("invalid output_dir: {why}"), None))?;
    for (f, v) in [("ffmpeg", &m.tools.ffmpeg), ("ffprobe", &m.tools.ffprobe), ("packager", &m.tools.packager)] {
        let Some(v) = v else { continue };
        check_path(v).map_err(|why| ctx.err(&p!["tools", f], format!("invalid tool path: {why}"), None))?;
    }
    for (i, s) in m.sources.iter().enumerate() {
        for (f, v) in [("path", &s.path), ("glob", &s.glob)] {
            let Some(v) = v else { continue };
            check_path(v).map_err(|why| ctx.err(&p!["sources", i, f], format!("invalid {f}: {why}"), None))?;
        }
        if s.follow_symlinks.is_some() && s.glob.is_none() {
            return Err(ctx.err(&p!["sources", i, "follow_symlinks"], "`follow_symlinks` goes with `glob`", None));
        }
        if let Some(o) = &s.object {
            let bad = check_prefix(o).err().or_else(|| o.ends_with('/').then(|| "names a folder".to_string()));
            if let Some(why) = bad.or_else(|| o.is_empty().then(|| "is empty".to_string())) {
                return Err(ctx.err(&p!["sources", i, "object"], format!("invalid object `{o}`: {why}"), None));
            }
        }
    }
    if let Some(p) = &m.publish {
        let rest = p.prefix.replace("{source}", "");
        let why = check_prefix(&p.prefix)
            .err()
            .or_else(|| rest.contains(['{', '}']).then(|| "`{source}` is the only placeholder".to_string()));
        if let Some(why) = why {
            return Err(ctx.err(
                &p!["publish", "prefix"],
                format!("invalid prefix `{}`: {why}", p.prefix),
                Some("a relative path; `{source}` is the only placeholder; no `..`".into()),
            ));
        }
    }
    if let Some(s) = &m.state {
        check_prefix(&s.prefix).map_err(|why| {
            ctx.err(
                &p!["state", "prefix"],
                format!("invalid prefix `{}`: {why}", s.prefix),
                Some("a relative folder in the backend, e.g. `.vodbuild/`".into()),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_stay_inside_the_backend() {
        for ok in ["", "a/", "{source}/", "cdn/v1/", "a/b"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["../../x/", "/abs/", "a/../b", "a//b", "./a", "a\0b", "a\nb", "a\\b"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
