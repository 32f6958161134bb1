//! Storyboard checks (the step's output check and `vodbuild verify`): the WebVTT track parses,
//! its cues follow each other, each names a sprite sheet that exists with the advertised
//! geometry (`columns*w x rows*h`) and a `#xywh=` rectangle inside it, at the source's
//! displayed aspect.

use std::collections::HashMap;
use std::path::Path;

use crate::media::storyboard::{MAX_TILES, VTT, jpeg_size};

/// What a storyboard folder must be: grid and tile size (`tile_h` 0: any), the displayed aspect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect {
    pub columns: u32,
    pub rows: u32,
    pub tile_w: u32,
    pub tile_h: u32,
    pub aspect: Option<f64>,
}

/// One line per problem (at most 20); empty when the folder is right.
pub fn check_dir(dir: &Path, e: &Expect) -> Vec<String> {
    let mut problems = Vec::new();
    let text = match std::fs::read_to_string(dir.join(VTT)) {
        Ok(t) => t,
        Err(err) => return vec![format!("{VTT}: {err}")],
    };
    if !text.starts_with("WEBVTT") {
        return vec![format!("{VTT}: does not start with WEBVTT")];
    }
    let mut sheets: HashMap<String, Option<(u32, u32)>> = HashMap::new();
    let (mut cues, mut last_end) = (0u32, 0.0f64);
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        let Some((a, b)) = l.split_once(" --> ") else { continue };
        cues += 1;
        let payload = lines.next().unwrap_or_default();
        match (time(a), time(b)) {
            (Some(a), Some(b)) if b > a && a + 1e-3 >= last_end => last_end = b,
            _ => problems.push(format!("{VTT}: cue `{l}` is not after the previous one")),
        }
        if let Err(p) = cue(dir, payload, e, &mut sheets) {
            problems.push(format!("{VTT}: cue `{l}`: {p}"));
        }
        if problems.len() >= 20 || cues >= MAX_TILES {
            break;
        }
    }
    if cues == 0 {
        problems.push(format!("{VTT}: no cue"));
    }
    problems
}

fn cue(dir: &Path, payload: &str, e: &Expect, sheets: &mut HashMap<String, Option<(u32, u32)>>) -> Result<(), String> {
    let (file, xywh) = payload.split_once("#xywh=").ok_or_else(|| format!("`{payload}` has no #xywh="))?;
    let n: Vec<u32> = xywh.split(',').filter_map(|v| v.trim().parse().ok()).collect();
    let [x, y, w, h] = n[..] else { return Err(format!("`{xywh}` is not x,y,w,h")) };
    let (x, y, w, h) = (x as u64, y as u64, w as u64, h as u64);
    if file.contains('/') || file.contains("..") {
        return Err(format!("`{file}` is not a file of the storyboard folder"));
    }
    if !sheets.contains_key(file) {
        let size = std::fs::read(dir.join(file)).ok().and_then(|b| jpeg_size(&b));
        sheets.insert(file.to_string(), size);
    }
    let (sw, sh) = sheets[file].ok_or_else(|| format!("{file} is missing or not a JPEG"))?;
    let (sw, sh) = (sw as u64, sh as u64);
    let (gw, gh) = (e.columns as u64 * w, e.rows as u64 * h);
    if e.columns > 0 && (sw, sh) != (gw, gh) {
        return Err(format!("{file} is {sw}x{sh}, not {}x{} tiles of {w}x{h} = {gw}x{gh}", e.columns, e.rows));
    }
    if x + w > sw || y + h > sh {
        return Err(format!("{x},{y},{w},{h} falls outside {file} ({sw}x{sh})"));
    }
    if (e.tile_w > 0 && w != e.tile_w as u64) || (e.tile_h > 0 && h != e.tile_h as u64) {
        return Err(format!("tile {w}x{h}, expected {}x{}", e.tile_w, e.tile_h));
    }
    if let Some(a) = e.aspect {
        let shown = w as f64 / h.max(1) as f64;
        // A tile height is whole pixels: up to one pixel off is rounding, not distortion.
        let rounding = (w as f64 / a - h as f64).abs() <= 1.0;
        if !rounding && (shown / a - 1.0).abs() > super::geometry::ASPECT_TOLERANCE {
            return Err(format!("tile {w}x{h} shows at {shown:.3}:1 but the source displays at {a:.3}:1"));
        }
    }
    Ok(())
}

/// `HH:MM:SS.mmm` or `MM:SS.mmm` in seconds.
fn time(s: &str) -> Option<f64> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    let secs: f64 = parts.last()?.parse().ok()?;
    let mut total = secs;
    for (i, p) in parts.iter().rev().skip(1).enumerate() {
        total += p.parse::<f64>().ok()? * 60f64.powi(i as i32 + 1);
    }
    Some(total)
}

/// `vodbuild verify` of one source's storyboard (when the manifest asks for one): the grid
/// from the manifest, the aspect from the probe. Returns 1 when a storyboard was checked.
pub fn verify_source(
    m: &crate::manifest::Manifest,
    source: &str,
    aspect: Option<f64>,
    f: &mut super::Findings,
) -> usize {
    let Some(s) = &m.raw.outputs.storyboard else { return 0 };
    let dir = crate::layout::folder(m, source, "storyboard");
    let e = Expect { columns: s.columns, rows: s.rows, tile_w: s.width, tile_h: 0, aspect };
    for p in check_dir(&dir, &e) {
        f.add(&dir.join(VTT), "storyboard", p);
    }
    1
}

/// The DASH-IF thumbnails AdaptationSets of the MPD at `path`: a `CxR` tile property, and
/// every sheet the timeline names exists with the Representation's size, a whole number of
/// tiles wide and high.
pub fn check_mpd(path: &Path, f: &mut super::Findings) {
    let Ok(text) = std::fs::read_to_string(path) else { return };
    let Ok(sets) = crate::media::storyboard_mpd::image_sets(&text) else { return };
    let dir = path.parent().unwrap_or(Path::new("."));
    for s in sets {
        let Some((c, r)) = s.tiles.filter(|(c, r)| *c > 0 && *r > 0) else {
            f.add(path, "image AdaptationSet", "no EssentialProperty thumbnail_tile with a CxR value");
            continue;
        };
        if s.width % c != 0 || s.height % r != 0 {
            f.add(path, "image Representation", format!("{}x{} is not {c}x{r} whole tiles", s.width, s.height));
        }
        let count: i64 = s.timeline.iter().map(|(_, r)| r + 1).sum();
        for n in 0..count.clamp(0, MAX_TILES as i64) as u64 {
            let file = s.media.replace("$Number$", &(s.start_number + n).to_string());
            let size = std::fs::read(dir.join(&file)).ok().and_then(|b| jpeg_size(&b));
            match size {
                Some(wh) if wh == (s.width, s.height) => {}
                Some((w, h)) => {
                    f.add(&dir.join(&file), "sprite sheet", format!("{w}x{h}, the MPD says {}x{}", s.width, s.height))
                }
                None => f.add(&dir.join(&file), "sprite sheet", "missing or not a JPEG"),
            }
        }
    }
}
