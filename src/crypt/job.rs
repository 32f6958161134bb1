//! What a package job carries about encryption ([`CryptJob`]: where the key is, its keyed
//! digest, never the key), and what the job does with it when it runs ([`Prepared`]): the
//! key is loaded again (and must still have the planned digest), then written as ffmpeg's
//! `-hls_key_info_file` (and the key file it names) or as a Shaka Packager `--flagfile`, so no
//! command line (in `ps`, `/proc`, `-v` logs or error messages) holds key material. Those
//! files are in memory ([`super::secret_file`]: never on a disk, gone with the process even
//! when it is killed); only where that is unavailable are they 0600 files in a private 0700
//! folder of the system temp folder (outside the output tree), removed when the [`Prepared`]
//! is dropped, and by a later run if the process was killed ([`super::sweep`]).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::keys::{self, Secret};
use crate::manifest::encryption::{CryptMethod, DrmSystem, Encryption, KeySource};
use crate::step::ToolUse;

/// A package job's encryption: settings and where the key is (paths absolute).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CryptJob {
    pub method: CryptMethod,
    pub key: KeySource,
    #[serde(default)]
    pub iv: Option<KeySource>,
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub systems: Vec<DrmSystem>,
    #[serde(default)]
    pub clear_lead: f64,
    #[serde(default)]
    pub key_uri: Option<String>,
    /// The digest the step's key was computed with; the key loaded at run time must match.
    pub key_digest: String,
}

impl CryptJob {
    /// From the manifest's block (`manifest_dir`: where relative key files are).
    pub fn new(e: &Encryption, manifest_dir: &Path) -> CryptJob {
        let abs = |s: &KeySource| KeySource {
            env: s.env.clone(),
            file: s.file.as_ref().map(|f| manifest_dir.join(f).to_string_lossy().into_owned()),
        };
        CryptJob {
            method: e.method,
            key: abs(&e.key),
            iv: e.iv.as_ref().map(abs),
            key_id: e.key_id.as_deref().and_then(|k| keys::parse_key_id(k).ok()),
            systems: e.systems.clone(),
            clear_lead: e.clear_lead,
            key_uri: e.key_uri.clone(),
            key_digest: e.key_digest.clone().unwrap_or_default(),
        }
    }

    /// The key and IV from this machine's environment or files, checked against the plan.
    pub fn load(&self) -> Result<(Secret, Option<Secret>), String> {
        let env = |k: &str| std::env::var(k).ok();
        let key = keys::load(&self.key, "encryption key", Path::new("/"), &env)?;
        let iv = self.iv.as_ref().map(|s| keys::load(s, "encryption iv", Path::new("/"), &env)).transpose()?;
        if keys::digest(&key, iv.as_ref()) != self.key_digest {
            return Err("the encryption key (or iv) differs from the one the plan was made with; run again".into());
        }
        Ok((key, iv))
    }
}

/// The secret files a tool reads (in memory) and, made on first use, a private folder.
pub struct Prepared {
    /// The folder, and its lock held while this lives (see [`super::sweep`]).
    dir: Option<(PathBuf, std::fs::File)>,
    files: Vec<super::secret_file::SecretFile>,
}

impl Prepared {
    pub(crate) fn new() -> Prepared {
        Prepared { dir: None, files: Vec::new() }
    }

    /// The private folder (0700, in the system temp folder), made on first use.
    pub(crate) fn dir(&mut self) -> Result<PathBuf, String> {
        if self.dir.is_none() {
            self.dir = Some(private_dir()?);
        }
        Ok(self.dir.as_ref().map(|(d, _)| d.clone()).expect("made above"))
    }

