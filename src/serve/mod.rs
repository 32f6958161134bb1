//! `vodbuild serve FILE [--port N] [--players DIR]`: a preview server on 127.0.0.1 (never
//! another address) that lists the manifest's titles with their renditions, sizes and
//! verify results, and plays each package with hls.js and shaka-player.
//!
//! Layers: [`http`] (a bounded HTTP/1.1 subset on `std::net`), [`routes`] (what each path
//! serves; `/out/` confined to the output folder), [`catalog`] (what a title has, read
//! from its output folder, verified with [`crate::verify`]), [`pages`] (HTML), [`assets`]
//! (the vendored players embedded in the binary, `player.js`, `style.css`).
//!
//! Connections are served by [`WORKERS`] threads; at most [`QUEUE`] more wait, then the
//! accept loop waits too. The manifest and state are read again for each page, so titles
//! built while it runs appear on reload. Ctrl-C ends it (exit 130, as for every command).

mod assets;
mod catalog;
mod http;
mod pages;
mod routes;

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

use crate::error::{Error, IoContext, Result};
use crate::manifest::Manifest;
use crate::state::State;

/// Threads serving connections.
pub const WORKERS: usize = 8;
/// Accepted connections waiting for a worker.
pub const QUEUE: usize = 64;

pub struct Options {
    /// 0: any free port.
    pub port: u16,
    /// Serve the players from this folder instead of the embedded builds.
    pub players: Option<PathBuf>,
}

/// What the handlers share.
pub struct Site {
    file: PathBuf,
    /// The output folder, resolved.
    out_dir: PathBuf,
    players: Option<PathBuf>,
    cache: catalog::VerifyCache,
    /// The port bound: a request's `Host` must name it (see [`routes::host_ok`]).
    port: u16,
}

impl Site {
    /// The manifest's file name and its titles (present sources, then sources removed after
    /// publishing), read now.
    fn titles(&self) -> std::result::Result<(String, Vec<catalog::Title>), String> {
        let m = Manifest::load(&self.file).map_err(|e| format!("{:?}", miette::Report::new(e)))?;
        let state = State::load(&m.state_dir()).map_err(|e| e.to_string())?;
        let mut titles: Vec<catalog::Title> =
            m.sources.iter().map(|s| catalog::title(&m, &s.id, false, &self.cache)).collect();
        for (_, r) in crate::lifecycle::removed_in(&m, &state) {
            titles.push(catalog::title(&m, &r.id, true, &self.cache));
        }
        Ok((m.file.clone(), titles))
    }
}

/// Binds 127.0.0.1:PORT, prints `http://127.0.0.1:PORT/` on stdout, and serves until
/// the process is stopped.
pub fn serve(file: &Path, opts: Options) -> Result<()> {
    let m = Manifest::load(file)?;
    if let Some(dir) = &opts.players {
        for name in assets::PLAYERS {
            if !dir.join(name).is_file() {
                return Err(Error::Usage(format!("--players {}: no {name} there", dir.display())));
            }
        }
    }
    std::fs::create_dir_all(&m.output_dir).ctx(|| format!("creating {}", m.output_dir.display()))?;
    let out_dir = m.output_dir.canonicalize().ctx(|| format!("resolving {}", m.output_dir.display()))?;
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port)).ctx(|| format!("listening on 127.0.0.1:{}", opts.port))?;
    let addr = listener.local_addr().ctx(|| "reading the bound address".into())?;
    let site = Arc::new(Site {
        file: file.to_path_buf(),
        out_dir,
        players: opts.players,
        cache: Default::default(),
        port: addr.port(),
    });
    let (tx, rx) = sync_channel::<TcpStream>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..WORKERS {
        let (site, rx) = (site.clone(), rx.clone());
        std::thread::spawn(move || worker(&site, &rx));
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "http://{addr}/").and_then(|_| stdout.flush());
    crate::say!("vodbuild serve: {} at http://{addr}/ (Ctrl-C stops)", m.file);
    for conn in listener.incoming() {
        match conn {
            Ok(s) => {
                if tx.send(s).is_err() {
                    break;
                }
            }
            Err(e) => tracing::warn!(error = %e, "accepting a connection"),
        }
    }
    Ok(())
}

fn worker(site: &Site, rx: &Mutex<Receiver<TcpStream>>) {
    loop {
        let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok(mut stream) = next else { return };
        let _ = stream.set_read_timeout(Some(http::READ_TIMEOUT));
        let _ = stream.set_write_timeout(Some(http::WRITE_TIMEOUT));
        let (resp, head, range) = match http::read_request(&stream) {
            Ok(req) => (routes::route(site, &req), req.method == "HEAD", req.range),
            Err(status) => (http::Response::text(status, "bad request"), false, None),
        };
        let status = resp.status;
        if let Err(e) = http::write_response(&mut stream, resp, head, range.as_deref()) {
            tracing::debug!(error = %e, status, "writing a response");
        }
    }
}
