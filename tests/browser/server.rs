//! A tiny static-file HTTP/1.1 server for the browser test, bound to 127.0.0.1
//! on a free port: GET and HEAD, single byte ranges, Content-Types for the
//! HLS/DASH/web files the players fetch, no `..`. One thread per connection;
//! every response closes its connection. Stops when dropped.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One served request: method, path (as requested) and status code.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub status: u16,
}

pub struct StaticServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Hit>>>,
    thread: Option<JoinHandle<()>>,
}

struct Mounts(Vec<(String, PathBuf)>);

impl StaticServer {
    /// Serves each `(url_prefix, dir)` mount: `/prefix/a/b` -> `dir/a/b`.
    /// Prefixes look like `/content`; the longest matching prefix wins.
    pub fn start(mounts: &[(&str, &Path)]) -> StaticServer {
        let mut m: Vec<(String, PathBuf)> = mounts
            .iter()
            .map(|(p, d)| {
                let prefix = format!("/{}", p.trim_matches('/'));
                let dir = d.canonicalize().unwrap_or_else(|e| panic!("mount {}: {e}", d.display()));
                (prefix, dir)
            })
            .collect();
        m.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let mounts = Arc::new(Mounts(m));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let thread = std::thread::Builder::new()
            .name("static-http".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let (mounts, log) = (mounts.clone(), log2.clone());
                    let _ = std::thread::Builder::new().name("static-http-conn".into()).spawn(move || {
                        if let Some(hit) = handle(stream, &mounts) {
                            log.lock().unwrap().push(hit);
                        }
                    });
                }
            })
            .expect("spawn server thread");
        StaticServer { addr, stop, log, thread: Some(thread) }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url(), path.trim_start_matches('/'))
    }

    /// Every request served so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("mpd") => "application/dash+xml",
        Some("m4s") => "video/iso.segment",
        Some("mp4") => "video/mp4",
        Some("m4a") => "audio/mp4",
        Some("ts") => "video/mp2t",
        Some("aac") => "audio/aac",
        Some("vtt") => "text/vtt",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("map" | "json") => "application/json",
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Maps a request path (query and fragment already removed) to a file under a
/// mount; `None` for anything outside the mounts or with `..`.
fn resolve(raw_path: &str, mounts: &Mounts) -> Option<PathBuf> {
    let decoded = percent_decode(raw_path)?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return None;
    }
    let (prefix, root) = mounts.0.iter().find(|(p, _)| {
        decoded == *p || (decoded.starts_with(p.as_str()) && decoded.as_bytes().get(p.len()) == Some(&b'/'))
    })?;
    let rest = Path::new(decoded[prefix.len()..].trim_start_matches('/'));
    let mut out = root.clone();
    for c in rest.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            // `..`, a root or a prefix: refused.
            _ => return None,
        }
    }
    // Symlinks inside the tree must not lead outside it either.
    let real = out.canonicalize().ok()?;
    real.starts_with(root).then_some(real)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a `Range` header against a body of `len` bytes. `Ok(None)`: serve
/// the whole file; `Ok(Some((start, end_inclusive)))`: a satisfiable single
/// range; `Err(())`: unsatisfiable (416). Multi-range requests get the whole file.
fn parse_range(header: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || len == 0 {
            return Err(());
        }
        return Ok(Some((len.saturating_sub(n), len - 1)));
    }
    let start: u64 = a.parse().map_err(|_| ())?;
    if start >= len {
        return Err(());
    }
    let end = if b.is_empty() { len - 1 } else { b.parse::<u64>().map_err(|_| ())?.min(len - 1) };
    if end < start {
        return Err(());
    }
    Ok(Some((start, end)))
}

fn handle(stream: TcpStream, mounts: &Mounts) -> Option<Hit> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_string());
        }
    }
    let path = target.split(['?', '#']).next().unwrap_or("").to_string();
    let mut out = stream;
    let status = respond(&mut out, &method, &path, range.as_deref(), mounts);
    let _ = out.flush();
    let _ = out.shutdown(std::net::Shutdown::Write);
    Some(Hit { method, path, status })
}

fn respond(out: &mut TcpStream, method: &str, path: &str, range: Option<&str>, mounts: &Mounts) -> u16 {
    let simple = |out: &mut TcpStream, status: u16, reason: &str, extra: &str| {
        let body = format!("{status} {reason}\n");
        let _ = write!(
            out,
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
            body.len()
        );
        if method != "HEAD" {
            let _ = out.write_all(body.as_bytes());
        }
        status
    };
    if method != "GET" && method != "HEAD" {
        return simple(out, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
    }
    if path.split('/').any(|seg| seg == "..") || path.contains("%2e%2e") || path.contains("%2E%2E") {
        return simple(out, 403, "Forbidden", "");
    }
    let Some(file_path) = resolve(path, mounts) else { return simple(out, 404, "Not Found", "") };
    let Ok(mut file) = File::open(&file_path) else { return simple(out, 404, "Not Found", "") };
    let Ok(meta) = file.metadata() else { return simple(out, 500, "Internal Server Error", "") };
    if !meta.is_file() {
        return simple(out, 404, "Not Found", "");
    }
    let len = meta.len();
    let (status, reason, start, end) = match range.map(|r| parse_range(r, len)) {
        Some(Err(())) => {
            return simple(out, 416, "Range Not Satisfiable", &format!("Content-Range: bytes */{len}\r\n"));
        }
        Some(Ok(Some((s, e)))) => (206, "Partial Content", s, e),
        _ => (200, "OK", 0, len.saturating_sub(1)),
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {}\r\nContent-Length: {count}\r\nAccept-Ranges: bytes\r\nCache-Control: no-store\r\nConnection: close\r\n",
        content_type(&file_path)
    );
    if status == 206 {
        head += &format!("Content-Range: bytes {start}-{end}/{len}\r\n");
    }
    head += "\r\n";
    if out.write_all(head.as_bytes()).is_err() || method == "HEAD" {
        return status;
    }
    if file.seek(SeekFrom::Start(start)).is_ok() {
        let _ = std::io::copy(&mut (&mut file).take(count), out);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=95-200", 100), Ok(Some((95, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=5-2", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
    }

    #[test]
    fn no_escape_from_mounts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root/sub")).unwrap();
        std::fs::write(dir.path().join("root/sub/a.m3u8"), "#EXTM3U\n").unwrap();
        std::fs::write(dir.path().join("secret"), "no").unwrap();
        let root = dir.path().join("root").canonicalize().unwrap();
        let mounts = Mounts(vec![("/content".into(), root.clone())]);
        assert_eq!(resolve("/content/sub/a.m3u8", &mounts), Some(root.join("sub/a.m3u8")));
        assert_eq!(resolve("/content/sub/%61.m3u8", &mounts), Some(root.join("sub/a.m3u8")));
        assert_eq!(resolve("/content/../secret", &mounts), None);
        assert_eq!(resolve("/content/%2e%2e/secret", &mounts), None);
        assert_eq!(resolve("/contentx/sub/a.m3u8", &mounts), None);
        assert_eq!(resolve("/other/a.m3u8", &mounts), None);
    }
}
