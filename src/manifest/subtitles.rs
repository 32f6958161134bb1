//! Subtitles: the `outputs.subtitles` section, a source's `subtitles:` list, the sidecar
//! files found next to a source by naming convention, and the RFC 8216 rendition-group
//! rules, all checked when the manifest is read (each error located in the manifest).
//!
//! ```yaml
//! outputs:
//!   subtitles: {sidecars: true}      # find NAME.LANG.srt / NAME.LANG.vtt / NAME.LANG.forced.vtt
//! sources:
//!   - path: film.mp4
//!     subtitles:
//!       - {path: subs/film-fr.srt, lang: fr, name: Français, default: true}
//! ```
//!
//! Without `outputs.subtitles` no file is discovered and `subtitles:` lists are refused.
//! A track is (language, forced): two tracks of one source may not share both.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ErrCtx;
use super::model::RawManifest;
use crate::error::Result;
use crate::media::bcp47;
use crate::media::webvtt::{self, Format};
use crate::p;

/// Most subtitle tracks of one source.
pub const MAX_TRACKS: usize = 64;
/// Most folder entries looked at when discovering sidecar files.
const MAX_DIR_ENTRIES: usize = 20_000;

/// `outputs.subtitles`: subtitle tracks go into the HLS and DASH packages.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubtitlesOutput {
    /// Find sidecar files next to each file source: `NAME.LANG.srt`, `NAME.LANG.vtt`,
    /// `NAME.LANG.forced.vtt` (LANG a BCP-47 tag). On by default.
    #[serde(default = "yes")]
    pub sidecars: bool,
    /// Also package the text streams inside each source (mov_text, subrip, webvtt). Off by
    /// default.
    #[serde(default)]
    pub embedded: bool,
}

fn yes() -> bool {
    true
}

/// One entry of a source's `subtitles:` list.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubtitleSpec {
    /// An `.srt` or `.vtt` file, relative to the manifest.
    pub path: String,
    /// BCP-47 language tag (`en`, `pt-BR`).
    pub lang: String,
    /// Shown in players' menus (default: the language tag).
    pub name: Option<String>,
    /// The track players select when the user has not chosen (at most one per source).
    #[serde(default)]
    pub default: bool,
    /// Forced narrative (shown even with subtitles off).
    #[serde(default)]
    pub forced: bool,
}

/// A subtitle track of one source, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubtitleTrack {
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The path as shown and keyed: relative to the manifest folder where possible.
    pub rel: String,
    pub lang: String,
    pub name: String,
    pub default: bool,
    pub forced: bool,
    pub format: Format,
    /// BLAKE3 of the file's bytes.
    pub digest: String,
}

impl SubtitleTrack {
    /// `LANG` or `LANG-forced`: names the track's step, files and folders.
    pub fn id(&self) -> String {
        if self.forced { format!("{}-forced", self.lang) } else { self.lang.clone() }
    }
}

/// Where a track came from, to locate errors: `sources[i].subtitles[j]`, or a discovered file.
enum Origin {
    Listed(usize),
    Found,
}

/// The tracks of the source file `path` of `sources[i]`: the listed ones, then (with
/// `sidecars`) the discovered ones not listed; the group rules checked.
pub fn for_source(
    m: &RawManifest,
    (i, path, local): (usize, &Path, bool),
    root: &Path,
    listings: &mut Listings,
    ctx: &ErrCtx,
) -> Result<Vec<SubtitleTrack>> {
    let listed = &m.sources[i].subtitles;
    let Some(out) = &m.outputs.subtitles else {
        if listed.is_empty() {
            return Ok(Vec::new());
        }
        let help = Some("add `outputs: {subtitles: {}}` to package subtitles".into());
        return Err(ctx.err(
            &p!["sources", i, "subtitles"],
            "subtitles listed but `outputs.subtitles` is not set",
            help,
        ));
    };
    let mut tracks = Vec::new();
    for (j, s) in listed.iter().enumerate() {
        let at = |f: &str| p!["sources", i, "subtitles", j, f];
        if !bcp47::valid(&s.lang) {
            return Err(ctx.err(&at("lang"), format!("`{}` is not a BCP-47 language tag", s.lang), None));
        }
        let file = root.join(&s.path);
        let name = s.name.clone().unwrap_or_else(|| default_name(&s.lang, s.forced));
        let t = track(root, &file, &s.lang, name, s.default, s.forced).map_err(|e| ctx.err(&at("path"), e, None))?;
        tracks.push((Origin::Listed(j), t));
    }
    if out.sidecars && local {
        for (file, lang, forced) in discover(path, listings) {
            if tracks.iter().any(|(_, t)| t.path == file) {
                continue;
            }
            let t = track(root, &file, &lang, default_name(&lang, forced), false, forced)
                .map_err(|e| ctx.err(&p!["sources", i], e, None))?;
            tracks.push((Origin::Found, t));
        }
    }
    check_group(i, &tracks, ctx)?;
    Ok(tracks.into_iter().map(|(_, t)| t).collect())
}

