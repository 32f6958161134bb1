//! The Markdown a run appends to `$GITHUB_STEP_SUMMARY` (GitHub Actions' job summary): the
//! counts, the failed steps with the first line of their error, and the slowest steps.

use std::fmt::Write;

use super::report::{RunDocument, Status, StepReport};

/// At most this many rows per table (a catalog can fail thousands of steps).
const ROWS_MAX: usize = 50;
const SLOWEST: usize = 10;

pub fn render(doc: &RunDocument) -> String {
    let c = doc.counts;
    let mut out = String::new();
    let outcome = if doc.interrupted {
        "interrupted"
    } else if c.failed > 0 {
        "failed"
    } else {
        "succeeded"
    };
    let _ = writeln!(out, "### vodbuild run {outcome} in {:.1}s\n", doc.duration_ms as f64 / 1000.0);
    let _ = writeln!(out, "| executed | fresh | failed | skipped |\n|---:|---:|---:|---:|");
    let _ = writeln!(out, "| {} | {} | {} | {} |\n", c.executed, c.fresh, c.failed, c.skipped);
    let failed: Vec<&StepReport> = doc.steps.iter().filter(|s| s.status == Status::Failed).collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "#### Failed steps\n\n| step | source | error |\n|---|---|---|");
        for s in failed.iter().take(ROWS_MAX) {
            let error = s.error.as_deref().unwrap_or("").lines().next().unwrap_or("");
            let _ = writeln!(out, "| `{}` | {} | {} |", cell(&s.id), cell(&s.source), cell(error));
        }
        if failed.len() > ROWS_MAX {
            let _ = writeln!(out, "\n…and {} more", failed.len() - ROWS_MAX);
        }
        out.push('\n');
    }
    let mut ran: Vec<&StepReport> = doc.steps.iter().filter(|s| s.status == Status::Executed).collect();
    ran.sort_by(|a, b| b.duration_ms.cmp(&a.duration_ms).then(a.id.cmp(&b.id)));
    if !ran.is_empty() {
        let _ = writeln!(out, "#### Slowest steps\n\n| step | seconds |\n|---|---:|");
        for s in ran.iter().take(SLOWEST) {
            let _ = writeln!(out, "| `{}` | {:.1} |", cell(&s.id), s.duration_ms as f64 / 1000.0);
        }
        out.push('\n');
    }
    out
}

/// A table cell: no line breaks, pipes escaped, bounded.
fn cell(text: &str) -> String {
    let one: String = text.chars().take(200).map(|c| if c.is_control() { ' ' } else { c }).collect();
    one.replace('|', r"\|").replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_on_one_line_and_pipes_are_escaped() {
        assert_eq!(cell("a|b\nc`d"), r"a\|b c'd");
    }
}
