//! The storyboard in a DASH package: the sprite sheets copied to `storyboard/` in the package
//! and an image AdaptationSet per the DASH-IF thumbnails convention (IOP 4.3 §6.2.6):
//! `contentType="image"`, `mimeType="image/jpeg"`, one Representation of the sheet size with
//! `EssentialProperty schemeIdUri="http://dashif.org/thumbnail_tile" value="CxR"`, and a
//! SegmentTemplate over the sheets whose timeline gives each sheet `C*R*interval` seconds
//! (players divide it among the tiles). [`image_sets`] reads it back for `vodbuild verify`.

use std::collections::HashMap;
use std::path::Path;

use quick_xml::events::Event;

use super::storyboard::{Grid, MAX_TILES};

pub const SCHEME: &str = "http://dashif.org/thumbnail_tile";
/// The folder of the sheets inside the DASH package.
pub const FOLDER: &str = "storyboard";

/// Copies the sheets from `storyboard` into `dir/storyboard/` and adds the image
/// AdaptationSet to `dir/manifest.mpd`.
pub fn add(dir: &Path, storyboard: &Path, g: &Grid) -> Result<(), String> {
    let to = dir.join(FOLDER);
    std::fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut sheets = 0u32;
    let mut peak = 0u64;
    while sheets < MAX_TILES {
        let name = format!("sprite-{}.jpg", sheets + 1);
        let from = storyboard.join(&name);
        if !from.exists() {
            break;
        }
        let bytes = std::fs::copy(&from, to.join(&name)).map_err(|e| format!("copying {}: {e}", from.display()))?;
        peak = peak.max(bytes);
        sheets += 1;
    }
    if sheets == 0 {
        return Err(format!("{}: no sprite sheet", storyboard.display()));
    }
    let path = dir.join(crate::layout::MPD);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let sets = text.matches("<AdaptationSet").count();
    let fixed = insert(&text, &adaptation_set(g, sheets, peak, sets))?;
    std::fs::write(&path, fixed).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn adaptation_set(g: &Grid, sheets: u32, peak_bytes: u64, id: usize) -> String {
    let ms = (g.per_sheet() as f64 * g.interval * 1000.0).round() as u64;
    let bandwidth = (peak_bytes * 8 * 1000).div_ceil(ms.max(1));
    let (w, h) = g.sheet_size();
    format!(
        "    <AdaptationSet id=\"{id}\" contentType=\"image\" mimeType=\"image/jpeg\">\n\
         \x20     <SegmentTemplate media=\"{FOLDER}/sprite-$Number$.jpg\" timescale=\"1000\" startNumber=\"1\">\n\
         \x20       <SegmentTimeline><S t=\"0\" d=\"{ms}\" r=\"{}\"/></SegmentTimeline>\n\
         \x20     </SegmentTemplate>\n\
         \x20     <Representation id=\"storyboard\" bandwidth=\"{bandwidth}\" width=\"{w}\" height=\"{h}\">\n\
         \x20       <EssentialProperty schemeIdUri=\"{SCHEME}\" value=\"{}x{}\"/>\n\
         \x20     </Representation>\n\
         \x20   </AdaptationSet>\n",
        sheets - 1,
        g.columns,
        g.rows
    )
}

/// `set` before the first `</Period>`.
fn insert(mpd: &str, set: &str) -> Result<String, String> {
    let at = mpd.find("</Period>").ok_or("the MPD has no </Period>")?;
    let line = mpd[..at].rfind('\n').map_or(at, |n| n + 1);
    Ok(format!("{}{set}{}", &mpd[..line], &mpd[line..]))
}

/// An image AdaptationSet as read back: Representation size, `CxR`, media template,
/// timescale, timeline `(d, r)` entries.
#[derive(Debug, Default, Clone)]
pub struct ImageSet {
    pub width: u32,
    pub height: u32,
    pub tiles: Option<(u32, u32)>,
    pub media: String,
    pub start_number: u64,
    pub timeline: Vec<(u64, i64)>,
}

/// The image AdaptationSets of an MPD.
pub fn image_sets(text: &str) -> Result<Vec<ImageSet>, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut sets, mut inside) = (Vec::new(), false);
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) | Event::Empty(e) => {
                let a: HashMap<String, String> = e
                    .attributes()
                    .flatten()
                    .map(|x| {
                        (
                            String::from_utf8_lossy(x.key.as_ref()).into_owned(),
                            String::from_utf8_lossy(&x.value).into_owned(),
                        )
                    })
                    .collect();
                let num = |k: &str| a.get(k).and_then(|v| v.parse::<u64>().ok());
                match e.local_name().as_ref() {
                    b"AdaptationSet" => {
                        inside = a.get("contentType").or(a.get("mimeType")).is_some_and(|t| t.starts_with("image"));
                        if inside {
                            sets.push(ImageSet { start_number: 1, ..Default::default() });
                        }
                    }
                    _ if !inside => {}
                    b"Representation" => {
                        let s = sets.last_mut().expect("inside a set");
                        (s.width, s.height) = (num("width").unwrap_or(0) as u32, num("height").unwrap_or(0) as u32);
                    }
                    b"EssentialProperty" if a.get("schemeIdUri").map(String::as_str) == Some(SCHEME) => {
                        let v = a.get("value").and_then(|v| v.split_once('x'));
                        sets.last_mut().expect("inside").tiles =
                            v.and_then(|(c, r)| Some((c.parse().ok()?, r.parse().ok()?)));
                    }
                    b"SegmentTemplate" => {
                        let s = sets.last_mut().expect("inside");
                        s.media = a.get("media").cloned().unwrap_or_default();
                        s.start_number = num("startNumber").unwrap_or(1);
                    }
                    b"S" => {
                        let r = a.get("r").and_then(|v| v.parse().ok()).unwrap_or(0);
                        sets.last_mut().expect("inside").timeline.push((num("d").unwrap_or(0), r));
                    }
                    _ => {}
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"AdaptationSet" => inside = false,
            Event::Eof => return Ok(sets),
            _ => {}
        }
    }
}
