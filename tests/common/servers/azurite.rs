//! Azure Blob (Azurite, Microsoft's storage emulator, pinned in tests/azurite/package.json).
//!
//! Facts about Azurite 3.37.0 here (checked):
//! - `azurite-blob --blobHost 127.0.0.1 --blobPort P --location DIR` keeps its metadata in
//!   `DIR/__azurite_db_blob*.json` and blob bytes in extent files under `DIR/__blobstorage__`,
//!   so blobs are observed through the Blob API (a SharedKey-signed List Blobs / Get Blob),
//!   never from the files.
//! - Path-style URLs: `http://127.0.0.1:P/devstoreaccount1/CONTAINER/BLOB`. The account is
//!   the emulator's well-known dev account `devstoreaccount1` with its published dev key.
//! - `--skipApiVersionCheck` accepts clients newer than the emulator, `--loose` ignores
//!   headers it does not support, `--disableTelemetry` keeps it off the network.
//! - Without `--silent` it prints one access-log line per request on stdout,
//!   `127.0.0.1 - - [DATE] "METHOD PATH HTTP/1.1" STATUS LENGTH`, which
//!   [`AzuriteServer::requests`] parses.
//! - Container names need 3..=63 characters (`c1` → 400 OutOfRangeInput).
#![allow(unused_imports)]
use super::*;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

// ------------------------------------------------------------------ Azure Blob (Azurite)

/// One request Azurite served, from its access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzRequest {
    pub method: String,
    /// Path as sent (percent-encoded), without the query: `/devstoreaccount1/CONTAINER/BLOB`.
    pub path: String,
    /// Query string without `?` (empty when none).
    pub query: String,
    pub status: u16,
}

impl AzRequest {
    /// The blob name for a request on `container` of the dev account (percent-decoded), if any.
    pub fn blob(&self, container: &str) -> Option<String> {
        let rest = self
            .path
            .strip_prefix('/')?
            .strip_prefix(AzuriteServer::ACCOUNT)?
            .strip_prefix('/')?
            .strip_prefix(container)?
            .strip_prefix('/')?;
        if rest.is_empty() { None } else { Some(percent_decode(rest)) }
    }

    /// Put Blob, Put Block or Put Block List on `container`: a write of blob data.
    pub fn is_blob_write(&self, container: &str) -> bool {
        self.method == "PUT" && self.blob(container).is_some()
    }
}

/// An Azurite blob service on 127.0.0.1 with one (empty) container.
pub struct AzuriteServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    container: String,
}

impl AzuriteServer {
    /// The emulator's well-known development account and key (published by Microsoft).
    pub const ACCOUNT: &'static str = "devstoreaccount1";
    pub const ACCOUNT_KEY: &'static str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    pub const CONTAINER: &'static str = "vod";
    /// The x-ms-version the fixture's own requests send.
    const API_VERSION: &'static str = "2021-12-02";

    /// Starts Azurite and creates container `vod`.
    pub fn start() -> AzuriteServer {
        Self::start_with_container(Self::CONTAINER)
    }

    pub fn start_with_container(container: &str) -> AzuriteServer {
        let bin = find_azurite_blob();
        let dir = tempfile::Builder::new().prefix("vodbuild-azurite-").tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let d = dir.path().to_path_buf();
        let (child, port) = spawn_server("azurite-blob", &d.join("azurite.log"), None, |port| {
            let mut c = Command::new(&bin);
            c.arg("--blobHost")
                .arg("127.0.0.1")
                .arg("--blobPort")
                .arg(port.to_string())
                .arg("--location")
                .arg(d.join("data"))
                .args(["--skipApiVersionCheck", "--loose", "--disableTelemetry", "--disableProductStyleUrl"])
                .current_dir(&d);
            c
        });
        let s = AzuriteServer { dir, port, child: Some(child), container: container.to_string() };
        s.create_container(container);
        s
    }

    /// Create Container (`PUT /devstoreaccount1/NAME?restype=container`); panics unless 201.
    pub fn create_container(&self, name: &str) {
        let (code, body) = self.signed("PUT", &format!("/{name}"), &[("restype", "container")], Self::ACCOUNT_KEY);
        assert_eq!(code, 201, "create container {name} in Azurite: {}", String::from_utf8_lossy(&body));
    }

