//! Servers the storage tests (tests/storage.rs, tests/servers_selftest.rs,
//! tests/storage_azure.rs) start on 127.0.0.1: an S3 server (s3s-fs), sshd for SFTP, nginx
//! with WebDAV, Azurite for Azure Blob (npm, pinned in tests/azurite).
//!
//! `setup` installs each only when it is missing; the tests start and stop the servers
//! themselves (tests/common/servers.rs), so nothing is started here.

use super::apt::ensure_apt;
use super::{Result, local, repo_root};
use std::path::PathBuf;

/// s3s-fs 0.15 and later need a newer rustc than the project's; `binary` builds the CLI.
const S3S_FS_SPEC: &str = "s3s-fs@0.14.1";

const SSHD: &str = "/usr/sbin/sshd";
const NGINX: &str = "/usr/sbin/nginx";
/// Debian's `libnginx-mod-http-dav-ext` (PROPFIND/OPTIONS for nginx's WebDAV).
pub const NGINX_DAV_EXT: &str = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so";

/// Installs what the storage tests need, each only when missing.
pub fn ensure_storage_servers() -> Result {
    ensure_s3s_fs()?;
    ensure_apt("openssh (SFTP tests)", &["openssh-server", "openssh-client"], &[SSHD, "ssh", "sftp", "ssh-keygen"])?;
    ensure_apt("nginx WebDAV (WebDAV tests)", &["nginx", "libnginx-mod-http-dav-ext"], &[NGINX, NGINX_DAV_EXT])?;
    ensure_azurite()?;
    Ok(())
}

/// `npm ci` in tests/azurite (Azurite, the Azure Blob emulator, at the version its
/// package-lock.json pins), proven with `azurite-blob --version`.
fn ensure_azurite() -> Result {
    local::npm_ci(&repo_root().join("tests/azurite"), &["node_modules/.bin/azurite-blob", "--version"])
}

/// s3s-fs, pinned, in target/tools/bin; proven with `s3s-fs --help`.
pub fn ensure_s3s_fs() -> Result<PathBuf> {
    local::cargo_tool("s3s-fs", S3S_FS_SPEC, &["--features", "binary"], &["--help"])
}
