//! Collects medians, ratios and target checks; writes `target/bench/report.json` and the
//! markdown table `target/bench/table.md` (the README's Performance section copies it).

use std::process::Command;

use serde_json::{Map, Value, json};

use super::Config;
use super::install::Tools;
use super::measure::{Sample, median_sample};

struct Row {
    case: String,
    what: String,
    samples: Vec<Sample>,
    note: String,
}

struct Target {
    case: String,
    what: String,
    value: Option<f64>,
    limit: f64,
    at_most: bool,
    unit: String,
}

pub struct Report {
    cfg: Config,
    tools: Value,
    rows: Vec<Row>,
    targets: Vec<Target>,
    notes: Vec<(String, String)>,
    failures: Vec<(String, String)>,
    data: Map<String, Value>,
    phases: Vec<(String, f64)>,
}

impl Report {
    pub fn new(cfg: &Config, tools: &Tools) -> Report {
        let p = |x: &std::path::Path| x.display().to_string();
        let tools = json!({"vodbuild": p(&tools.vodbuild), "ffmpeg": p(&tools.ffmpeg), "ffprobe": p(&tools.ffprobe),
            "shaka_streamer": p(&tools.shaka), "ninja": tools.ninja.as_deref().map(p), "b3sum": tools.b3sum.as_deref().map(p)});
        Report {
            cfg: cfg.clone(),
            tools,
            rows: vec![],
            targets: vec![],
            notes: vec![],
            failures: vec![],
            data: Map::new(),
            phases: vec![],
        }
    }

    /// A measured line: the medians of `samples`.
    pub fn row(&mut self, case: &str, what: &str, samples: &[Sample], note: &str) {
        self.rows.push(Row { case: case.into(), what: what.into(), samples: samples.to_vec(), note: note.into() });
    }

    /// A target: `value` must be ≤ `limit` (at_most) or ≥ it. `None`: not available.
    pub fn target(&mut self, case: &str, what: &str, value: Option<f64>, limit: f64, at_most: bool, unit: &str) {
        self.targets.push(Target { case: case.into(), what: what.into(), value, limit, at_most, unit: unit.into() });
    }

    pub fn note(&mut self, case: &str, text: &str) {
        self.notes.push((case.into(), text.into()));
    }

    pub fn failed(&mut self, case: &str, err: &str) {
        super::say(&format!("{case} failed: {err}"));
        self.failures.push((case.into(), err.into()));
    }

    pub fn any_failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// Case-specific facts for the JSON report (merged into `cases.CASE`).
    pub fn data(&mut self, case: &str, v: Value) {
        let e = self.data.entry(case.to_string()).or_insert_with(|| json!({}));
        if let (Some(e), Value::Object(v)) = (e.as_object_mut(), v) {
            e.extend(v);
        }
    }

    pub fn phase(&mut self, name: &str, seconds: f64) {
        self.phases.push((name.into(), seconds));
    }