    /// `http://127.0.0.1:PORT/devstoreaccount1` (the account's blob endpoint, path style).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{}", self.port, Self::ACCOUNT)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn container(&self) -> &str {
        &self.container
    }

    pub fn account_name(&self) -> &str {
        Self::ACCOUNT
    }

    pub fn account_key(&self) -> &str {
        Self::ACCOUNT_KEY
    }

    /// The `storage:` entry body for a backend (opendal azblob config keys; the key comes
    /// from `VODBUILD_<BACKEND>_ACCOUNT_KEY`, see `env`). The name is not part of the body.
    pub fn yaml(&self, _backend: &str) -> String {
        format!(
            "    service: azblob\n    container: {}\n    endpoint: {}\n    account_name: {}\n",
            self.container,
            self.endpoint(),
            Self::ACCOUNT
        )
    }

    /// `VODBUILD_<BACKEND>_ACCOUNT_KEY` = the dev key, for a backend named `backend`.
    pub fn env(&self, backend: &str) -> Vec<(&'static str, String)> {
        self.env_with_key(backend, Self::ACCOUNT_KEY)
    }

    /// Like `env` with another account key (e.g. a wrong one, still valid base64).
    ///
    /// The variable name is leaked to give the `&'static str` that `env_refs` takes.
    pub fn env_with_key(&self, backend: &str, key: &str) -> Vec<(&'static str, String)> {
        let name = format!("VODBUILD_{}_ACCOUNT_KEY", backend.to_ascii_uppercase().replace('-', "_"));
        vec![(Box::leak(name.into_boxed_str()), key.to_string())]
    }

    /// Every blob in the container: name → size (List Blobs, following NextMarker).
    pub fn blobs(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let mut marker = String::new();
        loop {
            let mut query = vec![("comp", "list"), ("restype", "container"), ("maxresults", "1000")];
            if !marker.is_empty() {
                query.push(("marker", marker.as_str()));
            }
            let (code, body) = self.signed("GET", &format!("/{}", self.container), &query, Self::ACCOUNT_KEY);
            let body = String::from_utf8_lossy(&body).into_owned();
            assert_eq!(code, 200, "List Blobs on Azurite: {body}");
            for blob in body.split("<Blob>").skip(1) {
                let name = xml_text(blob, "Name").unwrap_or_else(|| panic!("a <Blob> without <Name>: {body}"));
                let size = xml_text(blob, "Content-Length").and_then(|v| v.parse().ok()).unwrap_or(0);
                out.insert(name, size);
            }
            marker = xml_text(&body, "NextMarker").unwrap_or_default();
            if marker.is_empty() {
                return out;
            }
        }
    }

    /// Blob names, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.blobs().into_keys().collect()
    }

    /// Get Blob: its bytes, or None when the server does not answer 200.
    pub fn blob(&self, name: &str) -> Option<Vec<u8>> {
        let path = format!("/{}/{}", self.container, az_percent_encode_path(name));
        let (code, body) = self.signed("GET", &path, &[], Self::ACCOUNT_KEY);
        (code == 200).then_some(body)
    }

    /// Every blob with its bytes.
    pub fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        self.keys()
            .into_iter()
            .map(|k| {
                let bytes = self.blob(&k).unwrap_or_else(|| panic!("blob {k} is listed but Get Blob failed"));
                (k, bytes)
            })
            .collect()
    }

    /// A SharedKey-signed request with `key` on `path` under the account
    /// (`/CONTAINER[/BLOB]`, percent-encoded) with an empty body: (HTTP status, body).
    pub fn signed(&self, method: &str, path: &str, query: &[(&str, &str)], key: &str) -> (u16, Vec<u8>) {
        let uri_path = format!("/{}{}", Self::ACCOUNT, path);
        let date = http_date(std::time::SystemTime::now());
        let x_ms = [("x-ms-date", date.as_str()), ("x-ms-version", Self::API_VERSION)];
        let auth = shared_key_authorization(Self::ACCOUNT, key, method, &uri_path, query, &x_ms);

        let mut url = format!("http://127.0.0.1:{}{}", self.port, uri_path);
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&format!("{k}={}", az_percent_encode(v)));
        }
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let mut args: Vec<String> = vec!["-sS".into(), "--max-time".into(), "20".into(), "-X".into(), method.into()];
        for (k, v) in x_ms {
            args.extend(["-H".into(), format!("{k}: {v}")]);
        }
        args.extend(["-H".into(), format!("Authorization: {auth}")]);
        if method == "PUT" {
            args.extend(["-H".into(), "Content-Length: 0".into()]);
        }
        args.extend(["-o".into(), tmp.path().to_string_lossy().into_owned(), "-w".into(), "%{http_code}".into()]);
        args.push(url);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_client("curl", &argv, None);
        assert!(out.status.success(), "curl {method} {path}: {}", String::from_utf8_lossy(&out.stderr));
        let code: u16 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
        (code, std::fs::read(tmp.path()).unwrap_or_default())
    }

    /// Every request served so far, in order, from Azurite's access log (stdout).
    pub fn requests(&self) -> Vec<AzRequest> {
        let text = std::fs::read_to_string(self.dir.path().join("azurite.log")).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                // 127.0.0.1 - - [21/Nov/2026:14:56:49 +0000] "PUT /devstoreaccount1/c?restype=container HTTP/1.1" 201 -
                let (_, rest) = line.split_once("] \"")?;
                let (request, after) = rest.split_once("\" ")?;
                let mut it = request.split(' ');
                let method = it.next()?.to_string();
                let target = it.next()?;
                let status = after.split(' ').next()?.parse().ok()?;
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                Some(AzRequest { method, path: path.to_string(), query: query.to_string(), status })
            })
            .collect()
    }

    /// The last lines of Azurite's log (for failure messages).
    pub fn log_tail(&self) -> String {
        tail(&self.dir.path().join("azurite.log"))
    }

    pub fn kill(&mut self) {
        kill_child(&mut self.child);
    }
}

