//! `cargo xtask soak [--kills N] [--server-kills M]`: SIGKILLs `vodbuild run` at random
//! moments while it encodes, packages and publishes a small catalog to s3s-fs, reruns to
//! completion after each kill, and checks that nothing is left behind or corrupt (README,
//! "Soak"). It also kills the S3 server mid-publish and checks the bucket never lists a
//! playlist naming a missing object.

mod bucket;
mod check;
mod proc;
mod rounds;
mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bench::install::{Tools, build_vodbuild, ensure_s3s_fs};
use crate::bench::publish::{free_port, publish_yaml};
use crate::bench::{media, options, target_dir};
use crate::{Result, fail};
use proc::{Rng, Run, Server};

const USAGE: &str = "\
usage: cargo xtask soak [--kills N] [--server-kills M] [options]

  --kills N          SIGKILLs of `vodbuild run`, each followed by a rerun and checks (default 50)
  --server-kills M   kills of the S3 server mid-publish (default 10)
  --seed S           PRNG seed of the kill times (default: from the clock; printed)
  --titles T         catalog size: 2 s 320x180 titles (default 3)
  --jobs J           pass `-j J` to every run (default: vodbuild's own)
  --release          build and soak the release binary (default: the dev build)
";

struct Config {
    kills: usize,
    server_kills: usize,
    seed: u64,
    titles: usize,
    jobs: Option<String>,
    release: bool,
}

impl Config {
    fn parse(args: &[String]) -> std::result::Result<Config, String> {
        let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let mut c = Config {
            kills: 50,
            server_kills: 10,
            seed: clock.as_nanos() as u64,
            titles: 3,
            jobs: None,
            release: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut num = || -> std::result::Result<u64, String> {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                v.parse().map_err(|_| format!("{a}: not a whole number: {v}"))
            };
            match a.as_str() {
                "--kills" => c.kills = num()? as usize,
                "--server-kills" => c.server_kills = num()? as usize,
                "--seed" => c.seed = num()?,
                "--titles" => c.titles = (num()? as usize).clamp(1, 100),
                "--jobs" => c.jobs = Some(num()?.to_string()),
                "--release" => c.release = true,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        Ok(c)
    }
}

/// Where the soak runs and with what.
pub struct Soak {
    pub vodbuild: PathBuf,
    pub ffmpeg: PathBuf,
    /// target/soak: media, both workspaces, the servers' data, logs.
    pub work: PathBuf,
    /// The workspace that is killed and rerun.
    pub ws: PathBuf,
    /// The clean build's workspace.
    pub reference: PathBuf,
    /// The soak server's bucket folder.
    pub server_bucket: PathBuf,
    /// vodbuild's stderr, every run (target/soak/vodbuild.log).
    pub log: PathBuf,
    /// `-j J` for every run, when given.
    pub jobs: Vec<String>,
    /// How many publish steps a full run has (server kills pick one).
    pub publish_steps: usize,
}

/// The counts the summary table shows.
#[derive(Default)]
pub struct Totals {
    pub kills: usize,
    pub by_phase: BTreeMap<String, usize>,
    pub finished_before_kill: usize,
    pub reruns: usize,
    pub reruns_ok: usize,
    pub corrupt: usize,
    pub leftovers: usize,
    pub bucket_violations: usize,
    pub bucket_checks: usize,
    pub identical: usize,
    pub differ_valid: usize,
    pub noop_failures: usize,
    pub server_kills: usize,
    pub server_mid_publish: usize,
    pub server_run_completed: usize,
    pub server_next_ok: usize,
}

impl Totals {
    fn failed(&self) -> bool {
        self.reruns_ok < self.reruns
            || self.corrupt + self.leftovers + self.bucket_violations + self.noop_failures > 0
            || self.server_next_ok < self.server_kills
    }
}

pub fn say(msg: &str) {
    eprintln!("soak: {msg}");
}

pub fn run(args: &[String]) -> Result {
    let Some(cfg) = options("soak", USAGE, Config::parse(args))? else { return Ok(()) };
    let started = Instant::now();
    crate::ensure_ffmpeg()?;
    let vodbuild = build_vodbuild("soak", cfg.release)?;
    let s3s = ensure_s3s_fs()?;
    let find = |t: &str| crate::which(t).ok_or_else(|| fail("soak", format!("{t} not on PATH")));
    let tools = Tools {
        vodbuild,
        ffmpeg: find("ffmpeg")?,
        ffprobe: find("ffprobe")?,
        python: String::new(),
        shaka: PathBuf::new(),
        ninja: None,
        b3sum: None,
        rclone: None,
    };
    let soak = |e: String| fail("soak", e);
    let work = target_dir().join("soak");
    let (totals, elapsed) = soak_in(&cfg, &tools, &s3s, &work, started).map_err(soak)?;
    println!("{}", table(&cfg, &totals, elapsed));
    if totals.failed() { Err(fail("soak", "problems found (see the table and target/soak/)")) } else { Ok(()) }
}

fn soak_in(
    cfg: &Config,
    tools: &Tools,
    s3s: &Path,
    work: &Path,
    started: Instant,
) -> std::result::Result<(Totals, f64), String> {
    if work.exists() {
        std::fs::remove_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    }
    say(&format!("making {} titles (2 s, 320x180) in {}", cfg.titles, work.display()));
    media::tiny_titles(tools, work, &work.join("media"), cfg.titles)?;
    let jobs: Vec<String> = cfg.jobs.iter().flat_map(|j| ["-j".to_string(), j.clone()]).collect();
    let mut soak = Soak {
        vodbuild: tools.vodbuild.clone(),
        ffmpeg: tools.ffmpeg.clone(),
        work: work.to_path_buf(),
        ws: work.join("ws"),
        reference: work.join("reference"),
        server_bucket: PathBuf::new(),
        log: work.join("vodbuild.log"),
        jobs,
        publish_steps: 0,
    };
    let (full, publish_steps) = reference(&soak, tools, s3s)?;
    soak.publish_steps = publish_steps;
    say(&format!("clean reference build: {full:.1} s"));
    let mut server = Server::start(s3s, &work.join("s3"), free_port()?, &work.join("s3s-fs.log"))?;
    soak.server_bucket = server.bucket();
    workspace(tools, work, &soak.ws, server.port)?;
    println!("soak: seed {} ({} kills, {} server kills)", cfg.seed, cfg.kills, cfg.server_kills);
    let mut rng = Rng::new(cfg.seed);
    let mut t = Totals::default();
    // Estimated run lengths for clean and --force rounds; rounds go on until `kills` SIGKILLs
    // landed (a run that ends before its kill time is not one), at most 2×kills rounds.
    let mut est = [full, full];
    let mut i = 0;
    while t.kills < cfg.kills && i < 2 * cfg.kills {
        rounds::kill(&soak, &mut rng, i, cfg.kills, &mut est[i % 2], &mut t)?;
        i += 1;
    }
    for i in 0..cfg.server_kills {
        rounds::server_kill(&soak, &mut server, &mut rng, i, cfg.server_kills, &mut t)?;
    }
    Ok((t, started.elapsed().as_secs_f64()))
}

/// The manifest: two video rungs + AAC, HLS + DASH + thumbnails + metadata, published to
/// bucket `vod` of the s3s-fs server on `port`.
fn manifest(tools: &Tools, port: u16) -> String {
    let outputs = "  thumbnails: {interval: 1, width: 64, format: jpg}\n  metadata: true\n";
    format!("{}{outputs}{}", media::catalog_manifest(tools), publish_yaml(port))
}

/// A workspace folder with hard links to the catalog's media and the manifest for `port`.
fn workspace(tools: &Tools, work: &Path, ws: &Path, port: u16) -> std::result::Result<(), String> {
    let media = ws.join("media");
    std::fs::create_dir_all(&media).map_err(|e| format!("{}: {e}", media.display()))?;
    for f in tree::files(&work.join("media"))? {
        let (from, to) = (work.join("media").join(&f), media.join(&f));
        if !to.exists() {
            std::fs::hard_link(&from, &to)
                .or_else(|_| std::fs::copy(&from, &to).map(|_| ()))
                .map_err(|e| e.to_string())?;
        }
    }
    media::write(&ws.join("pipeline.yaml"), &manifest(tools, port))
}

/// The clean build (its own server), and self-checks of the soak's checkers on it: the bucket
/// mirrors `out/`, no playlist names a missing object, every package object is named.
/// Returns its wall time and its number of publish steps.
fn reference(soak: &Soak, tools: &Tools, s3s: &Path) -> std::result::Result<(f64, usize), String> {
    let server =
        Server::start(s3s, &soak.work.join("reference-s3"), free_port()?, &soak.work.join("reference-s3.log"))?;
    workspace(tools, &soak.work, &soak.reference, server.port)?;
    let report = soak.work.join("reference.json");
    let rep = report.display().to_string();
    let mut args = vec!["--report", rep.as_str()];
    args.extend(soak.jobs.iter().map(String::as_str));
    let t = Instant::now();
    let st = Run::start(&soak.vodbuild, &soak.reference, &args, &soak.log)?.wait(Duration::from_secs(1800))?;
    let wall = t.elapsed().as_secs_f64();
    let v = check::read_report(&report).unwrap_or_default();
    let executed = v["executed"].as_u64().unwrap_or(0);
    let steps = v["steps"].as_array().cloned().unwrap_or_default();
    let publish_steps = steps.iter().filter(|s| s["kind"] == "publish").count();
    if !st.success() || executed == 0 {
        return Err(format!("the clean build failed ({st}, {executed} steps); see {}", soak.log.display()));
    }
    let mirror = tree::compare(&server.bucket(), &soak.reference.join("out"))?;
    if !mirror.identical() {
        return Err(format!("self-check: the reference bucket does not mirror out/: {mirror:?}"));
    }
    let v = bucket::violations(&server.bucket());
    let unnamed = bucket::unnamed(&server.bucket());
    if !v.is_empty() || !unnamed.is_empty() {
        return Err(format!("self-check of the playlist/MPD readers: missing {v:?}, never named {unnamed:?}"));
    }
    let named = bucket::list(&server.bucket()).len();
    say(&format!("reference: {executed} steps, {named} objects published, every one named by a playlist/MPD"));
    Ok((wall, publish_steps))
}

fn table(cfg: &Config, t: &Totals, secs: f64) -> String {
    let phases: Vec<String> = t.by_phase.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let rows = [
        ("seed", cfg.seed.to_string()),
        ("vodbuild SIGKILLs", format!("{} (+{} runs ended before their kill time)", t.kills, t.finished_before_kill)),
        ("kills by phase (steps in flight)", phases.join(", ")),
        ("reruns completed (exit 0, 0 failed)", format!("{} / {}", t.reruns_ok, t.reruns)),
        ("corrupt outputs", t.corrupt.to_string()),
        ("leftover temporaries", t.leftovers.to_string()),
        (
            "bucket violations (playlist/MPD naming a missing object)",
            format!("{} in {} listings", t.bucket_violations, t.bucket_checks),
        ),
        ("further run not a no-op", t.noop_failures.to_string()),
        ("output files identical to the clean build (all checks)", t.identical.to_string()),
        ("output files differing but decoding + verifying", t.differ_valid.to_string()),
        ("S3 server kills", format!("{} ({} with a publish step in flight)", t.server_kills, t.server_mid_publish)),
        ("runs that completed despite the server kill", t.server_run_completed.to_string()),
        ("next runs after a server kill completed", format!("{} / {}", t.server_next_ok, t.server_kills)),
        ("time", format!("{:.0} s ({:.1} min)", secs, secs / 60.0)),
    ];
    let mut s = String::from("\n| soak | result |\n|---|---|\n");
    for (k, v) in rows {
        s += &format!("| {k} | {v} |\n");
    }
    s
}
