//! Freshness: is a step's recorded work still valid, and if not, the first reason why.
//! Shared by `plan` (upstream steps that would run are "pending") and `run` (evaluated when
//! the dependencies are done, with their real output digests: early cutoff).
//! Nothing here downloads or writes; the source digests come from [`crate::digests`].

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use petgraph::graph::NodeIndex;
use serde_json::Value;

use crate::dag::StepGraph;
use crate::hash::{FileStat, hash_file};
use crate::key::{Input, builtin_tool_digest, step_key};
use crate::layout::output_path;
use crate::manifest::Manifest;
use crate::state::{OutputFile, State, ToolRef};
use crate::step::{OutputLoc, Step, ToolUse};
use crate::storage::{self, index::RemoteIndex};
use crate::tools::Toolset;
use std::sync::{Mutex, OnceLock};

mod ahead;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    New,
    Forced,
    ParamsChanged(String),
    ToolChanged {
        name: String,
        from: String,
        to: String,
    },
    RecipeChanged {
        kind: String,
        from: u32,
        to: u32,
    },
    SourceChanged,
    UpstreamChanged(String),
    OutputMissing(String),
    OutputModified(String),
    /// A recorded output that cannot be what its step promises (an empty file).
    OutputInvalid(String),
    RemoteUnavailable(String),
    /// `--prune` and the published folder holds an object the package no longer has.
    Prune(String),
    /// Not stale: the step does not apply to its source and will not run (see [`crate::skip`]).
    Skipped(&'static str),
}

impl Reason {
    /// A step that will not run (not stale: nothing to do).
    pub fn is_skip(&self) -> bool {
        matches!(self, Reason::Skipped(_))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::New => write!(f, "new"),
            Reason::Forced => write!(f, "forced"),
            Reason::ParamsChanged(d) => write!(f, "params changed: {d}"),
            Reason::ToolChanged { name, from, to } => write!(f, "tool changed: {name} {from} -> {to}"),
            Reason::RecipeChanged { kind, from, to } => write!(f, "recipe changed: vodbuild's {kind} v{from} -> v{to}"),
            Reason::SourceChanged => write!(f, "source changed"),
            Reason::UpstreamChanged(s) => write!(f, "upstream changed: {s}"),
            Reason::OutputMissing(p) => write!(f, "output missing: {p}"),
            Reason::OutputModified(p) => write!(f, "output modified: {p}"),
            Reason::OutputInvalid(p) => write!(f, "output invalid: {p}"),
            Reason::RemoteUnavailable(e) => write!(f, "remote unavailable: {e}"),
            Reason::Prune(p) => write!(f, "prune: {p} is no longer produced"),
            Reason::Skipped(why) => write!(f, "skipped: {why}"),
        }
    }
}

/// What a dependency contributes when a step is evaluated.
pub enum Upstream<'a> {
    /// It will run (plan) — its outputs are not known yet.
    Pending,
    Done(&'a [OutputFile]),
}

pub struct Evaluation {
    pub stale: Option<Reason>,
    /// Known when no dependency is pending.
    pub key: Option<String>,
    pub inputs: Vec<Input>,
    /// Outputs whose stat changed but whose content did not (refresh the stat cache).
    pub restat: Vec<(String, FileStat)>,
    /// Fresh by its record, but an intermediate output is missing: rebuild only if needed.
    pub absent: Option<Reason>,
    /// A publish step whose objects were just found in the backend.
    pub remote_seen: bool,
}

pub struct Context<'a> {
    pub m: &'a Manifest,
    pub sg: &'a StepGraph,
    pub tools: &'a Toolset,
    /// source id → content digest
    pub sources: HashMap<String, String>,
    /// What the backends hold (listed on first use).
    pub index: Mutex<RemoteIndex>,
    /// `run --prune`: published folders holding objects no longer produced are stale.
    pub prune: bool,
    /// `--check-remote`: list the backend even for publish steps this workspace verified.
    pub check_remote: bool,
    /// Output checks and evaluations done ahead on all cores ([`Context::check_outputs_ahead`]),
    /// by node; each is used once, by the step's first evaluation.
    pub ahead: OnceLock<Vec<Mutex<ahead::Ahead>>>,
    /// The JSON text of params that steps share (one value per profile or package shape),
    /// by address: the graph outlives this context, so an address names one value.
    pub params_text: Mutex<HashMap<usize, std::sync::Arc<str>>>,
}

/// What [`check_outputs`] found: the reason a step's local outputs are not as recorded,
/// and the outputs whose stat changed but not their content.
type Checked = (Option<Reason>, Vec<(String, FileStat)>);

