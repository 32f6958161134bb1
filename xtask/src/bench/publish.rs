//! P4: publish no-op. The largest P2 catalog gets the manifest's `storage:` + `publish:`
//! sections (README, "Publishing to storage"), is synced once to a local S3 server (s3s-fs on
//! 127.0.0.1, behind a counting proxy), then re-run: bytes uploaded, requests, wall time.
//! When the vodbuild binary does not know `publish:` yet, P4 reports "not available".

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::catalog::Catalog;
use super::install::{Tools, ensure_s3s_fs};
use super::measure::{Sample, median, median_sample, timed};
use super::proxy::Proxy;
use super::rclone::{Rclone, count_files};
use super::report::Report;
use super::{Config, media, say};

pub const KEY: &str = "vodbuild-bench";
pub const SECRET: &str = "vodbuild-bench-secret";
/// `publish.concurrency`, and rclone's --transfers/--checkers.
const CONCURRENCY: u32 = 8;
/// P4 publishes the P2 catalogs of at most this many titles.
const MAX_TITLES: usize = 1000;

pub fn publish_yaml(port: u16) -> String {
    format!(
        "storage:\n  bench:\n    service: s3\n    bucket: vod\n    endpoint: http://127.0.0.1:{port}\n\
         \x20   region: us-east-1\n    root: /\npublish:\n  to: bench\n  prefix: \"{{source}}/\"\n  concurrency: {CONCURRENCY}\n"
    )
}

/// Kills the server when P4 ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// The credentials and region vodbuild reads for the s3s-fs server `start_s3s` starts.
pub fn s3_env(c: &mut Command) -> &mut Command {
    c.env("AWS_ACCESS_KEY_ID", KEY).env("AWS_SECRET_ACCESS_KEY", SECRET).env("AWS_REGION", "us-east-1")
}

fn publish_run(tools: &Tools, ws: &Path) -> Result<(Sample, Value), String> {
    let mut c = Command::new(&tools.vodbuild);
    c.args(["-q", "run", "pipeline.yaml", "--json"]).current_dir(ws);
    s3_env(&mut c);
    let o = timed(&mut c)?.ok("vodbuild run (publish)")?;
    let v: Value = serde_json::from_str(&o.stdout).map_err(|e| format!("vodbuild run --json: {e}"))?;
    Ok((o.sample, v))
}

pub fn p4(cfg: &Config, tools: &Tools, cats: &[Catalog], rep: &mut Report) -> Result<(), String> {
    let Some(first) = cats.first() else { return Err("no catalog".into()) };
    // Does this vodbuild know `publish:`? (a manifest error, exit 3, says it does not)
    let manifest = first.ws.join("pipeline.yaml");
    let base = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
    media::write(&manifest, &format!("{base}{}", publish_yaml(1)))?;
    let mut probe = Command::new(&tools.vodbuild);
    let probe = timed(probe.args(["-q", "plan", "pipeline.yaml", "--json"]).current_dir(&first.ws));
    std::fs::write(&manifest, &base).map_err(|e| e.to_string())?;
    let probe = probe?;
    if probe.code == 3 {
        let why = probe.stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("manifest error").trim().to_string();
        say(&format!("P4: publishing is not available in this vodbuild ({why})"));
        rep.note("P4", &format!("not available: this vodbuild binary does not accept `storage:`/`publish:` ({why})"));
        rep.target("P4", "bytes uploaded by a rerun", None, 0.0, true, " B");
        rep.target("P4", "publish no-op wall, 1,000 titles", None, 5.0, true, " s");
        rep.data("P4", json!({"available": false, "reason": why}));
        return Ok(());
    }
    let s3s = ensure_s3s_fs().map_err(|e| e.to_string())?;
    let mut per_n = Vec::new();
    // 190,000 objects (10,000 titles) would take too long to publish: up to 1,000 titles.
    for cat in cats.iter().filter(|c| c.n <= MAX_TITLES) {
        let manifest = cat.ws.join("pipeline.yaml");
        let base = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
        let r = measure(cfg, tools, &s3s, cat, &base, rep);
        std::fs::write(&manifest, &base).map_err(|e| e.to_string())?;
        per_n.push((cat.n, r?));
    }
    let max_bytes = per_n.iter().map(|x| x.1.0).fold(0.0, f64::max);
    rep.target("P4", "bytes uploaded by a rerun", Some(max_bytes), 0.0, true, " B");
    let (n, wall) = per_n.last().map(|(n, r)| (*n, r.1)).ok_or("no catalog")?;
    let (what, value) = if n == 1000 {
        ("publish no-op wall, 1,000 titles".to_string(), wall)
    } else if per_n.len() >= 2 {
        let (n0, w0) = (per_n[per_n.len() - 2].0 as f64, per_n[per_n.len() - 2].1.1);
        let slope = (wall - w0) / (n as f64 - n0);
        (format!("publish no-op wall, 1,000 titles, extrapolated from N={n0},{n}"), wall + slope * (1000.0 - n as f64))
    } else {
        (
            format!("publish no-op wall, 1,000 titles (scaled ×{:.2} from N={n})", 1000.0 / n as f64),
            wall * 1000.0 / n as f64,
        )
    };
    rep.target("P4", &what, Some(value), 5.0, true, " s");
    Ok(())
}

