//! `vodbuild init [DIR]`: a commented starter manifest for a folder of media. The media
//! files (by extension) are probed with ffprobe; the video ladder is sized to the tallest
//! source found (no rung above it), an audio profile is added when a source has audio, and
//! one glob per extension lists the sources. An existing file is never overwritten.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, IoContext, Result};
use crate::say;

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The folder of media; the manifest is written there.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The manifest's file name inside DIR.
    #[arg(long, default_value = "pipeline.yaml", value_name = "NAME")]
    pub name: String,
}

/// Extensions taken as media.
const MEDIA: [&str; 9] = ["mp4", "mov", "mkv", "webm", "m4v", "avi", "mxf", "ts", "mpg"];
/// Most files probed (the ladder needs the tallest; a huge folder is sampled in order).
const PROBE_MAX: usize = 500;
/// The rungs a starter ladder picks from: (height, bitrate).
const LADDER: [(u32, &str); 7] =
    [(2160, "16M"), (1440, "8M"), (1080, "5M"), (720, "3M"), (480, "1500k"), (360, "800k"), (240, "400k")];
/// Most rungs in a starter ladder.
const RUNGS_MAX: usize = 4;

/// What the probes found.
#[derive(Debug, Default)]
struct Found {
    files: Vec<PathBuf>,
    /// How many of them ffprobe could read.
    probed: usize,
    tallest: u32,
    has_audio: bool,
}

pub fn init(a: &InitArgs) -> Result<()> {
    if a.name.contains('/') || !a.name.ends_with(".yaml") && !a.name.ends_with(".yml") {
        return Err(Error::Usage(format!("--name `{}`: a file name ending in .yaml or .yml", a.name)));
    }
    let target = a.dir.join(&a.name);
    if target.exists() {
        return Err(Error::Usage(format!("{} already exists; it is not overwritten", target.display())));
    }
    let found = probe_all(&a.dir)?;
    let text = manifest_text(&a.dir, &found);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .ctx(|| format!("creating {}", target.display()))?;
    f.write_all(text.as_bytes()).ctx(|| format!("writing {}", target.display()))?;
    say!(
        "wrote {}: {} media files ({} probed), ladder up to {}p; next: `vodbuild plan {}`",
        target.display(),
        found.files.len(),
        found.probed,
        ladder(found.tallest).first().map(|r| r.0).unwrap_or(0),
        target.display()
    );
    Ok(())
}

/// The media files under `dir` (not in its `out/`), probed.
fn probe_all(dir: &Path) -> Result<Found> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!("{} is not a folder", dir.display())));
    }
    let all = crate::manifest::walk::files(dir, "**/*", false).map_err(Error::Usage)?;
    let out = dir.join("out");
    let media: Vec<PathBuf> = all.into_iter().filter(|p| !p.starts_with(&out) && extension(p).is_some()).collect();
    if media.is_empty() {
        return Err(Error::Usage(format!("no media files ({}) in {}", MEDIA.join(", "), dir.display())));
    }
    let ffprobe = crate::tools::locate("ffprobe", None, dir)?;
    let mut found = Found::default();
    for p in media.iter().take(PROBE_MAX) {
        match probe(&ffprobe.path, p) {
            Ok(info) => {
                found.probed += 1;
                if let Some(v) = &info.video {
                    found.tallest = found.tallest.max(v.displayed_size().1);
                }
                found.has_audio |= info.audio.is_some();
            }
            Err(e) => tracing::warn!(file = %p.display(), "not probed: {e}"),
        }
    }
    found.files = media;
    if found.tallest == 0 {
        return Err(Error::Usage(format!("no video stream in the media files of {}", dir.display())));
    }
    Ok(found)
}

fn extension(p: &Path) -> Option<String> {
    let ext = p.extension()?.to_str()?.to_ascii_lowercase();
    MEDIA.contains(&ext.as_str()).then_some(ext)
}