    /// Writes report.json and table.md; returns the table.
    pub fn finish(&self) -> Result<String, String> {
        let machine = machine();
        let table = self.table(&machine);
        let s = |x: &Sample| json!({"wall_s": x.wall, "cpu_s": x.cpu, "peak_rss_mb": x.rss_mb});
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({"case": r.case, "what": r.what, "note": r.note, "n": r.samples.len(),
                    "median": (!r.samples.is_empty()).then(|| s(&median_sample(&r.samples))),
                    "samples": r.samples.iter().map(s).collect::<Vec<_>>()})
            })
            .collect();
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                json!({"case": t.case, "what": t.what, "value": t.value, "limit": t.limit,
                    "comparison": if t.at_most { "<=" } else { ">=" }, "unit": t.unit, "met": met(t)})
            })
            .collect();
        let c = &self.cfg;
        let doc = json!({
            "command": if c.quick { "cargo xtask bench --quick" } else { "cargo xtask bench" },
            "config": {"quick": c.quick, "reps": c.reps, "warmup": c.warmup, "encode_warmup": c.encode_warmup, "p1_seconds": c.p1_seconds,
                "p1_size": [c.p1_size.0, c.p1_size.1], "preset": c.preset, "titles": c.titles,
                "hash_mib": c.hash_mib, "cases": c.only},
            "machine": machine,
            "tools": self.tools,
            "measurement": "wait4(2) rusage per command: wall = spawn..reap, cpu = user+sys of the process tree, \
                peak_rss_mb = ru_maxrss (largest single process of the tree); medians over the timed runs",
            "rows": rows, "targets": targets, "cases": self.data,
            "notes": self.notes.iter().map(|(c, t)| json!({"case": c, "note": t})).collect::<Vec<_>>(),
            "failures": self.failures.iter().map(|(c, e)| json!({"case": c, "error": e})).collect::<Vec<_>>(),
            "phases_s": self.phases.iter().map(|(n, s)| json!({"phase": n, "seconds": s})).collect::<Vec<_>>(),
        });
        std::fs::create_dir_all(&c.out).map_err(|e| e.to_string())?;
        let pretty = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(c.out.join("report.json"), pretty).map_err(|e| e.to_string())?;
        std::fs::write(c.out.join("table.md"), &table).map_err(|e| e.to_string())?;
        Ok(format!("{table}\nreport: {}\n", c.out.join("report.json").display()))
    }

    fn table(&self, m: &Value) -> String {
        let mut t = String::new();
        t += &format!(
            "Machine: {} cores ({}), {} GiB RAM, {}; {}; commit {}.\n\n",
            m["nproc"],
            m["cpu"].as_str().unwrap_or("?"),
            m["mem_gib"],
            m["os"].as_str().unwrap_or("?"),
            m["date"].as_str().unwrap_or("?"),
            m["commit"].as_str().unwrap_or("?")
        );
        let c = &self.cfg;
        let warm = if c.encode_warmup == c.warmup {
            format!("{} warm-up", c.warmup)
        } else {
            format!("{} warm-up ({} for P1/P3)", c.warmup, c.encode_warmup)
        };
        t += &format!(
            "`{}`: {warm} + {} timed runs per case, medians; ratios are medians of per-run pairs.\n\n",
            if c.quick { "cargo xtask bench --quick" } else { "cargo xtask bench" },
            c.reps
        );
        t += "| case | what | wall (s) | CPU (s) | peak RSS (MB) | notes |\n|---|---|---:|---:|---:|---|\n";
        for r in &self.rows {
            if r.samples.is_empty() {
                t += &format!("| {} | {} | – | – | – | {} |\n", r.case, r.what, r.note);
                continue;
            }
            let m = median_sample(&r.samples);
            t += &format!(
                "| {} | {} | {} | {} | {:.0} | {} |\n",
                r.case,
                r.what,
                num(m.wall),
                num(m.cpu),
                m.rss_mb,
                r.note
            );
        }
        t += "\n| case | target | measured | limit | met |\n|---|---|---:|---:|---|\n";
        for x in &self.targets {
            let v = x.value.map(|v| format!("{}{}", num(v), x.unit)).unwrap_or_else(|| "not available".into());
            let op = if x.at_most { "≤" } else { "≥" };
            let ok = match met(x) {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            };
            t += &format!("| {} | {} | {v} | {op} {}{} | {ok} |\n", x.case, x.what, num(x.limit), x.unit);
        }
        for (c, n) in &self.notes {
            t += &format!("\n- {c}: {n}");
        }
        for (c, e) in &self.failures {
            let first = e.lines().next().unwrap_or("");
            t += &format!("\n- {c} FAILED: {first}");
        }
        if !self.notes.is_empty() || !self.failures.is_empty() {
            t += "\n";
        }
        t
    }
}

fn met(t: &Target) -> Option<bool> {
    t.value.map(|v| if t.at_most { v <= t.limit } else { v >= t.limit })
}

/// Seconds or ratios with sensible precision.
fn num(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn cmd(prog: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(prog).args(args).output().ok()?;
    o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// nproc, CPU model, memory, OS, date, commit.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|x| x.1.trim());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kb: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|x| x.parse().ok())
        .unwrap_or(0.0);
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string()));
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu, "mem_gib": (kb / 1048576.0 * 10.0).round() / 10.0, "os": os,
        "kernel": cmd("uname", &["-r"]), "date": cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        "commit": cmd("git", &["-C", &super::super::repo_root().display().to_string(), "rev-parse", "--short", "HEAD"]),
    })
}
