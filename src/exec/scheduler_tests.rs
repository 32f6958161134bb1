//! The scheduler driven by the real [`Builder`], with a fake workspace ([`FakeWork`]:
//! verdicts from what each step's record says, records kept in memory) and a fake executor
//! ([`FakeExecutor`]: jobs finish in the order they started, with scripted outcomes). No
//! file, no process: the whole module runs in milliseconds.

use std::collections::{HashMap, HashSet, VecDeque};

use petgraph::graph::{DiGraph, NodeIndex};
use serde_json::json;

use super::*;
use crate::exec::builder::{Builder, Work};
use crate::exec::cancel::Cancel;
use crate::exec::check::{Checks, Durations};
use crate::exec::executor::{Executor, Finished, Job, JobOutcome};
use crate::exec::progress::{Mode, Progress};
use crate::hash::FileStat;
use crate::job::{Action, JobSpec};
use crate::step::{Media, OutputLoc, Step, StepKind, Subject, ToolUse};

// ------------------------------------------------------------------ graph

/// A step as the graph builder makes it (the one place tests spell out a `Step`).
fn step(id: &str) -> Step {
    let mut parts = id.split(':');
    let kind = match parts.next() {
        Some("probe") => StepKind::Probe,
        Some("encode") => StepKind::Encode,
        Some("hls") => StepKind::PackageHls,
        Some("thumbnails") => StepKind::Thumbnails,
        Some("publish") => StepKind::Publish,
        _ => StepKind::Metadata,
    };
    let source = parts.next().unwrap_or("s").to_string();
    let (kind_of_media, media) = if id.ends_with(":aac") { ("audio", Media::Audio) } else { ("video", Media::Video) };
    let subject = match kind {
        StepKind::Encode => Subject::Rendition { name: id.rsplit(':').next().unwrap_or_default().into(), media },
        _ => Subject::Source,
    };
    Step {
        id: id.into(),
        kind,
        source,
        subject,
        params: json!({"type": kind_of_media}).into(),
        tool: ToolUse::Ffmpeg,
        reads_source: false,
        output: OutputLoc::File(format!("/nonexistent/{id}").into()),
        intermediate: matches!(kind, StepKind::Probe | StepKind::Encode),
    }
}

/// A SMALL-like graph per source: probe → 144p, 90p, aac → hls → metadata; probe → thumbnails → metadata.
fn graph(sources: &[&str]) -> StepGraph {
    let mut sg = StepGraph { g: DiGraph::new(), by_id: HashMap::new() };
    for s in sources {
        let add = |sg: &mut StepGraph, id: String, deps: &[String]| {
            let deps: Vec<NodeIndex> = deps.iter().map(|d| sg.by_id[d]).collect();
            sg.add(step(&id), &deps);
        };
        let id = |k: &str| format!("{k}:{s}");
        add(&mut sg, id("probe"), &[]);
        let encodes: Vec<String> = ["144p", "90p", "aac"].iter().map(|r| format!("encode:{s}:{r}")).collect();
        for e in &encodes {
            add(&mut sg, e.clone(), &[id("probe")]);
        }
        add(&mut sg, id("hls"), &encodes);
        add(&mut sg, id("thumbnails"), &[id("probe")]);
        add(&mut sg, id("metadata"), &[id("hls"), id("thumbnails")]);
    }
    sg
}

fn output(digest: &str) -> Vec<OutputFile> {
    vec![OutputFile { path: "out".into(), size: 1, digest: digest.into(), stat: FileStat::default() }]
}

fn evaluation(id: &str) -> Evaluation {
    Evaluation { stale: None, key: Some(id.into()), inputs: vec![], restat: vec![], absent: None, remote_seen: false }
}

// ------------------------------------------------------------------ fakes

