//! `notify:` webhooks against real HTTP servers this test starts on 127.0.0.1 (a std
//! `TcpListener` per server, answering from a script and logging every request): delivered
//! once per changed package whatever the transient failures before, never on a no-op run,
//! signed and carrying an idempotency key, secrets never kept; a 4xx fails at once with the
//! response's first lines, is listed by `status --failed` and re-sent by `run --only @failed`.

use crate::common;
use common::{Manifest, Workspace, h264};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vodbuild::exit_codes::BUILD_FAILED;

/// One request the server answered.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: String,
    status: u16,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A webhook receiver: the Nth request gets the Nth scripted answer (the last one after that).
struct Hook {
    port: u16,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Hook {
    fn start(script: Vec<(u16, &'static str)>) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let n = shared.lock().unwrap().len();
                let (status, body) = script[n.min(script.len() - 1)];
                if let Some(req) = answer(stream, status, body) {
                    shared.lock().unwrap().push(req);
                }
            }
        });
        Hook { port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    fn delivered(&self) -> usize {
        self.requests().iter().filter(|r| (200..300).contains(&r.status)).count()
    }
}

/// Reads one request (bounded) and answers it.
fn answer(stream: TcpStream, status: u16, body: &str) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    for _ in 0..100 {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let Some((k, v)) = h.trim_end().split_once(':') else { break };
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut bytes = vec![0; len.min(1 << 20)];
    reader.read_exact(&mut bytes).ok()?;
    let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    (&stream).write_all(reply.as_bytes()).ok()?;
    Some(Request { method, path, headers, body: String::from_utf8_lossy(&bytes).into_owned(), status })
}

fn signature(key: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Source `a` (1 s): one H.264 rung and AAC in HLS; `extra` adds top-level sections.
fn manifest(extra: &str) -> String {
    Manifest::new()
        .output_dir("out")
        .gop("1")
        .source("media/a.mp4", "a")
        .video("90p", &h264("90", "100k", "ultrafast"))
        .audio("aac64", &[("codec", "aac"), ("bitrate", "64k")])
        .hls(&[("renditions", "[90p]"), ("audio", "aac64"), ("segment_seconds", "1")])
        .section(extra)
        .yaml()
}

const SECRETS: [(&str, &str); 2] = [("HOOK_TOKEN", "Bearer t0k3n-not-to-keep"), ("HOOK_SECRET", "s1gning-s3cret")];

fn step<'a>(run: &'a Value, id: &str) -> &'a Value {
    run["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("{id} in {run:#}"))
}

/// Every file under `rel` whose bytes contain `needle`.
fn files_containing(ws: &Workspace, rel: &str, needle: &str) -> Vec<String> {
    ws.files_under(rel).into_iter().filter(|f| std::fs::read(ws.path(f)).is_ok_and(|b| contains(&b, needle))).collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_flaky_webhook_gets_one_delivery_per_changed_package_and_none_on_a_no_op_run() {
    let hook = Hook::start(vec![(500, "busy"), (500, "busy"), (200, "ok")]);
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    let notify = format!(
        "storage:\n  cdn: {{service: fs, root: published}}\npublish:\n  to: cdn\n\
         retries: {{notify: 3, backoff: 0.1}}\n\
         notify:\n  - name: hook\n    url: {}\n    secret_headers: {{Authorization: HOOK_TOKEN}}\n    \
         signing_secret_env: HOOK_SECRET\n    base_url: https://cdn.example.com/vod/\n",
        hook.url("/hook")
    );
    ws.write_manifest(&manifest(&notify));

    let run = ws.run_ok_env(&SECRETS);
    let reqs = hook.requests();
    assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 500, 200], "{reqs:#?}");
    assert_eq!(hook.delivered(), 1);
    assert_eq!(step(&run, "notify_hook:a")["status"], "executed");
    assert_eq!(step(&run, "notify_hook:a")["attempts"], 3, "two transient failures, then a delivery");
    let keys: BTreeSet<&str> = reqs.iter().map(|r| r.header("idempotency-key").unwrap_or("")).collect();
    assert_eq!(keys.len(), 1, "every attempt of one announcement has the same key: {keys:?}");
    let last = &reqs[2];
    assert_eq!((last.method.as_str(), last.path.as_str()), ("POST", "/hook"));
    assert_eq!(last.header("authorization"), Some(SECRETS[0].1));
    assert_eq!(last.header("x-vodbuild-signature"), Some(signature(SECRETS[1].1, &last.body).as_str()));
    let doc: Value = serde_json::from_str(&last.body).expect("the default body is JSON");
    assert_eq!(doc["source"], "a");
    assert_eq!(doc["renditions"], serde_json::json!(["90p"]));
    let hls = &doc["deliverables"][0];
    assert_eq!((hls["kind"].as_str(), hls["published"].as_bool()), (Some("hls"), Some(true)), "{doc:#}");
    assert_eq!(hls["url"], "https://cdn.example.com/vod/a/hls/master.m3u8");
    assert!((doc["duration"].as_f64().unwrap() - 1.0).abs() < 0.2, "{doc:#}");

    // Secrets are read when sending: never in the state, the receipts or the report.
    for (_, secret) in SECRETS {
        assert!(files_containing(&ws, ".vodbuild", secret).is_empty(), "{secret} kept in the state");
        assert!(!run.to_string().contains(secret));
    }

    let again = ws.run_ok_env(&SECRETS);
    assert_eq!(hook.requests().len(), 3, "a no-op run sends nothing");
    assert_eq!(step(&again, "notify_hook:a")["status"], "fresh");

    // New audio: a changed package, published, announced exactly once more.
    ws.make_source_with("media/a.mp4", 1.0, "160x90", 880, false);
    let changed = ws.run_ok_env(&SECRETS);
    assert_eq!(step(&changed, "publish_hls:a")["status"], "executed");
    assert_eq!(hook.requests().len(), 4, "{:#?}", hook.requests());
    assert_eq!(hook.delivered(), 2);
    let fourth = &hook.requests()[3];
    assert_ne!(fourth.header("idempotency-key"), last.header("idempotency-key"), "a new announcement, a new key");
    let doc4: Value = serde_json::from_str(&fourth.body).unwrap();
    assert_ne!(doc4["digest"], doc["digest"]);
    ws.run_ok_env(&SECRETS);
    assert_eq!(hook.requests().len(), 4, "nothing changed: nothing sent");
}

#[test]
fn a_4xx_fails_at_once_is_listed_as_failed_and_only_failed_sends_it_again() {
    let hook = Hook::start(vec![(400, "bad payload\nfield title is required\n"), (200, "ok")]);
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    // A CMS call: PUT with a template, a plain header.
    let notify = format!(
        "notify:\n  - name: cms\n    url: {}\n    method: PUT\n    headers: {{X-Team: video}}\n    \
         base_url: https://cdn.example.com\n    \
         body: '{{\"title\": {{source}}, \"hls\": {{url:hls}}, \"seconds\": {{duration}}, \"version\": {{digest}}}}'\n",
        hook.url("/titles")
    );
    ws.write_manifest(&manifest(&notify));

    let out = ws.vodbuild(&["run", "pipeline.yaml", "--json"]).assert_code(BUILD_FAILED);
    let run = out.json();
    assert_eq!(hook.requests().len(), 1, "a 4xx is not retried: {:#?}", hook.requests());
    let failed = step(&run, "notify_cms:a");
    assert_eq!(failed["status"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("HTTP 400") && error.contains("field title is required"), "{error}");
    assert_eq!(step(&run, "hls:a")["status"], "executed");

    let list = ws.vodbuild(&["status", "pipeline.yaml", "--failed", "--json"]).success().json();
    let steps = list["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{list:#}");
    assert_eq!((steps[0]["id"].as_str(), steps[0]["attempts"].as_u64()), (Some("notify_cms:a"), Some(1)));
    assert!(steps[0]["error"].as_str().unwrap().contains("bad payload"), "{list:#}");
    let text = ws.vodbuild(&["status", "pipeline.yaml", "--failed"]).success();
    assert!(text.stdout.contains("notify_cms:a") && text.stdout.contains("bad payload"), "{}", text.stdout);

    let rerun = ws.vodbuild(&["run", "pipeline.yaml", "--only", "@failed", "--json"]).success().json();
    assert_eq!(common::executed(&rerun), BTreeSet::from(["notify_cms:a".to_string()]), "{rerun:#}");
    let sent = &hook.requests()[1];
    assert_eq!((sent.method.as_str(), sent.header("x-team")), ("PUT", Some("video")));
    let doc: Value = serde_json::from_str(&sent.body).expect("the rendered template is JSON");
    assert_eq!(doc["title"], "a");
    assert_eq!(doc["hls"], "https://cdn.example.com/a/hls/master.m3u8");
    assert!(doc["version"].as_str().is_some_and(|v| v.len() == 64), "{doc:#}");
    let list = ws.vodbuild(&["status", "pipeline.yaml", "--failed", "--json"]).success().json();
    assert_eq!(list["steps"], serde_json::json!([]), "{list:#}");
    ws.run_ok();
    assert_eq!(hook.requests().len(), 2, "delivered: nothing more to send");
}

#[test]
fn timeouts_and_refused_connections_are_retried_then_listed_with_their_attempts() {
    // A server that accepts and never answers (each connection held open), and a closed port.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || silent.incoming().flatten().for_each(|s| keep.lock().unwrap().push(s)));
    let closed_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "160x90");
    let notify = format!(
        "retries: {{notify: 1, backoff: 0.1}}\nnotify:\n  \
         - {{name: slow, url: \"http://127.0.0.1:{silent_port}/\", timeout_seconds: 1}}\n  \
         - {{name: gone, url: \"http://127.0.0.1:{closed_port}/\"}}\n"
    );
    ws.write_manifest(&manifest(&notify));
    let run = ws.vodbuild(&["run", "pipeline.yaml", "--json", "--keep-going"]).assert_code(BUILD_FAILED).json();
    for id in ["notify_slow:a", "notify_gone:a"] {
        let s = step(&run, id);
        assert_eq!((s["status"].as_str(), s["attempts"].as_u64()), (Some("failed"), Some(2)), "{run:#}");
        assert!(s["error"].as_str().unwrap().contains("(transient)"), "{s}");
    }
    assert_eq!(held.lock().unwrap().len(), 2, "the silent server was tried twice");
    let list = ws.vodbuild(&["status", "pipeline.yaml", "--failed", "--json"]).success().json();
    let attempts: Vec<u64> =
        list["steps"].as_array().unwrap().iter().map(|s| s["attempts"].as_u64().unwrap()).collect();
    assert_eq!(attempts, [2, 2], "{list:#}");
}
