//! What the preview lists for each title: its packages (HLS master playlist, DASH MPD),
//! their renditions (size, bitrate, codecs, bytes on disk), the verify results
//! ([`crate::verify`], the same checks as `vodbuild verify`, cached until the package's
//! entry file changes) and its thumbnails with their times.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

use crate::layout;
use crate::manifest::Manifest;
use crate::media::probe::ProbeFile;
use crate::step::PackageKind;
use crate::verify::{Findings, Problem};

/// Most thumbnails listed per title.
const MAX_THUMBNAILS: usize = 2000;

#[derive(Debug, Serialize)]
pub struct Title {
    pub id: String,
    pub duration: Option<f64>,
    pub packages: Vec<Package>,
    /// (URL under `/out/`, time in seconds)
    pub thumbnails: Vec<(String, f64)>,
    /// Its source was deleted after publishing (`after_publish`).
    pub source_removed: bool,
}

#[derive(Debug, Serialize)]
pub struct Package {
    pub kind: &'static str,
    /// The master playlist or MPD, under `/out/`.
    pub url: String,
    pub bytes: u64,
    pub renditions: Vec<Rendition>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Serialize)]
pub struct Rendition {
    pub name: String,
    pub resolution: Option<String>,
    pub bandwidth: u64,
    pub codecs: String,
    /// Bytes of its folder (HLS); 0 when not known (DASH keeps renditions side by side).
    pub bytes: u64,
}

/// An entry file's mtime and size, and the problems found in its package then.
type Verified = (SystemTime, u64, Vec<Problem>);

/// Verify results by entry file, valid while its mtime and size are unchanged.
#[derive(Default)]
pub struct VerifyCache(Mutex<HashMap<PathBuf, Verified>>);

/// The title `id` as its output folder shows it now.
pub fn title(m: &Manifest, id: &str, removed: bool, cache: &VerifyCache) -> Title {
    let probe = std::fs::read(layout::probe(m, id)).ok().and_then(|b| serde_json::from_slice::<ProbeFile>(&b).ok());
    let duration = probe.as_ref().map(|p| p.info.duration);
    let mut packages = Vec::new();
    let kinds =
        [m.raw.outputs.hls.as_ref().map(|_| PackageKind::Hls), m.raw.outputs.dash.as_ref().map(|_| PackageKind::Dash)];
    for kind in kinds.into_iter().flatten() {
        let entry = layout::entry(m, id, kind);
        if !entry.is_file() {
            continue;
        }
        let renditions = match kind {
            PackageKind::Hls => hls_renditions(&entry),
            PackageKind::Dash => dash_renditions(&entry),
        };
        let problems = cache.problems(m, kind, &entry, probe.as_ref());
        let url = out_url(m, &entry);
        packages.push(Package { kind: kind.as_str(), url, bytes: folder_bytes(entry.parent()), renditions, problems });
    }
    Title { id: id.to_string(), duration, packages, thumbnails: thumbnails(m, id, duration), source_removed: removed }
}

impl VerifyCache {
    fn problems(&self, m: &Manifest, kind: PackageKind, entry: &Path, probe: Option<&ProbeFile>) -> Vec<Problem> {
        let stamp = std::fs::metadata(entry).ok().map(|md| (md.modified().unwrap_or(SystemTime::UNIX_EPOCH), md.len()));
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some((t, n)), Some((ct, cn, problems))) = (stamp, cache.get(entry))
            && (t, n) == (*ct, *cn)
        {
            return problems.clone();
        }
        let mut f = Findings::new(&m.root);
        crate::verify::check_package(kind, entry, probe.map(|p| p.info.duration), &mut f);
        if let Some(aspect) = probe.and_then(|p| p.info.video.as_ref()).map(|v| v.display_aspect()) {
            crate::verify::geometry::check(kind, entry, aspect, &mut f);
        }
        if let Some((t, n)) = stamp {
            cache.insert(entry.to_path_buf(), (t, n, f.problems.clone()));
        }
        f.problems
    }
}

/// `/out/REL` for a file under the output folder.
fn out_url(m: &Manifest, path: &Path) -> String {
    let rel = path.strip_prefix(&m.output_dir).unwrap_or(path).to_string_lossy();
    format!("/out/{}", rel.split('/').map(encode).collect::<Vec<_>>().join("/"))
}

/// Percent-encodes what a URL path segment must not hold as is.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

fn hls_renditions(master: &Path) -> Vec<Rendition> {
    let Ok(bytes) = std::fs::read(master) else { return Vec::new() };
    let Ok(pl) = m3u8_rs::parse_master_playlist_res(&bytes) else { return Vec::new() };
    let dir = master.parent().unwrap_or(Path::new("."));
    pl.variants
        .iter()
        .filter(|v| !v.is_i_frame)
        .map(|v| {
            let folder = Path::new(&v.uri).parent().filter(|p| !p.as_os_str().is_empty());
            Rendition {
                name: folder.map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| v.uri.clone()),
                resolution: v.resolution.map(|r| format!("{}x{}", r.width, r.height)),
                bandwidth: v.bandwidth,
                codecs: v.codecs.clone().unwrap_or_default(),
                bytes: folder.map(|f| folder_bytes(Some(&dir.join(f)))).unwrap_or(0),
            }
        })
        .collect()
}

fn dash_renditions(mpd: &Path) -> Vec<Rendition> {
    let Ok(text) = std::fs::read_to_string(mpd) else { return Vec::new() };
    let Ok(parsed) = crate::media::mpd::parse(&text) else { return Vec::new() };
    parsed
        .representations
        .iter()
        .map(|r| {
            let a = |k: &str| r.attrs.get(k).cloned();
            let resolution = a("width").zip(a("height")).map(|(w, h)| format!("{w}x{h}"));
            Rendition {
                name: format!("{} {}", r.kind, r.id()),
                resolution,
                bandwidth: a("bandwidth").and_then(|b| b.parse().ok()).unwrap_or(0),
                codecs: a("codecs").unwrap_or_default(),
                bytes: 0,
            }
        })
        .collect()
}

/// Total bytes of the files in a folder, recursively (bounded depth).
fn folder_bytes(dir: Option<&Path>) -> u64 {
    fn walk(dir: &Path, depth: usize) -> u64 {
        let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
        rd.flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() && depth < 8 => walk(&e.path(), depth + 1),
                Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => 0,
            })
            .sum()
    }
    dir.map(|d| walk(d, 0)).unwrap_or(0)
}

/// The thumbnails in order, with the time each shows (`interval` apart, or `count` spread
/// over the duration).
fn thumbnails(m: &Manifest, id: &str, duration: Option<f64>) -> Vec<(String, f64)> {
    let Some(t) = &m.raw.outputs.thumbnails else { return Vec::new() };
    let dir = layout::folder(m, id, "thumbnails");
    let Ok(rd) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("thumb_"))
        .take(MAX_THUMBNAILS)
        .collect();
    names.sort();
    let step = match (t.interval, t.count) {
        (Some(i), _) => i,
        (None, Some(c)) => duration.unwrap_or(0.0) / f64::from(c.max(1)),
        _ => 1.0,
    };
    names.iter().enumerate().map(|(i, n)| (out_url(m, &dir.join(n)), i as f64 * step)).collect()
}