/// Starts s3s-fs on 127.0.0.1:`port` serving `data` (log appended to `log`); returns once it
/// accepts connections (at most 20 s).
pub fn start_s3s(s3s: &Path, data: &Path, port: u16, log: &Path) -> Result<Child, String> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).map_err(|e| e.to_string())?;
    let mut child = Command::new(s3s)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", KEY, "--secret-key", SECRET])
        .arg(data)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting s3s-fs: {e}"))?;
    let listening = crate::wait::until(Duration::from_secs(20), Duration::from_millis(50), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok() || child.try_wait().ok().flatten().is_some()
    });
    if !listening || child.try_wait().ok().flatten().is_some() {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("s3s-fs did not listen on 127.0.0.1:{port} within 20 s"));
    }
    Ok(child)
}

/// Publishes one catalog once straight to s3s-fs (no proxy), copies the same files with
/// rclone, then times vodbuild's reruns through the counting proxy; returns (median bytes
/// uploaded by a rerun, median rerun wall). The catalog's state is put back afterwards, so
/// the kept catalog does not collect publish records from one bench run to the next.
fn measure(cfg: &Config, tools: &Tools, s3s: &Path, cat: &Catalog, base: &str, rep: &mut Report) -> M<(f64, f64)> {
    let snapshot = cat.ws.join(".vodbuild/pipeline.yaml/state.json");
    let backup = cat.ws.join(".vodbuild/bench-state-backup.json");
    std::fs::copy(&snapshot, &backup).map_err(|e| format!("{}: {e}", snapshot.display()))?;
    let r = publish_and_rerun(cfg, tools, s3s, cat, base, rep);
    let restored = std::fs::rename(&backup, &snapshot).map_err(|e| format!("restoring {}: {e}", snapshot.display()));
    let _ = std::fs::remove_file(cat.ws.join(".vodbuild/pipeline.yaml/journal.jsonl"));
    let r = r?;
    restored?;
    Ok(r)
}

type M<T> = Result<T, String>;

