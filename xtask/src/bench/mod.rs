//! `cargo xtask bench [--quick]`: installs what it needs, makes its media with lavfi, times
//! vodbuild against Shaka Streamer, a hand-written ffmpeg command, ninja and b3sum, and
//! writes `target/bench/report.json` plus the table (`target/bench/table.md`).
//!
//! Cases: P1 cold build, P2 no-op at scale (and near-no-op runs), P3 one change (and its
//! floor), P4 publish (against rclone) and its no-op, P5 hashing, P6 the Slurm executor on the
//! test cluster vs the local executor (needs root).
//! Every case does `warmup` untimed runs, then `reps` timed runs, and reports medians;
//! ratios are medians of the per-repetition ratios (pair by pair).

mod catalog;
mod churn;
mod encode;
mod fixture;
mod hashing;
pub(crate) mod install;
pub(crate) mod measure;
pub(crate) mod media;
mod p6;
mod proxy;
pub(crate) mod publish;
mod rclone;
mod report;

use std::path::PathBuf;
use std::time::Instant;

use super::{Result, fail, repo_root};

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [options]

  --quick            a shorter pass (see README, Performance)
  --only LIST        cases to run, e.g. P1,P3 (P3 runs P1 first, P4 runs P2 first); default all
  --reps N           timed repetitions per case (after the warm-up)
  --warmup N         untimed warm-up runs per case (--quick: 1, but 0 for P1 and P3)
  --p1-seconds S     P1 source length in seconds
  --p1-size WxH      P1 source size (default 1920x1080)
  --preset NAME      x264 preset of the P1 ladder (default slow)
  --titles A,B       P2 catalog sizes (default 100,1000; e.g. 100,1000,10000; at most 99999)
  --hash-mib N       P5 file size in MiB (default 2048)
  --vodbuild PATH    time this vodbuild binary instead of building --release (profiling builds)
";

/// What to run and how big.
#[derive(Debug, Clone)]
pub struct Config {
    pub quick: bool,
    pub reps: usize,
    pub warmup: usize,
    /// Warm-up runs of the encoding cases P1 and P3 (0 with --quick: each run costs tens of seconds).
    pub encode_warmup: usize,
    pub p1_seconds: f64,
    pub p1_size: (u32, u32),
    pub preset: String,
    pub titles: Vec<usize>,
    pub hash_mib: u64,
    pub only: Vec<String>,
    /// A vodbuild binary to time instead of `cargo build --release`'s.
    pub vodbuild: Option<PathBuf>,
    /// Scratch space: media, workspaces, servers' data (target/bench/work).
    pub work: PathBuf,
    /// Where the report goes (target/bench).
    pub out: PathBuf,
}

