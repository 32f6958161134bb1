//! Building the step graph from a manifest, one source at a time.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::Value;

use super::{Media, OutputLoc, PackageKind, Step, StepGraph, StepKind, Subject, ToolUse};
use crate::kinds;
use crate::ladder::Fits;
use crate::layout;
use crate::manifest::Manifest;
use crate::manifest::model::{Outputs, Packager};
use crate::storage;

impl StepGraph {
    pub(crate) fn add_verify(
        &mut self,
        m: &Manifest,
        source: &str,
        package: PackageKind,
        deps: &[NodeIndex],
    ) -> NodeIndex {
        let step = Step {
            id: format!("verify_{}:{source}", package.as_str()),
            kind: StepKind::Verify,
            source: source.to_string(),
            subject: Subject::Verify(package),
            params: kinds::verify::params(package).into(),
            tool: ToolUse::Builtin,
            reads_source: false,
            output: OutputLoc::File(layout::verify_report(m, source, package)),
            intermediate: true,
        };
        self.add(step, deps)
    }

    /// The graph with every rung for every source (before any probe is known).
    pub fn build(m: &Manifest) -> StepGraph {
        Self::build_fitted(m, &Fits::new())
    }

    /// The graph with each source's video rungs as its [`Fit`](crate::ladder::Fit) says
    /// (every rung for a source without one).
    pub fn build_fitted(m: &Manifest, fits: &Fits) -> StepGraph {
        let mut sg = StepGraph { g: DiGraph::new(), by_id: HashMap::new() };
        let (video, _) = renditions_in_use(&m.raw.outputs);
        let shared = SharedParams::default();
        for src in &m.sources {
            let anamorphic = fits.get(&src.id).and_then(|f| f.anamorphic);
            let picks = src.opts.audio_tracks.as_deref();
            let b = SourceSteps { m, s: &src.id, picks, anamorphic, shared: &shared };
            let fitted: Vec<&String> = match fits.get(&src.id) {
                Some(f) => video.iter().copied().filter(|r| f.built.contains(r)).collect(),
                None => video.clone(),
            };
            let audio = super::audio::Audio::of(m, b.picks, fits.get(&src.id).and_then(|f| f.audio_tracks.as_deref()))
                .with_files(m, src);
            b.add_to(&mut sg, &fitted, &audio);
        }
        sg
    }

    /// Only each source's probe step (no probe depends on the ladder): what `plan` and `run`
    /// evaluate before the probes are read, so that the whole graph is built once, fitted.
    pub fn build_probes(m: &Manifest) -> StepGraph {
        let mut sg = StepGraph { g: DiGraph::new(), by_id: HashMap::new() };
        let shared = SharedParams::default();
        for src in &m.sources {
            let picks = src.opts.audio_tracks.as_deref();
            let b = SourceSteps { m, s: &src.id, picks, anamorphic: None, shared: &shared };
            sg.add(b.probe_step(), &[]);
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
        for a in a.iter().flat_map(|a| a.names()) {
            if !audio.contains(&a) {
                audio.push(a);
            }
        }
    }
    (video, audio)
}

fn packager_tool(p: Packager) -> ToolUse {
    match p {
        Packager::Ffmpeg => ToolUse::Ffmpeg,
        Packager::Shaka => ToolUse::Packager,
    }
}

struct SourceSteps<'a> {
    m: &'a Manifest,
    s: &'a str,
    /// The source's own `audio_tracks` (over the outputs').
    picks: Option<&'a [crate::audio::AudioPick]>,
    /// The source's sample aspect when not square (from its fit).
    anamorphic: Option<(u32, u32)>,
    shared: &'a SharedParams,
}

/// Params that depend only on the manifest and a small key (an encode's profile, a
/// package's rungs): made once and shared by every source's step (a catalog has thousands of
/// each). A source that adds its own settings to a package's params copies them first.
#[derive(Default)]
struct SharedParams(std::cell::RefCell<HashMap<String, Arc<Value>>>);

