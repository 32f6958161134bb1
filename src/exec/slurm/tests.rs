//! The Slurm [`Tracker`] against a fake cluster ([`Fake`]: `sbatch` hands out ids, `squeue`
//! prints what the test says, every call is recorded) and a temporary workspace where the
//! test plays the node: it writes outputs and result files. Real Slurm runs in tests/slurm.rs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::command::{Output, Runner};
use super::poll::{Timing, Tracker};
use super::session::Session;
use crate::exec::executor::{Finished, Job, JobOutcome};
use crate::exec::place;
use crate::job::{Action, JobOutput, JobResult, JobSpec, JobStatus, StepFiles};
use crate::manifest::executor::{ExecutorSpec, Resources};

#[derive(Default)]
struct Cluster {
    /// `squeue` fails (slurmctld unreachable).
    squeue_down: bool,
    calls: Vec<(String, Vec<String>)>,
    next_id: u32,
    /// What `squeue` prints.
    squeue: String,
    max_array: usize,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Cluster>>);

impl Runner for Fake {
    fn run(&self, program: &str, args: &[String]) -> Output {
        let mut c = self.0.lock().unwrap();
        c.calls.push((program.to_string(), args.to_vec()));
        let stdout = match program {
            "sbatch" => {
                c.next_id += 1;
                format!("{}\n", c.next_id)
            }
            "squeue" => c.squeue.clone(),
            "scontrol" => format!("MaxArraySize = {}\n", c.max_array),
            _ => String::new(),
        };
        let ok = !(program == "squeue" && c.squeue_down);
        Output {
            ok,
            stdout,
            stderr: if ok { String::new() } else { "slurm_load_jobs error: Unable to contact slurm controller".into() },
        }
    }
}

impl Fake {
    fn calls(&self, program: &str) -> Vec<Vec<String>> {
        self.0.lock().unwrap().calls.iter().filter(|(p, _)| p == program).map(|(_, a)| a.clone()).collect()
    }
    fn set_squeue(&self, text: &str) {
        self.0.lock().unwrap().squeue = text.to_string();
    }
}

const NOW: Timing =
    Timing { grace: Duration::ZERO, status_min: Duration::ZERO, status_max: Duration::ZERO, coalesce: Duration::ZERO };

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    fake: Fake,
    session: Session,
}

fn setup(spec: ExecutorSpec, max_array: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("out")).unwrap();
    let fake = Fake::default();
    fake.0.lock().unwrap().max_array = max_array;
    let session =
        Session::with_exe(spec, &root, &root.join(".vodbuild/m"), Box::new(fake.clone()), "/usr/bin/vodbuild".into())
            .unwrap();
    Setup { _dir: dir, root, fake, session }
}

/// A one-output job writing `out/NAME` (its step is `encode:NAME`).
fn job(id: usize, name: &str) -> Job {
    let spec_id = format!("{:016x}", id + 0xabc);
    let spec = JobSpec {
        id: spec_id.clone(),
        label: format!("encode:{name}"),
        steps: vec![format!("encode:{name}")],
        duration: 1.0,
        inputs: Vec::new(),
        tools: Vec::new(),
        action: Action::WriteFile {
            path: format!("{{root}}/out/.{name}.tmp-{spec_id}").into(),
            contents: String::new(),
        },
        outputs: vec![JobOutput {
            step: format!("encode:{name}"),
            tmp: format!("{{root}}/out/.{name}.tmp-{spec_id}").into(),
            dest: format!("{{root}}/out/{name}").into(),
            dir: false,
            root: Some("{root}/out".into()),
        }],
        checks: Default::default(),
        remote_outputs: None,
    };
    Job { id, spec }
}

/// Plays the node: reads the attempt's spec, writes its output and a result.
fn node_runs(s: &Session, spec_id: &str, attempt: u32, status: JobStatus) -> PathBuf {
    let dir = super::attempt::dir(&s.dir, spec_id, attempt);
    let spec: JobSpec = serde_json::from_slice(&std::fs::read(dir.join("spec.json")).unwrap()).unwrap();
    let p = &spec.placements(&s.root)[0];
    std::fs::write(&p.tmp, format!("made by attempt {attempt}")).unwrap();
    let files = place::digest(p).unwrap();
    let (error, outputs) = match status {
        JobStatus::Succeeded => (None, vec![StepFiles { step: p.step.clone(), files }]),
        _ => (Some("ffmpeg exited with 1:\nInvalid data found".to_string()), Vec::new()),
    };
    let r = JobResult { id: spec.id.clone(), status, error, outputs, sync: Default::default() };
    std::fs::write(dir.join("result.json"), serde_json::to_vec(&r).unwrap()).unwrap();
    p.tmp.clone()
}

