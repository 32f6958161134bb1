//! The step DAG (petgraph): per source, probe → encode(rendition) → package_hls /
//! package_dash; thumbnails, audio_only; metadata last. Edges point from a dependency to
//! its dependent.

pub mod render;

use std::collections::HashMap;
use std::path::PathBuf;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::manifest::Manifest;
use crate::manifest::model::Packager;
use crate::storage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Probe,
    Encode,
    PackageHls,
    PackageDash,
    Thumbnails,
    AudioOnly,
    Metadata,
    /// Upload one package to a backend.
    Publish,
    /// Check a package (the `verify` command, as a step).
    Verify,
}

impl StepKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepKind::Probe => "probe",
            StepKind::Encode => "encode",
            StepKind::PackageHls => "package_hls",
            StepKind::PackageDash => "package_dash",
            StepKind::Thumbnails => "thumbnails",
            StepKind::AudioOnly => "audio_only",
            StepKind::Metadata => "metadata",
            StepKind::Publish => "publish",
            StepKind::Verify => "verify",
        }
    }
}

/// Which external tool a step runs (its fingerprint enters the step key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolUse {
    Ffmpeg,
    Ffprobe,
    /// Shaka Packager.
    Packager,
    /// Done inside vodbuild; the vodbuild version enters the key instead.
    Builtin,
}

/// Where a step writes: one file or one folder (written whole, then renamed into place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputLoc {
    File(PathBuf),
    Dir(PathBuf),
    /// Objects under `remote` in a backend (a folder the step owns, or beside other objects).
    Remote {
        backend: String,
        remote: String,
        owns_folder: bool,
    },
}