/// Every step has a record whose output digest is "old" and whose inputs are its
/// dependencies' "old" outputs, except the steps listed.
#[derive(Default)]
struct FakeWork {
    ids: Vec<String>,
    deps: Vec<Vec<NodeIndex>>,
    /// No record: stale ("new").
    new: HashSet<String>,
    /// Recorded, but the intermediate output is missing.
    absent: HashSet<String>,
    /// Does not apply to its source (when stale).
    skip: HashSet<String>,
    /// Every judgement, in order.
    judged: Vec<String>,
    recorded: Vec<String>,
}

impl FakeWork {
    fn new(sg: &StepGraph) -> Self {
        let ids = sg.g.node_indices().map(|n| sg.g[n].id.clone()).collect();
        let deps = sg.g.node_indices().map(|n| sg.deps(n)).collect();
        FakeWork { ids, deps, ..Default::default() }
    }

    fn times_judged(&self, id: &str) -> usize {
        self.judged.iter().filter(|j| *j == id).count()
    }
}

impl Judge for FakeWork {
    fn judge<'a>(&mut self, n: NodeIndex, upstream: &dyn Fn(NodeIndex) -> Upstream<'a>) -> Verdict {
        let id = self.ids[n.index()].clone();
        self.judged.push(id.clone());
        let changed = self.deps[n.index()].iter().find(|d| match upstream(**d) {
            Upstream::Pending => true,
            Upstream::Done(o) => o.first().map(|f| f.digest.as_str()) != Some("old"),
        });
        let stale = match changed {
            _ if self.new.contains(&id) => Some(Reason::New),
            Some(d) => Some(Reason::UpstreamChanged(self.ids[d.index()].clone())),
            None => None,
        };
        match stale {
            Some(_) if self.skip.contains(&id) => Verdict::Skip("source has no audio"),
            Some(reason) => Verdict::Stale { reason, eval: evaluation(&id) },
            None if self.absent.contains(&id) => {
                let reason = Reason::OutputMissing(id.clone());
                Verdict::Absent { outputs: output("old").into(), reason, eval: evaluation(&id) }
            }
            None => Verdict::Fresh(output("old").into()),
        }
    }
}

impl Work for FakeWork {
    fn job<'o>(
        &mut self,
        group: &[NodeIndex],
        _outputs_of: &dyn Fn(NodeIndex) -> &'o [OutputFile],
    ) -> Result<JobSpec, String> {
        let steps: Vec<String> = group.iter().map(|n| self.ids[n.index()].clone()).collect();
        let checks = Checks { durations: Durations { video: 1.0, audio: 1.0 }, tolerance: 0.5, expect: vec![] };
        Ok(JobSpec {
            id: steps.join("+"),
            label: steps.join(" + "),
            steps,
            duration: 1.0,
            inputs: vec![],
            tools: vec![],
            action: Action::WriteFile { path: "/nonexistent".into(), contents: String::new() },
            outputs: vec![],
            checks,
            remote_outputs: None,
        })
    }

    fn record(&mut self, n: NodeIndex, eval: &Evaluation, _outputs: &[OutputFile]) -> Result<(), String> {
        assert_eq!(eval.key.as_deref(), Some(self.ids[n.index()].as_str()), "recorded with its own evaluation");
        self.recorded.push(self.ids[n.index()].clone());
        Ok(())
    }
}

#[derive(Debug, PartialEq)]
enum Event {
    Start(Vec<String>),
    Finish(Vec<String>),
}

/// Runs up to `slots` jobs "at once", and up to `network_slots` publish jobs beside them;
/// `wait_any` finishes the oldest.
struct FakeExecutor {
    slots: usize,
    network_slots: usize,
    running: VecDeque<Job>,
    events: Vec<Event>,
    /// Steps whose job fails.
    fails: HashSet<String>,
    /// Steps whose job fails transiently (killed by a signal) this many more times.
    transient: HashMap<String, u32>,
    /// The digest a step's new output has (default "old": the same bytes as recorded).
    built: HashMap<String, String>,
    /// Cancelled once this many jobs have started (a Ctrl-C mid-run).
    cancel_after: Option<(usize, Cancel)>,
    cancelled: bool,
    /// Running jobs that took a network slot.
    in_network: HashSet<crate::exec::executor::JobId>,
}

