//! Tools for the CLI-support tests, and `cargo xtask man`:
//! - promtool (Debian `prometheus`, ~19 MB download; its server is not started) checks the
//!   `run --metrics` textfile (tests/ci_reports.rs);
//! - jsonschema and PyYAML (pinned in `xtask/requirements.txt`) in the venv `target/venv`
//!   validate every shipped manifest against `schema/vodbuild.schema.json` (tests/schema.rs);
//! - `cargo xtask man` writes the man page `target/man/vodbuild.1` (`vodbuild man`, hidden).

use std::process::{Command, Stdio};

use super::local::prove;
use super::{Result, cargo, fail, repo_root, run, which};

pub fn ensure_promtool() -> Result {
    super::apt::ensure_apt("promtool (run --metrics tests)", &["prometheus"], &["promtool"])?;
    let promtool = which("promtool").ok_or_else(|| fail("setup: promtool", "not on PATH"))?;
    prove(&promtool, &["--version"])
}

const IMPORTS: &str = "import jsonschema, yaml";

/// jsonschema and PyYAML in the project venv (made by the Shaka Packager set-up before it).
pub fn ensure_jsonschema() -> Result {
    let python = repo_root().join("target/venv/bin/python");
    let importable =
        |p: &std::path::Path| Command::new(p).args(["-c", IMPORTS]).stdin(Stdio::null()).stderr(Stdio::null()).status();
    if !importable(&python).is_ok_and(|s| s.success()) {
        run(
            "setup: pip install -r xtask/requirements.txt into target/venv (jsonschema, PyYAML)",
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(repo_root().join("xtask/requirements.txt"))
                .stdin(Stdio::null()),
        )?;
    }
    let probe = format!(
        "{IMPORTS}; from importlib.metadata import version as v; print('jsonschema', v('jsonschema'), 'PyYAML', yaml.__version__)"
    );
    prove(&python, &["-c", &probe])
}

/// `cargo xtask man`: builds vodbuild and writes its man page to target/man/vodbuild.1.
pub fn man() -> Result {
    let step = "man: vodbuild man > target/man/vodbuild.1";
    let out = Command::new(cargo())
        .args(["run", "--quiet", "--bin", "vodbuild", "--", "man"])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| fail(step, format!("could not start cargo: {e}")))?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(fail(step, format!("exited with {}", out.status)));
    }
    let dir = repo_root().join("target/man");
    let page = dir.join("vodbuild.1");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&page, &out.stdout))
        .map_err(|e| fail(step, e.to_string()))?;
    super::banner(&format!("man: wrote {} (read it with `man -l {}`)", page.display(), page.display()));
    Ok(())
}
