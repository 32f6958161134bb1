//! Real storage servers for the storage tests, each on 127.0.0.1 with a free port, in
//! its own tempdir, stopped (SIGKILL) when the fixture is dropped.
//!
//! | fixture | server | what a test can observe |
//! |---|---|---|
//! | [`S3Server`] | `s3s-fs` (cargo install) | objects as plain files under `bucket_dir()`; every HTTP request (method, path, query, status, Content-Length) through [`S3Server::requests`], parsed from s3s's debug log |
//! | [`SftpServer`] | OpenSSH `sshd` + `sftp-server` | files under `root()`; every file written (path, bytes) / removed / renamed through [`SftpServer::events`], from `sftp-server -l INFO` |
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
use std::time::{Duration, Instant};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a helper client (curl, sftp, ssh-keygen) may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

const SSHD: &str = "/usr/sbin/sshd";
const SFTP_SERVER: &str = "/usr/lib/openssh/sftp-server";
const NGINX: &str = "/usr/sbin/nginx";
const NGINX_DAV_EXT: &str = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so";

// ------------------------------------------------------------------ shared helpers

fn missing(what: &str, detail: &str) -> ! {
    panic!("{what} is not installed ({detail}); run `cargo xtask setup`")
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn current_user() -> String {
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
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn log_file(path: &Path) -> File {
    File::options().create(true).append(true).open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Spawns `make(port)` until one accepts TCP connections on 127.0.0.1:port (a few
/// tries, each with a fresh port, in case another process took the port first).
fn spawn_server(what: &str, log: &Path, fixed_port: Option<u16>, mut make: impl FnMut(u16) -> Command) -> (Child, u16) {
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

fn wait_listening(child: &mut Child, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("exited with {status} before listening on port {port}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            // The port answers; make sure it is our child that answers.
            std::thread::sleep(Duration::from_millis(30));
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("exited with {status}; port {port} is someone else's"));
            }
            return Ok(());
        }
        if start.elapsed() > START_TIMEOUT {
            return Err(format!("not listening on port {port} after {START_TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The direct children of `pid`, from /proc/PID/stat (field 4 is the parent pid).
fn children_of(pid: u32) -> Vec<u32> {
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
fn kill_tree(child: &mut Option<Child>) {
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

fn kill_child(child: &mut Option<Child>) {
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
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > CLIENT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} did not finish within {CLIENT_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
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

// ------------------------------------------------------------------ S3 (s3s-fs)

/// One HTTP request s3s-fs served, from its debug log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Request {
    pub method: String,
    /// Path as sent (percent-encoded), without the query: `/BUCKET/KEY`.
    pub path: String,
    /// Query string without `?` (empty when none).
    pub query: String,
    /// Response status; 0 when the log has none (the server died mid-request).
    pub status: u16,
    /// The request's Content-Length header (bytes in the body), when sent.
    pub content_length: Option<u64>,
}

impl S3Request {
    /// The object key for a path-style request on `bucket` (percent-decoded), if any.
    pub fn key(&self, bucket: &str) -> Option<String> {
        let rest = self.path.strip_prefix('/')?.strip_prefix(bucket)?.strip_prefix('/')?;
        if rest.is_empty() { None } else { Some(percent_decode(rest)) }
    }

    /// A PutObject, UploadPart or CopyObject: a write of object data.
    pub fn is_write(&self) -> bool {
        self.method == "PUT"
    }
}

fn percent_decode(s: &str) -> String {
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

/// An s3s-fs server: `s3s-fs --host 127.0.0.1 --port P --access-key K --secret-key S DATA`.
pub struct S3Server {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
    bucket: String,
    access_key: String,
    secret_key: String,
}

impl S3Server {
    pub const ACCESS_KEY: &'static str = "vodbuild-test-key";
    pub const SECRET_KEY: &'static str = "vodbuild-test-secret";
    pub const BUCKET: &'static str = "vod";
    pub const REGION: &'static str = "us-east-1";

    /// Starts s3s-fs with bucket `vod` (an empty directory in the data dir).
    pub fn start() -> S3Server {
        Self::start_with_bucket(Self::BUCKET)
    }

    pub fn start_with_bucket(bucket: &str) -> S3Server {
        let bin = find_s3s_fs();
        let dir = tempfile::Builder::new().prefix("vodbuild-s3-").tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("data").join(bucket)).unwrap();
        let mut s = S3Server {
            dir,
            bin,
            port: 0,
            child: None,
            bucket: bucket.to_string(),
            access_key: Self::ACCESS_KEY.to_string(),
            secret_key: Self::SECRET_KEY.to_string(),
        };
        s.spawn(None);
        s
    }

    fn spawn(&mut self, port: Option<u16>) {
        let data = self.data_dir();
        let (bin, ak, sk) = (self.bin.clone(), self.access_key.clone(), self.secret_key.clone());
        let (child, port) = spawn_server("s3s-fs", &self.log_path(), port, |port| {
            let mut c = Command::new(&bin);
            c.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", &ak, "--secret-key", &sk])
                .arg(&data)
                .env("RUST_LOG", "s3s::service=debug")
                .env("NO_COLOR", "1");
            c
        });
        self.child = Some(child);
        self.port = port;
    }

    /// `http://127.0.0.1:PORT` (path-style addressing).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn region(&self) -> &str {
        Self::REGION
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The credentials vodbuild reads from the environment.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.env_with_secret(&self.secret_key)
    }

    /// Like `env` with another secret (for "refused credentials" tests).
    pub fn env_with_secret(&self, secret: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
            ("AWS_REGION", Self::REGION.to_string()),
            ("AWS_DEFAULT_REGION", Self::REGION.to_string()),
            // Never let an SDK fall back to the instance-metadata address.
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
    }

    /// The `storage:` entry body for this server (indented for `storage: NAME:`), e.g.
    /// `format!("storage:\n  cdn:\n{}", s3.yaml("/"))`.
    pub fn yaml(&self, root: &str) -> String {
        format!(
            "    service: s3\n    bucket: {}\n    endpoint: {}\n    region: {}\n    root: {root}\n",
            self.bucket,
            self.endpoint(),
            Self::REGION
        )
    }

    /// s3s-fs's root directory (buckets are its subdirectories).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The bucket's directory: object `KEY` is the file `bucket_dir()/KEY`.
    pub fn bucket_dir(&self) -> PathBuf {
        self.data_dir().join(&self.bucket)
    }

    pub fn object_path(&self, key: &str) -> PathBuf {
        self.bucket_dir().join(key)
    }

    /// Every object key in the bucket, sorted (read from disk; works while the server is down).
    pub fn keys(&self) -> Vec<String> {
        files_rel(&self.bucket_dir())
    }

    /// Keys under `prefix` (`"a/"`), sorted.
    pub fn keys_under(&self, prefix: &str) -> Vec<String> {
        self.keys().into_iter().filter(|k| k.starts_with(prefix)).collect()
    }

    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.object_path(key)).ok()
    }

    /// Every object with its bytes.
    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        self.keys().into_iter().map(|k| (k.clone(), std::fs::read(self.object_path(&k)).unwrap())).collect()
    }

    fn curl_base(&self) -> Vec<String> {
        vec![
            "-sS".into(),
            "--max-time".into(),
            "20".into(),
            "--aws-sigv4".into(),
            format!("aws:amz:{}:s3", Self::REGION),
            "--user".into(),
            format!("{}:{}", self.access_key, self.secret_key),
            "-H".into(),
            "x-amz-content-sha256: UNSIGNED-PAYLOAD".into(),
        ]
    }

    /// PutObject through the S3 API (curl with SigV4), so s3s-fs's metadata (ETag,
    /// Last-Modified) stays consistent. Panics unless the server answers 200.
    pub fn put_object(&self, key: &str, body: &[u8]) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), body).unwrap();
        let url = format!("{}/{}/{}", self.endpoint(), self.bucket, key);
        let mut args = self.curl_base();
        args.extend(["-o".into(), "/dev/null".into(), "-w".into(), "%{http_code}".into(), "-T".into()]);
        args.push(tmp.path().to_string_lossy().into_owned());
        args.push(url);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_client("curl", &argv, None);
        let code = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success() && code == "200",
            "PUT {key} to s3s-fs: curl {} code {code}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// GET through the S3 API: (HTTP status, body).
    pub fn get_object(&self, key: &str) -> (u16, Vec<u8>) {
        self.signed_get(&format!("/{}/{}", self.bucket, key))
    }

    /// A signed GET of `path_and_query` (e.g. `/vod?list-type=2`): (status, body).
    pub fn signed_get(&self, path_and_query: &str) -> (u16, Vec<u8>) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut args = self.curl_base();
        args.extend(["-o".into(), tmp.path().to_string_lossy().into_owned(), "-w".into(), "%{http_code}".into()]);
        args.push(format!("{}{}", self.endpoint(), path_and_query));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_client("curl", &argv, None);
        assert!(out.status.success(), "curl GET {path_and_query}: {}", String::from_utf8_lossy(&out.stderr));
        let code: u16 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
        (code, std::fs::read(tmp.path()).unwrap_or_default())
    }

    /// SIGKILLs the server (no graceful shutdown), keeping its data dir and port.
    pub fn kill(&mut self) {
        kill_child(&mut self.child);
    }

    /// Starts the server again on the same port with the same data dir.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn(Some(self.port));
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("s3s-fs.log")
    }

    /// Every request served since start (across restarts), in arrival order.
    pub fn requests(&self) -> Vec<S3Request> {
        parse_s3s_log(&std::fs::read_to_string(self.log_path()).unwrap_or_default())
    }

    /// Keys written (PUT, including multipart parts and copies) by requests after the
    /// first `since` ones (take `since = requests().len()` before an action), deduplicated.
    pub fn written_keys_since(&self, since: usize) -> std::collections::BTreeSet<String> {
        self.requests()
            .into_iter()
            .skip(since)
            .filter(|r| r.is_write() && (200..300).contains(&r.status))
            .filter_map(|r| r.key(&self.bucket))
            .collect()
    }

    /// Bytes in the bodies of successful PUTs after the first `since` requests.
    pub fn written_bytes_since(&self, since: usize) -> u64 {
        self.requests()
            .into_iter()
            .skip(since)
            .filter(|r| r.is_write() && (200..300).contains(&r.status))
            .map(|r| r.content_length.unwrap_or(0))
            .sum()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}

fn find_s3s_fs() -> PathBuf {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(|h| PathBuf::from(h).join("bin"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin")));
    on_path("s3s-fs")
        .or_else(|| cargo_bin.map(|d| d.join("s3s-fs")).filter(|p| p.is_file()))
        .unwrap_or_else(|| missing("s3s-fs", "not on PATH nor in $CARGO_HOME/bin"))
}

/// Parses s3s's `pretty` tracing output: `req:` / `resp:` event lines, each followed by
/// an `in s3s::service::call with start_time: T` span line that pairs them.
fn parse_s3s_log(text: &str) -> Vec<S3Request> {
    enum Pending {
        Req { method: String, uri: String, len: Option<u64> },
        Resp { status: u16 },
    }
    let mut order: Vec<String> = Vec::new();
    let mut reqs: BTreeMap<String, (String, String, Option<u64>)> = BTreeMap::new();
    let mut statuses: BTreeMap<String, u16> = BTreeMap::new();
    let mut pending: Option<Pending> = None;
    for line in text.lines() {
        if let Some(i) = line.find("req: Request { method: ") {
            let rest = &line[i + "req: Request { method: ".len()..];
            let method = rest.split(',').next().unwrap_or("").trim().to_string();
            let uri = rest.split("uri: ").nth(1).and_then(|u| u.split(", version:").next()).unwrap_or("").to_string();
            let len = rest
                .split("\"content-length\": \"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .and_then(|v| v.parse().ok());
            pending = Some(Pending::Req { method, uri, len });
        } else if let Some(i) = line.find("resp: Response { status: ") {
            let rest = &line[i + "resp: Response { status: ".len()..];
            let status = rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|s| s.parse().ok()).unwrap_or(0);
            pending = Some(Pending::Resp { status });
        } else if let Some(i) = line.find("in s3s::service::call with start_time: ") {
            let t = line[i + "in s3s::service::call with start_time: ".len()..].trim().to_string();
            match pending.take() {
                Some(Pending::Req { method, uri, len }) => {
                    order.push(t.clone());
                    reqs.insert(t, (method, uri, len));
                }
                Some(Pending::Resp { status }) => {
                    statuses.insert(t, status);
                }
                None => {}
            }
        }
    }
    order
        .into_iter()
        .filter_map(|t| {
            let (method, uri, len) = reqs.remove(&t)?;
            let (path, query) = match uri.split_once('?') {
                Some((p, q)) => (p.to_string(), q.to_string()),
                None => (uri, String::new()),
            };
            Some(S3Request { method, path, query, status: statuses.get(&t).copied().unwrap_or(0), content_length: len })
        })
        .collect()
}

// ------------------------------------------------------------------ SFTP (OpenSSH)

/// One file operation sftp-server logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SftpEvent {
    /// A file handle closed: absolute path, bytes read and written through it.
    Close {
        path: String,
        read: u64,
        written: u64,
    },
    Remove {
        path: String,
    },
    Rename {
        from: String,
        to: String,
    },
    Mkdir {
        path: String,
    },
}

/// An OpenSSH server for the current user, key auth only, SFTP through `sftp-server`.
pub struct SftpServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    user: String,
}

impl SftpServer {
    pub fn start() -> SftpServer {
        if !Path::new(SSHD).is_file() {
            missing("sshd", "no /usr/sbin/sshd: apt package openssh-server");
        }
        if on_path("ssh-keygen").is_none() || on_path("ssh").is_none() {
            missing("ssh / ssh-keygen", "apt package openssh-client");
        }
        if is_root() {
            // Privilege separation directory; Debian creates it only through systemd.
            let run = Path::new("/run/sshd");
            if !run.is_dir() {
                use std::os::unix::fs::PermissionsExt;
                std::fs::create_dir_all(run).expect("create /run/sshd");
                std::fs::set_permissions(run, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let dir = tempfile::Builder::new().prefix("vodbuild-sftp-").tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("root")).unwrap();
        for key in ["host_key", "client_key"] {
            let p = d.join(key);
            let out = run_client(
                "ssh-keygen",
                &["-q", "-t", "ed25519", "-N", "", "-C", "vodbuild-test", "-f", p.to_str().unwrap()],
                None,
            );
            assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let user = current_user();
        let mut s = SftpServer { dir, port: 0, child: None, user };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let d = self.dir.path().to_path_buf();
        let subsystem = if Path::new(SFTP_SERVER).is_file() {
            // sshd runs the subsystem through the user's shell, so the redirection works.
            format!("{SFTP_SERVER} -e -l INFO 2>>{}", d.join("sftp.log").display())
        } else {
            "internal-sftp".to_string()
        };
        let user = self.user.clone();
        let (child, port) = spawn_server("sshd", &d.join("sshd.log"), None, |port| {
            let config = format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {hk}\nPidFile {pid}\n\
                 AuthorizedKeysFile {ak}\nAuthenticationMethods publickey\nPubkeyAuthentication yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
                 AllowUsers {user}\nUsePAM no\nStrictModes no\nMaxStartups 100\nMaxSessions 100\n\
                 X11Forwarding no\nAllowTcpForwarding no\nPrintMotd no\nLogLevel VERBOSE\n\
                 Subsystem sftp {subsystem}\n",
                hk = d.join("host_key").display(),
                pid = d.join("sshd.pid").display(),
                ak = d.join("authorized_keys").display(),
            );
            let conf = d.join("sshd_config");
            std::fs::write(&conf, config).unwrap();
            let mut c = Command::new(SSHD);
            c.arg("-D").arg("-e").arg("-f").arg(&conf);
            c
        });
        self.child = Some(child);
        self.port = port;
    }

    /// `ssh://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("ssh://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The login user (the current user).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The client's private key (ed25519, no passphrase).
    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// The directory tests publish into (absolute; use it as the backend's `root`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The `storage:` entry body for this server (opendal sftp config keys).
    pub fn yaml(&self) -> String {
        format!(
            "    service: sftp\n    endpoint: {}\n    user: {}\n    key: {}\n    root: {}\n    known_hosts_strategy: accept\n",
            self.endpoint(),
            self.user,
            self.key_path().display(),
            self.root().display()
        )
    }

    /// Runs `sftp -b -` with `batch` as commands: (success, stdout + stderr).
    pub fn sftp_batch(&self, batch: &str) -> (bool, String) {
        let port = self.port.to_string();
        let key = self.key_path();
        let dest = format!("{}@127.0.0.1", self.user);
        let out = run_client(
            "sftp",
            &[
                "-i",
                key.to_str().unwrap(),
                "-P",
                &port,
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=10",
                "-b",
                "-",
                &dest,
            ],
            Some(batch.as_bytes()),
        );
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("sftp.log")
    }

    /// File operations sftp-server logged, in order (empty with internal-sftp).
    pub fn events(&self) -> Vec<SftpEvent> {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let quoted = |s: &str| -> Vec<String> { s.split('"').skip(1).step_by(2).map(str::to_string).collect() };
        let mut out = Vec::new();
        for line in text.lines() {
            let q = quoted(line);
            if line.starts_with("close \"") && q.len() == 1 {
                let nums: Vec<u64> =
                    line.rsplit('"').next().unwrap_or("").split_whitespace().filter_map(|w| w.parse().ok()).collect();
                if let [read, written] = nums[..] {
                    out.push(SftpEvent::Close { path: q[0].clone(), read, written });
                }
            } else if line.starts_with("remove name \"") && q.len() == 1 {
                out.push(SftpEvent::Remove { path: q[0].clone() });
            } else if (line.starts_with("rename old \"") || line.starts_with("posix-rename old \"")) && q.len() == 2 {
                out.push(SftpEvent::Rename { from: q[0].clone(), to: q[1].clone() });
            } else if line.starts_with("mkdir name \"") && q.len() == 1 {
                out.push(SftpEvent::Mkdir { path: q[0].clone() });
            }
        }
        out
    }

    /// Total bytes written into files through SFTP so far.
    pub fn bytes_written(&self) -> u64 {
        self.events().iter().map(|e| if let SftpEvent::Close { written, .. } = e { *written } else { 0 }).sum()
    }

    /// Kills sshd and its per-connection processes (so clients see the connection drop).
    pub fn kill(&mut self) {
        kill_tree(&mut self.child);
    }
}

impl Drop for SftpServer {
    fn drop(&mut self) {
        kill_tree(&mut self.child);
    }
}

// ------------------------------------------------------------------ WebDAV (nginx)

/// One request nginx served, from its access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavRequest {
    pub method: String,
    pub status: u16,
    /// The request's Content-Length header, when sent.
    pub content_length: Option<u64>,
    /// The decoded URI path.
    pub uri: String,
}

/// nginx serving `root()` with WebDAV (PUT DELETE MKCOL COPY MOVE + PROPFIND OPTIONS).
pub struct WebdavServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    auth: Option<(String, String)>,
}

impl WebdavServer {
    pub fn start() -> WebdavServer {
        Self::start_inner(None)
    }

    /// With HTTP basic auth for `user` / `password` (plain-text htpasswd entry).
    pub fn start_with_basic_auth(user: &str, password: &str) -> WebdavServer {
        Self::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(auth: Option<(String, String)>) -> WebdavServer {
        if !Path::new(NGINX).is_file() {
            missing("nginx", "no /usr/sbin/nginx: apt package nginx");
        }
        if !Path::new(NGINX_DAV_EXT).is_file() {
            missing("nginx's dav-ext module", "apt package libnginx-mod-http-dav-ext");
        }
        let dir = tempfile::Builder::new().prefix("vodbuild-dav-").tempdir().expect("tempdir");
        for sub in ["root", "tmp", "logs"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        if let Some((u, p)) = &auth {
            std::fs::write(dir.path().join("htpasswd"), format!("{u}:{{PLAIN}}{p}\n")).unwrap();
        }
        let mut s = WebdavServer { dir, port: 0, child: None, auth };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let d = self.dir.path().to_path_buf();
        let auth = if self.auth.is_some() {
            format!(
                "      auth_basic \"vodbuild-test\";\n      auth_basic_user_file {};\n",
                d.join("htpasswd").display()
            )
        } else {
            String::new()
        };
        let (child, port) = spawn_server("nginx", &d.join("logs/nginx.out"), None, |port| {
            let t = d.join("tmp");
            let conf = format!(
                "load_module {NGINX_DAV_EXT};\ndaemon off;\nmaster_process off;\n\
                 pid {pid};\nerror_log {err} info;\nevents {{ worker_connections 256; }}\nhttp {{\n\
                 \x20 log_format vod '$request_method $status \"$content_length\" \"$uri\"';\n\
                 \x20 access_log {acc} vod;\n\
                 \x20 client_body_temp_path {t}/body;\n  proxy_temp_path {t}/proxy;\n  fastcgi_temp_path {t}/fastcgi;\n\
                 \x20 uwsgi_temp_path {t}/uwsgi;\n  scgi_temp_path {t}/scgi;\n\
                 \x20 client_max_body_size 0;\n  types {{ }}\n  default_type application/octet-stream;\n\
                 \x20 server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
                 \x20   location / {{\n{auth}\
                 \x20     dav_methods PUT DELETE MKCOL COPY MOVE;\n      dav_ext_methods PROPFIND OPTIONS;\n\
                 \x20     create_full_put_path on;\n      dav_access user:rw group:r all:r;\n      autoindex on;\n\
                 \x20   }}\n  }}\n}}\n",
                pid = d.join("logs/nginx.pid").display(),
                err = d.join("logs/error.log").display(),
                acc = d.join("logs/access.log").display(),
                t = t.display(),
                root = d.join("root").display(),
            );
            let path = d.join("nginx.conf");
            std::fs::write(&path, conf).unwrap();
            let mut c = Command::new(NGINX);
            c.arg("-p").arg(&d).arg("-e").arg(d.join("logs/error.log")).arg("-c").arg(&path);
            c
        });
        self.child = Some(child);
        self.port = port;
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory nginx serves (URI `/x` is `root()/x`).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The `storage:` entry body (opendal webdav config keys; with basic auth, the
    /// password comes from VODBUILD_WEBDAV_PASSWORD, see `env`).
    pub fn yaml(&self, root: &str) -> String {
        let mut y = format!("    service: webdav\n    endpoint: {}\n    root: {root}\n", self.endpoint());
        if let Some((u, _)) = &self.auth {
            y.push_str(&format!("    username: {u}\n"));
        }
        y
    }

    /// VODBUILD_WEBDAV_PASSWORD when the server has basic auth.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.auth.iter().map(|(_, p)| ("VODBUILD_WEBDAV_PASSWORD", p.clone())).collect()
    }

    /// Every request served so far, in order (nginx writes the access log unbuffered).
    pub fn requests(&self) -> Vec<DavRequest> {
        let text = std::fs::read_to_string(self.dir.path().join("logs/access.log")).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut it = line.splitn(3, ' ');
                let method = it.next()?.to_string();
                let status = it.next()?.parse().ok()?;
                let rest = it.next()?;
                let q: Vec<&str> = rest.split('"').collect();
                // rest = "LEN" "URI"  → ["", LEN, " ", URI, ""]
                let content_length = q.get(1).and_then(|v| v.parse().ok());
                let uri = q.get(3)?.to_string();
                Some(DavRequest { method, status, content_length, uri })
            })
            .collect()
    }

    pub fn kill(&mut self) {
        kill_child(&mut self.child);
    }
}

impl Drop for WebdavServer {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}
