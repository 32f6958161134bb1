//! The reports `run` writes for CI beside its JSON: `--junit PATH` (JUnit XML),
//! `--metrics PATH` (a Prometheus textfile) and, when `GITHUB_STEP_SUMMARY` names a file, a
//! Markdown summary appended to it. All are made from the typed run document.

use std::io::Write;
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::exec::report::{RunDocument, Status};
use crate::exec::{junit, metrics, step_summary};
use crate::state::State;

pub fn write(a: &super::RunArgs, doc: &RunDocument, state: &State) -> Result<()> {
    if let Some(p) = &a.junit {
        atomic(p, &junit::render(doc))?;
    }
    if let Some(p) = &a.metrics {
        let extra = metrics::Extra { encoded_bytes: encoded_bytes(doc, state), finished_unix: now_unix() };
        atomic(p, &metrics::render(doc, extra))?;
    }
    if let Some(p) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        append(Path::new(&p), &step_summary::render(doc))?;
    }
    Ok(())
}

/// The recorded output sizes of the encodes this run executed.
fn encoded_bytes(doc: &RunDocument, state: &State) -> u64 {
    doc.steps
        .iter()
        .filter(|s| s.status == Status::Executed && s.kind == crate::step::StepKind::Encode.as_str())
        .filter_map(|s| state.data.steps.get(&s.id))
        .flat_map(|r| r.outputs.iter().map(|o| o.size))
        .sum()
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Whole or not at all (a scraper never reads half).
fn atomic(path: &Path, text: &str) -> Result<()> {
    crate::atomic::write_io(path, text.as_bytes()).ctx(|| format!("writing {}", path.display()))
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ctx(|| format!("opening {}", path.display()))?;
    f.write_all(text.as_bytes()).ctx(|| format!("appending to {}", path.display()))
}
