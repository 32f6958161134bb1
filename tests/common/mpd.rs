//! A minimal MPD reader: enough XML to expand SegmentTemplate (with or
//! without SegmentTimeline) into the file names each Representation uses.

#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub text: String,
}

impl Node {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap().to_string()
}

/// Parses XML into a tree (no entities beyond the basic five, no DTDs).
pub fn parse_xml(xml: &str) -> Node {
    let mut stack = vec![Node { name: "#document".into(), ..Node::default() }];
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        if !text.trim().is_empty() {
            stack.last_mut().unwrap().text.push_str(text.trim());
        }
        rest = &rest[lt..];
        if rest.starts_with("<?") {
            rest = &rest[rest.find("?>").expect("unterminated <?") + 2..];
        } else if rest.starts_with("<!--") {
            rest = &rest[rest.find("-->").expect("unterminated comment") + 3..];
        } else if rest.starts_with("<!") {
            rest = &rest[rest.find('>').expect("unterminated <!") + 1..];
        } else if let Some(close) = rest.strip_prefix("</") {
            let gt = close.find('>').expect("unterminated end tag");
            let name = local(close[..gt].trim());
            let node = stack.pop().expect("unbalanced XML");
            assert_eq!(node.name, name, "mismatched end tag");
            stack.last_mut().expect("unbalanced XML").children.push(node);
            rest = &close[gt + 1..];
        } else {
            let gt = tag_end(rest);
            let inner = &rest[1..gt];
            let self_closing = inner.ends_with('/');
            let inner = inner.trim_end_matches('/');
            let name_end = inner.find(|c: char| c.is_whitespace()).unwrap_or(inner.len());
            let node =
                Node { name: local(&inner[..name_end]), attrs: parse_attrs(&inner[name_end..]), ..Node::default() };
            if self_closing {
                stack.last_mut().unwrap().children.push(node);
            } else {
                stack.push(node);
            }
            rest = &rest[gt + 1..];
        }
    }
    assert_eq!(stack.len(), 1, "unclosed XML elements");
    stack.pop().unwrap()
}

fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    panic!("unterminated tag");
}

fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find('=') {
        let key = local(rest[..eq].trim());
        let after = rest[eq + 1..].trim_start();
        let q = after.chars().next().expect("attribute value");
        let body = &after[1..];
        let end = body.find(q).expect("closing quote");
        let value = body[..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        out.push((key, value));
        rest = body[end + 1..].trim_start();
    }
    out
}

/// Parses an ISO 8601 duration like `PT1H2M3.5S` (days allowed) to seconds.
pub fn iso_duration(s: &str) -> f64 {
    let s = s.trim().strip_prefix('P').expect("duration starts with P");
    let (date, time) = s.split_once('T').unwrap_or((s, ""));
    let mut secs = 0.0;
    let mut num = String::new();
    for c in date.chars() {
        if c == 'D' {
            secs += num.parse::<f64>().unwrap() * 86400.0;
            num.clear();
        } else {
            num.push(c);
        }
    }
    for c in time.chars() {
        let mul = match c {
            'H' => 3600.0,
            'M' => 60.0,
            'S' => 1.0,
            _ => {
                num.push(c);
                continue;
            }
        };
        secs += num.parse::<f64>().unwrap() * mul;
        num.clear();
    }
    secs
}

#[derive(Debug)]
pub struct Representation {
    pub id: String,
    pub content_type: String,
    pub codecs: String,
    pub bandwidth: u64,
    /// Files it names (relative to the MPD's folder), init first.
    pub files: Vec<String>,
    /// Total duration of the segment timeline, in seconds.
    pub seconds: f64,
}

/// Expands `$RepresentationID$`, `$Bandwidth$`, `$Number…$`, `$Time…$`, `$$`.
pub fn expand(template: &str, rep: &str, bw: u64, number: u64, time: u64) -> String {
    let mut out = String::new();
    let mut parts = template.split('$');
    out.push_str(parts.next().unwrap());
    let mut in_ident = true;
    for part in parts {
        if in_ident {
            let (ident, fmt) = part.split_once('%').unwrap_or((part, ""));
            let value = match ident {
                "" => "$".to_string(),
                "RepresentationID" => rep.to_string(),
                "Bandwidth" => format_num(bw, fmt),
                "Number" => format_num(number, fmt),
                "Time" => format_num(time, fmt),
                other => panic!("unknown template identifier ${other}$"),
            };
            out.push_str(&value);
        } else {
            out.push_str(part);
        }
        in_ident = !in_ident;
    }
    out
}

