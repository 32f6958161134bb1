//! Building the step graph from a manifest, one source at a time.

use std::collections::HashMap;
use std::path::PathBuf;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::{Value, json};

use super::{OutputLoc, Step, StepGraph, StepKind, ToolUse};
use crate::ladder::Fits;
use crate::manifest::Manifest;
use crate::manifest::model::{Outputs, Packager, SourceChecks};
use crate::storage;

impl StepGraph {
    /// The graph with every rung for every source (before any probe is known).
    pub fn build(m: &Manifest) -> StepGraph {
        Self::build_fitted(m, &Fits::new())
    }

    /// The graph with each source's video rungs as its [`Fit`](crate::ladder::Fit) says
    /// (every rung for a source without one).
    pub fn build_fitted(m: &Manifest, fits: &Fits) -> StepGraph {
        let mut sg = StepGraph { g: DiGraph::new(), by_id: HashMap::new() };
        let (video, audio) = renditions_in_use(&m.raw.outputs);
        for src in &m.sources {
            let b = SourceSteps { m, s: &src.id, work: m.work_dir(&src.id), out: m.output_dir.join(&src.id) };
            let fitted: Vec<&String> = match fits.get(&src.id) {
                Some(f) => video.iter().copied().filter(|r| f.built.contains(r)).collect(),
                None => video.clone(),
            };
            b.add_to(&mut sg, &fitted, &audio);
        }
        sg
    }

    /// The video profiles the packages use, in order (the ladder before fitting).
    pub fn rungs_in_use(m: &Manifest) -> Vec<&String> {
        renditions_in_use(&m.raw.outputs).0
    }
}

/// The video and audio profiles the packages use, in order of first use.
fn renditions_in_use(o: &Outputs) -> (Vec<&String>, Vec<&String>) {
    let (mut video, mut audio): (Vec<&String>, Vec<&String>) = (Vec::new(), Vec::new());
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
    (video, audio)
}

/// The probe's parameters: empty, or the lenient source check (which changes what it accepts).
fn probe_params(m: &Manifest, source: &str) -> Value {
    match m.source(source).map(|s| s.opts.checks) {
        Some(SourceChecks::Lenient) => json!({"source_checks": "lenient"}),
        _ => json!({}),
    }
}

fn packager_tool(p: Packager) -> ToolUse {
    match p {
        Packager::Ffmpeg => ToolUse::Ffmpeg,
        Packager::Shaka => ToolUse::Packager,
    }
}

fn params_of(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("manifest values serialize")
}

struct SourceSteps<'a> {
    m: &'a Manifest,
    s: &'a str,
    work: PathBuf,
    out: PathBuf,
}

