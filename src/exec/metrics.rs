//! `run --metrics PATH`: the run document as a Prometheus textfile (for node_exporter's
//! textfile collector), written atomically. Every metric is a gauge describing the last run:
//! steps by kind and status, time spent per kind, bytes encoded, uploaded and hashed,
//! sources, the run's duration and end time. Valid for `promtool check metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::report::{RunDocument, Status};

/// Figures the run document does not carry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extra {
    /// Bytes of the encodes this run wrote (their recorded output sizes).
    pub encoded_bytes: u64,
    /// When the run ended, in seconds since the epoch.
    pub finished_unix: u64,
}

const STATUSES: [(Status, &str); 4] = [
    (Status::Executed, "executed"),
    (Status::Fresh, "fresh"),
    (Status::Failed, "failed"),
    (Status::Skipped, "skipped"),
];

/// The textfile of a run.
pub fn render(doc: &RunDocument, extra: Extra) -> String {
    let mut out = String::new();
    let mut kinds: BTreeMap<&str, ([u64; 4], u64)> = BTreeMap::new();
    let mut sources = BTreeSet::new();
    let mut failed_sources = BTreeSet::new();
    for s in doc.steps {
        let e = kinds.entry(s.kind).or_default();
        let i = STATUSES.iter().position(|(st, _)| *st == s.status).expect("every status is listed");
        e.0[i] += 1;
        e.1 += s.duration_ms;
        sources.insert(s.source.as_str());
        if s.status == Status::Failed {
            failed_sources.insert(s.source.as_str());
        }
    }
    header(&mut out, "vodbuild_steps", "Steps of the last run, by kind and status.");
    for (kind, (counts, _)) in &kinds {
        for ((_, status), n) in STATUSES.iter().zip(counts) {
            let _ = writeln!(out, "vodbuild_steps{{kind=\"{}\",status=\"{status}\"}} {n}", label(kind));
        }
    }
    header(&mut out, "vodbuild_steps_duration_seconds", "Time spent in the steps of the last run, by kind.");
    for (kind, (_, ms)) in &kinds {
        let _ = writeln!(out, "vodbuild_steps_duration_seconds{{kind=\"{}\"}} {}", label(kind), secs(*ms));
    }
    let st = &doc.stats;
    let plain: [(&str, &str, String); 10] = [
        ("vodbuild_sources", "Sources the last run worked on.", sources.len().to_string()),
        ("vodbuild_sources_failed", "Sources with a failed step in the last run.", failed_sources.len().to_string()),
        ("vodbuild_encoded_bytes", "Bytes the last run's encodes wrote.", extra.encoded_bytes.to_string()),
        ("vodbuild_uploaded_bytes", "Bytes the last run uploaded.", st.uploaded_bytes.to_string()),
        ("vodbuild_uploaded_objects", "Objects the last run uploaded.", st.uploaded_objects.to_string()),
        ("vodbuild_source_hashed_bytes", "Source bytes the last run hashed.", st.source_bytes_hashed.to_string()),
        ("vodbuild_run_duration_seconds", "Wall time of the last run.", secs(doc.duration_ms)),
        ("vodbuild_run_interrupted", "1 when the last run was interrupted.", u8::from(doc.interrupted).to_string()),
        (
            "vodbuild_run_success",
            "1 when the last run had no failed step.",
            u8::from(doc.counts.failed == 0).to_string(),
        ),
        (
            "vodbuild_last_run_timestamp_seconds",
            "When the last run ended (Unix time).",
            extra.finished_unix.to_string(),
        ),
    ];
    for (name, help, value) in plain {
        header(&mut out, name, help);
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

fn header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// A label value in the text format: backslash, double quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }
}
