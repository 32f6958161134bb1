//! Plan-time checks of `encryption:` (at manifest load): the method the packager can do, the
//! settings each method needs, key files outside the output and state folders, and the key
//! (and IV) loaded and checked (16 bytes), leaving only their keyed digest in the output's
//! parameters. Every failure is a located manifest error that never shows key material.

use std::path::{Path, PathBuf};

use super::keys;
use crate::error::Result;
use crate::manifest::ErrCtx;
use crate::manifest::encryption::{CryptMethod, Encryption, KeySource};
use crate::manifest::model::{Packager, RawManifest, SegmentType};
use crate::manifest::yaml::Seg;
use crate::p;

/// Where the manifest's outputs and workspaces are (key files must be elsewhere).
pub struct Roots<'a> {
    pub manifest_dir: &'a Path,
    pub output_dir: &'a Path,
}

/// Checks every `encryption:` block and fills in its `key_digest`.
pub fn resolve(
    raw: &mut RawManifest,
    roots: &Roots,
    ctx: &ErrCtx,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    if let Some(h) = raw.outputs.hls.as_mut()
        && let Some(e) = h.encryption.as_mut()
    {
        let at = p!["outputs", "hls", "encryption"];
        check_method(e, "hls", h.packager, Some(h.segment_type))
            .map_err(|(f, m, help)| ctx.err(&field(&at, f), m, help))?;
        load_into(e, roots, &at, ctx, lookup)?;
    }
    if let Some(d) = raw.outputs.dash.as_mut()
        && let Some(e) = d.encryption.as_mut()
    {
        let at = p!["outputs", "dash", "encryption"];
        check_method(e, "dash", d.packager, None).map_err(|(f, m, help)| ctx.err(&field(&at, f), m, help))?;
        load_into(e, roots, &at, ctx, lookup)?;
    }
    Ok(())
}

fn field(at: &[Seg], f: &str) -> Vec<Seg> {
    let mut v = at.to_vec();
    if !f.is_empty() {
        v.push(Seg::Key(f.to_string()));
    }
    v
}

type Refusal = (&'static str, String, Option<String>);

/// What each packager can do (`segment`: the HLS segment type; None for DASH).
fn check_method(
    e: &Encryption,
    output: &str,
    packager: Packager,
    segment: Option<SegmentType>,
) -> std::result::Result<(), Refusal> {
    let m = e.method.as_str();
    match (e.method, packager, segment) {
        (CryptMethod::Aes128, Packager::Ffmpeg, Some(SegmentType::Ts)) => {}
        (CryptMethod::Aes128, Packager::Ffmpeg, Some(SegmentType::Fmp4)) => {
            let help = "set `segment_type: ts` (ffmpeg cannot encrypt fMP4 segments), or use `method: cbcs` with `packager: shaka`";
            return Err(("method", "aes-128 with the ffmpeg packager needs TS segments".into(), Some(help.into())));
        }
        (CryptMethod::Aes128, Packager::Shaka, _) | (CryptMethod::Aes128, _, None) => {
            let help = if segment.is_some() {
                "use `packager: ffmpeg` with `segment_type: ts`"
            } else {
                "use `method: cenc` or `cbcs` with `packager: shaka`"
            };
            return Err((
                "method",
                format!("aes-128 is not supported for {output} with the {} packager", packager_name(packager)),
                Some(help.into()),
            ));
        }
        (_, Packager::Ffmpeg, _) => {
            let help = "set `packager: shaka` (Shaka Packager writes PSSH and ContentProtection)";
            return Err((
                "method",
                format!("{m} needs Shaka Packager; ffmpeg's {output} muxer cannot signal it"),
                Some(help.into()),
            ));
        }
        (_, Packager::Shaka, Some(SegmentType::Ts)) => {
            let help = "set `segment_type: fmp4` (CMAF segments, as DASH uses)";
            return Err(("method", format!("{m} is packaged here as fMP4 (CMAF) only"), Some(help.into())));
        }
        (_, Packager::Shaka, _) => {}
    }
    common_settings(e)
}

fn packager_name(p: Packager) -> &'static str {
    match p {
        Packager::Ffmpeg => "ffmpeg",
        Packager::Shaka => "shaka",
    }
}

fn common_settings(e: &Encryption) -> std::result::Result<(), Refusal> {
    let aes = e.method == CryptMethod::Aes128;
    if aes && e.key_uri.is_none() {
        return Err((
            "",
            "aes-128 needs `key_uri` (where players fetch the key)".into(),
            Some("e.g. `key_uri: https://keys.example.com/title.key`".into()),
        ));
    }
    if aes && !e.systems.is_empty() {
        return Err(("systems", "DRM systems apply to cenc / cbcs only".into(), None));
    }
    if !aes && e.key_uri.is_some() {
        return Err(("key_uri", "key_uri applies to aes-128 only".into(), None));
    }
    match (&e.key_id, aes) {
        (None, false) => return Err(("", format!("{} needs `key_id` (32 hex digits)", e.method.as_str()), None)),
        (Some(_), true) => return Err(("key_id", "key_id applies to cenc / cbcs only".into(), None)),
        (Some(id), false) => {
            keys::parse_key_id(id).map(drop).map_err(|why| ("key_id", format!("key_id {why}"), None))?
        }
        (None, true) => {}
    }
    if let Some(uri) = &e.key_uri
        && (uri.is_empty() || uri.contains(['"', '\n', '\r']))
    {
        return Err(("key_uri", "key_uri must be a non-empty URI without quotes or line breaks".into(), None));
    }
    if !(0.0..=3600.0).contains(&e.clear_lead) || (aes && e.clear_lead != 0.0) {
        return Err(("clear_lead", "clear_lead is seconds in [0, 3600], for cenc / cbcs only".into(), None));
    }
    Ok(())
}

