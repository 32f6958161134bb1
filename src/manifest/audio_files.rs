//! Sidecar audio files: a source's `audio_files:` list (dubbed audio delivered as separate
//! files next to the video), checked when the manifest is read (each error located in the
//! manifest). What becomes of them is [`crate::audio::files`].
//!
//! ```yaml
//! outputs:
//!   audio_files: {sidecars: true}   # also find NAME.LANG.m4a|aac|wav|flac|mka|mp3 next to a source
//! sources:
//!   - path: media/movie.mp4
//!     audio_files:
//!       - {path: media/movie.de.m4a, lang: de, name: Deutsch}
//!       - {path: media/movie.fr.wav, lang: fr}
//! ```
//!
//! Without `outputs.audio_files` no file is discovered. Discovered files come after the listed
//! ones (a listed path is not added twice), sorted by name. Paths are relative to the manifest, like sources and subtitle files (a path outside the
//! manifest folder is allowed, as for them: the file is only read). Each file is one
//! language: two files of one source may not share it. The file's content (its digest, and
//! that it holds exactly one audio stream) is looked at when a command plans, not here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ErrCtx;
use super::model::RawManifest;
use crate::error::Result;
use crate::media::bcp47;
use crate::p;

/// Most sidecar audio files of one source.
pub const MAX_FILES: usize = 32;
/// The extensions of discovered sidecar audio files.
const EXTENSIONS: &[&str] = &["m4a", "aac", "wav", "flac", "mka", "mp3"];

/// `outputs.audio_files`: sidecar audio files are also found next to each file source.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudioFilesOutput {
    /// Find `NAME.LANG.m4a|aac|wav|flac|mka|mp3` next to each file source `NAME.EXT` (LANG a
    /// BCP-47 tag with a 2-3 letter language). On by default.
    #[serde(default = "yes")]
    pub sidecars: bool,
}

fn yes() -> bool {
    true
}

/// One entry of a source's `audio_files:` list.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudioFileSpec {
    /// An audio file (`.m4a`, `.aac`, `.wav`, `.flac`, `.mka`, `.mp3`, ... anything ffmpeg
    /// reads) with exactly one audio stream, relative to the manifest.
    pub path: String,
    /// BCP-47 language tag (`de`, `pt-BR`).
    pub lang: String,
    /// Shown in players' menus (default: the language's name).
    pub name: Option<String>,
    /// The track players select when the user has not chosen (at most one per source; it
    /// wins over the source's own first track).
    #[serde(default)]
    pub default: bool,
}

/// A sidecar audio file of one source, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFile {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The path as shown and as the stat cache knows it: relative to the manifest folder
    /// where possible.
    pub rel: String,
    /// BCP-47, ISO 639-2 codes mapped to their 2-letter form (see [`crate::audio::lang`]).
    pub lang: String,
    pub name: String,
    pub default: bool,
}

/// The sidecar audio files of the source file `path` of `sources[i]`: the listed ones, then
/// (with `outputs.audio_files`, for a local file) the discovered ones not listed.
pub fn for_source(
    m: &RawManifest,
    (i, path, local): (usize, &Path, bool),
    root: &Path,
    listings: &mut Listings,
    ctx: &ErrCtx,
) -> Result<Vec<AudioFile>> {
    let mut specs: Vec<(Option<usize>, AudioFileSpec)> =
        m.sources[i].audio_files.iter().cloned().enumerate().map(|(j, s)| (Some(j), s)).collect();
    if m.outputs.audio_files.as_ref().is_some_and(|o| o.sidecars) && local {
        for (file, lang) in discover(path, listings) {
            let rel = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().into_owned();
            if !specs.iter().any(|(_, s)| root.join(&s.path) == file) {
                specs.push((None, AudioFileSpec { path: rel, lang, name: None, default: false }));
            }
        }
    }
    checked(m, i, &specs, root, ctx)
}