impl<'a> Context<'a> {
    /// A context with an empty remote index, no pruning and no forced remote checks.
    pub fn new(m: &'a Manifest, sg: &'a StepGraph, tools: &'a Toolset, sources: HashMap<String, String>) -> Self {
        Context {
            m,
            sg,
            tools,
            sources,
            index: Mutex::default(),
            prune: false,
            check_remote: false,
            ahead: OnceLock::new(),
            params_text: Mutex::default(),
        }
    }

    pub fn tool_ref(&self, step: &Step) -> ToolRef {
        match step.tool {
            ToolUse::Ffmpeg => tool_ref(&self.tools.ffmpeg),
            ToolUse::Ffprobe => tool_ref(&self.tools.ffprobe),
            ToolUse::Packager => match &self.tools.packager {
                Some(t) => tool_ref(t),
                None => ToolRef { name: "packager".into(), version: "missing".into(), digest: String::new() },
            },
            ToolUse::Builtin => ToolRef {
                name: "vodbuild".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                digest: builtin_tool_digest(),
            },
            ToolUse::Command => match self.tools.commands.get(crate::kinds::command::name(step)) {
                Some(t) => tool_ref(t),
                None => ToolRef { name: "command".into(), version: "missing".into(), digest: String::new() },
            },
        }
    }

    pub fn evaluate<'u>(
        &self,
        state: &State,
        n: NodeIndex,
        upstream: impl Fn(NodeIndex) -> Upstream<'u>,
    ) -> Evaluation {
        self.evaluate_checked(state, n, upstream, || self.checked_ahead(n))
    }

    /// [`Context::evaluate`], the step's local outputs checked by `checked` when it has
    /// the answer.
    fn evaluate_checked<'u>(
        &self,
        state: &State,
        n: NodeIndex,
        upstream: impl Fn(NodeIndex) -> Upstream<'u>,
        checked: impl FnOnce() -> Option<Checked>,
    ) -> Evaluation {
        let step = &self.sg.g[n];
        let tool = self.tool_ref(step);
        let mut inputs = Vec::new();
        // The step each input comes from, to name it in reasons.
        let mut origin: Vec<&str> = Vec::new();
        let mut pending = None;
        if step.reads_source {
            inputs.push(Input {
                name: "source".into(),
                digest: self.sources.get(&step.source).cloned().unwrap_or_default(),
            });
            origin.push("source");
        }
        if let Some((key, name)) = crate::audio::files::input_of(step) {
            inputs.push(Input { name, digest: self.sources.get(&key).cloned().unwrap_or_default() });
            origin.push("audio file");
        }
        for d in self.sg.deps(n) {
            let dep = &self.sg.g[d];
            match upstream(d) {
                Upstream::Pending => {
                    pending.get_or_insert_with(|| dep.id.clone());
                }
                Upstream::Done(outs) => {
                    let label = match dep.subject.name() {
                        Some(p) => format!("{}:{p}", dep.kind.as_str()),
                        None => dep.kind.as_str().to_string(),
                    };
                    for o in outs {
                        inputs.push(Input { name: format!("{label}/{}", o.path), digest: o.digest.clone() });
                        origin.push(&dep.id);
                    }
                }
            }
        }
        let recipe = crate::kinds::recipe(step.kind);
        let rec = state.data.steps.get(&step.id);
        // Compared once each (a params value is a whole JSON object).
        let same_params = rec.is_some_and(|r| self.same_params(&r.params, &step.params));
        let same_inputs = rec.is_some_and(|r| r.inputs == inputs);
        // A key is a function of kind, recipe, params, tool and inputs: when all of them are
        // the record's, so is the key (no hashing on a no-op run).
        let recorded = rec.filter(|r| {
            r.kind == step.kind && r.recipe == recipe && r.tool.digest == tool.digest && same_inputs && same_params
        });
        let key = match (pending.is_none(), recorded) {
            (false, _) => None,
            (true, Some(r)) => Some(r.key.clone()),
            (true, None) => Some(step_key(step.kind, recipe, &step.params, &tool.digest, &inputs)),
        };
        let mut ev = Evaluation { stale: None, key, inputs, restat: Vec::new(), absent: None, remote_seen: false };
        let Some(rec) = rec else {
            ev.stale = Some(Reason::New);
            return ev;
        };
        let reason = if rec.kind != step.kind {
            Some(Reason::New)
        } else if !same_params {
            Some(Reason::ParamsChanged(describe_params_change(step, &rec.params.value(), &step.params)))
        } else if rec.tool.digest != tool.digest {
            Some(Reason::ToolChanged {
                name: tool.name.clone(),
                from: rec.tool.version.clone(),
                to: tool.version.clone(),
            })
        } else if rec.recipe != crate::kinds::recipe(step.kind) {
            let (from, to) = (rec.recipe, crate::kinds::recipe(step.kind));
            Some(Reason::RecipeChanged { kind: step.kind.as_str().into(), from, to })
        } else if step.reads_source && rec.inputs.first() != ev.inputs.first() {
            Some(Reason::SourceChanged)
        } else if let Some(p) = pending {
            Some(Reason::UpstreamChanged(p))
        } else if !same_inputs || ev.key.as_deref() != Some(rec.key.as_str()) {
            let changed = ev.inputs.iter().position(|i| !rec.inputs.contains(i)).map(|i| origin[i].to_string());
            Some(Reason::UpstreamChanged(changed.unwrap_or_else(|| "an input was removed".into())))
        } else {
            match &step.output {
                // What this workspace uploaded or already saw there is trusted, unless asked.
                OutputLoc::Remote { .. }
                    if !self.check_remote && !self.prune && state.data.verified.get(&step.id) == Some(&rec.key) =>
                {
                    None
                }
                OutputLoc::Remote { .. } => {
                    let r = check_remote(self, &step.output, &rec.outputs);
                    ev.remote_seen = r.is_none();
                    r
                }
                local => match checked() {
                    Some((reason, restat)) => {
                        ev.restat = restat;
                        reason
                    }
                    None => check_outputs(&self.m.root, local, &rec.outputs, &mut ev.restat),
                },
            }
        };
        match reason {
            Some(r @ Reason::OutputMissing(_)) if step.intermediate => ev.absent = Some(r),
            r => ev.stale = r,
        }
        ev
    }
}

