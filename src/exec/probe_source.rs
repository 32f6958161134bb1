//! The probe step's work: ffprobe's stream facts, then a packet read that measures how much
//! media the file really holds ([`crate::media::integrity`]).

use std::path::Path;

use super::cancel::Cancel;
use super::runner;
use crate::manifest::model::SourceChecks;
use crate::media::{integrity, probe};

fn who(id: &str, source: &Path) -> String {
    format!("`{id}` ({})", source.display())
}

/// ffprobe's format and streams only (headers: cheap). What `plan` needs to fit the ladder.
pub fn stream_facts(cancel: &Cancel, ffprobe: &Path, source: &Path, id: &str) -> Result<probe::ProbeFile, String> {
    let who = who(id, source);
    let args: Vec<String> = ["-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
        .iter()
        .map(|s| s.to_string())
        .chain([source.to_string_lossy().into_owned()])
        .collect();
    let stdout =
        runner::run(cancel, ffprobe, &args, |_| {}).map_err(|e| format!("source {who} is not readable media: {e}"))?;
    probe::parse(&stdout).map_err(|e| format!("source {who}: {e}"))
}

/// The probe step: stream facts, then the packet read that checks the source is whole.
pub fn probe_source(
    cancel: &Cancel,
    ffprobe: &Path,
    source: &Path,
    id: &str,
    checks: SourceChecks,
) -> Result<probe::ProbeFile, String> {
    let mut parsed = stream_facts(cancel, ffprobe, source, id)?;
    let who = who(id, source);
    let packets = runner::run(cancel, ffprobe, &integrity::packet_args(source), |_| {})
        .map_err(|e| format!("source {who}: reading its packets: {e}"))?;
    integrity::check(&mut parsed.info, integrity::measured_duration(&packets), checks, &who)?;
    for w in &parsed.info.warnings {
        tracing::warn!("{w}");
    }
    Ok(parsed)
}
