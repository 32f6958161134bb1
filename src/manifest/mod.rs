//! Manifest: YAML text (bounded read) → located tree ([`tree`]) → `${VAR}` substituted in
//! values ([`env`]) → deserialized ([`model`]) → validated ([`validate`]) →
//! sources expanded ([`sources`]). Every error names the file, line, column and field.

pub mod after_publish;
pub mod audio_files;
pub mod checks;
pub mod de;
pub mod encryption;
pub mod env;
pub mod executor;
pub mod locations;
pub mod loudness;
pub mod model;
pub mod notify;
pub mod read;
pub mod schema;
pub mod snippet;
pub mod sources;
pub mod steps;
pub mod story_checks;
pub mod subtitles;
pub mod template;
pub mod tree;
pub mod validate;
pub mod walk;
pub mod yaml;

use std::path::{Path, PathBuf};

use crate::error::{Error, ManifestError, Position, Result};
use crate::storage::BackendConfig;
pub use model::RawManifest;
use yaml::Seg;

/// One input title.
#[derive(Debug, Clone)]
pub struct Source {
    /// Stable id: safe characters, relative, no `..`; names its output folder.
    pub id: String,
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The path as the state records it: relative to the manifest folder where possible
    /// (`BACKEND:OBJECT` for a remote source).
    pub rel: String,
    /// For a source that is an object in a backend: where it is. `path` is then the local copy.
    pub remote: Option<RemoteSource>,
    /// Per-source settings (`source_checks`, `renditions`, `exclude`).
    pub opts: SourceOpts,
}

/// What a `sources:` entry says about its files beyond where they are.
#[derive(Debug, Clone, Default)]
pub struct SourceOpts {
    pub checks: model::SourceChecks,
    /// Exactly these video rungs (ladder fitting off).
    pub renditions: Option<Vec<String>>,
    pub exclude: Vec<String>,
    /// The audio tracks of these files, over the outputs' (see [`crate::audio`]).
    pub audio_tracks: Option<Vec<model::AudioPick>>,
    /// Subtitle tracks (listed and discovered sidecars, see [`subtitles`]).
    pub subtitles: Vec<subtitles::SubtitleTrack>,
    /// Sidecar audio files, one language each (see [`audio_files`]).
    pub audio_files: Vec<audio_files::AudioFile>,
}

#[derive(Debug, Clone)]
pub struct RemoteSource {
    pub backend: BackendConfig,
    pub object: String,
}

/// A loaded, validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The file name as given on the command line (for messages).
    pub file: String,
    /// Absolute folder of the manifest (its workspace, `.vodbuild/<file name>/`, lives here).
    pub root: PathBuf,
    pub text: String,
    pub raw: RawManifest,
    /// Absolute output root.
    pub output_dir: PathBuf,
    pub sources: Vec<Source>,
    /// `sources:` entries (`path:`) whose file is gone, under `after_publish: {source:
    /// delete}`: fine when the state says vodbuild deleted it ([`crate::lifecycle`]).
    pub absent: Vec<usize>,
    /// Source id → its index in `sources` (as expanded; [`Manifest::source`] checks it).
    by_id: std::collections::HashMap<String, usize>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let file = path.display().to_string();
        let text = read::read_manifest(path, &file)?;
        let abs = std::path::absolute(path).map_err(|e| Error::io(format!("resolving {file}"), e))?;
        let root = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        Self::from_text(&file, &text, &root, |k| std::env::var(k).ok())
    }

    pub fn from_text(file: &str, text: &str, root: &Path, lookup: impl Fn(&str) -> Option<String>) -> Result<Manifest> {
        let mut raw: RawManifest = yaml::from_str(file, text, &lookup)?;
        let ctx = ErrCtx { file, text };
        validate::validate(&raw, &ctx)?;
        let mut absent = Vec::new();
        let sources = sources::expand_noting_absent(&raw, root, &ctx, &mut absent)?;
        let output_dir = root.join(&raw.output_dir);
        let roots = crate::crypt::plan::Roots { manifest_dir: root, output_dir: &output_dir };
        crate::crypt::plan::resolve(&mut raw, &roots, &ctx, &lookup)?;
        let by_id = sources.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        Ok(Manifest {
            file: file.to_string(),
            root: root.to_path_buf(),
            text: text.to_string(),
            raw,
            output_dir,
            sources,
            absent,
            by_id,
        })
    }

    /// This manifest's own workspace, `.vodbuild/<manifest file name>/` beside it, so two
    /// manifests in one folder never share state or intermediates.
    pub fn state_dir(&self) -> PathBuf {
        let name = Path::new(&self.file).file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "manifest".into());
        self.root.join(".vodbuild").join(name)
    }

    /// Where the intermediate files of one source live.
    pub fn work_dir(&self, source_id: &str) -> PathBuf {
        self.state_dir().join("work").join(source_id)
    }

    /// The source `id`: looked up by index (a catalog has thousands), or searched should
    /// `sources` have been changed since it was expanded.
    pub fn source(&self, id: &str) -> Option<&Source> {
        match self.by_id.get(id).and_then(|&i| self.sources.get(i)) {
            Some(s) if s.id == id => Some(s),
            _ => self.sources.iter().find(|s| s.id == id),
        }
    }

    /// The backend named `name` in `storage:` (validated to exist where referenced).
    pub fn backend(&self, name: &str) -> BackendConfig {
        backend_config(&self.raw, name, &self.root)
    }

    /// The remote folder that every output of `source` is published under.
    pub fn publish_prefix(&self, source: &str) -> Option<String> {
        self.raw.publish.as_ref().map(|p| p.prefix.replace("{source}", source))
    }
}

