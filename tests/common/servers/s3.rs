//! S3 (s3s-fs).
#![allow(unused_imports)]
use super::*;

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
    crate::common::tools::project_tool("s3s-fs")
        .or_else(|| on_path("s3s-fs"))
        .or_else(|| cargo_bin.map(|d| d.join("s3s-fs")).filter(|p| p.is_file()))
        .unwrap_or_else(|| missing("s3s-fs", "not in target/tools/bin, on PATH nor in $CARGO_HOME/bin"))
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