fn probe(ffprobe: &Path, file: &Path) -> std::result::Result<crate::media::probe::ProbeInfo, String> {
    let out = Command::new(ffprobe)
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--"])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("ffprobe failed").to_string());
    }
    crate::media::probe::parse(&out.stdout).map(|f| f.info)
}

/// The rungs at or below the tallest source (at most [`RUNGS_MAX`]); a source shorter than
/// every rung gets the lowest.
fn ladder(tallest: u32) -> Vec<(u32, &'static str)> {
    let fit: Vec<_> = LADDER.iter().copied().filter(|(h, _)| *h <= tallest).take(RUNGS_MAX).collect();
    if fit.is_empty() { vec![LADDER[LADDER.len() - 1]] } else { fit }
}

/// One glob per extension: `*.mp4` when every such file is at the top, `**/*.mp4` otherwise.
fn globs(dir: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for ext in MEDIA {
        let of: Vec<&PathBuf> = files.iter().filter(|p| extension(p).as_deref() == Some(ext)).collect();
        if of.is_empty() {
            continue;
        }
        let deep = of.iter().any(|p| p.parent() != Some(dir));
        out.push(if deep { format!("**/*.{ext}") } else { format!("*.{ext}") });
    }
    out
}

fn manifest_text(dir: &Path, found: &Found) -> String {
    let rungs = ladder(found.tallest);
    let names: Vec<String> = rungs.iter().map(|(h, _)| format!("{h}p")).collect();
    let mut t = String::new();
    let _ = writeln!(t, "# vodbuild manifest, written by `vodbuild init` for {} media files.", found.files.len());
    let _ = writeln!(t, "# Check it with `vodbuild plan FILE`, build with `vodbuild run FILE`.");
    let _ = writeln!(t, "# Editors: `vodbuild schema > vodbuild.schema.json` and a first line");
    let _ = writeln!(t, "# `# yaml-language-server: $schema=vodbuild.schema.json` give completion and checks.");
    let _ = writeln!(t, "version: 1\noutput_dir: out                 # packages go to out/ID/...\n");
    let _ =
        writeln!(t, "encoding:\n  gop_seconds: 2                # closed GOPs; segment lengths are multiples of it\n");
    let _ = writeln!(t, "sources:                        # each file's id is its path without the extension");
    for g in globs(dir, &found.files) {
        let _ = writeln!(t, "  - glob: \"{g}\"");
    }
    let _ = writeln!(
        t,
        "\nprofiles:\n  video:                        # the ABR ladder, sized to the tallest source ({}p)",
        found.tallest
    );
    for (h, rate) in &rungs {
        let _ = writeln!(t, "    {h}p: {{codec: h264, height: {h}, bitrate: {rate}, preset: veryfast}}");
    }
    let audio = if found.has_audio {
        let _ = writeln!(t, "  audio:\n    aac128: {{codec: aac, bitrate: 128k, channels: 2, sample_rate: 48000}}");
        ", audio: aac128"
    } else {
        ""
    };
    let list = names.join(", ");
    let _ = writeln!(t, "\noutputs:                        # made for every source");
    let _ = writeln!(t, "  hls: {{renditions: [{list}]{audio}, segment_seconds: 4}}");
    let _ = writeln!(t, "  dash: {{renditions: [{list}]{audio}, segment_seconds: 4}}");
    let _ = writeln!(t, "  thumbnails: {{interval: 10, width: 320}}");
    let _ = writeln!(t, "  metadata: true");
    let _ = writeln!(t, "\n# Publish to storage: see `storage:` and `publish:` in the README.");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_never_goes_above_the_tallest_source() {
        assert_eq!(ladder(1080).iter().map(|r| r.0).collect::<Vec<_>>(), [1080, 720, 480, 360]);
        assert_eq!(ladder(500).iter().map(|r| r.0).collect::<Vec<_>>(), [480, 360, 240]);
        assert_eq!(ladder(100).iter().map(|r| r.0).collect::<Vec<_>>(), [240]);
    }
}