fn is_publish(job: &Job) -> bool {
    job.spec.steps.iter().all(|s| s.starts_with("publish:"))
}

impl FakeExecutor {
    fn new(slots: usize) -> Self {
        FakeExecutor {
            slots,
            network_slots: 0,
            running: VecDeque::new(),
            events: vec![],
            fails: HashSet::new(),
            transient: HashMap::new(),
            built: HashMap::new(),
            cancel_after: None,
            cancelled: false,
            in_network: HashSet::new(),
        }
    }

    /// Jobs running in network slots (`true`) or in `-j` slots.
    fn in_slots(&self, network: bool) -> usize {
        self.running.iter().filter(|j| self.in_network.contains(&j.id) == network).count()
    }

    fn started(&self) -> Vec<Vec<String>> {
        self.events.iter().filter_map(|e| if let Event::Start(s) = e { Some(s.clone()) } else { None }).collect()
    }
}

impl Executor for FakeExecutor {
    fn can_run_more(&self) -> usize {
        self.slots - self.in_slots(false)
    }

    fn can_run_more_network(&self) -> usize {
        self.network_slots - self.in_slots(true)
    }

    fn start(&mut self, job: Job) {
        let network = is_publish(&job) && self.can_run_more_network() > 0;
        self.in_network.extend(network.then_some(job.id));
        self.events.push(Event::Start(job.spec.steps.clone()));
        self.running.push_back(job);
        if let Some((n, cancel)) = &self.cancel_after
            && self.started().len() == *n
        {
            cancel.cancel();
        }
    }

    fn wait_any(&mut self) -> Option<Finished> {
        let job = self.running.pop_front()?;
        self.in_network.remove(&job.id);
        let steps = job.spec.steps;
        self.events.push(Event::Finish(steps.clone()));
        let outcome = if self.cancelled {
            JobOutcome::Interrupted
        } else if let Some(s) = steps.iter().find(|s| self.transient.get(*s).is_some_and(|n| *n > 0)) {
            *self.transient.get_mut(s).expect("found") -= 1;
            JobOutcome::Failed("ffmpeg exited with a signal:\nkilled".into())
        } else if let Some(s) = steps.iter().find(|s| self.fails.contains(*s)) {
            JobOutcome::Failed(format!("{s}: boom"))
        } else {
            let outputs = steps.iter().map(|s| output(self.built.get(s).map_or("old", |d| d.as_str()))).collect();
            JobOutcome::Built { outputs, sync: Default::default() }
        };
        Some(Finished { id: job.id, outcome, duration_ms: 1 })
    }

    fn cancel_all(&mut self) {
        self.cancelled = true;
    }
}

fn build(sg: &StepGraph, work: &mut FakeWork, ex: &mut FakeExecutor, keep_going: bool, cancel: Cancel) -> RunReport {
    let progress = Progress::new(Mode::Quiet);
    let sched = Scheduler::new(sg, &vec![true; sg.g.node_count()], keep_going);
    Builder::new(sched, sg, work, &progress, cancel).build(ex)
}

fn all_new(sg: &StepGraph) -> FakeWork {
    let mut w = FakeWork::new(sg);
    w.new = w.ids.iter().cloned().collect();
    w
}

/// (status, reason, error) of a step in the report.
fn outcome(r: &RunReport, id: &str) -> (Status, String, String) {
    let s = r.steps.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("{id} not in the report"));
    (s.status, s.reason.clone().unwrap_or_default(), s.error.clone().unwrap_or_default())
}

fn with_status(r: &RunReport, status: Status) -> HashSet<String> {
    r.steps.iter().filter(|s| s.status == status).map(|s| s.id.clone()).collect()
}

fn ids(v: &[&str]) -> HashSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------------ tests

