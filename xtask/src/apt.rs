//! Debian packages the setup needs (ffmpeg aside): each installed with apt-get only when
//! what it provides is missing, then checked again. Used by the project-local tools
//! ([`super::local`]) and the storage test servers ([`super::services`]).

use std::path::Path;
use std::process::Stdio;

use super::{Result, apt_update, banner, fail, privileged, run, which};

/// A program is present when `check` is an existing path (absolute) or a name on PATH.
fn present(check: &str) -> bool {
    if check.starts_with('/') { Path::new(check).exists() } else { which(check).is_some() }
}

pub fn ensure_apt(what: &str, packages: &[&str], checks: &[&str]) -> Result {
    let missing: Vec<&str> = checks.iter().copied().filter(|c| !present(c)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let step = format!("setup: apt-get install {}", packages.join(" "));
    banner(&format!("setup: {what}: missing {}", missing.join(", ")));
    if which("apt-get").is_none() {
        return Err(fail(&step, format!("apt-get not found; install {} by other means", packages.join(", "))));
    }
    apt_update()?;
    let mut install = privileged("apt-get");
    install
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null());
    run(&step, &mut install)?;
    let still: Vec<&str> = checks.iter().copied().filter(|c| !present(c)).collect();
    if still.is_empty() {
        Ok(())
    } else {
        Err(fail(&step, format!("still missing after install: {}", still.join(", "))))
    }
}
