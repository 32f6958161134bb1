//! The source lifecycle: `after_publish: {source: delete}` deletes a source file once every
//! output of it is published and its packages verified, in this run or an earlier one.
//!
//! After a run ([`after_run`]), a local source is deleted when every step of it was
//! selected and ended `executed` or `fresh` (or `skipped` as not applying, e.g. audio of a
//! silent source), it has a publish step per deliverable whose objects this workspace saw
//! in the backend for the recorded key, and each package has its `verify` step (required
//! by [`crate::manifest::after_publish::check`]). Nothing is deleted after an interrupted run. Where it may delete is
//! decided in [`confine`]: only a regular file that is a source of this manifest, inside
//! its glob's base folder (or exactly the `path:` named), outside the output folder and
//! the workspace, unchanged since it was hashed.
//!
//! The state keeps a [`RemovedSource`] per deleted file (its id, digest and publish
//! steps), saved before the file is removed (and taken back if the removal fails; the
//! command runs this inside the build phase with a signal [`crate::signals::Hold`], and
//! stops between sources once a signal came), so the source is not missing: a `path:` source whose file is gone loads
//! ([`check_absent`]), `plan` and `status` say "source removed after publish" and plan
//! nothing for it ([`removed_in`]), and `run --prune` leaves its published objects
//! ([`protected_steps`]). A file that comes back under the same path is a source again.

mod confine;
pub mod report;

use glob::{MatchOptions, Pattern};
use std::collections::{HashMap, HashSet};

use crate::dag::StepGraph;
use crate::error::Result;
use crate::exec::{RunReport, Status};
use crate::manifest::after_publish::deletes_sources;
use crate::manifest::{ErrCtx, Manifest};
use crate::record::RemovedSource;
use crate::state::State;
use crate::step::StepKind;

/// What `plan` and `status` say about a removed source.
pub const REMOVED: &str = "source removed after publish";

/// The `path:` sources whose file is gone must be ones vodbuild deleted after publishing.
pub fn check_absent(m: &Manifest, state: &State) -> Result<()> {
    for &i in &m.absent {
        let rel = path_rel(m, m.raw.sources[i].path.as_deref().unwrap_or_default());
        if !state.data.removed.contains_key(&rel) {
            let ctx = ErrCtx { file: &m.file, text: &m.text };
            return Err(crate::manifest::sources::missing_path_error(&m.raw, i, &m.root, &ctx));
        }
    }
    Ok(())
}

/// A `path:` as the state records it (relative to the manifest folder where possible).
fn path_rel(m: &Manifest, path: &str) -> String {
    let abs = m.root.join(path);
    abs.strip_prefix(&m.root)
        .map(|r| r.to_string_lossy().into_owned())
        .unwrap_or_else(|_| abs.to_string_lossy().into_owned())
}

/// The removed sources this manifest still names (a `path:` or a glob matching the path),
/// whose id no present source has: (path, entry), sorted by path.
pub fn removed_in<'s>(m: &Manifest, state: &'s State) -> Vec<(&'s str, &'s RemovedSource)> {
    let present: HashSet<&str> = m.sources.iter().map(|s| s.id.as_str()).collect();
    let rels: HashSet<&str> = m.sources.iter().map(|s| s.rel.as_str()).collect();
    state
        .data
        .removed
        .iter()
        .filter(|(rel, r)| !present.contains(r.id.as_str()) && !rels.contains(rel.as_str()) && named(m, rel))
        .map(|(rel, r)| (rel.as_str(), r))
        .collect()
}

/// Whether a `sources:` entry of the manifest names the file at `rel`.
fn named(m: &Manifest, rel: &str) -> bool {
    let opts =
        MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: false };
    let file = m.root.join(rel);
    m.raw.sources.iter().any(|s| match (&s.path, &s.glob) {
        (Some(p), _) => path_rel(m, p) == rel,
        (_, Some(g)) => Pattern::new(&m.root.join(g).to_string_lossy()).is_ok_and(|p| p.matches_path_with(&file, opts)),
        _ => false,
    })
}

/// Publish steps of removed sources the manifest still names: `--prune` keeps their objects.
pub fn protected_steps(m: &Manifest, state: &State) -> HashSet<String> {
    removed_in(m, state).into_iter().flat_map(|(_, r)| r.publish.iter().cloned()).collect()
}

/// After a run: deletes the sources that are published and verified (see the module docs),
/// each noted in the state and the state saved before its file is removed, and forgets removed entries whose file is a source again.
/// Returns the ids deleted.
pub fn after_run(
    m: &Manifest,
    sg: &StepGraph,
    selected: &[bool],
    report: &RunReport,
    state: &mut State,
) -> Vec<String> {
    forget_returned(m, state);
    if !deletes_sources(&m.raw) || report.interrupted {
        return Vec::new();
    }
    let status: HashMap<&str, (Status, Option<&str>)> =
        report.steps.iter().map(|s| (s.id.as_str(), (s.status, s.reason.as_deref()))).collect();
    let mut deleted = Vec::new();
    for src in &m.sources {
        if crate::signals::interrupted() {
            break;
        }
        let Some(publish) = done(sg, selected, &status, state, &src.id) else { continue };
        match confine::delete(m, src, state, publish) {
            Ok(_) => {
                tracing::info!(source = %src.id, path = %src.rel, "source deleted: published and verified");
                deleted.push(src.id.clone());
            }
            Err(why) => tracing::warn!(source = %src.id, path = %src.rel, "source not deleted: {why}"),
        }
    }
    deleted
}

/// The source's publish step ids when all of its work is done, published and verified.
fn done(
    sg: &StepGraph,
    selected: &[bool],
    status: &HashMap<&str, (Status, Option<&str>)>,
    state: &State,
    source: &str,
) -> Option<Vec<String>> {
    let mut publish = Vec::new();
    for n in sg.g.node_indices().filter(|n| sg.g[*n].source == source) {
        let step = &sg.g[n];
        let ok = match status.get(step.id.as_str()) {
            Some((Status::Executed | Status::Fresh, _)) => selected[n.index()],
            Some((Status::Skipped, Some(why))) => *why == crate::skip::NO_AUDIO,
            _ => false,
        };
        if !ok {
            return None;
        }
        if step.kind == StepKind::Publish && status[step.id.as_str()].0 != Status::Skipped {
            let rec = state.data.steps.get(&step.id)?;
            (state.data.verified.get(&step.id) == Some(&rec.key)).then_some(())?;
            publish.push(step.id.clone());
        }
    }
    (!publish.is_empty()).then_some(publish)
}

/// Removed entries whose file is a source again (copied back): it is built like any other.
fn forget_returned(m: &Manifest, state: &mut State) {
    let back: Vec<String> =
        m.sources.iter().filter(|s| state.data.removed.contains_key(&s.rel)).map(|s| s.rel.clone()).collect();
    for rel in back {
        state.data.removed.remove(&rel);
        state.mark_dirty();
    }
}