fn load_into(
    e: &mut Encryption,
    roots: &Roots,
    at: &[Seg],
    ctx: &ErrCtx,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    let key = load_one(&e.key, "key", roots, &field(at, "key"), ctx, lookup)?;
    let iv = match &e.iv {
        Some(src) => Some(load_one(src, "iv", roots, &field(at, "iv"), ctx, lookup)?),
        None => None,
    };
    e.key_digest = Some(keys::digest(&key, iv.as_ref()));
    Ok(())
}

fn load_one(
    src: &KeySource,
    what: &str,
    roots: &Roots,
    at: &[Seg],
    ctx: &ErrCtx,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<keys::Secret> {
    if let Some(file) = &src.file {
        refuse_inside(&roots.manifest_dir.join(file), roots).map_err(|why| {
            ctx.err(
                &field(at, "file"),
                why,
                Some("keep key files outside the output folder and the .vodbuild workspace".into()),
            )
        })?;
    }
    keys::load(src, what, roots.manifest_dir, lookup).map_err(|why| ctx.err(at, why, None))
}

/// A key file inside the output folder or the `.vodbuild` workspaces would be published or
/// kept with the state: refused (compared both as written and with links resolved).
fn refuse_inside(path: &Path, roots: &Roots) -> std::result::Result<(), String> {
    let forbidden = [roots.output_dir.to_path_buf(), roots.manifest_dir.join(".vodbuild")];
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let real = std::fs::canonicalize(path).ok();
    for dir in forbidden {
        let dir_real: Option<PathBuf> = std::fs::canonicalize(&dir).ok();
        let inside = abs.starts_with(&dir)
            || real
                .as_ref()
                .is_some_and(|r| r.starts_with(&dir) || dir_real.as_ref().is_some_and(|d| r.starts_with(d)));
        if inside {
            return Err(format!("the key file is inside {}", dir.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(method: CryptMethod) -> Encryption {
        let aes = method == CryptMethod::Aes128;
        Encryption {
            method,
            key: KeySource { env: Some("K".into()), file: None },
            iv: None,
            key_id: (!aes).then(|| "00112233445566778899aabbccddeeff".into()),
            systems: Vec::new(),
            clear_lead: 0.0,
            key_uri: aes.then(|| "k.key".into()),
            key_digest: None,
        }
    }

    #[test]
    fn each_packager_gets_only_what_it_can_do() {
        use CryptMethod::*;
        let (ff, sh, ts, fmp4) = (Packager::Ffmpeg, Packager::Shaka, Some(SegmentType::Ts), Some(SegmentType::Fmp4));
        let ok = [(Aes128, ff, ts), (Cenc, sh, fmp4), (Cbcs, sh, fmp4), (Cenc, sh, None), (Cbcs, sh, None)];
        for (m, p, s) in ok {
            assert!(check_method(&enc(m), "x", p, s).is_ok(), "{m:?} {p:?} {s:?}");
        }
        let refused = [
            (Aes128, ff, fmp4),
            (Aes128, sh, ts),
            (Aes128, sh, None),
            (Cenc, ff, fmp4),
            (Cbcs, ff, None),
            (Cbcs, sh, ts),
        ];
        for (m, p, s) in refused {
            assert!(check_method(&enc(m), "x", p, s).is_err(), "{m:?} {p:?} {s:?}");
        }
        let mut no_kid = enc(Cenc);
        no_kid.key_id = Some("0011".into());
        let (field, msg, _) = check_method(&no_kid, "x", sh, None).unwrap_err();
        assert_eq!(field, "key_id", "{msg}");
    }

    #[test]
    fn key_files_in_the_output_or_workspace_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let roots = Roots { manifest_dir: dir.path(), output_dir: &out };
        assert!(refuse_inside(&out.join("k.key"), &roots).is_err());
        assert!(refuse_inside(&dir.path().join(".vodbuild/x/k.key"), &roots).is_err());
        assert!(refuse_inside(&dir.path().join("keys/k.key"), &roots).is_ok());
        std::fs::create_dir_all(&out).unwrap();
        std::os::unix::fs::symlink(&out, dir.path().join("link")).unwrap();
        std::fs::write(out.join("k.key"), "x").unwrap();
        assert!(refuse_inside(&dir.path().join("link/k.key"), &roots).is_err(), "through a symlink");
    }
}