/// Polls until `n` jobs finished (bounded).
fn finish(t: &mut Tracker, n: usize) -> Vec<Finished> {
    let mut done = Vec::new();
    for _ in 0..50 {
        done.extend(t.submit(Instant::now()));
        done.extend(t.poll(Instant::now() + Duration::from_secs(1)));
        if done.len() >= n {
            break;
        }
    }
    done
}

#[test]
fn siblings_go_as_one_array_and_results_decide() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    (0..3).for_each(|i| t.add(job(i, &format!("v{i}"))));
    assert!(t.submit(Instant::now()).is_empty());
    let sbatch = st.fake.calls("sbatch");
    assert_eq!(sbatch.len(), 1, "one sbatch for three sibling jobs");
    assert!(sbatch[0].contains(&"--array=0-2".to_string()), "{:?}", sbatch[0]);
    assert!(sbatch[0].contains(&format!("--job-name={}", st.session.run_id)));
    assert!(sbatch[0].contains(&"--no-requeue".to_string()));
    let export = sbatch[0].iter().find_map(|a| a.strip_prefix("--export=")).expect("--export");
    assert_eq!(export, "ALL", "a name list or NONE makes slurmd load the login environment (su -)");
    for i in 0..3 {
        node_runs(&st.session, &job(i, "x").spec.id, 1, JobStatus::Succeeded);
    }
    st.fake.set_squeue("1_0|RUNNING|n1|None\n1_1|RUNNING|n2|None\n1_2|RUNNING|n1|None\n");
    let done = finish(&mut t, 3);
    assert_eq!(done.len(), 3);
    assert!(done.iter().all(|f| matches!(f.outcome, JobOutcome::Built { .. })));
    for i in 0..3 {
        assert_eq!(std::fs::read_to_string(st.root.join(format!("out/v{i}"))).unwrap(), "made by attempt 1");
    }
    assert!(!st.session.dir.join("jobs").join(&job(0, "x").spec.id).exists(), "a success's folder is removed");
    assert_eq!(st.session.report().submitted_jobs, 3);
}

#[test]
fn one_status_call_per_cycle_whatever_the_jobs_in_flight() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    (0..40).for_each(|i| t.add(job(i, &format!("v{i}"))));
    t.submit(Instant::now());
    let running: String = (0..40).map(|i| format!("1_{i}|RUNNING|n1|None\n")).collect();
    st.fake.set_squeue(&running);
    for cycle in 1..=5 {
        assert!(t.poll(Instant::now() + Duration::from_secs(cycle)).is_empty());
        assert_eq!(st.fake.calls("squeue").len(), cycle as usize);
    }
    assert_eq!(st.session.report().status_calls, 5);
}

#[test]
fn status_calls_back_off_while_nothing_changes() {
    let st = setup(ExecutorSpec::default(), 1001);
    let timing = Timing { status_min: Duration::from_secs(1), status_max: Duration::from_secs(8), ..NOW };
    let mut t = Tracker::new(&st.session, timing);
    t.add(job(0, "v"));
    t.submit(Instant::now());
    st.fake.set_squeue("1_0|RUNNING|n1|None\n");
    let start = Instant::now();
    // One poll per simulated second for 30 s: 1 s, then 2, 4, 8, 8... apart.
    for s in 1..=30 {
        t.poll(start + Duration::from_secs(s));
    }
    let calls = st.fake.calls("squeue").len();
    assert!((4..=7).contains(&calls), "{calls} status calls in 30 s of an unchanged queue");
}

#[test]
fn a_node_failure_is_retried_elsewhere_with_its_own_temporaries() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    let j = job(0, "v");
    let id = j.spec.id.clone();
    t.add(j);
    t.submit(Instant::now());
    st.fake.set_squeue("1_0|NODE_FAIL|n2|None\n");
    assert!(t.poll(Instant::now()).is_empty());
    assert!(t.submit(Instant::now()).is_empty());
    let sbatch = st.fake.calls("sbatch");
    assert_eq!(sbatch.len(), 2);
    assert!(sbatch[1].contains(&"--exclude=n2".to_string()), "{:?}", sbatch[1]);
    let first = node_runs_tmp(&st.session, &id, 1);
    let second = node_runs(&st.session, &id, 2, JobStatus::Succeeded);
    assert_ne!(first, second, "two attempts never share a temporary");
    st.fake.set_squeue("1_0|NODE_FAIL|n2|None\n2_0|RUNNING|n1|None\n");
    let done = finish(&mut t, 1);
    assert!(matches!(done[0].outcome, JobOutcome::Built { .. }), "{:?}", done[0].outcome);
    assert_eq!(std::fs::read_to_string(st.root.join("out/v")).unwrap(), "made by attempt 2");
    assert_eq!(st.session.report().retries, 1);
}

