//! DASH checks: the MPD parses, and each representation matches the files it names.

use std::collections::BTreeMap;
use std::path::Path;

use super::{AVERAGE_TOLERANCE, Findings, check_alignment, duration_tolerance};
use crate::media::mp4::track_facts;
use crate::media::mpd;

pub fn check(mpd_path: &Path, source_duration: Option<f64>, f: &mut Findings) {
    let text = match std::fs::read_to_string(mpd_path) {
        Ok(t) => t,
        Err(e) => return f.add(mpd_path, "file", format!("cannot be read: {e}")),
    };
    let doc = match mpd::parse(&text) {
        Ok(d) => d,
        Err(e) => return f.add(mpd_path, "syntax", e),
    };
    let dir = mpd_path.parent().unwrap_or(Path::new("."));
    let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
    if doc.representations.is_empty() {
        f.add(mpd_path, "Representation", "the MPD has no representations: the package holds no stream");
    }
    if let (Some(src), Some(d)) = (source_duration, doc.duration)
        && (d - src).abs() > duration_tolerance(src)
    {
        f.add(mpd_path, "mediaPresentationDuration", format!("{d:.3}s but the source lasts {src:.3}s"));
    }
    let total = doc.duration.or(source_duration).unwrap_or(0.0);
    let mut boundaries: BTreeMap<usize, Vec<(String, Vec<f64>)>> = BTreeMap::new();
    for r in &doc.representations {
        let what = format!("Representation {}", r.id());
        let Some(_) = &r.template.media else {
            f.add(mpd_path, &what, "has no SegmentTemplate@media: cannot locate its segments");
            continue;
        };
        if let Some(init) = r.init_path() {
            let p = dir.join(init);
            match track_facts(&p) {
                Err(_) if !p.exists() => f.add(mpd_path, &what, format!("initialization {} is missing", rel(&p))),
                Err(_) if super::is_empty(&p) => f.add(&p, "init segment", "is empty (0 bytes)"),
                Err(e) => f.add(&p, "init segment", format!("unreadable: {e}")),
                Ok(facts) => {
                    let declared = r.attrs.get("codecs").map(|c| c.to_ascii_lowercase()).unwrap_or_default();
                    if declared != facts.codec.to_ascii_lowercase() {
                        f.add(
                            mpd_path,
                            &format!("{what} codecs"),
                            format!("codecs=\"{declared}\" but the init segment says {}", facts.codec),
                        );
                    }
                    for (k, v) in [("width", facts.width), ("height", facts.height)] {
                        let declared = r.attrs.get(k).and_then(|x| x.parse::<u32>().ok());
                        if facts.is_video && declared != Some(v) {
                            f.add(
                                mpd_path,
                                &format!("{what} {k}"),
                                format!("{k}={declared:?} but the init segment says {v}"),
                            );
                        }
                    }
                }
            }
        }
        let segments = r.segments(total);
        let mut missing = false;
        for s in &segments {
            let p = dir.join(r.media_path(s).unwrap_or_default());
            match std::fs::metadata(&p) {
                Err(_) => {
                    missing = true;
                    f.add(mpd_path, &what, format!("names segment {} which is missing", rel(&p)));
                }
                Ok(m) if m.len() == 0 => f.add(&p, "segment", "is empty (0 bytes)"),
                Ok(_) => {}
            }
        }
        let seg_total: f64 = segments.iter().map(|s| s.duration as f64).sum::<f64>() / r.timescale() as f64;
        if let Some(src) = source_duration
            && (seg_total - src).abs() > duration_tolerance(src)
        {
            f.add(
                mpd_path,
                &format!("{what} duration"),
                format!("segments add up to {seg_total:.3}s but the source lasts {src:.3}s"),
            );
        }
        if !missing
            && let Some(crate::media::master::Rates { peak, average: avg }) = mpd::measure(r, dir, total)
            && let Some(bw) = r.attrs.get("bandwidth").and_then(|b| b.parse::<u64>().ok())
            && (bw as f64) < avg as f64 * (1.0 - AVERAGE_TOLERANCE)
        {
            f.add(
                mpd_path,
                &format!("{what} bandwidth"),
                format!("bandwidth={bw} is below the measured average {avg} (peak {peak})"),
            );
        }
        if r.kind.starts_with("video") {
            let ts = r.timescale() as f64;
            let secs: Vec<f64> = segments.iter().map(|s| s.time as f64 / ts).collect();
            boundaries.entry(r.set).or_default().push((format!("representation {}", r.id()), secs));
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