/// probe → encode (one rung) → hls → publish, per source.
fn publishing_graph(sources: &[&str]) -> StepGraph {
    let mut sg = StepGraph { g: DiGraph::new(), by_id: HashMap::new() };
    for s in sources {
        let mut prev: Vec<NodeIndex> = Vec::new();
        for id in [format!("probe:{s}"), format!("encode:{s}:144p"), format!("hls:{s}"), format!("publish:{s}")] {
            prev = vec![sg.add(step(&id), &prev)];
        }
    }
    sg
}

/// The most jobs running at once: (all, publish jobs beside another job).
fn overlap(events: &[Event]) -> (usize, bool) {
    let (mut running, mut most, mut beside) = (Vec::<&Vec<String>>::new(), 0, false);
    for e in events {
        match e {
            Event::Start(s) => running.push(s),
            Event::Finish(s) => running.retain(|r| *r != s),
        }
        most = most.max(running.len());
        let publishing = running.iter().filter(|r| r[0].starts_with("publish:")).count();
        beside |= publishing > 0 && publishing < running.len();
    }
    (most, beside)
}

#[test]
fn publish_jobs_take_network_slots_while_every_j_slot_is_busy() {
    let sg = publishing_graph(&["a", "b", "c"]);
    let mut ex = FakeExecutor::new(1);
    ex.network_slots = 2;
    let report = build(&sg, &mut all_new(&sg), &mut ex, false, Cancel::new());
    assert_eq!(report.count(Status::Executed), sg.g.node_count(), "{report:?}");
    let (most, beside) = overlap(&ex.events);
    assert!(beside, "no publish ran beside a compute job: {:?}", ex.events);
    assert!(most <= 3, "more than 1 + 2 jobs at once: {:?}", ex.events);

    // Without network slots, -j 1 means one job at a time, publish included.
    let mut ex = FakeExecutor::new(1);
    let report = build(&sg, &mut all_new(&sg), &mut ex, false, Cancel::new());
    assert_eq!(report.count(Status::Executed), sg.g.node_count());
    assert_eq!(overlap(&ex.events), (1, false), "{:?}", ex.events);
}

#[test]
fn each_job_starts_after_every_dependency_of_its_steps_finished() {
    for slots in [1, 3, 16] {
        let sg = graph(&["a", "b"]);
        let mut ex = FakeExecutor::new(slots);
        let report = build(&sg, &mut all_new(&sg), &mut ex, false, Cancel::new());
        assert_eq!(report.count(Status::Executed), sg.g.node_count(), "slots {slots}: {report:?}");
        let mut finished: HashSet<String> = HashSet::new();
        for e in &ex.events {
            match e {
                Event::Finish(steps) => finished.extend(steps.iter().cloned()),
                Event::Start(steps) => {
                    for s in steps {
                        for d in sg.deps(sg.by_id[s]) {
                            assert!(finished.contains(&sg.g[d].id), "slots {slots}: {s} started before {}", sg.g[d].id);
                        }
                    }
                }
            }
        }
        let order: Vec<&str> = report.steps.iter().map(|s| s.id.as_str()).collect();
        assert!(order.iter().position(|s| *s == "probe:a") < order.iter().position(|s| *s == "metadata:a"));
    }
}

#[test]
fn stale_video_encodes_of_a_source_are_one_job_and_each_audio_encode_its_own_after_them() {
    let sg = graph(&["a", "b"]);
    let mut ex = FakeExecutor::new(1);
    build(&sg, &mut all_new(&sg), &mut ex, false, Cancel::new());
    let jobs: Vec<HashSet<String>> = ex.started().iter().map(|j| j.iter().cloned().collect()).collect();
    for s in ["a", "b"] {
        let video = ids(&[&format!("encode:{s}:144p"), &format!("encode:{s}:90p")]);
        let audio = ids(&[&format!("encode:{s}:aac")]);
        let v = jobs.iter().position(|j| *j == video).unwrap_or_else(|| panic!("no fused video job for {s}: {jobs:?}"));
        let a = jobs.iter().position(|j| *j == audio).unwrap_or_else(|| panic!("no audio job for {s}: {jobs:?}"));
        assert!(v < a, "the audio encode of {s} is queued after its video: {jobs:?}");
    }
    assert!(jobs.iter().all(|j| j.len() == 1 || j.iter().all(|s| s.starts_with("encode:"))), "{jobs:?}");
}