impl Drop for AzuriteServer {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}

/// `tests/azurite/node_modules/.bin/azurite-blob`, installed by `cargo xtask setup`
/// (`npm ci` in tests/azurite) at the version tests/azurite/package.json pins.
fn find_azurite_blob() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/azurite");
    let bin = dir.join("node_modules/.bin/azurite-blob");
    if on_path("node").is_none() {
        missing("node", "Azurite runs on node: apt package nodejs");
    }
    if !bin.is_file() {
        missing("Azurite", &format!("no {}: npm ci in tests/azurite", bin.display()));
    }
    let version = |p: &Path, pointer: &str| -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        v.pointer(pointer)?.as_str().map(str::to_string)
    };
    let wanted = version(&dir.join("package.json"), "/dependencies/azurite");
    let have = version(&dir.join("node_modules/azurite/package.json"), "/version");
    if wanted != have {
        missing(
            &format!("Azurite {}", wanted.as_deref().unwrap_or("?")),
            &format!("tests/azurite/node_modules has {}", have.as_deref().unwrap_or("no azurite")),
        );
    }
    bin
}

// ------------------------------------------------------------------ SharedKey signing

/// `SharedKey ACCOUNT:SIGNATURE` for a request with an empty body and no standard headers
/// besides `x_ms` (the Blob service's string-to-sign, version 2015-02-21 and later).
fn shared_key_authorization(
    account: &str,
    key: &str,
    method: &str,
    uri_path: &str,
    query: &[(&str, &str)],
    x_ms: &[(&str, &str)],
) -> String {
    // VERB, then Content-Encoding, -Language, -Length (empty for 0), -MD5, -Type, Date,
    // If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range: all empty.
    let mut s = format!("{method}\n");
    s.push_str(&"\n".repeat(11));
    let mut headers: Vec<(String, &str)> = x_ms.iter().map(|(k, v)| (k.to_ascii_lowercase(), *v)).collect();
    headers.sort();
    for (k, v) in headers {
        s.push_str(&format!("{k}:{v}\n"));
    }
    s.push_str(&format!("/{account}{uri_path}"));
    let mut params: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (k, v) in query {
        params.entry(k.to_ascii_lowercase()).or_default().push(v);
    }
    for (k, mut vs) in params {
        vs.sort();
        s.push_str(&format!("\n{k}:{}", vs.join(",")));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(key).unwrap_or_else(|e| panic!("account key is not base64: {e}"));
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(s.as_bytes());
    format!("SharedKey {account}:{}", b64.encode(mac.finalize().into_bytes()))
}

/// RFC 1123 date in GMT (`Sat, 21 Nov 2026 14:56:49 GMT`), as x-ms-date wants.
fn http_date(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn az_percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-encodes each `/`-separated segment of a blob name.
fn az_percent_encode_path(name: &str) -> String {
    name.split('/').map(az_percent_encode).collect::<Vec<_>>().join("/")
}

/// The unescaped text of the first `<tag>…</tag>` in `xml`.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}
