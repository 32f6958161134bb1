//! DASH subtitles, after the packager and [`super::dash::fix_mpd`]: each converted track as a
//! WebVTT sidecar (`subs/ID.vtt`) in a text AdaptationSet of its own (`contentType="text"`,
//! `mimeType="text/vtt"`, `lang`, a `Role` of `subtitle` or `forced-subtitle`, `main` too for
//! the default track, a `Label`), added at the end of the Period. Shaka Player plays
//! sidecar WebVTT with ffmpeg's and Shaka Packager's MPDs alike.

use std::fmt::Write as _;
use std::path::Path;

use crate::job::paths::resolve;
use crate::job::subtitle::PackagedSubtitle;
use crate::media::webvtt;

/// AdaptationSet ids of subtitle tracks start here (above the packagers' media sets).
const FIRST_SET_ID: usize = 1000;

pub fn add(dir: &Path, subs: &[PackagedSubtitle], root: &Path) -> Result<(), String> {
    if subs.is_empty() {
        return Ok(());
    }
    let out = dir.join(super::subtitle_hls::GROUP);
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    for s in subs {
        let vtt = resolve(root, &s.vtt);
        let bytes = std::fs::read(&vtt).map_err(|e| format!("reading {}: {e}", vtt.display()))?;
        webvtt::parse(&bytes, webvtt::Format::Vtt).map_err(|e| e.located(&vtt.display().to_string()))?;
        let dest = out.join(format!("{}.vtt", s.id));
        std::fs::write(&dest, &bytes).map_err(|e| format!("writing {}: {e}", dest.display()))?;
    }
    let path = dir.join(crate::layout::MPD);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let at = text.rfind("</Period>").ok_or_else(|| format!("{}: no </Period>", path.display()))?;
    let fixed = format!("{}{}{}", &text[..at], sets(subs), &text[at..]);
    std::fs::write(&path, fixed).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The text AdaptationSets.
fn sets(subs: &[PackagedSubtitle]) -> String {
    let mut out = String::new();
    for (k, s) in subs.iter().enumerate() {
        let role = if s.forced { "forced-subtitle" } else { "subtitle" };
        let _ = write!(
            out,
            "  <AdaptationSet id=\"{}\" contentType=\"text\" mimeType=\"text/vtt\" lang=\"{}\">\n    <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"{role}\"/>\n",
            FIRST_SET_ID + k,
            xml(&s.lang)
        );
        if s.default {
            out.push_str("    <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"main\"/>\n");
        }
        let _ = write!(
            out,
            "    <Label>{}</Label>\n    <Representation id=\"sub-{}\" bandwidth=\"256\">\n      <BaseURL>{}/{}.vtt</BaseURL>\n    </Representation>\n  </AdaptationSet>\n",
            xml(&s.name),
            xml(&s.id),
            super::subtitle_hls::GROUP,
            xml(&s.id)
        );
    }
    out
}