impl SharedParams {
    fn of(&self, key: String, make: impl FnOnce() -> Value) -> Arc<Value> {
        self.0.borrow_mut().entry(key).or_insert_with(|| Arc::new(make())).clone()
    }

    fn encode(&self, m: &Manifest, name: &str, media: Media) -> Arc<Value> {
        match media {
            Media::Video => self.of(format!("video:{name}"), || kinds::encode::video_params(m, name)),
            Media::Audio => self.of(format!("audio:{name}"), || kinds::encode::audio_params(m, name)),
        }
    }
}

impl SourceSteps<'_> {
    /// A step of this source, `PREFIX:SOURCE` or `PREFIX:SOURCE:RENDITION`.
    fn step(
        &self,
        kind: StepKind,
        prefix: &str,
        subject: Subject,
        params: impl Into<Arc<Value>>,
        tool: ToolUse,
        output: PathBuf,
    ) -> Step {
        let id = match &subject {
            Subject::Rendition { name, .. } => format!("{prefix}:{}:{name}", self.s),
            _ => format!("{prefix}:{}", self.s),
        };
        let output = if kinds::writes_folder(kind) { OutputLoc::Dir(output) } else { OutputLoc::File(output) };
        Step {
            id,
            kind,
            source: self.s.to_string(),
            subject,
            params: params.into(),
            tool,
            reads_source: kinds::reads_source(kind),
            intermediate: matches!(kind, StepKind::Probe | StepKind::Encode),
            output,
        }
    }

    fn probe_step(&self) -> Step {
        let (m, s) = (self.m, self.s);
        self.step(
            StepKind::Probe,
            "probe",
            Subject::Source,
            kinds::probe::params(m, s),
            ToolUse::Ffprobe,
            layout::probe(m, s),
        )
    }

    fn add_to(&self, sg: &mut StepGraph, video: &[&String], audio: &super::audio::Audio) {
        let (m, s, o) = (self.m, self.s, &self.m.raw.outputs);
        let probe = sg.add(self.probe_step(), &[]);

        let audio_names = audio.names();
        let audio_refs: Vec<&String> = audio_names.iter().filter(|n| !audio.files.contains(n)).collect();
        let mut encodes = self.add_encodes(sg, probe, video, &audio_refs);
        super::audio_files::add(sg, m, s, probe, &audio.files, &mut encodes);
        // A package lists only the rungs built for this source (see crate::ladder).
        let built = |renditions: &[String]| -> Vec<String> {
            renditions.iter().filter(|r| video.contains(r)).cloned().collect()
        };
        let deps_of = |renditions: &[String], a: &[String]| -> Vec<NodeIndex> {
            built(renditions).iter().chain(a.iter()).map(|r| encodes[r.as_str()]).collect()
        };

        // Deliverables: (node, its verify step).
        let mut made: Vec<(NodeIndex, Option<NodeIndex>)> = Vec::new();
        let packages = [
            o.hls.as_ref().map(|h| {
                let rungs = built(&h.renditions);
                (
                    PackageKind::Hls,
                    super::audio_files::package_params(
                        m,
                        s,
                        crate::audio::with_source_picks(
                            self.shared.of(format!("hls:{rungs:?}"), || kinds::hls::params(h, &rungs)),
                            self.picks,
                        ),
                    ),
                    rungs,
                    h.packager,
                    h.verify,
                    deps_of(&h.renditions, &audio.hls),
                )
            }),
            o.dash.as_ref().map(|d| {
                let rungs = built(&d.renditions);
                (
                    PackageKind::Dash,
                    super::audio_files::package_params(
                        m,
                        s,
                        crate::audio::with_source_picks(
                            self.shared.of(format!("dash:{rungs:?}"), || kinds::dash::params(d, &rungs)),
                            self.picks,
                        ),
                    ),
                    rungs,
                    d.packager,
                    d.verify,
                    deps_of(&d.renditions, &audio.dash),
                )
            }),
        ];
        let subtitles = super::subtitles::add(sg, m, s, probe);
        for (package, params, renditions, packager, verify, deps) in packages.into_iter().flatten() {
            let (params, deps) = super::subtitles::package_with(m, s, params, deps, &subtitles);
            let subject = Subject::Package { package, renditions };
            let output = layout::package(m, s, package);
            let step =
                self.step(package.step_kind(), package.as_str(), subject, params, packager_tool(packager), output);
            let n = sg.add(step, &deps);
            let v = verify.then(|| sg.add_verify(m, s, package, &[n, probe]));
            made.push((n, v));
        }
        let from_source = [
            o.thumbnails
                .as_ref()
                .map(|t| (StepKind::Thumbnails, "thumbnails", kinds::thumbnails::params(t, self.anamorphic))),
            o.audio_only.as_ref().map(|a| (StepKind::AudioOnly, "audio_only", kinds::params_of(a))),
            o.storyboard.as_ref().map(|t| (StepKind::Storyboard, kinds::storyboard::FOLDER, kinds::params_of(t))),
        ];
        for (kind, name, params) in from_source.into_iter().flatten() {
            let step = self.step(kind, name, Subject::Source, params, ToolUse::Ffmpeg, layout::folder(m, s, name));
            made.push((sg.add(step, &[probe]), None));
        }
        kinds::storyboard::link_dash(sg, &made);
        let audio_only = made.iter().map(|(n, _)| *n).find(|n| sg.g[*n].kind == StepKind::AudioOnly);
        let up = super::command::Upstream { probe, encodes: &encodes, audio_only };
        made.extend(super::command::add(sg, m, s, &up).into_iter().map(|n| (n, None)));
        if o.metadata {
            let loud = super::loudness::of_outputs(sg, m, s, &encodes);
            let deps: Vec<NodeIndex> = std::iter::once(probe).chain(made.iter().map(|(n, _)| *n)).chain(loud).collect();
            let params = kinds::metadata::params();
            let step = self.step(
                StepKind::Metadata,
                "metadata",
                Subject::Source,
                params,
                ToolUse::Builtin,
                layout::metadata(m, s),
            );
            made.push((sg.add(step, &deps), None));
        }
        self.add_publish(sg, &made);
        let made: Vec<NodeIndex> = made.iter().map(|(n, _)| *n).chain(made.iter().filter_map(|(_, v)| *v)).collect();
        super::notify::add(m, s, sg, probe, &made);
    }

    /// One encode step per rendition, after the probe.
    fn add_encodes<'n>(
        &self,
        sg: &mut StepGraph,
        probe: NodeIndex,
        video: &[&'n String],
        audio: &[&'n String],
    ) -> HashMap<&'n str, NodeIndex> {
        let (m, s) = (self.m, self.s);
        let mut encodes = HashMap::new();
        let video_params = video.iter().map(|name| (*name, Media::Video, self.shared.encode(m, name, Media::Video)));
        let audio_params = audio.iter().map(|name| (*name, Media::Audio, self.shared.encode(m, name, Media::Audio)));
        for (name, media, params) in video_params.chain(audio_params) {
            let subject = Subject::Rendition { name: name.clone(), media };
            let step =
                self.step(StepKind::Encode, "encode", subject, params, ToolUse::Ffmpeg, layout::encoded(m, s, name));
            let loud = (media == Media::Audio).then(|| super::loudness::for_encode(sg, m, s, probe, name)).flatten();
            let deps: Vec<NodeIndex> = std::iter::once(probe).chain(loud).collect();
            encodes.insert(name.as_str(), sg.add(step, &deps));
        }
        encodes
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
            let params = kinds::publish::params(&backend, &remote);
            let step = Step {
                id: format!("publish_{id}"),
                kind: StepKind::Publish,
                source: self.s.to_string(),
                subject: Subject::Published(kind),
                params: params.into(),
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