#[test]
fn fusion_groups_video_encodes_by_source_and_puts_other_steps_first() {
    let sg = graph(&["a", "b"]);
    let n = |id: &str| sg.by_id[id];
    let stale = ["encode:a:aac", "encode:a:144p", "encode:b:90p", "thumbnails:a", "encode:a:90p"].map(n).to_vec();
    let jobs = fusion::jobs(&sg, stale);
    let named: Vec<Vec<&str>> = jobs.iter().map(|j| j.iter().map(|x| sg.g[*x].id.as_str()).collect()).collect();
    assert_eq!(
        named,
        vec![vec!["thumbnails:a"], vec!["encode:a:144p", "encode:a:90p"], vec!["encode:b:90p"], vec!["encode:a:aac"]]
    );
}

#[test]
fn a_failure_skips_its_dependents_and_stops_the_run_unless_keep_going() {
    for keep_going in [false, true] {
        let sg = graph(&["a", "b"]);
        let mut ex = FakeExecutor::new(1);
        ex.fails.insert("encode:a:aac".into());
        let report = build(&sg, &mut all_new(&sg), &mut ex, keep_going, Cancel::new());
        let (status, _, error) = outcome(&report, "encode:a:aac");
        assert_eq!((status, error.as_str()), (Status::Failed, "encode:a:aac: boom"));
        assert_eq!(outcome(&report, "hls:a").1, "upstream failed: encode:a:aac");
        assert_eq!(outcome(&report, "metadata:a").1, "upstream failed: hls:a");
        assert_eq!(outcome(&report, "encode:a:144p").0, Status::Executed, "a video encode finished first");
        let b = outcome(&report, "metadata:b");
        if keep_going {
            assert_eq!(b.0, Status::Executed, "--keep-going: independent work goes on");
            assert_eq!(report.count(Status::Failed), 1);
        } else {
            assert_eq!((b.0, b.1.as_str()), (Status::Skipped, "not run after a failure"));
            assert!(!ex.started().iter().flatten().any(|s| s == "hls:b"), "no job starts after the failure");
        }
        assert!(!report.interrupted);
    }
}

#[test]
fn a_job_that_cannot_be_built_fails_its_steps() {
    struct Unbuildable(FakeWork);
    impl Judge for Unbuildable {
        fn judge<'a>(&mut self, n: NodeIndex, up: &dyn Fn(NodeIndex) -> Upstream<'a>) -> Verdict {
            self.0.judge(n, up)
        }
    }
    impl Work for Unbuildable {
        fn job<'o>(&mut self, g: &[NodeIndex], o: &dyn Fn(NodeIndex) -> &'o [OutputFile]) -> Result<JobSpec, String> {
            if self.0.ids[g[0].index()] == "thumbnails:a" { Err("no probe".into()) } else { self.0.job(g, o) }
        }
        fn record(&mut self, n: NodeIndex, e: &Evaluation, o: &[OutputFile]) -> Result<(), String> {
            self.0.record(n, e, o)
        }
    }
    let sg = graph(&["a"]);
    let mut work = Unbuildable(all_new(&sg));
    let mut ex = FakeExecutor::new(2);
    let progress = Progress::new(Mode::Quiet);
    let sched = Scheduler::new(&sg, &vec![true; sg.g.node_count()], true);
    let report = Builder::new(sched, &sg, &mut work, &progress, Cancel::new()).build(&mut ex);
    assert_eq!(outcome(&report, "thumbnails:a"), (Status::Failed, "new".into(), "no probe".into()));
    assert_eq!(outcome(&report, "metadata:a").1, "upstream failed: thumbnails:a");
    assert_eq!(outcome(&report, "hls:a").0, Status::Executed);
}

