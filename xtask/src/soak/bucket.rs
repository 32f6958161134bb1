//! The bucket invariant: every HLS playlist and DASH MPD the bucket holds names only objects
//! the bucket holds. s3s-fs stores bucket `vod` as the folder `DATA/vod`, one file per object,
//! so listing that folder is listing the bucket.

use std::collections::BTreeSet;
use std::path::Path;

use super::tree::files;

/// Every object key of the bucket stored in `dir`.
pub fn list(dir: &Path) -> BTreeSet<String> {
    files(dir).unwrap_or_default().into_iter().collect()
}

/// "playlist -> missing object" for each reference of a playlist/MPD in `dir` that the
/// bucket lacks. A playlist that cannot be read (deleted meanwhile) is skipped.
pub fn violations(dir: &Path) -> Vec<String> {
    let objects = list(dir);
    let mut out = Vec::new();
    for key in objects.iter().filter(|k| is_index(k)) {
        let Ok(text) = std::fs::read_to_string(dir.join(key)) else { continue };
        for name in named_by(key, &text) {
            if !objects.contains(&name) {
                out.push(format!("{key} -> {name}"));
            }
        }
    }
    out
}

/// Objects of a package folder (next to a playlist/MPD) that no playlist/MPD names: empty on
/// a complete build, or the parsers below miss a reference form (a self-check of the soak).
pub fn unnamed(dir: &Path) -> Vec<String> {
    let objects = list(dir);
    let mut named = BTreeSet::new();
    let mut folders = BTreeSet::new();
    for key in objects.iter().filter(|k| is_index(k)) {
        let text = std::fs::read_to_string(dir.join(key)).unwrap_or_default();
        named.extend(named_by(key, &text));
        folders.insert(parent(key).to_string());
    }
    let top = |k: &str| k.ends_with(".mpd") || k.ends_with("master.m3u8");
    objects
        .into_iter()
        .filter(|k| folders.iter().any(|f| k.starts_with(&format!("{f}/"))) && !named.contains(k) && !top(k))
        .collect()
}

fn is_index(key: &str) -> bool {
    key.ends_with(".m3u8") || key.ends_with(".mpd")
}

fn parent(key: &str) -> &str {
    key.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// The object keys a playlist or MPD stored at `key` refers to.
pub fn named_by(key: &str, text: &str) -> Vec<String> {
    let rel = if key.ends_with(".mpd") { mpd_names(text) } else { hls_names(text) };
    rel.iter().filter_map(|r| resolve(parent(key), r)).collect()
}

/// `dir/rel` with `.` and `..` folded; None for absolute URLs or a climb above the root.
fn resolve(dir: &str, rel: &str) -> Option<String> {
    if rel.contains("://") || rel.starts_with('/') {
        return None;
    }
    let rel = rel.split(['?', '#']).next().unwrap_or(rel);
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// URI lines and `URI="..."` attributes (EXT-X-MAP, EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF).
fn hls_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('#') {
            out.push(line.to_string());
        } else if let Some(v) = attr(line, "URI") {
            out.push(v);
        }
    }
    out
}

/// The value of `name="..."` in a tag or XML element.
fn attr(s: &str, name: &str) -> Option<String> {
    let pat = format!("{name}=\"");
    let mut from = 0;
    while let Some(i) = s[from..].find(&pat) {
        let at = from + i;
        let boundary = at == 0 || !s.as_bytes()[at - 1].is_ascii_alphanumeric();
        let start = at + pat.len();
        let end = start + s[start..].find('"')?;
        if boundary {
            return Some(s[start..end].to_string());
        }
        from = end;
    }
    None
}

/// A SegmentTemplate: its attributes and the segment start times of its timeline.
#[derive(Clone, Default)]
struct Template {
    init: Option<String>,
    media: Option<String>,
    start_number: u64,
    times: Vec<u64>,
}

/// Segment names of an MPD: SegmentTemplate with a SegmentTimeline (what vodbuild writes),
/// SegmentList/SegmentURL, Initialization sourceURL. A template without a timeline names its
/// init segment only: the reference build's self-check (`unnamed`) would catch that.
fn mpd_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut set_tpl, mut rep_tpl): (Option<Template>, Option<Template>) = (None, None);
    let mut rep: Option<(String, String)> = None;
    let mut t_next = 0u64;
    for tag in text.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
        let closing = tag.starts_with('/');
        let self_closing = tag.ends_with('/');
        match (name, closing) {
            ("AdaptationSet", false) => set_tpl = None,
            ("Representation", false) => {
                rep = Some((attr(tag, "id").unwrap_or_default(), attr(tag, "bandwidth").unwrap_or_default()));
                rep_tpl = None;
                if self_closing {
                    emit(&rep, rep_tpl.as_ref().or(set_tpl.as_ref()), &mut out);
                }
            }
            ("", true) if tag == "/Representation" => {
                emit(&rep, rep_tpl.as_ref().or(set_tpl.as_ref()), &mut out);
                rep = None;
            }
            ("SegmentTemplate", false) => {
                let t = Template {
                    init: attr(tag, "initialization"),
                    media: attr(tag, "media"),
                    start_number: attr(tag, "startNumber").and_then(|s| s.parse().ok()).unwrap_or(1),
                    times: Vec::new(),
                };
                if rep.is_some() { rep_tpl = Some(t) } else { set_tpl = Some(t) }
            }
            ("S", false) => {
                let t0 = attr(tag, "t").and_then(|s| s.parse().ok()).unwrap_or(t_next);
                let d: u64 = attr(tag, "d").and_then(|s| s.parse().ok()).unwrap_or(0);
                let r: u64 = attr(tag, "r").and_then(|s| s.parse().ok()).unwrap_or(0).min(100_000);
                let tpl = if rep.is_some() { rep_tpl.as_mut() } else { set_tpl.as_mut() };
                if let Some(tpl) = tpl {
                    for i in 0..=r {
                        tpl.times.push(t0 + i * d);
                    }
                }
                t_next = t0 + (r + 1) * d;
            }
            ("SegmentURL", false) => out.extend(attr(tag, "media")),
            ("Initialization", false) => out.extend(attr(tag, "sourceURL")),
            _ => {}
        }
    }
    out
}

