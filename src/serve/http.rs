//! The HTTP/1.1 subset `vodbuild serve` speaks: one request per connection (each response
//! closes it), GET and HEAD, a single byte range (`Range: bytes=A-B`, `A-`, `-N`). Requests
//! are bounded: a request line and headers of at most [`MAX_HEAD`] bytes and
//! [`MAX_HEADERS`] lines, read within [`READ_TIMEOUT`].

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

/// Most bytes of a request line plus headers.
pub const MAX_HEAD: u64 = 16 * 1024;
/// Most header lines.
pub const MAX_HEADERS: usize = 64;
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Request {
    pub method: String,
    /// The path, percent-decoded (`None`: it did not decode to UTF-8 without NUL).
    pub path: Option<String>,
    /// The query string, still encoded.
    pub query: String,
    pub range: Option<String>,
    /// The `Host` header (None when absent).
    pub host: Option<String>,
}

pub enum Body {
    Bytes(Cow<'static, [u8]>),
    File(PathBuf),
}

pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Body,
}

impl Response {
    pub fn bytes(status: u16, content_type: &'static str, body: impl Into<Cow<'static, [u8]>>) -> Response {
        Response { status, content_type, body: Body::Bytes(body.into()) }
    }

    pub fn text(status: u16, text: &str) -> Response {
        Response::bytes(status, "text/plain; charset=utf-8", text.as_bytes().to_vec())
    }

    pub fn html(page: String) -> Response {
        Response::bytes(200, "text/html; charset=utf-8", page.into_bytes())
    }
}

/// Reads one request's head; `Err(status)` for a malformed or oversized one.
pub fn read_request(stream: &TcpStream) -> Result<Request, u16> {
    let mut r = BufReader::new(stream.take(MAX_HEAD));
    let mut line = String::new();
    r.read_line(&mut line).map_err(|_| 400u16)?;
    let mut parts = line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(_version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(400);
    };
    let (mut range, mut host) = (None, None);
    for _ in 0..MAX_HEADERS {
        let mut h = String::new();
        if r.read_line(&mut h).map_err(|_| 400u16)? == 0 || !h.ends_with('\n') {
            return Err(400);
        }
        let h = h.trim_end();
        if h.is_empty() {
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let path = percent_decode(path).filter(|p| !p.contains('\0'));
            return Ok(Request { method: method.to_string(), path, query: query.to_string(), range, host });
        }
        if let Some((name, value)) = h.split_once(':') {
            if name.eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            } else if name.eq_ignore_ascii_case("host") {
                host = Some(value.trim().to_string());
            }
        }
    }
    Err(431)
}

/// `%XX` decoded (and `+` kept: it is literal in a path); None when it is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
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

/// The value of `key` in a query string (`a=1&b=x%2Fy`), decoded.
pub fn query_value(query: &str, key: &str) -> Option<String> {
    query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == key).and_then(|(_, v)| percent_decode(v))
}

/// A byte range of a body of `len` bytes: (first, last), inclusive.
fn parse_range(spec: &str, len: u64) -> Option<(u64, u64)> {
    let spec = spec.strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (first, last) = match (a.trim(), b.trim()) {
        ("", n) => (len.saturating_sub(n.parse().ok()?), len - 1),
        (a, "") => (a.parse().ok()?, len - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len - 1)),
    };
    (first <= last).then_some((first, last))
}

/// Writes the response (the body too unless `head`), honouring a byte range for files.
pub fn write_response(stream: &mut TcpStream, resp: Response, head: bool, range: Option<&str>) -> std::io::Result<()> {
    let (mut status, ctype) = (resp.status, resp.content_type);
    match resp.body {
        Body::Bytes(bytes) => {
            write_head(stream, status, ctype, bytes.len() as u64, None)?;
            if !head {
                stream.write_all(&bytes)?;
            }
        }
        Body::File(path) => {
            let mut f = File::open(&path)?;
            let len = f.metadata()?.len();
            let r = range.and_then(|spec| parse_range(spec, len));
            if range.is_some() && r.is_none() {
                return write_head(stream, 416, "text/plain", 0, Some(format!("bytes */{len}")));
            }
            let (first, last) = r.unwrap_or((0, len.saturating_sub(1)));
            let count = if len == 0 { 0 } else { last - first + 1 };
            let content_range = r.map(|(a, b)| {
                status = 206;
                format!("bytes {a}-{b}/{len}")
            });
            write_head(stream, status, ctype, count, content_range)?;
            if !head {
                f.seek(SeekFrom::Start(first))?;
                std::io::copy(&mut f.take(count), stream)?;
            }
        }
    }
    stream.flush()
}

fn write_head(s: &mut TcpStream, status: u16, ctype: &str, len: u64, range: Option<String>) -> std::io::Result<()> {
    let mut h = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        reason(status)
    );
    if let Some(r) = range {
        h += &format!("Content-Range: {r}\r\n");
    }
    h += "\r\n";
    s.write_all(h.as_bytes())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_decoding() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-1,4-5", 100), None);
        assert_eq!(percent_decode("/out/%2e%2e/x").as_deref(), Some("/out/../x"));
        assert_eq!(percent_decode("/a%2"), None);
        assert_eq!(percent_decode("/a%ff"), None);
        assert_eq!(query_value("id=media%2Fa&player=hlsjs", "id").as_deref(), Some("media/a"));
    }
}
