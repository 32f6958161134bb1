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
use super::report::Report;
use super::{Config, media, say};

const KEY: &str = "vodbuild-bench";
const SECRET: &str = "vodbuild-bench-secret";

pub fn publish_yaml(port: u16) -> String {
    format!(
        "storage:\n  bench:\n    service: s3\n    bucket: vod\n    endpoint: http://127.0.0.1:{port}\n\
         \x20   region: us-east-1\n    root: /\npublish:\n  to: bench\n  prefix: \"{{source}}/\"\n  concurrency: 8\n"
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
    for cat in cats {
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

/// Publishes one catalog once, then times the reruns; returns (median bytes uploaded, median wall).
fn measure(
    cfg: &Config,
    tools: &Tools,
    s3s: &Path,
    cat: &Catalog,
    base: &str,
    rep: &mut Report,
) -> Result<(f64, f64), String> {
    let n = cat.n;
    let data = cfg.work.join(format!("p4/s3-n{n}"));
    if data.exists() {
        std::fs::remove_dir_all(&data).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(data.join("vod")).map_err(|e| e.to_string())?;
    let port = free_port()?;
    let _server = Server(start_s3s(s3s, &data, port, &cfg.work.join(format!("p4/s3s-fs-n{n}.log")))?);
    let proxy = Proxy::start(port).map_err(|e| format!("proxy: {e}"))?;
    media::write(&cat.ws.join("pipeline.yaml"), &format!("{base}{}", publish_yaml(proxy.port)))?;

    say(&format!("P4: first publish of the {n}-title catalog"));
    let (first, v) = publish_run(tools, &cat.ws)?;
    let reqs = proxy.take();
    let stat = |v: &Value, k: &str| v["stats"][k].as_u64().unwrap_or(0);
    let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
    if v["failed"].as_u64() != Some(0) {
        return Err(format!("first publish failed: {}", v.to_string().chars().take(1500).collect::<String>()));
    }
    let what = format!(
        "{} objects, {} B, {} requests",
        stat(&v, "uploaded_objects"),
        stat(&v, "uploaded_bytes"),
        total(&reqs)
    );
    say(&format!("P4: first publish: {what}, {:.1} s", first.wall));
    rep.row("P4", &format!("first publish, {n} titles"), &[first], &what);

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
    rep.data(
        "P4",
        json!({ format!("n{n}"): {"uploaded_bytes": b, "requests": q, "requests_by_method": by_method,
        "wall_s": wall, "first_publish_s": first.wall, "first_publish_objects": stat(&v, "uploaded_objects")}}),
    );
    Ok((b, wall))
}
