//! Real storage servers for the storage tests, each on 127.0.0.1 with a free port, in
//! its own tempdir, stopped (SIGKILL) when the fixture is dropped.
//!
//! | fixture | server | what a test can observe |
//! |---|---|---|
//! | [`S3Server`] | `s3s-fs` (cargo install) | objects as plain files under `bucket_dir()`; every HTTP request (method, path, query, status, Content-Length) through [`S3Server::requests`], parsed from s3s's debug log |
//! | [`SftpServer`] | OpenSSH `sshd` + `sftp-server` | files under `root()`; every file written (path, bytes) / removed / renamed through [`SftpServer::events`], from `sftp-server -l INFO` |
//! | [`AzuriteServer`] | Azurite (npm, `tests/azurite`) | blobs through a signed List Blobs ([`AzuriteServer::blobs`]); requests from Azurite's access log |
//! | [`WebdavServer`] | nginx + dav-ext | files under `root()`; every request (method, status, Content-Length, URI) through [`WebdavServer::requests`], from nginx's access log |
//!
//! Facts about the servers on Debian 12 (checked):
//! - s3s-fs: a bucket is a directory in its data dir (`mkdir DATA/BUCKET` creates one;
//!   ListBuckets lists the directories). An object is the file `DATA/BUCKET/KEY`; s3s-fs
//!   keeps its own metadata beside the buckets (`DATA/.bucket-*.json`) and writes uploads
//!   to `DATA/.tmp.*.internal.part` before renaming them into place, so a file under the
//!   bucket dir is always a complete object. Deleting an object leaves its (empty) parent
//!   directories. Keys ending in `/` (directory markers) are directories.
//!   Wrong secret → 403 SignatureDoesNotMatch. Requests without `x-amz-content-sha256`
//!   are refused (400), so curl needs `-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD'`.
//!   `RUST_LOG=s3s::service=debug` logs one `req: Request { method: …, uri: …, headers: … }`
//!   line and one `resp: Response { status: … }` line per request, each followed by a span
//!   line `in s3s::service::call with start_time: T` that pairs them.
//! - sshd (root) needs the privilege-separation dir `/run/sshd`, which Debian's package
//!   does not create without systemd: `SftpServer::start` creates it (mode 0755).
//!   `internal-sftp -l INFO` logs nothing under `sshd -D -e`, so the subsystem is the
//!   external `sftp-server -e -l INFO` with its stderr appended to a log file.
//! - Clients that keep connections (opendal's sftp service runs `ssh -M -f -N -o
//!   ControlPersist=yes` masters, which outlive the vodbuild process) keep sshd's
//!   per-connection processes alive after the listener dies; `SftpServer` kills the
//!   whole process tree below its sshd, which also ends those ssh masters.
//! - nginx started as root with a master process runs its workers as `nobody`, which
//!   cannot write the WebDAV root in a 0700 tempdir (PUT → 500), and SIGKILL of the master
//!   would leave the workers listening. The fixture runs nginx as one process
//!   (`master_process off; daemon off;`), as the starting user, so Drop's SIGKILL stops it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

mod azurite;
mod s3;
mod sftp;
mod webdav;

pub use azurite::*;
pub use s3::*;
pub use sftp::*;
pub use webdav::*;

/// How long a server may take to accept connections.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a helper client (curl, sftp, ssh-keygen) may run.
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) const SSHD: &str = "/usr/sbin/sshd";
pub(crate) const SFTP_SERVER: &str = "/usr/lib/openssh/sftp-server";
pub(crate) const NGINX: &str = "/usr/sbin/nginx";
pub(crate) const NGINX_DAV_EXT: &str = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so";

// ------------------------------------------------------------------ shared helpers

pub(crate) fn missing(what: &str, detail: &str) -> ! {
    panic!("{what} is not installed ({detail}); run `cargo xtask setup`")
}

pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub(crate) fn current_user() -> String {
    let out = Command::new("id").arg("-un").stdin(Stdio::null()).output().expect("run `id -un`");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A port nobody listens on right now (the OS picks it). Another process may take it
/// before the server binds; `spawn_server` retries with a new port when that happens.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// A port that refuses connections (for "unreachable backend" tests).
pub fn closed_port() -> u16 {
    free_port()
}

/// Children die with the thread that spawned them (PR_SET_PDEATHSIG), so a test that
/// is killed or times out does not leave servers behind. Drop kills them earlier.
pub(crate) fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

pub(crate) fn log_file(path: &Path) -> File {
    File::options().create(true).append(true).open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

pub(crate) fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Spawns `make(port)` until one accepts TCP connections on 127.0.0.1:port (a few
/// tries, each with a fresh port, in case another process took the port first).
pub(crate) fn spawn_server(
    what: &str,
    log: &Path,
    fixed_port: Option<u16>,
    mut make: impl FnMut(u16) -> Command,
) -> (Child, u16) {
    let tries = if fixed_port.is_some() { 1 } else { 5 };
    let mut last_error = String::new();
    for _ in 0..tries {
        let port = fixed_port.unwrap_or_else(free_port);
        let mut cmd = make(port);
        cmd.stdin(Stdio::null()).stdout(log_file(log)).stderr(log_file(log));
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {what} ({:?}): {e}", cmd.get_program()));
        match wait_listening(&mut child, port) {
            Ok(()) => return (child, port),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                last_error = format!("{e}\n--- log tail ({}) ---\n{}", log.display(), tail(log));
            }
        }
    }
    panic!("{what} did not start: {last_error}")
}

pub(crate) fn wait_listening(child: &mut Child, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let answered = super::wait::poll(START_TIMEOUT, Duration::from_millis(25), || match child.try_wait() {
        Err(e) => Some(Err(e.to_string())),
        Ok(Some(status)) => Some(Err(format!("exited with {status} before listening on port {port}"))),
        Ok(None) => TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok().then_some(Ok(())),
    });
    answered.unwrap_or_else(|| Err(format!("not listening on port {port} after {START_TIMEOUT:?}")))?;
    // The port answers; make sure it is our child that answers.
    std::thread::sleep(Duration::from_millis(30));
    if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
        return Err(format!("exited with {status}; port {port} is someone else's"));
    }
    Ok(())
}

/// The direct children of `pid`, from /proc/PID/stat (field 4 is the parent pid).
pub(crate) fn children_of(pid: u32) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else { return Vec::new() };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // `pid (comm) state ppid ...`; comm may hold spaces, so split after the last ')'.
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            after.split_whitespace().nth(1).and_then(|v| v.parse::<u32>().ok()) == Some(pid)
        })
        .collect()
}

/// Kills `child` and every process below it (sshd's per-connection processes would
/// otherwise outlive the listener as long as a client keeps its connection open).
pub(crate) fn kill_tree(child: &mut Option<Child>) {
    if let Some(c) = child.as_ref() {
        let mut todo = vec![c.id()];
        let mut all = Vec::new();
        while let Some(p) = todo.pop() {
            for k in children_of(p) {
                all.push(k);
                todo.push(k);
            }
        }
        for p in all {
            // SAFETY: plain kill(2) of a process that descends from our child.
            unsafe {
                libc::kill(p as libc::pid_t, libc::SIGKILL);
            }
        }
    }
    kill_child(child);
}

pub(crate) fn kill_child(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// Runs a client program (argument vector, optional stdin) with a timeout.
pub fn run_client(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    use std::io::{Read, Write};
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("run {program}: {e}"));
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
    }
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let status = super::wait::exit_or_kill(&mut child, CLIENT_TIMEOUT, Duration::from_millis(10))
        .unwrap_or_else(|| panic!("{program} {args:?} did not finish within {CLIENT_TIMEOUT:?}"));
    Output { status, stdout: t_out.join().unwrap(), stderr: t_err.join().unwrap() }
}

/// Every regular file under `dir`, as `/`-separated paths relative to `dir`, sorted.
pub fn files_rel(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                walk(base, &p, out);
            } else if ft.is_file() {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `(KEY, String)` pairs as the `&[(&str, &str)]` that `Workspace::vodbuild_env` takes.
pub fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Decodes `%XX` escapes (URIs in the servers' logs).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
