//! Sidecar audio files: a source's `audio_files:` list (dubbed audio delivered as separate
//! files next to the video), checked when the manifest is read (each error located in the
//! manifest). What becomes of them is [`crate::audio::files`].
//!
//! ```yaml
//! sources:
//!   - path: media/movie.mp4
//!     audio_files:
//!       - {path: media/movie.de.m4a, lang: de, name: Deutsch}
//!       - {path: media/movie.fr.wav, lang: fr}
//! ```
//!
//! Paths are relative to the manifest, like sources and subtitle files (a path outside the
//! manifest folder is allowed, as for them: the file is only read). Each file is one
//! language: two files of one source may not share it. The file's content (its digest, and
//! that it holds exactly one audio stream) is looked at when a command plans, not here.

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

/// The sidecar audio files of `sources[i]`, checked: a BCP-47 `lang`, a file that exists,
/// one file per language, at most one `default`, a name players can show, and `audio` on
/// the packages to encode them with.
pub fn for_source(m: &RawManifest, i: usize, root: &Path, ctx: &ErrCtx) -> Result<Vec<AudioFile>> {
    let listed = &m.sources[i].audio_files;
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    let at = |j: usize, f: &str| p!["sources", i, "audio_files", j, f].to_vec();
    if listed.len() > MAX_FILES {
        return Err(ctx.err(&p!["sources", i, "audio_files"], format!("more than {MAX_FILES} audio files"), None));
    }
    let any_audio = m.outputs.hls.as_ref().is_some_and(|h| h.audio.is_some())
        || m.outputs.dash.as_ref().is_some_and(|d| d.audio.is_some());
    if !any_audio {
        let help = Some("give `outputs.hls` or `outputs.dash` an `audio:` profile".into());
        return Err(ctx.err(&p!["sources", i, "audio_files"], "audio_files need `audio` (the profiles)", help));
    }
    let mut out: Vec<AudioFile> = Vec::new();
    for (j, s) in listed.iter().enumerate() {
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

/// A sidecar's rendition name (`PROFILE-LANG`) must not be an audio profile's name, and its
/// profiles must not normalise loudness (not supported for sidecar files).
fn check_profiles(m: &RawManifest, i: usize, files: &[AudioFile], ctx: &ErrCtx) -> Result<()> {
    let at = p!["sources", i, "audio_files"];
    for profile in crate::audio::files::profiles_in_use(m) {
        if m.profiles.audio.get(profile).is_some_and(|p| p.loudness.is_some()) {
            let msg =
                format!("audio profile `{profile}` normalises loudness, which sidecar audio files do not support");
            return Err(ctx.err(&at, msg, Some("use a profile without `loudness` for these sources".into())));
        }
        for f in files {
            let name = crate::audio::files::rendition_name(profile, &f.lang);
            if m.profiles.audio.contains_key(&name) {
                let msg = format!("the rendition `{name}` of audio file `{}` has the name of an audio profile", f.rel);
                return Err(ctx.err(&at, msg, Some("rename that audio profile".into())));
            }
        }
    }
    Ok(())
}
