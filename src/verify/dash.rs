//! DASH checks: the MPD parses, and each representation matches the files it names.

use std::collections::BTreeMap;
use std::path::Path;

use super::{AVERAGE_TOLERANCE, Findings, check_alignment, duration_tolerance};
use crate::media::mp4::track_facts;
use crate::media::mpd::{self, Representation};

/// An MPD being checked: where it is, and the presentation's length.
struct Doc<'a> {
    path: &'a Path,
    dir: &'a Path,
    source_duration: Option<f64>,
    /// The MPD's duration, else the source's.
    total: f64,
}

impl Doc<'_> {
    /// A path as the MPD names it (relative to its folder).
    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(self.dir).unwrap_or(p).display().to_string()
    }
}

pub fn check(mpd_path: &Path, source_duration: Option<f64>, f: &mut Findings) {
    let text = match std::fs::read_to_string(mpd_path) {
        Ok(t) => t,
        Err(e) => return f.add(mpd_path, "file", format!("cannot be read: {e}")),
    };
    let parsed = match mpd::parse(&text) {
        Ok(d) => d,
        Err(e) => return f.add(mpd_path, "syntax", e),
    };
    if parsed.representations.is_empty() {
        f.add(mpd_path, "Representation", "the MPD has no representations: the package holds no stream");
    }
    if let (Some(src), Some(d)) = (source_duration, parsed.duration)
        && (d - src).abs() > duration_tolerance(src)
    {
        f.add(mpd_path, "mediaPresentationDuration", format!("{d:.3}s but the source lasts {src:.3}s"));
    }
    let dir = mpd_path.parent().unwrap_or(Path::new("."));
    let total = parsed.duration.or(source_duration).unwrap_or(0.0);
    let doc = Doc { path: mpd_path, dir, source_duration, total };
    let mut boundaries: BTreeMap<usize, Vec<(String, Vec<f64>)>> = BTreeMap::new();
    for r in &parsed.representations {
        if let Some(starts) = check_representation(&doc, r, f)
            && r.kind.starts_with("video")
        {
            boundaries.entry(r.set).or_default().push((format!("representation {}", r.id()), starts));
        }
    }
    for list in boundaries.values() {
        if let Some((first, rest)) = list.split_first() {
            for other in rest {
                check_alignment(f, mpd_path, "segment boundaries", first, other);
            }
        }
    }
}

/// One representation against its init segment and segments; its segment start times.
fn check_representation(doc: &Doc, r: &Representation, f: &mut Findings) -> Option<Vec<f64>> {
    let what = format!("Representation {}", r.id());
    if r.template.media.is_none() {
        f.add(doc.path, &what, "has no SegmentTemplate@media: cannot locate its segments");
        return None;
    }
    if let Some(init) = r.init_path() {
        check_init(doc, r, &what, &doc.dir.join(init), f);
    }
    let segments = r.segments(doc.total);
    let mut missing = false;
    for s in &segments {
        let p = doc.dir.join(r.media_path(s).unwrap_or_default());
        match std::fs::metadata(&p) {
            Err(_) => {
                missing = true;
                f.add(doc.path, &what, format!("names segment {} which is missing", doc.rel(&p)));
            }
            Ok(m) if m.len() == 0 => f.add(&p, "segment", "is empty (0 bytes)"),
            Ok(_) => {}
        }
    }
    let seg_total: f64 = segments.iter().map(|s| s.duration as f64).sum::<f64>() / r.timescale() as f64;
    if let Some(src) = doc.source_duration
        && (seg_total - src).abs() > duration_tolerance(src)
    {
        f.add(
            doc.path,
            &format!("{what} duration"),
            format!("segments add up to {seg_total:.3}s but the source lasts {src:.3}s"),
        );
    }
    if !missing {
        check_bandwidth(doc, r, &what, f);
    }
    let ts = r.timescale() as f64;
    Some(segments.iter().map(|s| s.time as f64 / ts).collect())
}

/// The init segment exists and says the declared codecs (and, for video, width and height).
fn check_init(doc: &Doc, r: &Representation, what: &str, p: &Path, f: &mut Findings) {
    let facts = match track_facts(p) {
        Err(_) if !p.exists() => return f.add(doc.path, what, format!("initialization {} is missing", doc.rel(p))),
        Err(_) if super::is_empty(p) => return f.add(p, "init segment", "is empty (0 bytes)"),
        Err(e) => return f.add(p, "init segment", format!("unreadable: {e}")),
        Ok(facts) => facts,
    };
    let declared = r.attrs.get("codecs").map(|c| c.to_ascii_lowercase()).unwrap_or_default();
    if declared != facts.codec.to_ascii_lowercase() {
        f.add(
            doc.path,
            &format!("{what} codecs"),
            format!("codecs=\"{declared}\" but the init segment says {}", facts.codec),
        );
    }
    for (k, v) in [("width", facts.width), ("height", facts.height)] {
        let declared = r.attrs.get(k).and_then(|x| x.parse::<u32>().ok());
        if facts.is_video && declared != Some(v) {
            f.add(doc.path, &format!("{what} {k}"), format!("{k}={declared:?} but the init segment says {v}"));
        }
    }
}

/// `bandwidth` is not below the measured average segment bitrate.
fn check_bandwidth(doc: &Doc, r: &Representation, what: &str, f: &mut Findings) {
    if let Some(crate::media::master::Rates { peak, average: avg }) = mpd::measure(r, doc.dir, doc.total)
        && let Some(bw) = r.attrs.get("bandwidth").and_then(|b| b.parse::<u64>().ok())
        && (bw as f64) < avg as f64 * (1.0 - AVERAGE_TOLERANCE)
    {
        f.add(
            doc.path,
            &format!("{what} bandwidth"),
            format!("bandwidth={bw} is below the measured average {avg} (peak {peak})"),
        );
    }
}