fn format_num(n: u64, fmt: &str) -> String {
    // `%05d` style: zero-padded width.
    let width: usize = fmt.trim_start_matches('0').trim_end_matches('d').parse().unwrap_or(0);
    format!("{n:0width$}")
}

/// Every Representation with the files its SegmentTemplate names.
pub fn representations(mpd_text: &str) -> Vec<Representation> {
    let doc = parse_xml(mpd_text);
    let mpd = doc.child("MPD").expect("no <MPD> root");
    let total = mpd.attr("mediaPresentationDuration").map(iso_duration).unwrap_or(0.0);
    let mut out = Vec::new();
    for period in mpd.all("Period") {
        for set in period.all("AdaptationSet") {
            for rep in set.all("Representation") {
                out.push(expand_rep(&[mpd, period, set, rep], total));
            }
        }
    }
    out
}

fn expand_rep(chain: &[&Node], total: f64) -> Representation {
    let rep = chain[3];
    let set = chain[2];
    let id = rep.attr("id").expect("Representation@id").to_string();
    let bw: u64 = rep.attr("bandwidth").unwrap_or("0").parse().unwrap();
    let lookup = |k: &str| rep.attr(k).or_else(|| set.attr(k)).unwrap_or("");
    let content_type = if !lookup("contentType").is_empty() {
        lookup("contentType").to_string()
    } else {
        lookup("mimeType").split('/').next().unwrap().to_string()
    };
    let base: String = chain.iter().filter_map(|n| n.child("BaseURL").map(|b| b.text.clone())).collect();
    // Merge SegmentTemplate attributes, most specific last; take the most
    // specific SegmentTimeline.
    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut timeline: Option<&Node> = None;
    for n in chain {
        if let Some(t) = n.child("SegmentTemplate") {
            attrs.extend(t.attrs.iter().cloned());
            if let Some(tl) = t.child("SegmentTimeline") {
                timeline = Some(tl);
            }
        }
    }
    let get = |k: &str| attrs.iter().rev().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    let mut files = Vec::new();
    let mut seconds = 0.0;
    if let Some(media) = get("media") {
        let timescale: u64 = get("timescale").unwrap_or("1").parse().unwrap();
        let mut number: u64 = get("startNumber").unwrap_or("1").parse().unwrap();
        if let Some(init) = get("initialization") {
            files.push(format!("{base}{}", expand(init, &id, bw, number, 0)));
        }
        if let Some(tl) = timeline {
            let mut time = 0u64;
            let mut ticks = 0u64;
            for s in tl.all("S") {
                if let Some(t) = s.attr("t") {
                    time = t.parse().unwrap();
                }
                let d: u64 = s.attr("d").expect("S@d").parse().unwrap();
                let r: i64 = s.attr("r").unwrap_or("0").parse().unwrap();
                assert!(r >= 0, "open-ended S@r={r} in a VOD MPD");
                for _ in 0..=r {
                    files.push(format!("{base}{}", expand(media, &id, bw, number, time)));
                    number += 1;
                    time += d;
                    ticks += d;
                }
            }
            seconds = ticks as f64 / timescale as f64;
        } else {
            let d: f64 = get("duration").expect("SegmentTemplate@duration").parse().unwrap();
            let count = (total * timescale as f64 / d).ceil() as u64;
            for i in 0..count {
                let t = (i as f64 * d) as u64;
                files.push(format!("{base}{}", expand(media, &id, bw, number, t)));
                number += 1;
            }
            seconds = total;
        }
    } else if !base.is_empty() {
        files.push(base);
        seconds = total;
    }
    Representation { id, content_type, codecs: lookup("codecs").to_string(), bandwidth: bw, files, seconds }
}