fn default_name(lang: &str, forced: bool) -> String {
    if forced { format!("{lang} (forced)") } else { lang.to_string() }
}

/// Reads (bounded) and digests one subtitle file.
fn track(
    root: &Path,
    file: &Path,
    lang: &str,
    name: String,
    default: bool,
    forced: bool,
) -> std::result::Result<SubtitleTrack, String> {
    let shown = file.strip_prefix(root).unwrap_or(file).to_string_lossy().into_owned();
    let format = Format::of(&shown).ok_or_else(|| format!("`{shown}` is not an .srt or .vtt file"))?;
    let meta = std::fs::metadata(file).map_err(|e| format!("subtitle file `{shown}`: {e}"))?;
    if meta.len() > webvtt::MAX_BYTES {
        return Err(format!("subtitle file `{shown}` is larger than {} bytes", webvtt::MAX_BYTES));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("subtitle file `{shown}`: {e}"))?;
    let digest = blake3::hash(&bytes).to_hex().to_string();
    Ok(SubtitleTrack { path: file.to_path_buf(), rel: shown, lang: lang.into(), name, default, forced, format, digest })
}

/// The `.srt` / `.vtt` files of each folder looked at, indexed by every name prefix that
/// ends before a `.` (so a catalog folder is listed once, and each source finds its
/// sidecars without scanning the others').
#[derive(Default)]
pub struct Listings {
    dirs: HashMap<PathBuf, HashMap<String, Vec<String>>>,
}

impl Listings {
    fn named(&mut self, dir: &Path, stem: &str) -> Vec<String> {
        let index = self.dirs.entry(dir.to_path_buf()).or_insert_with(|| index(dir));
        index.get(stem).cloned().unwrap_or_default()
    }
}

fn index(dir: &Path) -> HashMap<String, Vec<String>> {
    index_by_stem(dir, "subtitle", |name| Format::of(name).is_some())
}

/// The files of `dir` whose name `wanted` keeps, by every name prefix that ends before a `.`
/// (a folder is listed once; each source finds its sidecar `what` files without a scan); at
/// most [`MAX_DIR_ENTRIES`] entries are read, with a warning past them.
pub(super) fn index_by_stem(dir: &Path, what: &str, wanted: fn(&str) -> bool) -> HashMap<String, Vec<String>> {
    let mut index: HashMap<String, Vec<String>> = HashMap::new();
    let Ok(mut entries) = std::fs::read_dir(dir) else { return index };
    for e in entries.by_ref().take(MAX_DIR_ENTRIES).filter_map(|e| e.ok()) {
        let Ok(name) = e.file_name().into_string() else { continue };
        if !wanted(&name) || !e.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        for (i, _) in name.match_indices('.') {
            index.entry(name[..i].to_string()).or_default().push(name.clone());
        }
    }
    if entries.next().is_some() {
        tracing::warn!(
            folder = %dir.display(),
            "more than {MAX_DIR_ENTRIES} entries: sidecar {what} files beyond them are not looked for"
        );
    }
    index
}

/// Sidecar files of `source`: `STEM.LANG.srt|vtt` and `STEM.LANG.forced.srt|vtt` in its
/// folder, sorted by name.
pub fn discover(source: &Path, listings: &mut Listings) -> Vec<(PathBuf, String, bool)> {
    let (Some(dir), Some(stem)) = (source.parent(), source.file_stem().and_then(|s| s.to_str())) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, String, bool)> = listings
        .named(dir, stem)
        .into_iter()
        .filter_map(|name| sidecar_lang(&name, stem).map(|(lang, forced)| (dir.join(name), lang, forced)))
        .collect();
    found.sort();
    found
}

/// `STEM.LANG[.forced].EXT` → (LANG, forced), LANG a BCP-47 tag with a 2-3 letter language.
fn sidecar_lang(name: &str, stem: &str) -> Option<(String, bool)> {
    Format::of(name)?;
    let middle = name.strip_prefix(stem)?.strip_prefix('.')?.rsplit_once('.')?.0;
    let (lang, forced) = match middle.strip_suffix(".forced") {
        Some(l) => (l, true),
        None => (middle, false),
    };
    let primary = lang.split('-').next().unwrap_or_default();
    let short = (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_alphabetic());
    (short && bcp47::valid(lang)).then(|| (lang.to_string(), forced))
}

/// The subject of the embedded text-stream step (`crate::kinds::subtitle_embedded::ID`).
const EMBEDDED_ID: &str = "embedded";

