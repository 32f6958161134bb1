//! Which response each request gets: `/` the index, `/play?id=ID&package=hls|dash&player=
//! hlsjs|shaka` a player page, `/titles.json` the catalog as JSON, `/assets/NAME` the
//! players and the page script, `/out/PATH` a file under the output folder, nothing else.
//!
//! Every request must carry `Host: 127.0.0.1:PORT` (or `localhost:PORT`, `[::1]:PORT`),
//! else 403: a DNS-rebinding page cannot read the server through its own name.
//!
//! `/out/` never serves outside the output folder: a path with a `.` or `..` segment, a
//! hidden name (`.NAME.tmp-*` temporaries) or a backslash is refused, and the file, with
//! every symlink resolved, must still be inside the (resolved) output folder.

use std::path::{Path, PathBuf};

use super::Site;
use super::assets;
use super::catalog::Title;
use super::http::{Body, Request, Response, query_value};
use super::pages;

pub fn route(site: &Site, req: &Request) -> Response {
    if !host_ok(req.host.as_deref(), site.port) {
        return Response::text(403, "the Host header must be 127.0.0.1:PORT, localhost:PORT or [::1]:PORT");
    }
    if req.method != "GET" && req.method != "HEAD" {
        return Response::text(405, "only GET and HEAD");
    }
    let Some(path) = req.path.as_deref() else { return Response::text(400, "bad path") };
    match path {
        "/" => match site.titles() {
            Ok((name, titles)) => Response::html(pages::index(&name, &titles)),
            Err(e) => Response::text(500, &e),
        },
        "/titles.json" => match site.titles() {
            Ok((_, titles)) => {
                Response::bytes(200, "application/json", serde_json::to_vec_pretty(&titles).expect("json"))
            }
            Err(e) => Response::text(500, &e),
        },
        "/play" => play(site, &req.query),
        p if p.starts_with("/assets/") => assets::get(&p["/assets/".len()..], site.players.as_deref()),
        p if p.starts_with("/out/") => match resolve(&site.out_dir, &p["/out/".len()..]) {
            Some(file) => Response { status: 200, content_type: assets::content_type(&file), body: Body::File(file) },
            None => Response::text(404, "not found"),
        },
        _ => Response::text(404, "not found"),
    }
}

fn play(site: &Site, query: &str) -> Response {
    let (Some(id), Some(package), Some(player)) =
        (query_value(query, "id"), query_value(query, "package"), query_value(query, "player"))
    else {
        return Response::text(400, "expected ?id=ID&package=hls|dash&player=hlsjs|shaka");
    };
    if !["hlsjs", "shaka"].contains(&player.as_str()) || (player == "hlsjs" && package != "hls") {
        return Response::text(400, "player: hlsjs (HLS) or shaka (HLS or DASH)");
    }
    let titles: Vec<Title> = match site.titles() {
        Ok((_, t)) => t,
        Err(e) => return Response::text(500, &e),
    };
    let Some(t) = titles.iter().find(|t| t.id == id) else { return Response::text(404, "no such title") };
    match t.packages.iter().find(|p| p.kind == package) {
        Some(p) => Response::html(pages::player(t, p, &player)),
        None => Response::text(404, "the title has no such package"),
    }
}

/// The file at `rel` (decoded, relative) under the canonical folder `root`, or None.
/// Whether `host` names this server on the loopback (`127.0.0.1:PORT`, `localhost:PORT`,
/// `[::1]:PORT`): a page of another site that rebinds its name to 127.0.0.1 (DNS
/// rebinding) sends its own name and is refused.
pub fn host_ok(host: Option<&str>, port: u16) -> bool {
    let Some(host) = host else { return false };
    let Some((name, p)) = host.rsplit_once(':') else { return false };
    p == port.to_string() && (name == "127.0.0.1" || name.eq_ignore_ascii_case("localhost") || name == "[::1]")
}

pub fn resolve(root: &Path, rel: &str) -> Option<PathBuf> {
    if rel.contains('\\') {
        return None;
    }
    for seg in rel.split('/') {
        if seg.is_empty() || seg.starts_with('.') {
            return None;
        }
    }
    let file = root.join(rel).canonicalize().ok()?;
    (file.starts_with(root) && file.is_file()).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loopback_host_with_the_port_is_answered() {
        for ok in ["127.0.0.1:8080", "localhost:8080", "LocalHost:8080", "[::1]:8080"] {
            assert!(host_ok(Some(ok), 8080), "{ok}");
        }
        for bad in ["evil.example:8080", "127.0.0.1:8081", "127.0.0.1", "localhost", "x", "127.0.0.1.evil:8080"] {
            assert!(!host_ok(Some(bad), 8080), "{bad}");
        }
        assert!(!host_ok(None, 8080));
    }

    #[test]
    fn nothing_outside_the_root_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        std::fs::create_dir_all(root.join("a/hls")).unwrap();
        std::fs::write(root.join("a/hls/master.m3u8"), "#EXTM3U").unwrap();
        std::fs::write(root.join("a/hls/.x.tmp-1"), "t").unwrap();
        std::fs::write(dir.path().join("secret.yaml"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.yaml"), root.join("a/link.yaml")).unwrap();
        let root = root.canonicalize().unwrap();
        assert!(resolve(&root, "a/hls/master.m3u8").is_some());
        for bad in [
            "../secret.yaml",
            "a/../../secret.yaml",
            "a/link.yaml",
            "a/hls/.x.tmp-1",
            "a//hls/master.m3u8",
            "a\\..\\x",
            "a/hls",
            "",
        ] {
            assert_eq!(resolve(&root, bad), None, "{bad}");
        }
    }
}