/// Recorded and fresh everywhere, but the probe's and encodes' files are gone (a fresh
/// checkout with remote state); `stale` must run.
fn absent_intermediates(sg: &StepGraph, stale: &[&str]) -> FakeWork {
    let mut w = FakeWork::new(sg);
    w.absent = ["probe:a", "encode:a:144p", "encode:a:90p", "encode:a:aac"].iter().map(|s| s.to_string()).collect();
    w.new = stale.iter().map(|s| s.to_string()).collect();
    w
}

#[test]
fn absent_intermediates_stay_absent_until_a_stale_consumer_needs_them() {
    let sg = graph(&["a"]);
    let mut ex = FakeExecutor::new(2);
    let report = build(&sg, &mut absent_intermediates(&sg, &[]), &mut ex, false, Cancel::new());
    assert!(ex.started().is_empty(), "nothing runs: {:?}", ex.started());
    assert_eq!(report.count(Status::Fresh), sg.g.node_count());

    let mut work = absent_intermediates(&sg, &["hls:a"]);
    let mut ex = FakeExecutor::new(2);
    let report = build(&sg, &mut work, &mut ex, false, Cancel::new());
    let rebuilt = ids(&["probe:a", "encode:a:144p", "encode:a:90p", "encode:a:aac", "hls:a"]);
    assert_eq!(with_status(&report, Status::Executed), rebuilt, "{report:?}");
    assert_eq!(with_status(&report, Status::Fresh), ids(&["thumbnails:a", "metadata:a"]));
    assert_eq!(outcome(&report, "encode:a:90p").1, "output missing: encode:a:90p (needed by hls:a)");
    assert_eq!(outcome(&report, "probe:a").1, "output missing: probe:a (needed by encode:a:144p)");
    assert_eq!(ex.started()[0], vec!["probe:a".to_string()], "the deepest absent input is rebuilt first");
    assert_eq!(work.recorded.len(), 5);
}

#[test]
fn a_rebuilt_step_has_its_fresh_consumers_judged_again_early_cutoff() {
    // Same bytes: thumbnails (judged fresh against the old probe) is judged again and stays fresh.
    let sg = graph(&["a"]);
    let mut work = absent_intermediates(&sg, &["hls:a"]);
    let report = build(&sg, &mut work, &mut FakeExecutor::new(2), false, Cancel::new());
    assert_eq!(outcome(&report, "thumbnails:a").0, Status::Fresh);
    assert_eq!(work.times_judged("thumbnails:a"), 2, "{:?}", work.judged);

    // Other bytes: it runs, and so does what reads it.
    let mut work = absent_intermediates(&sg, &["hls:a"]);
    let mut ex = FakeExecutor::new(2);
    ex.built.insert("probe:a".into(), "changed".into());
    ex.built.insert("thumbnails:a".into(), "changed".into());
    let report = build(&sg, &mut work, &mut ex, false, Cancel::new());
    assert_eq!(outcome(&report, "thumbnails:a"), (Status::Executed, "upstream changed: probe:a".into(), String::new()));
    assert_eq!(outcome(&report, "metadata:a").0, Status::Executed);
}