/// Why a sidecar's language cannot name its track: a track's id (its step, files and package
/// folder) is its language, and `embedded` is the id of the source's text-stream step, whose
/// tracks are `LANG-sK` ([`crate::kinds::subtitle_embedded`]).
fn reserved_lang(lang: &str) -> Option<&'static str> {
    if lang.eq_ignore_ascii_case(EMBEDDED_ID) {
        return Some("is reserved: `embedded` names the step of the source's own text streams");
    }
    let suffix = lang.rsplit_once('-').map(|(_, last)| last.as_bytes()).unwrap_or_default();
    let like_stream =
        suffix.len() > 1 && suffix[0].eq_ignore_ascii_case(&b's') && suffix[1..].iter().all(u8::is_ascii_digit);
    like_stream.then_some("ends in `-s` and digits, like the tracks of the source's embedded text streams")
}

/// RFC 8216 §4.3.4.1.1 for the one SUBTITLES group: distinct NAMEs, at most one DEFAULT,
/// AUTOSELECT (always YES here) with a distinct LANGUAGE + FORCED; at most [`MAX_TRACKS`].
fn check_group(i: usize, tracks: &[(Origin, SubtitleTrack)], ctx: &ErrCtx) -> Result<()> {
    let at = |o: &Origin, f: &str| match o {
        Origin::Listed(j) => p!["sources", i, "subtitles", *j, f].to_vec(),
        Origin::Found => p!["sources", i].to_vec(),
    };
    if tracks.len() > MAX_TRACKS {
        return Err(ctx.err(&p!["sources", i], format!("more than {MAX_TRACKS} subtitle tracks"), None));
    }
    for (k, (o, t)) in tracks.iter().enumerate() {
        if let Some(why) = reserved_lang(&t.lang) {
            let msg = format!("subtitle file `{}`: language `{}` {why}", t.rel, t.lang);
            let help = "use the plain language tag (`en`, `pt-BR`); embedded text streams are packaged with `outputs.subtitles.embedded`";
            return Err(ctx.err(&at(o, "lang"), msg, Some(help.into())));
        }
        let earlier = &tracks[..k];
        if let Some((_, e)) = earlier.iter().find(|(_, e)| e.name == t.name) {
            let msg = format!("subtitle tracks `{}` and `{}` have the same name `{}`", e.rel, t.rel, t.name);
            return Err(ctx.err(&at(o, "name"), msg, Some("NAMEs in a group must differ (RFC 8216)".into())));
        }
        if t.default
            && let Some((_, e)) = earlier.iter().find(|(_, e)| e.default)
        {
            let msg = format!("subtitle tracks `{}` and `{}` are both `default`", e.rel, t.rel);
            return Err(ctx.err(&at(o, "default"), msg, Some("a group has at most one DEFAULT (RFC 8216)".into())));
        }
        if let Some((_, e)) = earlier.iter().find(|(_, e)| e.id() == t.id()) {
            let what = if t.forced { "forced " } else { "" };
            let msg = format!("two {what}subtitle tracks for `{}`: `{}` and `{}`", t.lang, e.rel, t.rel);
            let help = Some("AUTOSELECT renditions need a distinct LANGUAGE and FORCED (RFC 8216)".into());
            return Err(ctx.err(&at(o, "lang"), msg, help));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_that_would_share_an_id_are_reserved() {
        assert_eq!(EMBEDDED_ID, crate::kinds::subtitle_embedded::ID);
        for bad in ["embedded", "Embedded", "en-x-a-s0", "x-foo-S12"] {
            assert!(reserved_lang(bad).is_some(), "{bad}");
        }
        for ok in ["en", "pt-BR", "sl-rozaj", "en-x-s", "en-x-sx1", "es-419"] {
            assert!(reserved_lang(ok).is_none(), "{ok}");
        }
    }

    #[test]
    fn sidecar_names() {
        assert_eq!(sidecar_lang("film.en.srt", "film"), Some(("en".into(), false)));
        assert_eq!(sidecar_lang("film.pt-BR.forced.vtt", "film"), Some(("pt-BR".into(), true)));
        assert_eq!(sidecar_lang("film.backup.srt", "film"), None);
        assert_eq!(sidecar_lang("film.en.txt", "film"), None);
        assert_eq!(sidecar_lang("films.en.srt", "film"), None);
        assert_eq!(sidecar_lang("film.srt", "film"), None);
    }

    #[test]
    fn discovery_lists_a_folder_once_and_keeps_files_only() {
        let d = tempfile::tempdir().unwrap();
        for f in ["film.mp4", "film.en.srt", "film.pt-BR.forced.vtt", "film.backup.srt", "films.en.srt", "ep.1.fr.vtt"]
        {
            std::fs::write(d.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(d.path().join("film.de.vtt")).unwrap();
        let mut listings = Listings::default();
        let found = discover(&d.path().join("film.mp4"), &mut listings);
        let names: Vec<(String, bool)> = found.into_iter().map(|(_, l, f)| (l, f)).collect();
        assert_eq!(names, vec![("en".to_string(), false), ("pt-BR".to_string(), true)]);
        let ep = discover(&d.path().join("ep.1.mp4"), &mut listings);
        assert_eq!(ep.len(), 1);
        assert_eq!(listings.dirs.len(), 1, "one listing per folder");
    }
}