impl SourceSteps<'_> {
    /// A step of this source; `id` is the kind's prefix (`hls`) or a full suffix (`encode:720p`
    /// becomes `encode:SRC:720p`).
    fn step(
        &self,
        kind: StepKind,
        id: &str,
        params: Value,
        tool: ToolUse,
        reads_source: bool,
        output: OutputLoc,
    ) -> Step {
        let (prefix, profile) = match id.split_once(':') {
            Some((p, name)) => (format!("{p}:{}:{name}", self.s), Some(name.to_string())),
            None => (format!("{id}:{}", self.s), None),
        };
        Step {
            id: prefix,
            kind,
            source: self.s.to_string(),
            profile,
            params,
            tool,
            reads_source,
            intermediate: matches!(kind, StepKind::Probe | StepKind::Encode),
            output,
        }
    }

    fn add_to(&self, sg: &mut StepGraph, video: &[&String], audio: &[&String]) {
        let (m, o) = (self.m, &self.m.raw.outputs);
        let probe_step = self.step(
            StepKind::Probe,
            "probe",
            probe_params(self.m, self.s),
            ToolUse::Ffprobe,
            true,
            OutputLoc::File(self.work.join("probe.json")),
        );
        let probe = sg.add(probe_step, &[]);

        let mut encodes: HashMap<&str, NodeIndex> = HashMap::new();
        let video_params = video.iter().map(|name| {
            let mut p = params_of(&m.raw.profiles.video[name.as_str()]);
            p["gop_seconds"] = json!(m.raw.encoding.gop_seconds);
            p["type"] = json!("video");
            (*name, p)
        });
        let audio_params = audio.iter().map(|name| {
            let mut p = params_of(&m.raw.profiles.audio[name.as_str()]);
            p["type"] = json!("audio");
            (*name, p)
        });
        for (name, params) in video_params.chain(audio_params) {
            let output = OutputLoc::File(self.work.join(format!("{name}.mp4")));
            let step = self.step(StepKind::Encode, &format!("encode:{name}"), params, ToolUse::Ffmpeg, true, output);
            encodes.insert(name.as_str(), sg.add(step, &[probe]));
        }
        // A package lists only the rungs built for this source (see crate::ladder).
        let built = |renditions: &[String]| -> Vec<String> {
            renditions.iter().filter(|r| video.contains(r)).cloned().collect()
        };
        let fitted = |params: Value, renditions: &[String]| -> Value {
            let mut p = params;
            p["renditions"] = json!(built(renditions));
            p
        };
        let deps_of = |renditions: &[String], a: &Option<String>| -> Vec<NodeIndex> {
            built(renditions).iter().chain(a.iter()).map(|r| encodes[r.as_str()]).collect()
        };

        // Deliverables: (node, its verify step).
        let mut made: Vec<(NodeIndex, Option<NodeIndex>)> = Vec::new();
        let packages = [
            o.hls.as_ref().map(|h| {
                (
                    StepKind::PackageHls,
                    "hls",
                    fitted(params_of(h), &h.renditions),
                    h.packager,
                    h.verify,
                    deps_of(&h.renditions, &h.audio),
                )
            }),
            o.dash.as_ref().map(|d| {
                (
                    StepKind::PackageDash,
                    "dash",
                    fitted(params_of(d), &d.renditions),
                    d.packager,
                    d.verify,
                    deps_of(&d.renditions, &d.audio),
                )
            }),
        ];
        for (kind, name, params, packager, verify, deps) in packages.into_iter().flatten() {
            let step =
                self.step(kind, name, params, packager_tool(packager), false, OutputLoc::Dir(self.out.join(name)));
            let n = sg.add(step, &deps);
            let v = verify.then(|| sg.add_verify(self.s, name, &self.work, &[n, probe]));
            made.push((n, v));
        }
        let from_source = [
            o.thumbnails.as_ref().map(|t| (StepKind::Thumbnails, "thumbnails", params_of(t))),
            o.audio_only.as_ref().map(|a| (StepKind::AudioOnly, "audio_only", params_of(a))),
        ];
        for (kind, name, params) in from_source.into_iter().flatten() {
            let step = self.step(kind, name, params, ToolUse::Ffmpeg, true, OutputLoc::Dir(self.out.join(name)));
            made.push((sg.add(step, &[probe]), None));
        }
        if o.metadata {
            let deps: Vec<NodeIndex> = std::iter::once(probe).chain(made.iter().map(|(n, _)| *n)).collect();
            let output = OutputLoc::File(self.out.join("metadata.json"));
            let step = self.step(StepKind::Metadata, "metadata", json!({"format": 1}), ToolUse::Builtin, false, output);
            made.push((sg.add(step, &deps), None));
        }
        self.add_publish(sg, &made);
    }

    /// One publish step per deliverable, after its verify step when there is one.
    fn add_publish(&self, sg: &mut StepGraph, made: &[(NodeIndex, Option<NodeIndex>)]) {
        let (Some(p), Some(prefix)) = (&self.m.raw.publish, self.m.publish_prefix(self.s)) else { return };
        let backend = self.m.backend(&p.to);
        for (n, verify) in made {
            // The deliverable is now the published copy: the local one is an intermediate.
            sg.g[*n].intermediate = true;
            let (kind, id) = (sg.g[*n].kind, sg.g[*n].id.clone());
            let (remote, owns_folder) = match &sg.g[*n].output {
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
                id: format!("publish_{id}"),
                kind: StepKind::Publish,
                source: self.s.to_string(),
                profile: Some(kind.as_str().trim_start_matches("package_").to_string()),
                params,
                tool: ToolUse::Builtin,
                reads_source: false,
                output: OutputLoc::Remote { backend: p.to.clone(), remote, owns_folder },
                intermediate: false,
            };
            let deps: Vec<NodeIndex> = std::iter::once(*n).chain(*verify).collect();
            sg.add(step, &deps);
        }
    }
}