impl Context<'_> {
    /// Whether a record's params are a step's: shared params are written out once, not once
    /// per step (a catalog's no-op compares 60,000 of them).
    fn same_params(&self, rec: &crate::record::RecordedParams, params: &std::sync::Arc<Value>) -> bool {
        if std::sync::Arc::strong_count(params) < 2 {
            return rec.matches(params);
        }
        let key = std::sync::Arc::as_ptr(params) as usize;
        let text = self
            .params_text
            .lock()
            .expect("params text")
            .entry(key)
            .or_insert_with(|| params.to_string().into())
            .clone();
        rec.is_text(&text) || rec.value() == **params
    }
}

pub fn tool_ref(t: &crate::tools::Tool) -> ToolRef {
    ToolRef { name: t.name.clone(), version: t.version.clone(), digest: t.digest.clone() }
}

/// Every recorded output must exist with its recorded digest; the stat cache saves the read.
/// An empty output is never fresh: no step promises a 0-byte file (see [`crate::exec::check`]).
fn check_outputs(
    root: &Path,
    loc: &OutputLoc,
    outputs: &[OutputFile],
    restat: &mut Vec<(String, FileStat)>,
) -> Option<Reason> {
    // A folder's files are stat'ed relative to it (see crate::statat); a missing folder
    // falls back to the full path, which then fails the same way.
    let folder = match loc {
        OutputLoc::Dir(d) => crate::statat::Folder::open(d).ok(),
        _ => None,
    };
    for o in outputs {
        let path = || output_path(loc, &o.path);
        let shown = || {
            let path = path();
            path.strip_prefix(root).unwrap_or(&path).display().to_string()
        };
        if o.size == 0 {
            return Some(Reason::OutputInvalid(format!("{} is empty (0 bytes)", shown())));
        }
        let stat = match &folder {
            Some(f) => f.stat(&o.path),
            None => FileStat::of(&path()),
        };
        let Ok(stat) = stat else {
            return Some(Reason::OutputMissing(shown()));
        };
        if stat == o.stat {
            continue;
        }
        match hash_file(&path(), stat.size) {
            Ok(d) if d == o.digest => restat.push((o.path.clone(), stat)),
            _ => return Some(Reason::OutputModified(shown())),
        }
    }
    None
}

/// Published outputs must still be in the backend with their recorded sizes.
fn check_remote(ctx: &Context, loc: &OutputLoc, outputs: &[OutputFile]) -> Option<Reason> {
    let OutputLoc::Remote { backend, remote, owns_folder } = loc else { return None };
    let b = ctx.m.backend(backend);
    let root = ctx.m.raw.publish.as_ref().map(|p| listing_root(&p.prefix)).unwrap_or_default();
    let mut index = ctx.index.lock().unwrap_or_else(|e| e.into_inner());
    for o in outputs {
        let path = storage::join(remote, &o.path);
        match index.size(&b, &root, &path) {
            Err(e) => return Some(Reason::RemoteUnavailable(e)),
            Ok(None) => return Some(Reason::OutputMissing(format!("{backend}:{path}"))),
            Ok(Some(size)) if size != o.size => return Some(Reason::OutputModified(format!("{backend}:{path}"))),
            Ok(Some(_)) => {}
        }
    }
    if ctx.prune && *owns_folder {
        let known = outputs.iter().map(|o| o.path.as_str()).collect();
        match index.extra(&b, &root, remote, &known) {
            Err(e) => return Some(Reason::RemoteUnavailable(e)),
            Ok(Some(path)) => return Some(Reason::Prune(format!("{backend}:{path}"))),
            Ok(None) => {}
        }
    }
    None
}

