//! P4's reference: Debian's `rclone` copying the same package files (the catalog's `out/`)
//! to another bucket of the same s3s-fs server, with the same concurrency as vodbuild's
//! `publish.concurrency`, no proxy in between. Configured through environment variables
//! only (an empty config file), so nothing of the user's rclone setup is read.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::measure::{Sample, timed_ok};
use super::publish::{KEY, SECRET};

/// The remote's name in rclone's environment configuration.
const REMOTE: &str = "BENCH";

pub struct Rclone {
    pub bin: PathBuf,
    /// An empty config file (rclone then reads only RCLONE_CONFIG_BENCH_*).
    config: PathBuf,
}

impl Rclone {
    pub fn new(bin: PathBuf, work: &Path) -> Result<Rclone, String> {
        let config = work.join("p4/rclone.conf");
        super::media::write(&config, "")?;
        Ok(Rclone { bin, config })
    }

    /// `rclone copy DIR BENCH:BUCKET` against 127.0.0.1:`port` with `concurrency` transfers
    /// and checkers; the bucket folder is created in the server's `data` first.
    pub fn copy(&self, dir: &Path, data: &Path, bucket: &str, port: u16, concurrency: u32) -> Result<Sample, String> {
        std::fs::create_dir_all(data.join(bucket)).map_err(|e| e.to_string())?;
        let mut c = self.command(port);
        let conc = concurrency.to_string();
        c.arg("copy").arg(dir).arg(format!("{REMOTE}:{bucket}"));
        c.args(["--transfers", &conc, "--checkers", &conc, "--s3-no-check-bucket", "-q"]);
        Ok(timed_ok("rclone copy", &mut c)?.sample)
    }

    fn command(&self, port: u16) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--config").arg(&self.config);
        let var = |k: &str| format!("RCLONE_CONFIG_{REMOTE}_{k}");
        c.env(var("TYPE"), "s3").env(var("PROVIDER"), "Other").env(var("ACCESS_KEY_ID"), KEY);
        c.env(var("SECRET_ACCESS_KEY"), SECRET).env(var("REGION"), "us-east-1");
        c.env(var("ENDPOINT"), format!("http://127.0.0.1:{port}")).env(var("FORCE_PATH_STYLE"), "true");
        for proxy in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            c.env_remove(proxy);
        }
        // The AWS SDK inside rclone fails on a CA bundle set for other programs (plain HTTP here).
        c.env_remove("AWS_CA_BUNDLE");
        c
    }
}

/// Files under `dir`, recursively: s3s-fs keeps each object as a file of its bucket's folder
/// (rclone's own listing of s3s-fs comes back empty, so the bench counts there).
pub fn count_files(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(t) if t.is_file() => 1,
            _ => 0,
        })
        .sum()
}
