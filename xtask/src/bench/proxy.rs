//! A counting HTTP/1.1 pass-through proxy on 127.0.0.1, put in front of the S3 server in P4
//! so the bench can count the requests a publish makes (per method) whatever the client.
//! Requests are parsed only to find where each one ends (Content-Length or chunked body);
//! bytes flow through unchanged in both directions.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub struct Proxy {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl Proxy {
    /// Listens on 127.0.0.1:`port` and forwards to 127.0.0.1:`upstream`.
    pub fn start_on(port: u16, upstream: u16) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let c = counts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let c = c.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, upstream, &c);
                });
            }
        });
        Ok(Proxy { counts })
    }

    /// Requests counted since the last call, per method; resets the counts.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.counts.lock().expect("proxy counts"))
    }
}

fn serve(client: TcpStream, upstream: u16, counts: &Mutex<BTreeMap<String, u64>>) -> std::io::Result<()> {
    let server = TcpStream::connect(("127.0.0.1", upstream))?;
    let (mut s_read, mut c_write) = (server.try_clone()?, client.try_clone()?);
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut s_read, &mut c_write);
        let _ = c_write.shutdown(Shutdown::Write);
    });
    let mut from = BufReader::new(client);
    let mut to = server;
    let result = forward_requests(&mut from, &mut to, counts);
    let _ = to.shutdown(Shutdown::Write);
    let _ = back.join();
    result
}

fn forward_requests(
    from: &mut BufReader<TcpStream>,
    to: &mut TcpStream,
    counts: &Mutex<BTreeMap<String, u64>>,
) -> std::io::Result<()> {
    loop {
        let mut head = Vec::new();
        let (mut length, mut chunked, mut method) = (0u64, false, String::new());
        loop {
            let mut line = Vec::new();
            if from.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            let text = String::from_utf8_lossy(&line).to_string();
            if head.is_empty() {
                method = text.split_whitespace().next().unwrap_or("?").to_string();
            } else if let Some((k, v)) = text.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_ascii_lowercase());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                } else if k == "transfer-encoding" && v.contains("chunked") {
                    chunked = true;
                }
            }
            head.extend_from_slice(&line);
            if line == b"\r\n" || line == b"\n" {
                break;
            }
        }
        *counts.lock().expect("proxy counts").entry(method).or_insert(0) += 1;
        to.write_all(&head)?;
        if chunked {
            loop {
                let mut size_line = Vec::new();
                from.read_until(b'\n', &mut size_line)?;
                to.write_all(&size_line)?;
                let hex = String::from_utf8_lossy(&size_line);
                let size = u64::from_str_radix(hex.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
                if size == 0 {
                    // Trailers, up to the empty line.
                    loop {
                        let mut t = Vec::new();
                        if from.read_until(b'\n', &mut t)? == 0 || t == b"\r\n" || t == b"\n" {
                            to.write_all(&t)?;
                            break;
                        }
                        to.write_all(&t)?;
                    }
                    break;
                }
                std::io::copy(&mut from.by_ref().take(size + 2), to)?;
            }
        } else if length > 0 {
            std::io::copy(&mut from.by_ref().take(length), to)?;
        }
    }
}
