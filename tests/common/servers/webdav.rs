//! WebDAV (nginx + dav-ext).
#![allow(unused_imports)]
use super::*;

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
