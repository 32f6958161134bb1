//! Reading DASH MPDs (enough for SegmentTemplate/SegmentTimeline packages) and rewriting
//! Representation attributes with measured values. A Representation inherits the common
//! attributes it lacks (width, height, frameRate, codecs, mimeType, ... see [`COMMON`]) from its
//! AdaptationSet, as ISO/IEC 23009-1 §5.3.7 says (Shaka Packager puts a single rung's
//! width and height on the AdaptationSet).

use std::collections::HashMap;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

use super::master::Rates;

#[derive(Debug, Default, Clone)]
pub struct Template {
    pub timescale: Option<u64>,
    pub initialization: Option<String>,
    pub media: Option<String>,
    pub start_number: Option<u64>,
    pub duration: Option<u64>,
    /// (t, d, r) entries
    pub timeline: Vec<(Option<u64>, u64, i64)>,
}

impl Template {
    fn inherit(&self, parent: &Template) -> Template {
        Template {
            timescale: self.timescale.or(parent.timescale),
            initialization: self.initialization.clone().or(parent.initialization.clone()),
            media: self.media.clone().or(parent.media.clone()),
            start_number: self.start_number.or(parent.start_number),
            duration: self.duration.or(parent.duration),
            timeline: if self.timeline.is_empty() { parent.timeline.clone() } else { self.timeline.clone() },
        }
    }
}

#[derive(Debug, Default)]
pub struct Representation {
    pub attrs: HashMap<String, String>,
    pub template: Template,
    /// 1-based index of its AdaptationSet.
    pub set: usize,
    /// `video/...`, `audio/...` (mimeType or contentType).
    pub kind: String,
}

/// The most segments one representation may list (27 hours of 1 s segments).
pub const MAX_SEGMENTS: usize = 100_000;
/// The widest `$Number%0Nd$` / `$Time%0Nd$` padding honoured.
const MAX_PAD: usize = 64;

/// One media segment: number, start (timescale units), duration (timescale units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub number: u64,
    pub time: u64,
    pub duration: u64,
}

impl Representation {
    pub fn id(&self) -> &str {
        self.attrs.get("id").map(String::as_str).unwrap_or("")
    }

    pub fn timescale(&self) -> u64 {
        self.template.timescale.unwrap_or(1).max(1)
    }

    pub fn init_path(&self) -> Option<String> {
        let bw = self.attrs.get("bandwidth").map(String::as_str).unwrap_or("");
        self.template.initialization.as_ref().map(|t| fill(t, self.id(), bw, 0, 0))
    }

    pub fn media_path(&self, s: &Segment) -> Option<String> {
        let bw = self.attrs.get("bandwidth").map(String::as_str).unwrap_or("");
        self.template.media.as_ref().map(|t| fill(t, self.id(), bw, s.number, s.time))
    }

    /// The segments, from the timeline or from `duration` and the presentation length; at
    /// most [`MAX_SEGMENTS`] (a hostile MPD cannot make this loop or allocate without bound).
    pub fn segments(&self, total_seconds: f64) -> Vec<Segment> {
        let t = &self.template;
        let ts = self.timescale();
        let mut out = Vec::new();
        let mut number = t.start_number.unwrap_or(1);
        if !t.timeline.is_empty() {
            let mut time = 0u64;
            for (st, d, rep) in &t.timeline {
                if let Some(st) = st {
                    time = *st;
                }
                let count = if *rep < 0 {
                    ((total_seconds * ts as f64 - time as f64) / (*d).max(1) as f64).ceil().max(1.0) as i64
                } else {
                    rep.saturating_add(1)
                };
                for _ in 0..count.min((MAX_SEGMENTS - out.len()) as i64) {
                    out.push(Segment { number, time, duration: *d });
                    number = number.saturating_add(1);
                    time = time.saturating_add(*d);
                }
            }
        } else if let Some(d) = t.duration {
            let count = ((total_seconds * ts as f64) / d.max(1) as f64).ceil().max(1.0) as u64;
            for i in 0..count.min(MAX_SEGMENTS as u64) {
                out.push(Segment { number: number.saturating_add(i), time: i.saturating_mul(d), duration: d });
            }
        }
        out
    }
}