    /// A file holding `bytes` for a tool: in memory, else 0600 in the private folder.
    pub(crate) fn secret(&mut self, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        match super::secret_file::SecretFile::new(name, bytes) {
            Ok(f) => {
                let path = f.path().to_path_buf();
                self.files.push(f);
                Ok(path)
            }
            Err(why) => {
                tracing::debug!(%why, "no in-memory key file; using a private folder");
                let path = self.dir()?.join(name);
                write_private(&path, bytes)?;
                Ok(path)
            }
        }
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some((dir, _lock)) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes the key files for `tool` and adds their arguments to `args` (ffmpeg: before the
/// output, its last argument; Shaka: at the end).
pub fn prepare(job: &CryptJob, tool: ToolUse, args: &mut Vec<String>) -> Result<Prepared, String> {
    let (key, iv) = job.load()?;
    let mut p = Prepared::new();
    match tool {
        ToolUse::Ffmpeg => {
            let key_file = p.secret("content.key", &key.0)?;
            let uri = job.key_uri.as_deref().ok_or("aes-128 needs key_uri")?;
            let mut info = format!("{uri}\n{}\n", key_file.display());
            if let Some(iv) = &iv {
                info += &format!("{}\n", iv.hex());
            }
            let info_file = p.secret("key.info", info.as_bytes())?;
            let at = args.len().saturating_sub(1);
            args.splice(at..at, ["-hls_key_info_file".to_string(), info_file.to_string_lossy().into_owned()]);
        }
        _ => {
            let flags = p.secret("packager.flags", shaka_flags(job, &key, iv.as_ref()).as_bytes())?;
            args.extend(["--flagfile".to_string(), flags.to_string_lossy().into_owned()]);
        }
    }
    Ok(p)
}

/// Shaka Packager's raw-key flags, one per line.
pub(crate) fn shaka_flags(job: &CryptJob, key: &Secret, iv: Option<&Secret>) -> String {
    let kid = job.key_id.as_deref().unwrap_or_default();
    let mut f = String::from("--enable_raw_key_encryption\n");
    f += &format!("--keys=label=:key_id={kid}:key={}\n", key.hex());
    f += &format!("--protection_scheme={}\n", job.method.as_str());
    f += &format!("--clear_lead={}\n", job.clear_lead);
    if let Some(iv) = iv {
        f += &format!("--iv={}\n", iv.hex());
    }
    if !job.systems.is_empty() {
        let names: Vec<&str> = job.systems.iter().map(|s| system_name(*s)).collect();
        f += &format!("--protection_systems={}\n", names.join(","));
    }
    f
}

/// Shaka Packager's name of a DRM system (ClearKey uses the W3C common PSSH).
pub fn system_name(s: DrmSystem) -> &'static str {
    match s {
        DrmSystem::Clearkey => "CommonSystem",
        DrmSystem::Widevine => "Widevine",
        DrmSystem::Playready => "PlayReady",
        DrmSystem::Fairplay => "FairPlay",
    }
}

/// A new 0700 folder in the system temp folder, locked (see [`super::sweep::hold`]).
fn private_dir() -> Result<(PathBuf, std::fs::File), String> {
    let base = std::env::temp_dir();
    super::sweep::remove_stale_key_folders(&base);
    for attempt in 0..16u32 {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let name = format!("{}{}-{nanos:x}-{attempt}", super::sweep::PREFIX, std::process::id());
        let dir = base.join(name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                let lock = super::sweep::hold(&dir)
                    .map_err(|e| format!("locking the private key folder {}: {e}", dir.display()))?;
                return Ok((dir, lock));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("creating a private key folder in {}: {e}", base.display())),
        }
    }
    Err(format!("creating a private key folder in {}: names taken", base.display()))
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    f.write_all(bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const KEY: &str = "00112233445566778899aabbccddeeff";

    fn job(method: CryptMethod, key_file: &Path) -> CryptJob {
        let key = keys::parse_hex(KEY.as_bytes()).unwrap();
        CryptJob {
            method,
            key: KeySource { env: None, file: Some(key_file.to_string_lossy().into_owned()) },
            iv: None,
            key_id: Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0".into()),
            systems: vec![DrmSystem::Clearkey],
            clear_lead: 0.0,
            key_uri: Some("k.key".into()),
            key_digest: keys::digest(&key, None),
        }
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn key_files_are_private_off_the_command_line_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("title.key");
        std::fs::write(&key_file, KEY).unwrap();
        let mut args: Vec<String> = vec!["-i".into(), "in.mp4".into(), "out/%v/index.m3u8".into()];
        let p = prepare(&job(CryptMethod::Aes128, &key_file), ToolUse::Ffmpeg, &mut args).unwrap();
        assert_eq!(args[2], "-hls_key_info_file", "before the output: {args:?}");
        assert_eq!(args.last().unwrap(), "out/%v/index.m3u8");
        let info = std::fs::read_to_string(&args[3]).unwrap();
        assert!(info.starts_with("k.key\n") && mode(Path::new(&args[3])) == 0o600, "{info}");
        // In memory: named by /proc, no folder on any disk.
        let key_path = info.lines().nth(1).unwrap().to_string();
        assert!(args[3].starts_with("/proc/") && key_path.starts_with("/proc/") && p.dir.is_none(), "{info}");
        assert_eq!(std::fs::read(&key_path).unwrap(), keys::parse_hex(KEY.as_bytes()).unwrap().0);
        drop(p);
        assert!(std::fs::read(&key_path).ok() != Some(keys::parse_hex(KEY.as_bytes()).unwrap().0.to_vec()), "closed");

        // The fallback folder: 0700, its files 0600, removed after the tool.
        let mut p = Prepared::new();
        let dir_path = p.dir().unwrap();
        assert_eq!(mode(&dir_path), 0o700);
        write_private(&dir_path.join("f"), b"x").unwrap();
        assert_eq!(mode(&dir_path.join("f")), 0o600);
        drop(p);
        assert!(!dir_path.exists(), "removed after the tool");

        let mut args: Vec<String> = vec!["in=a.mp4,stream=video".into()];
        let p = prepare(&job(CryptMethod::Cenc, &key_file), ToolUse::Packager, &mut args).unwrap();
        assert!(args.iter().all(|a| !a.contains(KEY)), "{args:?}");
        let flags = std::fs::read_to_string(args.last().unwrap()).unwrap();
        assert!(
            flags.contains(&format!(":key={KEY}")) && flags.contains("--protection_systems=CommonSystem"),
            "{flags}"
        );
        drop(p);
    }

    #[test]
    fn a_key_that_changed_since_the_plan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("title.key");
        std::fs::write(&key_file, "ffeeddccbbaa99887766554433221100").unwrap();
        let e = prepare(&job(CryptMethod::Cenc, &key_file), ToolUse::Packager, &mut Vec::new()).err().unwrap();
        assert!(e.contains("differs from the one the plan was made with") && !e.contains("ffeedd"), "{e}");
    }
}
