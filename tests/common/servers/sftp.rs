//! SFTP (OpenSSH).
#![allow(unused_imports)]
use super::*;

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
            // `SetEnv SHLVL=1` below keeps bash from sourcing the user's ~/.bashrc for it
            // (bash skips it when the shell level is 2 or more): an rc file that waits,
            // such as `pyenv init` on a stale rehash lock, hung every session otherwise.
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
                 Subsystem sftp {subsystem}\n\
                 SetEnv SHLVL=1\n",
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
