//! The digests of the selected sources' sidecar audio files ([`crate::audio::files`]), beside the
//! sources' own ([`crate::digests`]): the stat cache answers for an unchanged file (no read);
//! a new or changed one is hashed and probed, and must hold exactly one audio stream (an
//! error naming the file otherwise). A file enters the stat cache only once it passed that
//! probe, so a cached one needs no second probe.

use std::path::Path;

use rayon::prelude::*;

use crate::digests::Digests;
use crate::error::{Error, Result};
use crate::hash::{FileStat, hash_file};
use crate::manifest::audio_files::AudioFile;
use crate::manifest::{Manifest, Source};
use crate::record::SourceEntry;
use crate::state::State;

/// Adds to `d` the digest of every sidecar audio file of the `wanted` sources (under
/// [`crate::audio::files::digest_key`]); a file hashed now also gets its stat cache entry.
pub fn scan(m: &Manifest, wanted: &[&str], state: &State, ffprobe: &Path, d: &mut Digests) -> Result<()> {
    let files: Vec<(&Source, &AudioFile)> = m
        .sources
        .iter()
        .filter(|s| !s.opts.audio_files.is_empty() && wanted.contains(&s.id.as_str()))
        .flat_map(|s| s.opts.audio_files.iter().map(move |f| (s, f)))
        .collect();
    let found: Vec<Result<(String, Option<SourceEntry>)>> =
        files.par_iter().map(|(s, f)| find(s, f, state, ffprobe)).collect();
    for (r, (s, f)) in found.into_iter().zip(&files) {
        let (digest, hashed) = r?;
        d.add_file(crate::audio::files::digest_key(&s.id, &f.lang), &f.rel, digest, hashed);
    }
    Ok(())
}

/// The file's digest, and its new stat cache entry when it was hashed (and probed) now.
fn find(s: &Source, f: &AudioFile, state: &State, ffprobe: &Path) -> Result<(String, Option<SourceEntry>)> {
    let err = |message: String| Error::Media { source_id: s.id.clone(), path: f.path.clone(), message };
    let stat = FileStat::of(&f.path).map_err(|e| err(format!("audio file `{}` cannot be read: {e}", f.rel)))?;
    if let Some(e) = state.data.sources.get(&f.rel)
        && e.stat == stat
        && e.identity.is_none()
    {
        return Ok((e.digest.clone(), None));
    }
    check_streams(f, ffprobe).map_err(err)?;
    let digest =
        hash_file(&f.path, stat.size).map_err(|e| err(format!("audio file `{}` cannot be read: {e}", f.rel)))?;
    Ok((digest.clone(), Some(SourceEntry { stat, digest, identity: None })))
}

/// The file must be readable media with exactly one audio stream.
fn check_streams(f: &AudioFile, ffprobe: &Path) -> std::result::Result<(), String> {
    let cancel = crate::signals::token();
    let probe = crate::exec::probe_source::stream_facts(&cancel, ffprobe, &f.path, &f.rel)
        .map_err(|e| format!("audio file `{}` ({}): {e}", f.rel, f.lang))?;
    match probe.info.audio_tracks.len() {
        1 => Ok(()),
        0 => Err(format!("audio file `{}` ({}) has no audio stream", f.rel, f.lang)),
        n => {
            Err(format!("audio file `{}` ({}) has {n} audio streams; a sidecar file holds exactly one", f.rel, f.lang))
        }
    }
}