fn publish_and_rerun(
    cfg: &Config,
    tools: &Tools,
    s3s: &Path,
    cat: &Catalog,
    base: &str,
    rep: &mut Report,
) -> M<(f64, f64)> {
    let n = cat.n;
    let data = cfg.work.join(format!("p4/s3-n{n}"));
    if data.exists() {
        std::fs::remove_dir_all(&data).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(data.join("vod")).map_err(|e| e.to_string())?;
    let log = cfg.work.join(format!("p4/s3s-fs-n{n}.log"));
    // The endpoint is part of the publish steps' keys: it stays 127.0.0.1:`port`, served by
    // s3s-fs for the first publish, then by the counting proxy in front of s3s-fs.
    let port = free_port()?;
    let server = Server(start_s3s(s3s, &data, port, &log)?);
    media::write(&cat.ws.join("pipeline.yaml"), &format!("{base}{}", publish_yaml(port)))?;

    say(&format!("P4: first publish of the {n}-title catalog (no proxy)"));
    let (first, v) = publish_run(tools, &cat.ws)?;
    if v["failed"].as_u64() != Some(0) {
        return Err(format!("first publish failed: {}", v.to_string().chars().take(1500).collect::<String>()));
    }
    let objects = stat(&v, "uploaded_objects");
    let what = format!("{objects} objects, {} B, concurrency {CONCURRENCY}", stat(&v, "uploaded_bytes"));
    say(&format!("P4: first publish: {what}, {:.1} s", first.wall));
    rep.row("P4", &format!("vodbuild first publish, {n} titles"), &[first], &what);
    if let Some(rc) = &tools.rclone {
        rclone_rows(cfg, rc, cat, (&data, port), (objects, first), rep)?;
    }
    drop(server);

    let upstream = free_port()?;
    let _server = Server(start_s3s(s3s, &data, upstream, &log)?);
    let proxy = Proxy::start_on(port, upstream).map_err(|e| format!("proxy on port {port}: {e}"))?;
    let (b, wall) = reruns(cfg, tools, cat, &proxy, rep)?;
    rep.data("P4", json!({ format!("n{n}"): {"first_publish_s": first.wall, "first_publish_objects": objects}}));
    Ok((b, wall))
}

fn stat(v: &Value, k: &str) -> u64 {
    v["stats"][k].as_u64().unwrap_or(0)
}

/// rclone's copy of the same files to another bucket (first copy and its no-op rerun).
fn rclone_rows(
    cfg: &Config,
    bin: &Path,
    cat: &Catalog,
    at: (&Path, u16),
    vod: (u64, Sample),
    rep: &mut Report,
) -> M<()> {
    let ((data, port), (objects, vod_first)) = (at, vod);
    let rc = Rclone::new(bin.to_path_buf(), &cfg.work)?;
    let n = cat.n;
    let first = rc.copy(&cat.ws.join("out"), data, "vodrc", port, CONCURRENCY)?;
    let (ours, theirs) = (count_files(&data.join("vod")), count_files(&data.join("vodrc")));
    if ours != theirs || ours != objects {
        return Err(format!("the bucket rclone wrote holds {theirs} objects, vodbuild's {ours} ({objects} published)"));
    }
    let again = rc.copy(&cat.ws.join("out"), data, "vodrc", port, CONCURRENCY)?;
    say(&format!("P4: rclone copy {:.1} s, its no-op {:.2} s", first.wall, again.wall));
    let note = format!("same {objects} files, --transfers/--checkers {CONCURRENCY}");
    rep.row("P4", &format!("rclone copy, {n} titles"), &[first], &note);
    rep.row("P4", &format!("rclone copy no-op rerun, {n} titles"), &[again], "");
    rep.target(
        "P4",
        &format!("vodbuild first publish / rclone copy, {n} titles"),
        Some(vod_first.wall / first.wall),
        1.0,
        true,
        "×",
    );
    rep.data("P4", json!({ format!("n{n}"): {"rclone_copy_s": first.wall, "rclone_noop_s": again.wall}}));
    Ok(())
}

/// The timed no-op reruns through the counting proxy; returns (median bytes, median wall).
fn reruns(cfg: &Config, tools: &Tools, cat: &Catalog, proxy: &Proxy, rep: &mut Report) -> M<(f64, f64)> {
    let n = cat.n;
    let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
    let (mut samples, mut bytes, mut requests, mut by_method) = (vec![], vec![], vec![], BTreeMap::new());
    for r in 0..cfg.warmup + cfg.reps {
        let (s, v) = publish_run(tools, &cat.ws)?;
        let m = proxy.take();
        if v["failed"].as_u64() != Some(0) {
            return Err(format!("publish rerun failed: {}", v.to_string().chars().take(1500).collect::<String>()));
        }
        say(&format!("P4 rerun: {} B uploaded, {} requests, {:.2} s", stat(&v, "uploaded_bytes"), total(&m), s.wall));
        if r >= cfg.warmup {
            samples.push(s);
            bytes.push(stat(&v, "uploaded_bytes") as f64);
            requests.push(total(&m) as f64);
            by_method = m;
        }
    }
    let (b, q) = (median(&bytes), median(&requests));
    let methods: Vec<String> = by_method.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let methods = if methods.is_empty() { "none".to_string() } else { methods.join(", ") };
    rep.row(
        "P4",
        &format!("publish no-op rerun, {n} titles"),
        &samples,
        &format!("{b:.0} B uploaded, {q:.0} requests ({methods})"),
    );
    let wall = median_sample(&samples).wall;
    rep.target("P4", &format!("requests made by a publish no-op, {n} titles"), Some(q), 0.0, true, "");
    rep.data(
        "P4",
        json!({ format!("n{n}"): {"uploaded_bytes": b, "requests": q, "requests_by_method": by_method, "wall_s": wall}}),
    );
    Ok((b, wall))
}