/// The fixed folder a publish prefix starts with (listed once for the whole run).
pub fn listing_root(prefix: &str) -> String {
    let fixed = prefix.split("{source}").next().unwrap_or("");
    match fixed.rfind('/') {
        Some(i) => fixed[..=i].to_string(),
        None => String::new(),
    }
}

fn describe_params_change(step: &Step, old: &Value, new: &Value) -> String {
    let what = crate::kinds::setting(step);
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return what;
    };
    let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
    keys.sort();
    keys.dedup();
    let changed: Vec<String> = keys
        .into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| {
            let show = |v: Option<&Value>| match v {
                None | Some(Value::Null) => "unset".to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            };
            format!("{k} of {what} ({} -> {})", show(o.get(k)), show(n.get(k)))
        })
        .collect();
    if changed.is_empty() { what } else { changed.join(", ") }
}

/// The dry run: evaluates every selected step in dependency order; a stale step makes its
/// dependents stale ("upstream changed") since its outputs are unknown until it runs.
///
/// Intermediates whose files are missing but whose records match ("absent") count as fresh
/// unless a step that reads them has to run; then they are stale too ("needed by").
///
/// A stale step whose inputs are all fresh and that does not apply to its source
/// ([`crate::skip`]) is [`Reason::Skipped`]: not stale, and it gives its consumers no inputs.
pub fn plan(ctx: &Context, state: &State, selected: &[bool], force: bool) -> Vec<(NodeIndex, Option<Reason>)> {
    if !force {
        ctx.check_outputs_ahead(state, selected);
    }
    let mut stale = vec![false; ctx.sg.g.node_count()];
    let mut skipped = vec![false; ctx.sg.g.node_count()];
    let mut absent: Vec<Option<Reason>> = vec![None; ctx.sg.g.node_count()];
    let mut out = Vec::new();
    for n in ctx.sg.topo() {
        if !selected[n.index()] {
            continue;
        }
        let mut reason = if force {
            Some(Reason::Forced)
        } else {
            let ev = ctx.evaluate(state, n, |d| {
                if stale[d.index()] {
                    Upstream::Pending
                } else if skipped[d.index()] {
                    Upstream::Done(&[])
                } else {
                    match state.data.steps.get(&ctx.sg.g[d].id) {
                        Some(r) => Upstream::Done(&r.outputs),
                        None => Upstream::Pending,
                    }
                }
            });
            absent[n.index()] = ev.absent;
            ev.stale
        };
        if reason.is_some()
            && ctx.sg.deps(n).iter().all(|d| !stale[d.index()])
            && let Some(why) = crate::skip::reason(ctx.m, &ctx.sg.g[n])
        {
            reason = Some(Reason::Skipped(why));
            skipped[n.index()] = true;
        }
        stale[n.index()] = reason.as_ref().is_some_and(|r| !r.is_skip());
        out.push((n, reason));
    }
    // Consumers before their dependencies: a stale step needs its absent inputs rebuilt.
    // Each node's row by index (not a search of the rows: a catalog has 60,000 of them).
    let mut row = vec![usize::MAX; ctx.sg.g.node_count()];
    out.iter().enumerate().for_each(|(i, (n, _))| row[n.index()] = i);
    for i in (0..out.len()).rev() {
        let n = out[i].0;
        if out[i].1.as_ref().is_none_or(Reason::is_skip) {
            continue;
        }
        for d in ctx.sg.deps(n) {
            if let Some(Reason::OutputMissing(p)) = absent[d.index()].take()
                && let Some(slot) = out.get_mut(row[d.index()])
            {
                slot.1 = Some(Reason::OutputMissing(format!("{p} (needed by {})", ctx.sg.g[n].id)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_empty_output_is_never_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("chunk-0-00001.m4s");
        std::fs::write(&file, b"").unwrap();
        let stat = FileStat::of(&file).unwrap();
        let digest = hash_file(&file, 0).unwrap();
        let loc = OutputLoc::Dir(dir.path().to_path_buf());
        let rec = |size| vec![OutputFile { path: "chunk-0-00001.m4s".into(), size, digest: digest.clone(), stat }];
        let why = check_outputs(dir.path(), &loc, &rec(0), &mut Vec::new());
        assert_eq!(why, Some(Reason::OutputInvalid("chunk-0-00001.m4s is empty (0 bytes)".into())));
        std::fs::write(&file, b"data").unwrap();
        assert!(matches!(check_outputs(dir.path(), &loc, &rec(4), &mut Vec::new()), Some(Reason::OutputModified(_))));
    }
}
