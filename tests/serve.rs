//! `vodbuild serve`: the preview server on a built workspace. In headless Debian chromium
//! (playwright-core from `tests/browser/node_modules`, as `browser.rs`), the index lists the
//! title with both packages verified, and each play link (hls.js / HLS, shaka-player / HLS,
//! shaka-player / DASH) plays, and switches rendition through the page's menu
//! (`tests/browser/serve.mjs`). Over raw TCP: nothing outside the output folder is served,
//! and `--players DIR` replaces the embedded players. Ctrl-C ends it with 130.
//!
//! Needs `/usr/bin/chromium`, node and `tests/browser/node_modules` (`cargo xtask setup`);
//! missing pieces fail the test, as in `browser.rs`.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Manifest, Workspace};
use vodbuild::exit_codes::INTERRUPTED;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A running `vodbuild serve`; SIGINT on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(ws: &Workspace, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "pipeline.yaml", "--port", "0"];
        args.extend(extra);
        let mut child = ws.spawn(&args);
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("http://127.0.0.1:"), "serve printed {line:?}");
        Server { child, base: line.trim().to_string() }
    }

    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://").trim_end_matches('/')
    }

    /// Sends `target` as is (no normalisation) and returns (status, body).
    fn get_raw(&self, target: &str) -> (u16, String) {
        let mut s = TcpStream::connect(self.addr()).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
    }

    /// Sends a GET of `/` with `Host: host`; the status.
    fn status_for_host(&self, host: &str) -> u16 {
        let mut s = TcpStream::connect(self.addr()).unwrap();
        write!(s, "GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    }

    /// SIGINT, then the exit code.
    fn stop(mut self) -> i32 {
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) }, 0);
        let status = common::wait::exit_or_kill(&mut self.child, Duration::from_secs(10), Duration::from_millis(20));
        status.and_then(|s| s.code()).unwrap_or(-1)
    }
}

fn built() -> Workspace {
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 4.0, "320x180");
    ws.write_manifest(&Manifest::small().yaml());
    ws.vodbuild(&["run", "pipeline.yaml", "-q"]).success();
    ws
}

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

#[test]
fn serve_lists_the_title_and_plays_it_in_hls_js_and_shaka_player() {
    for need in [CHROMIUM.into(), browser_dir().join("node_modules/playwright-core/package.json")] {
        assert!(need.exists(), "{} is missing: run `cargo xtask setup`", need.display());
    }
    let ws = built();
    let server = Server::start(&ws, &[]);
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir().join("serve.mjs"))
        .args(["--base", &server.base, "--title", "media/a", "--chromium", CHROMIUM, "--timeout-ms", "120000"])
        .current_dir(browser_dir());
    // VODBUILD_SCREENSHOTS=docs refreshes the README's screenshots.
    if let Ok(dir) = std::env::var("VODBUILD_SCREENSHOTS") {
        cmd.args(["--screenshots", &dir]);
    }
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("node");
    let out = common::wait_output(child, &["serve.mjs"], Duration::from_secs(150));
    let result = out.json.clone().unwrap_or_else(|| panic!("serve.mjs printed no JSON\n{}", out.describe()));
    eprintln!("serve.mjs: {result}");
    assert_eq!(result["ok"], true, "{result:#}\n{}", out.stderr);
    let players: Vec<&str> = result["cases"].as_array().unwrap().iter().map(|c| c["href"].as_str().unwrap()).collect();
    assert_eq!(players.len(), 3, "{result:#}");
    for case in result["cases"].as_array().unwrap() {
        assert!(case["advancedTo"].as_f64().unwrap() > 1.0, "{case}");
    }
    assert_eq!(server.stop(), INTERRUPTED);
}

#[test]
fn serve_never_serves_outside_the_output_folder() {
    let ws = built();
    std::os::unix::fs::symlink(ws.path("pipeline.yaml"), ws.path("out/media/a/link.yaml")).unwrap();
    let players = ws.path("players");
    std::fs::create_dir_all(&players).unwrap();
    std::fs::write(players.join("hls.min.js"), "/* another hls.js */").unwrap();
    std::fs::write(players.join("shaka-player.compiled.js"), "/* another shaka */").unwrap();
    let server = Server::start(&ws, &["--players", players.to_str().unwrap()]);
    let (status, body) = server.get_raw("/out/media/a/hls/master.m3u8");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("#EXTM3U"), "{body}");
    for target in [
        "/out/../pipeline.yaml",
        "/out/%2e%2e/pipeline.yaml",
        "/out/media/a/..%2f..%2f..%2fpipeline.yaml",
        "/out/media%2F..%2F..%2Fpipeline.yaml",
        "/out/media/a/link.yaml",
        "/out//etc/passwd",
        "/out/media/a/hls",
        "/../pipeline.yaml",
        "/out/%00",
    ] {
        let (status, body) = server.get_raw(target);
        assert!(status == 404 || status == 400, "{target} answered {status}: {body}");
        assert!(!body.contains("version: 1"), "{target} served the manifest: {body}");
    }
    assert_eq!(server.get_raw("/assets/hls.min.js").1, "/* another hls.js */");
    let (status, page) = server.get_raw("/");
    assert_eq!(status, 200);
    assert!(page.contains("data-id=\"media/a\"") && page.contains("verify ok"), "{page}");
    assert_eq!(server.stop(), INTERRUPTED);
}

/// The vendored players are the versions the browser tests install (and, once installed,
/// the same bytes).
#[test]
fn vendored_players_are_the_tested_versions() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let package: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(browser_dir().join("package.json")).unwrap()).unwrap();
    let readme = std::fs::read_to_string(repo.join("vendor/players/README.md")).unwrap();
    for (name, file) in [("hls.js", "dist/hls.min.js"), ("shaka-player", "dist/shaka-player.compiled.js")] {
        let version = package["dependencies"][name].as_str().unwrap();
        assert!(
            readme.contains(&format!("{name} {version}")),
            "vendor/players/README.md does not name {name} {version}"
        );
        let installed = browser_dir().join("node_modules").join(name).join(file);
        let vendored = repo.join("vendor/players").join(Path::new(file).file_name().unwrap());
        match std::fs::read(&installed) {
            Ok(bytes) => assert!(
                bytes == std::fs::read(&vendored).unwrap(),
                "{} differs from {}",
                vendored.display(),
                installed.display()
            ),
            Err(_) => eprintln!(
                "skipped comparing {name}'s bytes: {} is not installed (cargo xtask setup)",
                installed.display()
            ),
        }
    }
}

#[test]
fn a_request_for_another_host_name_is_refused() {
    // DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
    let ws = Workspace::new();
    ws.make_source("media/a.mp4", 1.0, "320x180");
    ws.write_manifest(&Manifest::small().yaml());
    let server = Server::start(&ws, &[]);
    let port = server.addr().rsplit(':').next().unwrap().to_string();
    assert_eq!(server.status_for_host(&format!("evil.example:{port}")), 403);
    assert_eq!(server.status_for_host("127.0.0.1:1"), 403);
    assert_eq!(server.status_for_host(&format!("localhost:{port}")), 200);
    assert_eq!(server.status_for_host(server.addr()), 200);
    assert_eq!(server.stop(), INTERRUPTED);
}
