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

/// How many records are written out at a time (on all cores): what the save holds in memory
/// beside the records.
const CHUNK: usize = 4096;

/// Writes the snapshot: its head, then one line per step record (written out on all cores, a
/// chunk at a time), then the end.
pub fn write(s: &Snapshot, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    // Every field of the snapshot but `steps` (each added field must be named here too: the
    // round-trip tests below fill every field).
    let head =
        Head { format: s.format, sources: &s.sources, tools: &s.tools, verified: &s.verified, removed: &s.removed };
    let mut text = serde_json::to_vec(&head).expect("json");
    text.pop(); // the head's closing brace: the steps come inside it
    text.extend_from_slice(MARK);
    out.write_all(&text)?;
    let steps: Vec<(&String, &StepRecord)> = s.steps.iter().collect();
    let mut left = steps.len();
    for chunk in steps.chunks(CHUNK) {
        let lines: Vec<Vec<u8>> = chunk
            .par_iter()
            .map(|(id, rec)| {
                let mut l = serde_json::to_vec(id).expect("json");
                l.push(b':');
                serde_json::to_writer(&mut l, rec).expect("json");
                l
            })
            .collect();
        for l in &lines {
            left -= 1;
            out.write_all(l)?;
            out.write_all(if left > 0 { b",\n" } else { b"\n" })?;
        }
    }
    out.write_all(END)
}

/// The snapshot's bytes ([`write`] into memory).
#[cfg(test)]
pub fn to_bytes(s: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    write(s, &mut out).expect("a Vec takes every write");
    out
}

/// Why a snapshot could not be read.
#[derive(Debug)]
pub enum Failure {
    Io(std::io::Error),
    Json(serde_json::Error),
}

/// How much of the file is read at a time: a large state is never in memory whole beside
/// its parsed records (at 10,000 titles the file is 94 MB).
const BLOCK: usize = 8 << 20;

/// Reads a snapshot a block at a time, parsing each block's step lines on all cores.
pub fn read(r: &mut impl std::io::Read) -> std::result::Result<Snapshot, Failure> {
    read_blocks(r, BLOCK)
}

fn read_blocks(r: &mut impl std::io::Read, block: usize) -> std::result::Result<Snapshot, Failure> {
    let mut buf = Vec::new();
    let mut eof = fill(r, &mut buf, block)?;
    // The head is one line; a snapshot in another layout is read whole.
    let nl = loop {
        match memchr::memchr(b'\n', &buf) {
            Some(nl) => break nl,
            None if eof => return serde_json::from_slice(&buf).map_err(Failure::Json),
            None => eof = fill(r, &mut buf, block)?,
        }
    };
    let Some(head_end) = head_end(&buf, nl) else {
        r.read_to_end(&mut buf).map_err(Failure::Io)?;
        return serde_json::from_slice(&buf).map_err(Failure::Json);
    };
    let mut snap = head(&buf[..head_end]).map_err(Failure::Json)?;
    buf.drain(..=nl);
    let mut steps: Vec<(String, StepRecord)> = Vec::new();
    let mut ended = false;
    loop {
        let whole = if eof { buf.len() } else { memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1) };
        let mut lines = lines_of(&buf[..whole]);
        if let Some(end) = lines.iter().position(|l| *l == &END[..2]) {
            // Nothing but the end may follow the last record.
            if ended || end + 1 != lines.len() {
                return Err(Failure::Json(not_a_record(lines[end]).expect_err("not a record")));
            }
            lines.pop();
            ended = true;
        } else if ended && !lines.is_empty() {
            return Err(Failure::Json(not_a_record(lines[0]).expect_err("not a record")));
        }
        let parsed: Vec<(String, StepRecord)> =
            lines.par_iter().map(|l| record(l)).collect::<Result<_>>().map_err(Failure::Json)?;
        steps.extend(parsed);
        buf.drain(..whole);
        if eof {
            break;
        }
        eof = fill(r, &mut buf, block)?;
    }
    if !ended {
        // Cut short: the parser's own error for the missing end.
        return Err(Failure::Json(serde_json::from_slice::<Snapshot>(b"{").expect_err("unterminated")));
    }
    snap.steps = steps.into_iter().collect();
    Ok(snap)
}

/// The non-empty lines of `b` (found with `memchr`: a block is 8 MiB).
fn lines_of(b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', b).chain([b.len()]) {
        if nl > start {
            out.push(&b[start..nl]);
        }
        start = nl + 1;
    }
    out
}

