//! Decryption check of a CENC / cbcs rendition, for `vodbuild verify` with the key at hand:
//! its init segment and first and last fragments are joined in a private folder, decrypted by
//! Shaka Packager (`--enable_raw_key_decryption`, the key in an in-memory `--flagfile`
//! ([`super::secret_file`]), never on a command line) and the clear result must decode in ffmpeg (`-xerror`). A wrong key gives
//! garbage that does not decode.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::job::{Prepared, write_private};
use super::keys::Secret;

/// What a decryption check needs: the tools and the key with its ID (32 hex digits).
pub struct Decrypter<'a> {
    pub packager: PathBuf,
    pub ffmpeg: PathBuf,
    pub key_id: String,
    pub key: &'a Secret,
}

/// Longest error text kept from a tool.
const ERR_TAIL: usize = 600;

impl Decrypter<'_> {
    /// `init` and its `segments` (the first and last are used) decrypt and decode.
    pub fn rendition(&self, init: &Path, segments: &[&Path], video: bool) -> Result<(), String> {
        let (Some(first), Some(last)) = (segments.first(), segments.last()) else { return Ok(()) };
        let mut private = Prepared::new();
        let dir = &private.dir()?;
        let mut joined = std::fs::read(init).map_err(|e| format!("{}: {e}", init.display()))?;
        let parts: Vec<&Path> = if first == last { vec![first] } else { vec![first, last] };
        for p in parts {
            joined.extend(std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?);
        }
        let input = dir.join("in.mp4");
        write_private(&input, &joined)?;
        let flags =
            format!("--enable_raw_key_decryption\n--keys=label=:key_id={}:key={}\n", self.key_id, self.key.hex());
        let flag_file = private.secret("decrypt.flags", flags.as_bytes())?;
        let clear = dir.join("clear.mp4");
        let stream = if video { "video" } else { "audio" };
        let desc = format!("in={},stream={stream},output={}", input.display(), clear.display());
        let unpack = run(
            Command::new(&self.packager).arg(desc).arg("--flagfile").arg(&flag_file),
            "Shaka Packager could not decrypt it",
        );
        unpack.map_err(|e| e.replace(&self.key.hex(), "<redacted>"))?;
        let mut ff = Command::new(&self.ffmpeg);
        ff.args(["-hide_banner", "-nostats", "-loglevel", "error", "-xerror", "-i"])
            .arg(&clear)
            .args(["-f", "null", "-"]);
        run(&mut ff, "decrypted with the key, it does not decode")
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: String = err.trim().chars().rev().take(ERR_TAIL).collect::<Vec<_>>().into_iter().rev().collect();
    Err(format!("{what}: {}", tail.lines().last().unwrap_or("failed")))
}