#[derive(Debug, Default)]
pub struct Mpd {
    pub duration: Option<f64>,
    pub representations: Vec<Representation>,
}

/// The common attributes (ISO/IEC 23009-1 §5.3.7) a Representation takes from its AdaptationSet.
pub const COMMON: [&str; 14] = [
    "profiles",
    "width",
    "height",
    "sar",
    "frameRate",
    "audioSamplingRate",
    "mimeType",
    "segmentProfiles",
    "codecs",
    "maximumSAPPeriod",
    "startWithSAP",
    "maxPlayoutRate",
    "codingDependency",
    "scanType",
];

/// Fills the common attributes a Representation lacks from its AdaptationSet's.
fn inherit(rep: &mut HashMap<String, String>, set: &HashMap<String, String>) {
    for k in COMMON {
        if let (false, Some(v)) = (rep.contains_key(k), set.get(k)) {
            rep.insert(k.to_string(), v.clone());
        }
    }
}

fn attrs(e: &BytesStart) -> HashMap<String, String> {
    e.attributes()
        .flatten()
        .map(|a| {
            (
                String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(),
                String::from_utf8_lossy(&a.value).into_owned(),
            )
        })
        .collect()
}

pub fn parse(text: &str) -> Result<Mpd, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut mpd = Mpd::default();
    let (mut set_tpl, mut rep_tpl) = (Template::default(), Template::default());
    let (mut set_no, mut set_type, mut in_rep) = (0usize, String::new(), false);
    let mut set_attrs = HashMap::new();
    // An image AdaptationSet (DASH-IF thumbnails, see `storyboard_mpd`) holds no media.
    let mut image_set = false;
    loop {
        let ev =
            reader.read_event().map_err(|e| format!("does not parse at byte {}: {e}", reader.buffer_position()))?;
        let empty = matches!(ev, Event::Empty(_));
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let a = attrs(&e);
                if image_set && e.local_name().as_ref() != b"AdaptationSet" {
                    continue;
                }
                match e.local_name().as_ref() {
                    b"MPD" => mpd.duration = a.get("mediaPresentationDuration").and_then(|d| iso_duration(d)),
                    b"AdaptationSet" => {
                        set_no += 1;
                        set_tpl = Template::default();
                        set_type = a.get("contentType").or(a.get("mimeType")).cloned().unwrap_or_default();
                        image_set = set_type.starts_with("image");
                        set_attrs = a;
                    }
                    b"Representation" => {
                        in_rep = true;
                        rep_tpl = Template::default();
                        let kind = a.get("mimeType").cloned().unwrap_or_else(|| set_type.clone());
                        let mut a = a;
                        inherit(&mut a, &set_attrs);
                        mpd.representations.push(Representation {
                            attrs: a,
                            template: Template::default(),
                            set: set_no,
                            kind,
                        });
                    }
                    b"SegmentTemplate" => {
                        let t = if in_rep { &mut rep_tpl } else { &mut set_tpl };
                        let num = |k: &str| a.get(k).and_then(|v| v.parse().ok());
                        t.timescale = num("timescale");
                        t.start_number = num("startNumber");
                        t.duration = num("duration");
                        t.initialization = a.get("initialization").cloned();
                        t.media = a.get("media").cloned();
                    }
                    b"S" => {
                        let t = if in_rep { &mut rep_tpl } else { &mut set_tpl };
                        let d = a.get("d").and_then(|v| v.parse().ok()).unwrap_or(0);
                        let r = a.get("r").and_then(|v| v.parse().ok()).unwrap_or(0);
                        t.timeline.push((a.get("t").and_then(|v| v.parse().ok()), d, r));
                    }
                    _ => {}
                }
                if empty && e.local_name().as_ref() == b"Representation" {
                    if let Some(r) = mpd.representations.last_mut() {
                        r.template = rep_tpl.inherit(&set_tpl);
                    }
                    in_rep = false;
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"AdaptationSet" => image_set = false,
            Event::End(e) if e.local_name().as_ref() == b"Representation" && !image_set => {
                if let Some(r) = mpd.representations.last_mut() {
                    r.template = rep_tpl.inherit(&set_tpl);
                }
                in_rep = false;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // Text tracks (subtitles, see crate::kinds::subtitle) are not media representations.
    mpd.representations.retain(|r| !r.kind.starts_with("text"));
    Ok(mpd)
}

/// Sets attributes on each `<Representation>` (by id), keeping everything else as it was.
pub fn rewrite(text: &str, values: &HashMap<String, Vec<(&'static str, String)>>) -> Result<String, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut writer = quick_xml::Writer::new(Vec::new());
    loop {
        let ev = reader.read_event().map_err(|e| e.to_string())?;
        let ev = match ev {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"Representation" => {
                let a = attrs(&e);
                let empty = text.get(..reader.buffer_position() as usize).is_some_and(|s| s.ends_with("/>"));
                let set = a.get("id").and_then(|id| values.get(id));
                let mut out = BytesStart::new("Representation");
                for attr in e.attributes().flatten() {
                    let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                    match set.and_then(|s| s.iter().find(|(k, _)| *k == key)) {
                        Some((k, v)) => out.push_attribute((*k, v.as_str())),
                        None => out.push_attribute(attr),
                    }
                }
                if empty { Event::Empty(out) } else { Event::Start(out) }
            }
            Event::Eof => break,
            other => other,
        };
        writer.write_event(ev).map_err(|e| e.to_string())?;
    }
    String::from_utf8(writer.into_inner()).map_err(|e| e.to_string())
}

/// `PT1H2M3.5S` → seconds.
pub fn iso_duration(s: &str) -> Option<f64> {
    let rest = s.strip_prefix("PT")?;
    let (mut total, mut num) = (0f64, String::new());
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => num.push(c),
            'H' | 'M' | 'S' => {
                let v: f64 = num.parse().ok()?;
                total += v * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
                num.clear();
            }
            _ => return None,
        }
    }
    Some(total)
}

/// Fills `$RepresentationID$`, `$Number%05d$`, `$Time$`, `$Bandwidth$`, `$$`.
pub fn fill(template: &str, rep: &str, bandwidth: &str, number: u64, time: u64) -> String {
    let mut out = String::new();
    let mut parts = template.split('$');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let rest: Vec<&str> = parts.collect();
    let mut i = 0;
    while i < rest.len() {
        let ident = rest[i];
        let (name, fmt) = ident.split_once('%').map(|(n, f)| (n, Some(f))).unwrap_or((ident, None));
        let value = |v: u64| match fmt.and_then(|f| f.strip_prefix('0')).and_then(|f| f.strip_suffix('d')) {
            Some(w) => format!("{v:0width$}", width = w.parse().unwrap_or(1).min(MAX_PAD)),
            None => v.to_string(),
        };
        match name {
            "" => out.push('$'),
            "RepresentationID" => out.push_str(rep),
            "Bandwidth" => out.push_str(bandwidth),
            "Number" => out.push_str(&value(number)),
            "Time" => out.push_str(&value(time)),
            other => out.push_str(other),
        }
        if let Some(text) = rest.get(i + 1) {
            out.push_str(text);
        }
        i += 2;
    }
    out
}

/// Measured bitrates of a representation's segments; None if one is missing.
pub fn measure(rep: &Representation, dir: &Path, total_seconds: f64) -> Option<Rates> {
    let ts = rep.timescale() as f64;
    let mut segments = Vec::new();
    for s in rep.segments(total_seconds) {
        let size = std::fs::metadata(dir.join(rep.media_path(&s)?)).ok()?.len() as f64;
        segments.push((s.duration as f64 / ts, size));
    }
    Rates::of(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_and_durations() {
        assert_eq!(fill("chunk-$RepresentationID$-$Number%05d$.m4s", "2", "9", 7, 0), "chunk-2-00007.m4s");
        assert_eq!(fill("t$Time$-$$.m4s", "a", "1", 1, 90000), "t90000-$.m4s");
        assert_eq!(iso_duration("PT1M2.5S"), Some(62.5));
        assert_eq!(iso_duration("PT6.0S"), Some(6.0));
    }

    /// The fuzzer's findings (inputs in fuzz/regressions/dash/): hostile templates and
    /// timelines give a bounded segment list, no arithmetic overflow, bounded names.
    #[test]
    fn hostile_templates_stay_bounded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/dash");
        let case = |name: &str| {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            let doc = parse(&text).unwrap();
            let r = &doc.representations[0];
            let segments = r.segments(doc.duration.unwrap_or(4.0));
            let longest = segments.iter().filter_map(|s| r.media_path(s)).map(|p| p.len()).max().unwrap_or(0);
            (segments, longest)
        };
        let (s, _) = case("segment-count-from-duration");
        assert_eq!(s.len(), MAX_SEGMENTS, "1e9 s of 1 ms segments is capped");
        let (s, _) = case("repeat-count-overflow");
        assert_eq!(s.len(), MAX_SEGMENTS, "r=i64::MAX is capped");
        assert!(s.windows(2).all(|w| w[0].time < w[1].time));
        let (s, _) = case("start-number-overflow");
        assert_eq!((s.len(), s[0].number, s[1].number), (2, u64::MAX, u64::MAX), "numbers saturate");
        let (s, _) = case("timeline-time-overflow");
        assert_eq!((s[0].time, s[1].time), (u64::MAX, u64::MAX), "times saturate");
        let (_, longest) = case("number-padding-width");
        assert!(longest <= MAX_PAD + 10, "padding %0999999999999d is capped: {longest}");
    }

    #[test]
    fn rewrite_keeps_the_rest() {
        let x = r#"<MPD><AdaptationSet><Representation id="0" codecs="hvc1" bandwidth="5"><S d="1"/></Representation></AdaptationSet></MPD>"#;
        let mut v = HashMap::new();
        v.insert("0".to_string(), vec![("codecs", "hvc1.1.6.L30.90".to_string())]);
        let out = rewrite(x, &v).unwrap();
        assert!(out.contains(r#"codecs="hvc1.1.6.L30.90""#), "{out}");
        assert!(out.contains(r#"bandwidth="5""#) && out.contains("<S d=\"1\"/>"), "{out}");
        assert_eq!(parse(&out).unwrap().representations[0].attrs["codecs"], "hvc1.1.6.L30.90");
    }

    #[test]
    fn representations_inherit_common_attributes_from_their_adaptation_set() {
        let x = r#"<MPD><AdaptationSet contentType="video" width="256" height="144" frameRate="25" codecs="avc1.64000c" mimeType="video/mp4" id="0">
          <Representation id="0" bandwidth="5" codecs="avc1.42c00d"/></AdaptationSet>
          <AdaptationSet contentType="audio" mimeType="audio/mp4"><Representation id="1" bandwidth="6"/></AdaptationSet></MPD>"#;
        let doc = parse(x).unwrap();
        let (v, a) = (&doc.representations[0].attrs, &doc.representations[1].attrs);
        assert_eq!((v["width"].as_str(), v["height"].as_str(), v["frameRate"].as_str()), ("256", "144", "25"));
        assert_eq!((v["mimeType"].as_str(), v["codecs"].as_str()), ("video/mp4", "avc1.42c00d"), "its own wins");
        assert_eq!(v["id"], "0");
        assert_eq!(a["mimeType"], "audio/mp4");
        assert!(!a.contains_key("width") && !a.contains_key("contentType"), "not from the other set: {a:?}");
    }
}