/// The temporary attempt `attempt` writes.
fn node_runs_tmp(s: &Session, spec_id: &str, attempt: u32) -> PathBuf {
    let dir = super::attempt::dir(&s.dir, spec_id, attempt);
    let spec: JobSpec = serde_json::from_slice(&std::fs::read(dir.join("spec.json")).unwrap()).unwrap();
    spec.placements(&s.root)[0].tmp.clone()
}

#[test]
fn retries_are_bounded() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    t.add(job(0, "v"));
    let mut done = Vec::new();
    for id in 1..=super::retry::MAX_ATTEMPTS {
        done.extend(t.submit(Instant::now()));
        st.fake.set_squeue(&format!("{id}_0|TIMEOUT|n{id}|TimeLimit\n"));
        done.extend(t.poll(Instant::now()));
    }
    assert_eq!(st.fake.calls("sbatch").len(), super::retry::MAX_ATTEMPTS as usize);
    let JobOutcome::Failed(e) = &done[0].outcome else { panic!("{:?}", done[0].outcome) };
    assert!(e.contains("TIMEOUT") && e.contains("attempt 3 of 3"), "{e}");
    let last = st.fake.calls("sbatch").pop().unwrap();
    assert!(last.contains(&"--exclude=n1,n2".to_string()), "{last:?}");
}

#[test]
fn a_failed_job_reports_its_error_and_log_tail_and_keeps_its_log() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, Timing { grace: Duration::from_secs(60), ..NOW });
    let j = job(0, "v");
    let id = j.spec.id.clone();
    t.add(j);
    t.submit(Instant::now());
    let log = st.session.dir.join("logs/1_0.log");
    std::fs::write(&log, "vodbuild slurm-task: on node n1\nerror: ffmpeg said something specific\n").unwrap();
    node_runs(&st.session, &id, 1, JobStatus::Failed);
    st.fake.set_squeue("1_0|RUNNING|n1|None\n");
    assert!(t.poll(Instant::now()).is_empty(), "waits for the job to leave the queue (its log complete)");
    st.fake.set_squeue("1_0|FAILED|n1|NonZeroExitCode\n");
    let done = finish(&mut t, 1);
    let JobOutcome::Failed(e) = &done[0].outcome else { panic!("{:?}", done[0].outcome) };
    assert!(e.contains("Invalid data found"), "{e}");
    assert!(e.contains("ffmpeg said something specific") && e.contains("on n1"), "{e}");
    assert!(log.exists(), "a failed job's log stays");
    assert!(!st.root.join("out/v").exists());
}

#[test]
fn a_failed_job_still_running_after_the_grace_period_is_cancelled() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, Timing { grace: Duration::from_secs(10), ..NOW });
    let j = job(0, "v");
    let id = j.spec.id.clone();
    t.add(j);
    t.submit(Instant::now());
    node_runs(&st.session, &id, 1, JobStatus::Failed);
    st.fake.set_squeue("1_0|RUNNING|n1|None\n");
    let start = Instant::now();
    assert!(t.poll(start).is_empty(), "waits for the job to leave the queue");
    assert!(st.fake.calls("scancel").is_empty());
    let done = t.poll(start + Duration::from_secs(11));
    assert!(matches!(&done[0].outcome, JobOutcome::Failed(e) if e.contains("Invalid data found")));
    assert_eq!(st.fake.calls("scancel"), vec![vec!["1_0".to_string()]], "the stuck task is cancelled");
}

#[test]
fn a_job_gone_without_a_result_fails_after_the_grace_period() {
    let st = setup(ExecutorSpec::default(), 1001);
    let timing = Timing { grace: Duration::from_secs(10), ..NOW };
    let mut t = Tracker::new(&st.session, timing);
    t.add(job(0, "v"));
    t.submit(Instant::now());
    st.fake.set_squeue("");
    let start = Instant::now();
    assert!(t.poll(start).is_empty());
    assert!(t.poll(start + Duration::from_secs(5)).is_empty(), "within the grace period");
    let done = t.poll(start + Duration::from_secs(11));
    let JobOutcome::Failed(e) = &done[0].outcome else { panic!("{:?}", done[0].outcome) };
    assert!(e.contains("gone from the queue without writing its result"), "{e}");
}