#[test]
fn a_fresh_consumer_of_several_rebuilt_inputs_is_judged_and_run_once() {
    // hls is fresh; a new consumer of the same (absent) video encodes makes them rebuild in
    // one fused job with other bytes: hls must run once, not once per rebuilt input.
    let mut sg = graph(&["a"]);
    // (dash also reads metadata, so it is judged after hls was found fresh.)
    let deps: Vec<NodeIndex> = ["encode:a:144p", "encode:a:90p", "metadata:a"].iter().map(|e| sg.by_id[*e]).collect();
    sg.add(step("dash:a"), &deps);
    let mut work = absent_intermediates(&sg, &["dash:a"]);
    work.absent.remove("encode:a:aac"); // present: hls, once stale, can run at once
    let mut ex = FakeExecutor::new(2);
    for e in ["encode:a:144p", "encode:a:90p"] {
        ex.built.insert(e.into(), "changed".into());
    }
    let report = build(&sg, &mut work, &mut ex, false, Cancel::new());
    let hls_jobs = ex.started().iter().filter(|g| g.contains(&"hls:a".to_string())).count();
    assert_eq!(hls_jobs, 1, "{:?}", ex.started());
    assert_eq!(outcome(&report, "hls:a").0, Status::Executed);
    assert_eq!(outcome(&report, "dash:a").0, Status::Executed);
    assert_eq!(work.recorded.iter().filter(|r| *r == "hls:a").count(), 1);
}

#[test]
fn a_step_that_does_not_apply_is_skipped_and_gives_its_consumers_no_input() {
    let sg = graph(&["a"]);
    let mut work = all_new(&sg);
    work.skip.insert("encode:a:aac".into());
    let mut ex = FakeExecutor::new(4);
    let report = build(&sg, &mut work, &mut ex, false, Cancel::new());
    assert_eq!(outcome(&report, "encode:a:aac"), (Status::Skipped, "source has no audio".into(), String::new()));
    assert_eq!(outcome(&report, "hls:a").0, Status::Executed);
}

#[test]
fn interruption_starts_no_new_job_and_reports_the_rest_interrupted() {
    let sg = graph(&["a", "b"]);
    let cancel = Cancel::new();
    let mut ex = FakeExecutor::new(1);
    ex.cancel_after = Some((1, cancel.clone()));
    let report = build(&sg, &mut all_new(&sg), &mut ex, true, cancel);
    assert!(report.interrupted);
    assert!(ex.cancelled, "the executor was asked to cancel its jobs");
    assert_eq!(ex.started().len(), 1, "{:?}", ex.started());
    let first = &ex.started()[0][0];
    assert_eq!(outcome(&report, first), (Status::Failed, "new".into(), "interrupted".into()));
    // What depends on it fails with it ("upstream failed"); every other step was never reached.
    let mut downstream = HashSet::new();
    let mut stack = vec![sg.by_id[first]];
    while let Some(n) = stack.pop() {
        for d in sg.dependents(n) {
            downstream.insert(sg.g[d].id.clone());
            stack.push(d);
        }
    }
    assert!(!downstream.is_empty());
    for s in report.steps.iter().filter(|s| s.id != *first) {
        let why = s.reason.clone().unwrap_or_default();
        let expected =
            if downstream.contains(&s.id) { why.starts_with("upstream failed: ") } else { why == "interrupted" };
        assert!(s.status == Status::Skipped && expected, "{}: {:?} {why}", s.id, s.status);
    }
}

// ------------------------------------------------------------------ retries

fn build_retrying(sg: &StepGraph, ex: &mut FakeExecutor, retries: crate::manifest::model::Retries) -> RunReport {
    let progress = Progress::new(Mode::Quiet);
    let sched = Scheduler::new(sg, &vec![true; sg.g.node_count()], false);
    let policy = crate::exec::retry::RetryPolicy::of(Some(&retries));
    Builder::new(sched, sg, &mut all_new(sg), &progress, Cancel::new()).with_retries(policy).build(ex)
}

fn attempts(report: &RunReport, id: &str) -> u32 {
    report.steps.iter().find(|s| s.id == id).map(|s| s.attempts).unwrap_or_default()
}