impl Config {
    fn parse(args: &[String]) -> std::result::Result<Config, String> {
        let quick = args.iter().any(|a| a == "--quick");
        let out = target_dir().join("bench");
        let mut c = Config {
            quick,
            reps: if quick { 2 } else { 3 },
            warmup: 1,
            encode_warmup: if quick { 0 } else { 1 },
            p1_seconds: if quick { 4.0 } else { 20.0 },
            p1_size: (1920, 1080),
            preset: "slow".into(),
            titles: if quick { vec![100, 300] } else { vec![100, 1000] },
            hash_mib: 2048,
            only: vec!["P1".into(), "P2".into(), "P3".into(), "P4".into(), "P5".into(), "P6".into()],
            vodbuild: None,
            work: out.join("work"),
            out,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
            let num = |s: String| s.parse::<f64>().map_err(|_| format!("{a}: not a number: {s}"));
            match a.as_str() {
                "--quick" => {}
                "--only" => c.only = val()?.split(',').map(|s| s.trim().to_uppercase()).collect(),
                "--reps" => c.reps = (num(val()?)? as usize).max(1),
                "--warmup" => {
                    c.warmup = num(val()?)? as usize;
                    c.encode_warmup = c.warmup;
                }
                "--p1-seconds" => c.p1_seconds = num(val()?)?,
                "--p1-size" => {
                    let v = val()?;
                    let (w, h) = v.split_once('x').ok_or_else(|| format!("--p1-size: want WxH, got {v}"))?;
                    c.p1_size = (num(w.into())? as u32, num(h.into())? as u32);
                }
                "--preset" => c.preset = val()?,
                "--titles" => {
                    c.titles = val()?
                        .split(',')
                        .map(|s| num(s.trim().into()).map(|x| x as usize))
                        .collect::<std::result::Result<_, _>>()?;
                }
                "--hash-mib" => c.hash_mib = num(val()?)? as u64,
                "--vodbuild" => c.vodbuild = Some(PathBuf::from(val()?)),
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        if c.only.iter().any(|x| x == "P3") && !c.only.iter().any(|x| x == "P1") {
            c.only.insert(0, "P1".into());
        }
        if c.only.iter().any(|x| x == "P4") && !c.only.iter().any(|x| x == "P2") {
            c.only.insert(0, "P2".into());
        }
        Ok(c)
    }

    pub fn wants(&self, case: &str) -> bool {
        self.only.iter().any(|c| c == case)
    }
}

/// cargo's target directory (CARGO_TARGET_DIR or ROOT/target).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"))
}

pub fn say(msg: &str) {
    eprintln!("bench: {msg}");
}

/// A command's parsed options; None when help was asked for (the usage is printed). A parser
/// says "help" with an empty error.
pub fn options<C>(cmd: &str, usage: &str, parsed: std::result::Result<C, String>) -> Result<Option<C>> {
    match parsed {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.is_empty() => {
            print!("{usage}");
            Ok(None)
        }
        Err(e) => Err(fail(cmd, format!("{e}\n\n{usage}"))),
    }
}

pub fn run(args: &[String]) -> Result {
    let Some(cfg) = options("bench", USAGE, Config::parse(args))? else { return Ok(()) };
    let started = Instant::now();
    std::fs::create_dir_all(&cfg.work).map_err(|e| fail("bench", format!("{}: {e}", cfg.work.display())))?;
    let tools = install::ensure(&cfg)?;
    let setup_s = started.elapsed().as_secs_f64();
    let mut rep = report::Report::new(&cfg, &tools);
    rep.phase("setup (installs, release build)", setup_s);

    let mut p1 = None;
    if cfg.wants("P1") {
        let t = Instant::now();
        match encode::p1(&cfg, &tools, &mut rep) {
            Ok(r) => p1 = Some(r),
            Err(e) => rep.failed("P1", &e),
        }
        rep.phase("P1", t.elapsed().as_secs_f64());
    }
    if cfg.wants("P3") {
        let t = Instant::now();
        match &p1 {
            Some(r) => {
                if let Err(e) = encode::p3(&cfg, &tools, r, &mut rep) {
                    rep.failed("P3", &e);
                }
            }
            None => rep.failed("P3", "P1 did not finish, so there is no cold build to change"),
        }
        rep.phase("P3", t.elapsed().as_secs_f64());
    }
    let mut catalog = None;
    if cfg.wants("P2") {
        let t = Instant::now();
        match catalog::p2(&cfg, &tools, &mut rep) {
            Ok(c) => catalog = Some(c),
            Err(e) => rep.failed("P2", &e),
        }
        rep.phase("P2", t.elapsed().as_secs_f64());
    }
    if cfg.wants("P4") {
        let t = Instant::now();
        match &catalog {
            Some(c) => {
                if let Err(e) = publish::p4(&cfg, &tools, c, &mut rep) {
                    rep.failed("P4", &e);
                }
            }
            None => rep.failed("P4", "P2's catalog was not built"),
        }
        rep.phase("P4", t.elapsed().as_secs_f64());
    }
    if cfg.wants("P5") {
        let t = Instant::now();
        if let Err(e) = hashing::p5(&cfg, &tools, &mut rep) {
            rep.failed("P5", &e);
        }
        rep.phase("P5", t.elapsed().as_secs_f64());
    }
    if cfg.wants("P6") {
        let t = Instant::now();
        if let Err(e) = p6::p6(&cfg, &tools, &mut rep) {
            rep.failed("P6", &e);
        }
        rep.phase("P6", t.elapsed().as_secs_f64());
    }
    rep.phase("total", started.elapsed().as_secs_f64());
    let table = rep.finish().map_err(|e| fail("bench: write report", e))?;
    println!("{table}");
    if rep.any_failed() { Err(fail("bench", "some cases failed (see the table)")) } else { Ok(()) }
}
