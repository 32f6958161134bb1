//! Running a command step's tool ([`crate::job::CommandRun`]) on the machine that runs the
//! job: its program located (and, for a job built elsewhere, its fingerprint checked), run
//! with the step's temporary output folder as working directory and `TMPDIR` inside it
//! (removed afterwards) and only [`INHERITED_ENV`] of vodbuild's environment, allowed to write only there and to `/dev/null` ([`super::landlock`],
//! where the kernel has Landlock), stdout and stderr kept as one bounded tail for errors.
//! Afterwards only the declared outputs stay in the folder; anything else the tool left there
//! is removed, and a declared output that is not a plain file (a symlink, a folder) fails the
//! step. The output check ([`super::check`]) then wants each declared file present and non-empty.

use std::path::Path;

use super::cancel::Cancel;
use super::env::JobEnv;
use super::landlock::Ruleset;
use super::runner::{self, Setup};
use crate::job::CommandRun;
use crate::job::paths::{resolve, resolve_arg};

/// The only variables of vodbuild's environment the tool sees (besides `TMPDIR`): never the
/// storage credentials or notify secrets vodbuild itself holds.
pub const INHERITED_ENV: &[&str] = &["PATH", "LANG", "LC_ALL", "HOME", "TZ"];

/// The private temporary folder inside the step's output folder.
const TMP: &str = ".tmp";

pub fn run(c: &CommandRun, env: &JobEnv, cancel: &Cancel) -> Result<(), String> {
    let root = env.root.as_path();
    let dir = resolve(root, &c.dir);
    let program = crate::command_tool::locate(&c.program, root)?;
    if env.verify_inputs {
        let found = crate::command_tool::fingerprint(
            &program,
            crate::command_tool::is_path(&c.program),
            c.version_args.as_deref(),
            &mut Default::default(),
        )?;
        if found.digest != c.digest {
            return Err(format!("{} is not the build the job was planned with", program.display()));
        }
    }
    let tmp = dir.join(TMP);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let args: Vec<String> = c.args.iter().map(|a| resolve_arg(root, a)).collect();
    let ruleset = Ruleset::new(&[&dir], &[Path::new("/dev/null")])?;
    if ruleset.is_none() {
        warn_unconfined();
    }
    let setup = Setup {
        dir: Some(&dir),
        env: vec![("TMPDIR", tmp.as_path())],
        inherit_only: Some(INHERITED_ENV),
        stdout_to_stderr: true,
        landlock: ruleset.as_ref().map(Ruleset::fd),
    };
    let ran = runner::run_with(cancel, &program, &args, &setup, |_| {});
    let kept = keep_declared(&dir, &c.outputs);
    ran?;
    let removed = kept?;
    if removed > 0 {
        tracing::debug!(folder = %dir.display(), removed, "removed files the tool did not declare");
    }
    Ok(())
}

/// Said once per process: the user asked for confinement by using command steps and should
/// know when this kernel cannot give it.
fn warn_unconfined() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::warn!(
            "this kernel has no Landlock (Linux 5.13+): command steps run unconfined and could write \
             outside their output folder (vodbuild still keeps only their declared outputs)"
        )
    });
}

/// Removes every entry of `dir` but the declared outputs; returns how many went. A declared
/// output that is not a plain file is an error (it is removed too).
fn keep_declared(dir: &Path, outputs: &[String]) -> Result<usize, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut removed = 0;
    let mut bad = None;
    for e in entries {
        let e = e.map_err(|e| format!("reading {}: {e}", dir.display()))?;
        let path = e.path();
        let kind = e.file_type().map_err(|err| format!("{}: {err}", path.display()))?;
        let declared = e.file_name().to_str().is_some_and(|n| outputs.iter().any(|o| o == n));
        if declared && kind.is_file() {
            continue;
        }
        if declared {
            bad.get_or_insert_with(|| format!("declared output {} is not a plain file", path.display()));
        }
        let gone = if kind.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        gone.map_err(|err| format!("removing {}: {err}", path.display()))?;
        removed += 1;
    }
    bad.map_or(Ok(removed), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_declared_plain_files_stay() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.vtt"), "WEBVTT\n").unwrap();
        std::fs::write(d.path().join("junk.txt"), "x").unwrap();
        std::fs::create_dir_all(d.path().join(".tmp/sub")).unwrap();
        assert_eq!(keep_declared(d.path(), &["a.vtt".into()]), Ok(2));
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec!["a.vtt"]);
        std::os::unix::fs::symlink("/etc/hostname", d.path().join("b.vtt")).unwrap();
        let err = keep_declared(d.path(), &["a.vtt".into(), "b.vtt".into()]).unwrap_err();
        assert!(err.contains("not a plain file"), "{err}");
        assert!(!d.path().join("b.vtt").exists());
    }
}