#[test]
fn a_transient_failure_is_retried_until_it_succeeds() {
    let sg = graph(&["a"]);
    let mut ex = FakeExecutor::new(2);
    ex.transient.insert("thumbnails:a".into(), 2);
    let retries = crate::manifest::model::Retries { thumbnails: Some(3), ..Default::default() };
    let report = build_retrying(&sg, &mut ex, retries);
    assert_eq!(outcome(&report, "thumbnails:a").0, Status::Executed);
    assert_eq!(attempts(&report, "thumbnails:a"), 3);
    assert_eq!(ex.started().iter().filter(|g| g[0] == "thumbnails:a").count(), 3);
    assert_eq!(outcome(&report, "metadata:a").0, Status::Executed, "its dependent waited for the retry");
    assert_eq!(attempts(&report, "hls:a"), 1);
}

#[test]
fn retries_are_bounded_then_the_step_fails() {
    let sg = graph(&["a"]);
    let mut ex = FakeExecutor::new(1);
    ex.transient.insert("thumbnails:a".into(), 10);
    let retries = crate::manifest::model::Retries { thumbnails: Some(2), ..Default::default() };
    let report = build_retrying(&sg, &mut ex, retries);
    let (status, _, error) = outcome(&report, "thumbnails:a");
    assert_eq!((status, error.lines().next()), (Status::Failed, Some("ffmpeg exited with a signal:")));
    assert_eq!(attempts(&report, "thumbnails:a"), 3, "one attempt and two retries");
    assert_eq!(outcome(&report, "metadata:a").0, Status::Skipped);
}

#[test]
fn only_transient_failures_of_kinds_with_retries_run_again() {
    let sg = graph(&["a"]);
    // Thumbnails may retry, but its failure is not transient.
    let mut ex = FakeExecutor::new(1);
    ex.fails.insert("thumbnails:a".into());
    let retries = crate::manifest::model::Retries { thumbnails: Some(3), ..Default::default() };
    let report = build_retrying(&sg, &mut ex, retries);
    assert_eq!(outcome(&report, "thumbnails:a").0, Status::Failed);
    assert_eq!(ex.started().iter().filter(|g| g[0] == "thumbnails:a").count(), 1);
    // An encode killed by a signal keeps its default: no retry.
    let mut ex = FakeExecutor::new(1);
    ex.transient.insert("encode:a:aac".into(), 1);
    let report = build_retrying(&sg, &mut ex, Default::default());
    assert_eq!(outcome(&report, "encode:a:aac").0, Status::Failed);
    assert_eq!(attempts(&report, "encode:a:aac"), 1);
}

#[test]
fn a_waiting_retry_does_not_start_after_a_failure_stopped_the_run() {
    let sg = graph(&["a", "b"]);
    // Whichever probe finishes first fails transiently and waits; then the other fails for
    // good: the run stops, and the waiting one must not start again.
    for (first, second) in [("probe:a", "probe:b"), ("probe:b", "probe:a")] {
        let mut ex = FakeExecutor::new(2);
        ex.transient.insert(first.into(), 1);
        ex.fails.insert(second.into());
        let retries = crate::manifest::model::Retries { probe: Some(1), backoff: 0.2, ..Default::default() };
        let report = build_retrying(&sg, &mut ex, retries);
        assert_eq!(ex.started().iter().filter(|g| g[0] == first).count(), 1, "{:?}", ex.started());
        let (status, _, error) = outcome(&report, first);
        assert_eq!((status, error.lines().next()), (Status::Failed, Some("ffmpeg exited with a signal:")));
        assert_eq!(outcome(&report, second).0, Status::Failed);
    }
}

#[test]
fn a_retried_failure_does_not_stop_the_run() {
    let sg = graph(&["a", "b"]);
    let mut ex = FakeExecutor::new(1);
    ex.transient.insert("probe:a".into(), 1);
    let retries = crate::manifest::model::Retries { probe: Some(1), ..Default::default() };
    let report = build_retrying(&sg, &mut ex, retries);
    assert!(report.steps.iter().all(|s| s.status == Status::Executed), "{:?}", report.steps);
    assert_eq!(attempts(&report, "probe:a"), 2);
}