#[test]
fn tampered_outputs_are_refused() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    let j = job(0, "v");
    let id = j.spec.id.clone();
    t.add(j);
    t.submit(Instant::now());
    let tmp = node_runs(&st.session, &id, 1, JobStatus::Succeeded);
    std::fs::write(&tmp, "not what the job reported").unwrap();
    let done = finish(&mut t, 1);
    assert!(matches!(&done[0].outcome, JobOutcome::Failed(e) if e.contains("not the files the job reported")));
    assert!(!st.root.join("out/v").exists(), "nothing placed");
}

#[test]
fn max_array_size_splits_and_max_jobs_throttles() {
    let spec = ExecutorSpec { max_jobs: Some(2), ..ExecutorSpec::default() };
    let st = setup(spec, 3);
    let mut t = Tracker::new(&st.session, NOW);
    (0..5).for_each(|i| t.add(job(i, &format!("v{i}"))));
    t.submit(Instant::now());
    let sbatch = st.fake.calls("sbatch");
    assert_eq!(sbatch.len(), 1, "the second array waits for free slots");
    assert!(sbatch[0].contains(&"--array=0-2%2".to_string()), "{:?}", sbatch[0]);
    assert_eq!(t.in_flight(), 5);
}

#[test]
fn resources_and_settings_become_sbatch_options() {
    let mut spec = ExecutorSpec { partition: Some("render".into()), account: Some("vod".into()), ..Default::default() };
    spec.extra_args = vec!["--constraint=avx2".into()];
    spec.resources
        .insert("encode".into(), Resources { cpus: Some(4), mem: Some("2G".into()), time: Some("30".into()) });
    let st = setup(spec, 0);
    let mut t = Tracker::new(&st.session, NOW);
    t.add(job(0, "v"));
    t.submit(Instant::now());
    let args = &st.fake.calls("sbatch")[0];
    for want in
        ["--partition=render", "--account=vod", "--cpus-per-task=4", "--mem=2G", "--time=30", "--constraint=avx2"]
    {
        assert!(args.contains(&want.to_string()), "{want} in {args:?}");
    }
    assert!(!args.iter().any(|a| a.starts_with("--array")), "arrays off (MaxArraySize 0): {args:?}");
    let batch = Path::new(args.last().unwrap());
    assert!(std::fs::read_to_string(batch).unwrap().starts_with("#!/usr/bin/vodbuild slurm-task\n"));
}

#[test]
fn cancelling_is_one_scancel_and_every_job_interrupted() {
    let st = setup(ExecutorSpec::default(), 2);
    let mut t = Tracker::new(&st.session, NOW);
    (0..5).for_each(|i| t.add(job(i, &format!("v{i}"))));
    t.submit(Instant::now());
    st.fake.set_squeue("1_0|CANCELLED|n1|None\n");
    let done = t.cancel();
    assert_eq!(done.len(), 5);
    assert!(done.iter().all(|f| matches!(f.outcome, JobOutcome::Interrupted)));
    let scancel = st.fake.calls("scancel");
    assert_eq!(scancel, vec![vec!["1".to_string(), "2".to_string(), "3".to_string()]]);
    assert_eq!(t.in_flight(), 0);
}

#[test]
fn ready_jobs_wait_for_siblings_while_the_run_has_jobs_on_slurm() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, Timing { coalesce: Duration::from_secs(1), ..NOW });
    t.add(job(0, "v0"));
    t.submit(Instant::now());
    assert_eq!(st.fake.calls("sbatch").len(), 1, "an idle run submits at once");
    t.add(job(1, "v1"));
    t.add(job(2, "v2"));
    t.submit(Instant::now());
    assert_eq!(st.fake.calls("sbatch").len(), 1, "siblings are gathered");
    t.submit(Instant::now() + Duration::from_secs(2));
    let sbatch = st.fake.calls("sbatch");
    assert_eq!(sbatch.len(), 2);
    assert!(sbatch[1].contains(&"--array=0-1".to_string()), "{:?}", sbatch[1]);
}

#[test]
fn an_unreachable_controller_fails_the_jobs_after_bounded_tries() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    t.add(job(0, "v"));
    t.submit(Instant::now());
    st.fake.0.lock().unwrap().squeue_down = true;
    let mut done = Vec::new();
    for _ in 0..super::poll::MAX_STATUS_FAILURES {
        assert!(done.is_empty());
        done.extend(t.poll(Instant::now() + Duration::from_secs(1)));
    }
    let JobOutcome::Failed(e) = &done[0].outcome else { panic!("{:?}", done[0].outcome) };
    assert!(e.contains("Unable to contact slurm controller"), "{e}");
    assert_eq!(st.fake.calls("scancel"), vec![vec!["1_0".to_string()]], "given up on, so cancelled (best effort)");
}