/// Appends up to `block` more bytes; true at the end of the file.
fn fill(r: &mut impl std::io::Read, buf: &mut Vec<u8>, block: usize) -> std::result::Result<bool, Failure> {
    use std::io::Read;
    let n = r.by_ref().take(block as u64).read_to_end(buf).map_err(Failure::Io)?;
    Ok(n == 0)
}

/// The head's fields, with no steps yet.
fn head(head: &[u8]) -> Result<Snapshot> {
    let mut text = head.to_vec();
    text.extend_from_slice(b",\"steps\":{}}");
    serde_json::from_slice(&text)
}

/// Where the head ends, when the first line (up to the newline at `nl`) ends with the line
/// layout's mark.
fn head_end(bytes: &[u8], nl: usize) -> Option<usize> {
    (nl + 1).checked_sub(MARK.len()).filter(|&h| &bytes[h..=nl] == MARK)
}

/// A whole snapshot in memory, read as a file is.
#[cfg(test)]
fn from_bytes(bytes: &[u8]) -> Result<Snapshot> {
    match read(&mut std::io::Cursor::new(bytes)) {
        Ok(snap) => Ok(snap),
        Err(Failure::Json(e)) => Err(e),
        Err(Failure::Io(e)) => Err(serde_json::Error::io(e)),
    }
}

/// Where the head ends, when `bytes` has the line layout.
#[cfg(test)]
fn split(bytes: &[u8]) -> Option<usize> {
    head_end(bytes, bytes.iter().position(|&b| b == b'\n')?)
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
            params: crate::record::RecordedParams::of(&json!({"a": "line\nbreak \"quoted\"", "b": [1, 2]})),
            tool: ToolRef { name: "ffprobe".into(), version: "1".into(), digest: "d".into() },
            inputs: vec![],
            outputs: Default::default(),
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
    fn records_written_in_several_chunks_are_one_document() {
        let s = snapshot(2 * CHUNK + 1);
        let bytes = to_bytes(&s);
        assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 2 * CHUNK + 3, "one line per step");
        let plain: Snapshot = serde_json::from_slice(&bytes).expect("any JSON reader reads it");
        same(&plain, &s);
        same(&from_bytes(&bytes).unwrap(), &s);
    }

    #[test]
    fn lines_are_the_non_empty_ones() {
        let got = lines_of(b"a\n\nbc\nd");
        assert_eq!(got, [&b"a"[..], b"bc", b"d"]);
        assert!(lines_of(b"\n\n").is_empty());
        assert_eq!(lines_of(b"x\n"), [&b"x"[..]]);
    }

    fn read_in(bytes: &[u8], block: usize) -> std::result::Result<Snapshot, Failure> {
        read_blocks(&mut std::io::Cursor::new(bytes), block)
    }

    #[test]
    fn blocks_of_any_size_read_the_same_snapshot() {
        let s = snapshot(50);
        let bytes = to_bytes(&s);
        for block in [1, 7, 100, 1000, bytes.len(), BLOCK] {
            same(&read_in(&bytes, block).unwrap(), &s);
        }
        for other in [serde_json::to_vec(&s).unwrap(), serde_json::to_vec_pretty(&s).unwrap()] {
            same(&read_in(&other, 64).unwrap(), &s);
        }
    }

    #[test]
    fn a_cut_or_extended_snapshot_read_in_blocks_is_an_error() {
        let bytes = to_bytes(&snapshot(20));
        // Without its last newline it is whole (one JSON document still).
        same(&read_in(&bytes[..bytes.len() - 1], 64).unwrap(), &snapshot(20));
        // Cut anywhere else (at a line end too), or something after the end: never a snapshot.
        for cut in [bytes.len() - 2, bytes.len() - 3, bytes.len() / 2, bytes.len() / 3] {
            for block in [5, 64, 4096] {
                assert!(read_in(&bytes[..cut], block).is_err(), "cut at {cut}, block {block}");
            }
        }
        let line_end = bytes[..bytes.len() / 2].iter().rposition(|&b| b == b'\n').unwrap() + 1;
        assert!(read_in(&bytes[..line_end], 64).is_err());
        let mut more = bytes.clone();
        more.extend_from_slice(b"\"probe:x\":{}\n");
        assert!(read_in(&more, 64).is_err());
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