fn emit(rep: &Option<(String, String)>, tpl: Option<&Template>, out: &mut Vec<String>) {
    let (Some((id, bw)), Some(t)) = (rep, tpl) else { return };
    let fill = |s: &str, number: u64, time: u64| expand(s, id, bw, number, time);
    if let Some(init) = &t.init {
        out.push(fill(init, 0, 0));
    }
    let Some(media) = &t.media else { return };
    for (i, time) in t.times.iter().enumerate() {
        out.push(fill(media, t.start_number + i as u64, *time));
    }
}

/// Expands $RepresentationID$, $Bandwidth$, $Number$, $Time$ (with `%0Nd` widths) and `$$`.
fn expand(s: &str, id: &str, bw: &str, number: u64, time: u64) -> String {
    let mut out = String::new();
    let mut parts = s.split('$');
    out.push_str(parts.next().unwrap_or(""));
    let mut ident = true;
    for p in parts {
        if ident {
            let (name, fmt) = p.split_once('%').unwrap_or((p, ""));
            let width: usize = fmt.trim_start_matches('0').trim_end_matches('d').parse().unwrap_or(0);
            match name {
                "" => out.push('$'),
                "RepresentationID" => out.push_str(id),
                "Bandwidth" => out.push_str(&format!("{bw:0>width$}")),
                "Number" => out.push_str(&format!("{number:0width$}")),
                "Time" => out.push_str(&format!("{time:0width$}")),
                other => out.push_str(other),
            }
        } else {
            out.push_str(p);
        }
        ident = !ident;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MPD: &str = r#"<?xml version="1.0"?>
<MPD mediaPresentationDuration="PT4.0S">
 <Period><AdaptationSet contentType="video">
  <Representation id="0" bandwidth="300000">
   <SegmentTemplate timescale="1000" initialization="init-$RepresentationID$.m4s" media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
    <SegmentTimeline><S t="0" d="2000" r="1" /></SegmentTimeline>
   </SegmentTemplate>
  </Representation>
  <Representation id="1" bandwidth="100000">
   <SegmentTemplate timescale="1000" initialization="init-$RepresentationID$.m4s" media="t-$Time$.m4s">
    <SegmentTimeline><S t="0" d="2000" /><S d="1500" /></SegmentTimeline>
   </SegmentTemplate>
  </Representation>
 </AdaptationSet>
 <AdaptationSet contentType="audio">
  <SegmentTemplate initialization="a-init.mp4" media="a-$Bandwidth$-$Number$.m4s">
   <SegmentTimeline><S t="0" d="2" r="1" /></SegmentTimeline></SegmentTemplate>
  <Representation id="a" bandwidth="64000"/>
 </AdaptationSet></Period></MPD>"#;

    #[test]
    fn mpd_templates_expand_to_every_segment() {
        let names = named_by("t/dash/manifest.mpd", MPD);
        let want = [
            "init-0.m4s",
            "chunk-0-00001.m4s",
            "chunk-0-00002.m4s",
            "init-1.m4s",
            "t-0.m4s",
            "t-2000.m4s",
            "a-init.mp4",
            "a-64000-1.m4s",
            "a-64000-2.m4s",
        ];
        assert_eq!(names, want.iter().map(|n| format!("t/dash/{n}")).collect::<Vec<_>>());
    }

    #[test]
    fn hls_uris_and_uri_attributes_resolve_against_the_playlist() {
        let text = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2,\nseg_0.m4s\n\n\
                    #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"../aac/index.m3u8\"\nhttp://cdn/x.m4s\n";
        assert_eq!(
            named_by("t/hls/v0/index.m3u8", text),
            ["t/hls/v0/init.mp4", "t/hls/v0/seg_0.m4s", "t/hls/aac/index.m3u8"]
        );
        assert_eq!(resolve("a", "../../x"), None);
    }

    #[test]
    fn a_playlist_naming_a_missing_object_is_a_violation() {
        let dir = std::env::temp_dir().join(format!("xtask-soak-bucket-{}", std::process::id()));
        let hls = dir.join("t/hls");
        std::fs::create_dir_all(&hls).unwrap();
        std::fs::write(hls.join("master.m3u8"), "#EXTM3U\nseg_0.m4s\nseg_1.m4s\n").unwrap();
        std::fs::write(hls.join("seg_0.m4s"), "x").unwrap();
        std::fs::write(hls.join("stray.m4s"), "x").unwrap();
        let v = violations(&dir);
        let unnamed = unnamed(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(v, ["t/hls/master.m3u8 -> t/hls/seg_1.m4s"]);
        assert_eq!(unnamed, ["t/hls/stray.m4s"]);
    }
}
