//! Media checks with the real ffprobe/ffmpeg, and a small HLS playlist reader.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Probe {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

fn probe(args: &[&str], file: &Path) -> Probe {
    let out = Command::new("ffprobe").args(args).arg(file).output().expect("run ffprobe");
    Probe {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Container duration in seconds; panics with ffprobe's message when unreadable.
pub fn duration(file: &Path) -> f64 {
    let p = probe(&["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"], file);
    assert!(p.ok && p.stderr.trim().is_empty(), "ffprobe cannot read {}: {}", file.display(), p.stderr);
    p.stdout.trim().parse().unwrap_or_else(|_| panic!("no duration for {}: {:?}", file.display(), p.stdout))
}

/// Width and height of the first video stream.
pub fn video_size(file: &Path) -> (u32, u32) {
    let p = probe(
        &["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0"],
        file,
    );
    assert!(p.ok, "ffprobe {}: {}", file.display(), p.stderr);
    let mut it = p.stdout.trim().split(',').map(|x| x.parse::<u32>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// Presentation times of the video keyframes.
pub fn keyframe_times(file: &Path) -> Vec<f64> {
    let p = probe(
        &[
            "-v",
            "error",
            "-skip_frame",
            "nokey",
            "-select_streams",
            "v",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "csv=p=0",
        ],
        file,
    );
    assert!(p.ok, "ffprobe {}: {}", file.display(), p.stderr);
    p.stdout
        .lines()
        .map(|l| l.trim().trim_end_matches(','))
        .filter(|l| !l.is_empty())
        .map(|l| l.parse().unwrap_or_else(|_| panic!("bad pts_time {l:?}")))
        .collect()
}

/// ffprobe on a playlist/manifest: must exit 0 and print no errors.
pub fn assert_probe_clean(file: &Path) {
    let p = probe(&["-v", "error", "-show_entries", "format=duration"], file);
    assert!(p.ok && p.stderr.trim().is_empty(), "ffprobe reports errors for {}: {}", file.display(), p.stderr);
}

/// Decodes every stream of `file` to the end (ffmpeg -f null); must be clean.
pub fn assert_decodes(file: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "ffmpeg cannot decode {} to the end: {err}", file.display());
}

// ------------------------------------------------------------------ HLS

/// Parses an attribute list `A=1,B="x,y",C=z`.
pub fn attributes(list: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = list.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_string();
        let after = &rest[eq + 1..];
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').expect("closing quote");
            (q[..end].to_string(), &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.push((key, value));
        rest = tail.trim_start_matches(',').trim_start();
    }
    out
}

pub fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub struct Variant {
    pub attrs: Vec<(String, String)>,
    pub uri: String,
}

pub struct Master {
    pub variants: Vec<Variant>,
    /// `#EXT-X-MEDIA` entries (attributes).
    pub media: Vec<Vec<(String, String)>>,
}

pub fn parse_master(text: &str) -> Master {
    assert!(text.starts_with("#EXTM3U"), "not a playlist:\n{text}");
    let mut variants = Vec::new();
    let mut media = Vec::new();
    let mut pending: Option<Vec<(String, String)>> = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(a) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            pending = Some(attributes(a));
        } else if let Some(a) = line.strip_prefix("#EXT-X-MEDIA:") {
            media.push(attributes(a));
        } else if !line.starts_with('#') {
            let attrs = pending.take().expect("URI line without #EXT-X-STREAM-INF");
            variants.push(Variant { attrs, uri: line.to_string() });
        }
    }
    Master { variants, media }
}

pub struct MediaPlaylist {
    pub target_duration: Option<f64>,
    pub init: Option<String>,
    pub segments: Vec<(f64, String)>,
    pub endlist: bool,
}

impl MediaPlaylist {
    pub fn total(&self) -> f64 {
        self.segments.iter().map(|(d, _)| d).sum()
    }
}

pub fn parse_media(text: &str) -> MediaPlaylist {
    assert!(text.starts_with("#EXTM3U"), "not a playlist:\n{text}");
    let mut pl = MediaPlaylist { target_duration: None, init: None, segments: Vec::new(), endlist: false };
    let mut dur = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            pl.target_duration = v.trim().parse().ok();
        } else if let Some(a) = line.strip_prefix("#EXT-X-MAP:") {
            pl.init = attr(&attributes(a), "URI").map(str::to_string);
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            let d = v.split(',').next().unwrap().trim();
            dur = Some(d.parse::<f64>().expect("EXTINF duration"));
        } else if line == "#EXT-X-ENDLIST" {
            pl.endlist = true;
        } else if !line.starts_with('#') {
            let d = dur.take().expect("segment URI without #EXTINF");
            pl.segments.push((d, line.to_string()));
        }
    }
    pl
}

/// Files a media playlist names (init + segments), resolved beside it.
pub fn media_files(playlist: &Path) -> (MediaPlaylist, Vec<PathBuf>) {
    let text = std::fs::read_to_string(playlist).unwrap_or_else(|e| panic!("read {}: {e}", playlist.display()));
    let pl = parse_media(&text);
    let dir = playlist.parent().unwrap();
    let mut files: Vec<PathBuf> = pl.init.iter().map(|u| dir.join(u)).collect();
    files.extend(pl.segments.iter().map(|(_, u)| dir.join(u)));
    (pl, files)
}