/// `specs` (each with its index in `sources[i].audio_files`, None when discovered) checked:
/// a BCP-47 `lang`, a file that exists, one file per language, at most one `default`, a
/// name players can show, and `audio` on the packages to encode them with.
fn checked(
    m: &RawManifest,
    i: usize,
    specs: &[(Option<usize>, AudioFileSpec)],
    root: &Path,
    ctx: &ErrCtx,
) -> Result<Vec<AudioFile>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let at = |j: Option<usize>, f: &str| match j {
        Some(j) => p!["sources", i, "audio_files", j, f].to_vec(),
        None => p!["sources", i].to_vec(),
    };
    if specs.len() > MAX_FILES {
        return Err(ctx.err(&p!["sources", i, "audio_files"], format!("more than {MAX_FILES} audio files"), None));
    }
    let any_audio = m.outputs.hls.as_ref().is_some_and(|h| h.audio.is_some())
        || m.outputs.dash.as_ref().is_some_and(|d| d.audio.is_some());
    if !any_audio {
        let help = Some("give `outputs.hls` or `outputs.dash` an `audio:` profile".into());
        return Err(ctx.err(&p!["sources", i, "audio_files"], "audio_files need `audio` (the profiles)", help));
    }
    let mut out: Vec<AudioFile> = Vec::new();
    for (j, s) in specs.iter().map(|(j, s)| (*j, s)) {
        if !bcp47::valid(&s.lang) {
            return Err(ctx.err(&at(j, "lang"), format!("`{}` is not a BCP-47 language tag", s.lang), None));
        }
        if s.name
            .as_deref()
            .is_some_and(|n| n.is_empty() || n.len() > 100 || n.chars().any(|c| c == '"' || c.is_control()))
        {
            return Err(ctx.err(&at(j, "name"), "name must be 1-100 characters, no quotes", None));
        }
        let file = root.join(&s.path);
        let rel = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().into_owned();
        if !file.is_file() {
            let msg = format!("audio file `{}` does not exist (looked at {})", s.path, file.display());
            return Err(ctx.err(&at(j, "path"), msg, None));
        }
        let lang = crate::audio::lang::normalize(&s.lang);
        if let Some(e) = out.iter().find(|e| e.lang.eq_ignore_ascii_case(&lang)) {
            let msg = format!("audio files `{}` and `{}` are both `{lang}`", e.rel, rel);
            return Err(ctx.err(&at(j, "lang"), msg, Some("one file per language".into())));
        }
        if s.default && out.iter().any(|e| e.default) {
            return Err(ctx.err(&at(j, "default"), "more than one audio file says `default: true`", None));
        }
        let name = s.name.clone().unwrap_or_else(|| crate::audio::lang::display_name(&lang));
        out.push(AudioFile { path: file, rel, lang, name, default: s.default });
    }
    check_profiles(m, i, &out, ctx)?;
    Ok(out)
}

/// The audio files of each folder looked at, indexed by every name prefix that ends before
/// a `.` (a catalog folder is listed once; each source finds its own without a scan).
#[derive(Default)]
pub struct Listings {
    dirs: HashMap<PathBuf, HashMap<String, Vec<String>>>,
}

fn is_audio_name(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

fn index(dir: &Path) -> HashMap<String, Vec<String>> {
    super::subtitles::index_by_stem(dir, "audio", is_audio_name)
}

/// Sidecar audio files of `source`: `STEM.LANG.EXT` in its folder, sorted by name.
fn discover(source: &Path, listings: &mut Listings) -> Vec<(PathBuf, String)> {
    let (Some(dir), Some(stem)) = (source.parent(), source.file_stem().and_then(|s| s.to_str())) else {
        return Vec::new();
    };
    let named = listings.dirs.entry(dir.to_path_buf()).or_insert_with(|| index(dir));
    let mut found: Vec<(PathBuf, String)> = named
        .get(stem)
        .into_iter()
        .flatten()
        .filter_map(|name| sidecar_lang(name, stem).map(|lang| (dir.join(name), lang)))
        .collect();
    found.sort();
    found.truncate(MAX_FILES + 1);
    found
}

/// `STEM.LANG.EXT` → LANG, a BCP-47 tag with a 2-3 letter language.
fn sidecar_lang(name: &str, stem: &str) -> Option<String> {
    let lang = name.strip_prefix(stem)?.strip_prefix('.')?.rsplit_once('.')?.0;
    let primary = lang.split('-').next().unwrap_or_default();
    let short = (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    (short && is_audio_name(name) && bcp47::valid(lang)).then(|| lang.to_string())
}

/// A sidecar's rendition name (`PROFILE-LANG`) must be no profile's name (audio or video)
/// and no other sidecar rendition's of the source (`aac` × `de-at` and `aac-de` × `at`): two
/// steps of one id would write one file.
fn check_profiles(m: &RawManifest, i: usize, files: &[AudioFile], ctx: &ErrCtx) -> Result<()> {
    let at = p!["sources", i, "audio_files"];
    let mut seen = std::collections::HashSet::new();
    for profile in crate::audio::files::profiles_in_use(m) {
        for f in files {
            let name = crate::audio::files::rendition_name(profile, &f.lang);
            let clash = if m.profiles.audio.contains_key(&name) || m.profiles.video.contains_key(&name) {
                "has the name of a profile"
            } else if !seen.insert(name.clone()) {
                "has the name of another audio file's rendition"
            } else {
                continue;
            };
            let msg = format!("the rendition `{name}` of audio file `{}` {clash}", f.rel);
            return Err(ctx.err(&at, msg, Some("rename that profile, or give the file another language".into())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovered_names() {
        let d = tempfile::tempdir().unwrap();
        for f in ["movie.mp4", "movie.de.m4a", "movie.pt-BR.WAV", "movie.backup.m4a", "movie.fr.srt", "movies.es.mp3"] {
            std::fs::write(d.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(d.path().join("movie.it.flac")).unwrap();
        let mut listings = Listings::default();
        let found: Vec<String> =
            discover(&d.path().join("movie.mp4"), &mut listings).into_iter().map(|f| f.1).collect();
        assert_eq!(found, ["de", "pt-BR"]);
        assert_eq!(sidecar_lang("movie.m4a", "movie"), None);
        assert_eq!(listings.dirs.len(), 1, "one listing per folder");
    }
}