impl OutputLoc {
    /// The local path (for local outputs).
    pub fn local(&self) -> Option<&PathBuf> {
        match self {
            OutputLoc::File(p) | OutputLoc::Dir(p) => Some(p),
            OutputLoc::Remote { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    pub source: String,
    /// For encodes: the profile name (used in reasons).
    pub profile: Option<String>,
    /// Resolved parameters as canonical JSON (sorted keys); they enter the key.
    pub params: Value,
    pub tool: ToolUse,
    /// Whether the source file's digest is an input of this step.
    pub reads_source: bool,
    pub output: OutputLoc,
    /// Outputs that only feed other steps (intermediates, or packages whose deliverable is a
    /// published copy): when they are missing but their record still matches, the step is
    /// "absent", and is rebuilt only if a step that reads them has to run.
    pub intermediate: bool,
}

fn packager_tool(p: Packager) -> ToolUse {
    match p {
        Packager::Ffmpeg => ToolUse::Ffmpeg,
        Packager::Shaka => ToolUse::Packager,
    }
}

pub struct StepGraph {
    pub g: DiGraph<Step, ()>,
    pub by_id: HashMap<String, NodeIndex>,
}

impl StepGraph {
    pub fn build(m: &Manifest) -> StepGraph {
        let mut sg = StepGraph { g: DiGraph::new(), by_id: HashMap::new() };
        let o = &m.raw.outputs;
        let gop = m.raw.encoding.gop_seconds;
        // Renditions in order of first use, video then audio.
        let mut video: Vec<&String> = Vec::new();
        let mut audio: Vec<&String> = Vec::new();
        let packages =
            o.hls.iter().map(|h| (&h.renditions, &h.audio)).chain(o.dash.iter().map(|d| (&d.renditions, &d.audio)));
        for (renditions, a) in packages {
            for r in renditions {
                if !video.contains(&r) {
                    video.push(r);
                }
            }
            if let Some(a) = a
                && !audio.contains(&a)
            {
                audio.push(a);
            }
        }
        for src in &m.sources {
            let s = src.id.as_str();
            let work = m.work_dir(s);
            let out = m.output_dir.join(s);
            let step = |kind, id: String, params, tool, reads_source, output, profile: Option<&String>| Step {
                id,
                kind,
                source: s.to_string(),
                profile: profile.cloned(),
                params,
                tool,
                reads_source,
                intermediate: matches!(kind, StepKind::Probe | StepKind::Encode),
                output,
            };
            let probe = sg.add(
                step(
                    StepKind::Probe,
                    format!("probe:{s}"),
                    json!({}),
                    ToolUse::Ffprobe,
                    true,
                    OutputLoc::File(work.join("probe.json")),
                    None,
                ),
                &[],
            );
            let mut encodes: HashMap<&str, NodeIndex> = HashMap::new();
            for name in &video {
                let p = &m.raw.profiles.video[name.as_str()];
                let mut params = serde_json::to_value(p).expect("profile serializes");
                params["gop_seconds"] = json!(gop);
                params["type"] = json!("video");
                let id = format!("encode:{s}:{name}");
                let n = sg.add(
                    step(
                        StepKind::Encode,
                        id,
                        params,
                        ToolUse::Ffmpeg,
                        true,
                        OutputLoc::File(work.join(format!("{name}.mp4"))),
                        Some(name),
                    ),
                    &[probe],
                );
                encodes.insert(name.as_str(), n);
            }
            for name in &audio {
                let p = &m.raw.profiles.audio[name.as_str()];
                let mut params = serde_json::to_value(p).expect("profile serializes");
                params["type"] = json!("audio");
                let id = format!("encode:{s}:{name}");
                let n = sg.add(
                    step(
                        StepKind::Encode,
                        id,
                        params,
                        ToolUse::Ffmpeg,
                        true,
                        OutputLoc::File(work.join(format!("{name}.mp4"))),
                        Some(name),
                    ),
                    &[probe],
                );
                encodes.insert(name.as_str(), n);
            }
            let mut outputs = vec![probe];
            // (package, its verify step)
            let mut verifies: Vec<(NodeIndex, NodeIndex)> = Vec::new();
            let deps_of = |renditions: &[String], a: &Option<String>| -> Vec<NodeIndex> {
                renditions.iter().chain(a.iter()).map(|r| encodes[r.as_str()]).collect()
            };
            if let Some(h) = &o.hls {
                let params = serde_json::to_value(h).expect("serializes");
                let deps = deps_of(&h.renditions, &h.audio);
                outputs.push(sg.add(
                    step(
                        StepKind::PackageHls,
                        format!("hls:{s}"),
                        params,
                        packager_tool(h.packager),
                        false,
                        OutputLoc::Dir(out.join("hls")),
                        None,
                    ),
                    &deps,
                ));
                if h.verify {
                    let pkg = *outputs.last().expect("just added");
                    verifies.push((pkg, sg.add_verify(s, "hls", &work, &[pkg, probe])));
                }
            }
            if let Some(d) = &o.dash {
                let params = serde_json::to_value(d).expect("serializes");
                let deps = deps_of(&d.renditions, &d.audio);
                outputs.push(sg.add(
                    step(
                        StepKind::PackageDash,
                        format!("dash:{s}"),
                        params,
                        packager_tool(d.packager),
                        false,
                        OutputLoc::Dir(out.join("dash")),
                        None,
                    ),
                    &deps,
                ));
                if d.verify {
                    let pkg = *outputs.last().expect("just added");
                    verifies.push((pkg, sg.add_verify(s, "dash", &work, &[pkg, probe])));
                }
            }
            if let Some(t) = &o.thumbnails {
                let params = serde_json::to_value(t).expect("serializes");
                outputs.push(sg.add(
                    step(
                        StepKind::Thumbnails,
                        format!("thumbnails:{s}"),
                        params,
                        ToolUse::Ffmpeg,
                        true,
                        OutputLoc::Dir(out.join("thumbnails")),
                        None,
                    ),
                    &[probe],
                ));
            }
            if let Some(a) = &o.audio_only {
                let params = serde_json::to_value(a).expect("serializes");
                outputs.push(sg.add(
                    step(
                        StepKind::AudioOnly,
                        format!("audio_only:{s}"),
                        params,
                        ToolUse::Ffmpeg,
                        true,
                        OutputLoc::Dir(out.join("audio_only")),
                        None,
                    ),
                    &[probe],
                ));
            }
            let mut deliverables: Vec<NodeIndex> = outputs[1..].to_vec();
            if o.metadata {
                let n = sg.add(
                    step(
                        StepKind::Metadata,
                        format!("metadata:{s}"),
                        json!({"format": 1}),
                        ToolUse::Builtin,
                        false,
                        OutputLoc::File(out.join("metadata.json")),
                        None,
                    ),
                    &outputs,
                );
                deliverables.push(n);
            }
            if let (Some(p), Some(prefix)) = (&m.raw.publish, m.publish_prefix(s)) {
                let backend = m.backend(&p.to);
                for n in deliverables {
                    let (kind, id) = (sg.g[n].kind, sg.g[n].id.clone());
                    // The package's deliverable is now the published copy.
                    sg.g[n].intermediate = true;
                    let (remote, owns_folder) = match &sg.g[n].output {
                        OutputLoc::Dir(d) => {
                            (storage::join(&prefix, &d.file_name().unwrap_or_default().to_string_lossy()), true)
                        }
                        _ => (prefix.trim_end_matches('/').to_string(), false),
                    };
                    let params = json!({
                        "backend": {"name": backend.name, "service": backend.service, "config": backend.config},
                        "remote": remote,
                    });
                    let step = Step {
                        id: format!("publish_{}", id),
                        kind: StepKind::Publish,
                        source: s.to_string(),
                        profile: Some(kind.as_str().trim_start_matches("package_").to_string()),
                        params,
                        tool: ToolUse::Builtin,
                        reads_source: false,
                        output: OutputLoc::Remote { backend: p.to.clone(), remote, owns_folder },
                        intermediate: false,
                    };
                    // Publish only what passed verification, when it is asked for.
                    let mut deps = vec![n];
                    deps.extend(verifies.iter().filter(|(p, _)| *p == n).map(|(_, v)| *v));
                    sg.add(step, &deps);
                }
            }
        }
        sg
    }

    fn add_verify(&mut self, source: &str, package: &str, work: &std::path::Path, deps: &[NodeIndex]) -> NodeIndex {
        let step = Step {
            id: format!("verify_{package}:{source}"),
            kind: StepKind::Verify,
            source: source.to_string(),
            profile: Some(package.to_string()),
            params: json!({"package": package}),
            tool: ToolUse::Builtin,
            reads_source: false,
            output: OutputLoc::File(work.join(format!("verify_{package}.json"))),
            intermediate: true,
        };
        self.add(step, deps)
    }

    fn add(&mut self, step: Step, deps: &[NodeIndex]) -> NodeIndex {
        let id = step.id.clone();
        let n = self.g.add_node(step);
        for d in deps {
            self.g.add_edge(*d, n, ());
        }
        self.by_id.insert(id, n);
        n
    }

    /// Dependencies of a step, in a stable order (by step id).
    pub fn deps(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut d: Vec<NodeIndex> = self.g.neighbors_directed(n, Direction::Incoming).collect();
        d.sort_by(|a, b| self.g[*a].id.cmp(&self.g[*b].id));
        d
    }

    pub fn dependents(&self, n: NodeIndex) -> Vec<NodeIndex> {
        self.g.neighbors_directed(n, Direction::Outgoing).collect()
    }

    /// Steps in dependency order (the graph is acyclic by construction).
    pub fn topo(&self) -> Vec<NodeIndex> {
        petgraph::algo::toposort(&self.g, None).expect("step graph is acyclic")
    }

    /// The steps matching `selector` (a glob over step ids and source ids), plus everything
    /// they depend on. None selects all.
    pub fn select(&self, selector: Option<&str>) -> Result<Vec<bool>, String> {
        let Some(sel) = selector else {
            return Ok(vec![true; self.g.node_count()]);
        };
        let pat = glob::Pattern::new(sel).map_err(|e| format!("invalid --only pattern `{sel}`: {e}"))?;
        let mut keep = vec![false; self.g.node_count()];
        let mut stack: Vec<NodeIndex> = self
            .g
            .node_indices()
            .filter(|n| {
                let s = &self.g[*n];
                pat.matches(&s.id) || pat.matches(&s.source)
            })
            .collect();
        if stack.is_empty() {
            return Err(format!("--only `{sel}` matches no step or source"));
        }
        while let Some(n) = stack.pop() {
            if !keep[n.index()] {
                keep[n.index()] = true;
                stack.extend(self.g.neighbors_directed(n, Direction::Incoming));
            }
        }
        Ok(keep)
    }
}