/// The backend `name`; a relative fs `root` is relative to `manifest_dir`.
pub fn backend_config(raw: &RawManifest, name: &str, manifest_dir: &Path) -> BackendConfig {
    let spec = &raw.storage[name];
    BackendConfig {
        name: name.to_string(),
        service: spec.service.clone(),
        config: spec.config.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect(),
        base: Some(manifest_dir.to_path_buf()),
    }
}

/// Builds located errors for paths in the manifest text.
pub struct ErrCtx<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl ErrCtx<'_> {
    pub fn err(&self, path: &[Seg], message: impl Into<String>, help: Option<String>) -> Error {
        let (line, col) = yaml::locate(self.text, path);
        ManifestError::new(
            Position::in_text(self.file, self.text, line, col),
            &yaml::path_to_string(path),
            message,
            help,
        )
        .into()
    }
}

/// Shorthand to build a field path: `p!["outputs", "hls", 2]`.
#[macro_export]
macro_rules! p {
    ($($seg:expr),* $(,)?) => {
        [$($crate::manifest::yaml::IntoSeg::into_seg($seg)),*]
    };
}

impl yaml::IntoSeg for &str {
    fn into_seg(self) -> Seg {
        Seg::Key(self.to_string())
    }
}
impl yaml::IntoSeg for &String {
    fn into_seg(self) -> Seg {
        Seg::Key(self.clone())
    }
}
impl yaml::IntoSeg for usize {
    fn into_seg(self) -> Seg {
        Seg::Index(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_found_by_id_even_after_the_list_changed() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.mp4", "b.mp4"] {
            std::fs::write(dir.path().join(f), b"not media: only its presence is checked").unwrap();
        }
        let text = "version: 1\nsources:\n  - path: a.mp4\n    id: a\n  - path: b.mp4\n    id: b\n\
                    profiles:\n  video:\n    v: {codec: h264, height: 90, bitrate: 100k}\n\
                    outputs:\n  hls: {renditions: [v], segment_seconds: 2}\n";
        let mut m = Manifest::from_text("p.yaml", text, dir.path(), |_| None).unwrap();
        assert_eq!(m.source("b").map(|s| s.id.as_str()), Some("b"));
        assert!(m.source("c").is_none());
        m.sources.swap(0, 1);
        assert_eq!(m.source("a").map(|s| s.id.as_str()), Some("a"), "the index is checked, not trusted");
        m.sources.remove(1);
        assert!(m.source("a").is_none());
    }
}