#[test]
fn a_job_the_builder_retries_gets_a_new_attempt_folder() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    let j = job(0, "v");
    let id = j.spec.id.clone();
    t.add(j);
    t.submit(Instant::now());
    node_runs(&st.session, &id, 1, JobStatus::Failed);
    st.fake.set_squeue("1_0|FAILED|n1|NonZeroExitCode\n");
    let done = finish(&mut t, 1);
    assert!(matches!(&done[0].outcome, JobOutcome::Failed(_)), "{:?}", done[0].outcome);
    // The builder tries the same job again: a new folder, not the first attempt's stale result.
    let first_spec = std::fs::read_to_string(super::attempt::dir(&st.session.dir, &id, 1).join("spec.json"));
    t.add(job(0, "v"));
    assert!(t.submit(Instant::now()).is_empty());
    let second = super::attempt::dir(&st.session.dir, &id, 2);
    assert!(second.join("spec.json").is_file() && !second.join("result.json").exists());
    if let Ok(first) = first_spec {
        let again = std::fs::read_to_string(second.join("spec.json")).unwrap();
        assert_ne!(first, again, "the retry has its own temporaries");
    }
    st.fake.set_squeue("2_0|RUNNING|n1|None\n");
    assert!(t.poll(Instant::now()).is_empty(), "the first attempt's result is not this one's");
    node_runs(&st.session, &id, 2, JobStatus::Succeeded);
    let done = finish(&mut t, 1);
    assert!(matches!(&done[0].outcome, JobOutcome::Built { .. }), "{:?}", done[0].outcome);
}

#[test]
fn the_kept_part_of_an_error_names_no_job_id_or_node() {
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    let j = job(0, "v");
    let id = j.spec.id.clone();
    t.add(j);
    t.submit(Instant::now());
    node_runs(&st.session, &id, 1, JobStatus::Failed);
    st.fake.set_squeue("1_0|FAILED|node-x7|NonZeroExitCode\n");
    let mut done = finish(&mut t, 1);
    let st = setup(ExecutorSpec::default(), 1001);
    let mut t = Tracker::new(&st.session, NOW);
    t.add(job(1, "w"));
    for n in 1..=super::retry::MAX_ATTEMPTS {
        done.extend(t.submit(Instant::now()));
        st.fake.set_squeue(&format!("{n}_0|TIMEOUT|node-x{n}|TimeLimit\n"));
        done.extend(t.poll(Instant::now()));
    }
    assert_eq!(done.len(), 2, "{done:?}");
    for f in &done {
        let JobOutcome::Failed(e) = &f.outcome else { panic!("{:?}", f.outcome) };
        assert!(e.contains("node-x"), "the run report keeps where it ran: {e}");
        let kept = super::attempt::without_cluster_details(e);
        assert!(!kept.contains("node-x") && !kept.contains("_0"), "{kept}");
        assert!(kept.contains("Invalid data found") || kept.contains("TIMEOUT (attempt 3 of 3)"), "{kept}");
    }
}

#[test]
fn result_wait_sets_the_grace_period() {
    let spec = ExecutorSpec { result_wait: Some(30), ..Default::default() };
    assert_eq!(Timing::of(&spec).grace, Duration::from_secs(30));
    assert_eq!(Timing::of(&ExecutorSpec::default()).grace, Timing::default().grace);
}

#[test]
fn packaging_with_a_key_from_the_environment_stays_on_the_coordinator() {
    use crate::crypt::job::CryptJob;
    use crate::manifest::encryption::{CryptMethod, KeySource};
    let crypt = |key: KeySource| CryptJob {
        method: CryptMethod::Cenc,
        key,
        iv: None,
        key_id: None,
        systems: Vec::new(),
        clear_lead: 0.0,
        key_uri: None,
        key_digest: String::new(),
    };
    let dash = |c: Option<CryptJob>| {
        let mut spec = job(0, "d").spec;
        spec.action = Action::Dash {
            tool: crate::step::ToolUse::Packager,
            args: Vec::new(),
            dir: "{root}/out/d".into(),
            crypt: c,
            storyboard: None,
            subtitles: Vec::new(),
        };
        spec
    };
    let env = KeySource { env: Some("TITLE_KEY".into()), file: None };
    let file = KeySource { env: None, file: Some("/shared/keys/t.key".into()) };
    assert!(super::runs_here(&dash(Some(crypt(env)))), "the variable never reaches Slurm");
    assert!(!super::runs_here(&dash(Some(crypt(file)))), "a key file on the shared filesystem goes");
    assert!(!super::runs_here(&dash(None)));
}
