//! The bytes of `state.json`: one JSON document (the [`Snapshot`] schema, readable by any
//! JSON reader and by earlier vodbuild versions), laid out with one step record per line:
//!
//! ```text
//! {"format":1,"sources":{..},"tools":{..},"verified":{..},"steps":{
//! "probe:a":{..},
//! "encode:a:720p":{..}
//! }}
//! ```
//!
//! A JSON string never holds a raw newline, so the first newline ends the head and each
//! following line is one record: loading parses the records on all cores, which is most of
//! the cost of a no-op run over a large catalog. A snapshot in any other layout (one line,
//! as earlier versions wrote it, or edited by hand) is parsed as a whole, as before.

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Deserializer, Result, StreamDeserializer, de::SliceRead};

use super::Snapshot;
use crate::record::StepRecord;

/// What ends the head: the steps object opens, then a newline.
const MARK: &[u8] = b",\"steps\":{\n";
const END: &[u8] = b"}}\n";

#[derive(Serialize)]
struct Head<'a> {
    format: u32,
    sources: &'a std::collections::BTreeMap<String, crate::record::SourceEntry>,
    tools: &'a crate::tools::ToolCache,
    verified: &'a std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    removed: &'a std::collections::BTreeMap<String, crate::record::RemovedSource>,
}

pub fn to_bytes(s: &Snapshot) -> Vec<u8> {
    // Every field of the snapshot but `steps` (each added field must be named here too: the
    // round-trip tests below fill every field).
    let head =
        Head { format: s.format, sources: &s.sources, tools: &s.tools, verified: &s.verified, removed: &s.removed };
    let mut out = serde_json::to_vec(&head).expect("json");
    out.pop(); // the head's closing brace: the steps come inside it
    out.extend_from_slice(MARK);
    let steps: Vec<(&String, &StepRecord)> = s.steps.iter().collect();
    let lines: Vec<Vec<u8>> = steps
        .par_iter()
        .map(|(id, rec)| {
            let mut l = serde_json::to_vec(id).expect("json");
            l.push(b':');
            serde_json::to_writer(&mut l, rec).expect("json");
            l
        })
        .collect();
    for (i, l) in lines.iter().enumerate() {
        out.extend_from_slice(l);
        if i + 1 < lines.len() {
            out.push(b',');
        }
        out.push(b'\n');
    }
    out.extend_from_slice(END);
    out
}

pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot> {
    match split(bytes) {
        Some((head, body)) => by_lines(head, body),
        None => serde_json::from_slice(bytes),
    }
}

/// The head (up to the steps) and the step lines, when `bytes` has the line layout.
fn split(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let nl = bytes.iter().position(|&b| b == b'\n')?;
    let head_end = (nl + 1).checked_sub(MARK.len())?;
    if &bytes[head_end..=nl] != MARK {
        return None;
    }
    let body = bytes[nl + 1..].strip_suffix(END).or_else(|| bytes[nl + 1..].strip_suffix(&END[..2]))?;
    Some((&bytes[..head_end], body))
}

fn by_lines(head: &[u8], body: &[u8]) -> Result<Snapshot> {
    let mut text = head.to_vec();
    text.extend_from_slice(b",\"steps\":{}}");
    let mut snap: Snapshot = serde_json::from_slice(&text)?;
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let steps: Vec<(String, StepRecord)> = lines.par_iter().map(|l| record(l)).collect::<Result<_>>()?;
    snap.steps = steps.into_iter().collect();
    Ok(snap)
}

/// One `"id":{record}` line, with or without its trailing comma.
fn record(line: &[u8]) -> Result<(String, StepRecord)> {
    let line = line.strip_suffix(b",").unwrap_or(line);
    let mut ids: StreamDeserializer<SliceRead, String> = Deserializer::from_slice(line).into_iter();
    let Some(id) = ids.next() else { return not_a_record(line) };
    let id = id?;
    match line[ids.byte_offset()..].strip_prefix(b":") {
        Some(rec) => Ok((id, serde_json::from_slice(rec)?)),
        None => not_a_record(line),
    }
}

/// The parser's own error for a line that is not `"id":{record}`.
fn not_a_record(line: &[u8]) -> Result<(String, StepRecord)> {
    serde_json::from_slice::<(String, StepRecord)>(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{SourceEntry, ToolRef};
    use crate::step::StepKind;
    use serde_json::json;

    fn rec(key: &str) -> StepRecord {
        StepRecord {
            key: key.into(),
            kind: StepKind::Probe,
            recipe: 1,
            params: json!({"a": "line\nbreak \"quoted\"", "b": [1, 2]}),
            tool: ToolRef { name: "ffprobe".into(), version: "1".into(), digest: "d".into() },
            inputs: vec![],
            outputs: vec![],
            finished_unix: 7,
        }
    }

    fn snapshot(n: usize) -> Snapshot {
        let mut s = Snapshot { format: 1, ..Default::default() };
        for i in 0..n {
            s.steps.insert(format!("probe:media/\"t{i}\"\n"), rec(&format!("k{i}")));
        }
        let stat = crate::hash::FileStat::default();
        s.sources.insert("a,\"steps\":{\n.mp4".into(), SourceEntry { stat, digest: "x".into(), identity: None });
        s.verified.insert("publish:a".into(), "k".into());
        let gone = crate::record::RemovedSource {
            id: "media/b".into(),
            digest: "d".into(),
            publish: vec!["publish_hls:media/b".into()],
            removed_unix: 9,
        };
        s.removed.insert("media/b.mp4".into(), gone);
        s
    }

    fn same(a: &Snapshot, b: &Snapshot) {
        assert_eq!(serde_json::to_value(a).unwrap(), serde_json::to_value(b).unwrap());
    }

    #[test]
    fn the_line_layout_is_one_json_document_and_reads_back() {
        for n in [0, 1, 3, 50] {
            let s = snapshot(n);
            let bytes = to_bytes(&s);
            assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), n + 2, "one line per step");
            let plain: Snapshot = serde_json::from_slice(&bytes).expect("any JSON reader reads it");
            same(&plain, &s);
            same(&from_bytes(&bytes).unwrap(), &s);
            assert!(split(&bytes).is_some());
        }
    }

    #[test]
    fn earlier_and_hand_edited_snapshots_are_read_whole() {
        let s = snapshot(5);
        let compact = serde_json::to_vec(&s).unwrap();
        assert!(split(&compact).is_none());
        same(&from_bytes(&compact).unwrap(), &s);
        let pretty = serde_json::to_vec_pretty(&s).unwrap();
        same(&from_bytes(&pretty).unwrap(), &s);
    }

    #[test]
    fn a_damaged_line_is_an_error() {
        let bytes = to_bytes(&snapshot(3));
        let text = String::from_utf8(bytes).unwrap().replacen("\"key\":\"k1\"", "\"key\":", 1);
        assert!(from_bytes(text.as_bytes()).is_err());
        let cut = &text.as_bytes()[..text.len() - 10];
        assert!(from_bytes(cut).is_err());
    }
}
