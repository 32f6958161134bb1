//! `verify`: checks one package as `vodbuild verify` does ([`crate::verify`]) and writes the
//! problems to `verify_PACKAGE.json`; the step fails when there are any. Params: which
//! package. Inputs: the package's files, probe.json. Done by vodbuild (no tool).

use std::path::Path;

use serde_json::{Value, json};

use crate::job::Action;
use crate::job::ctx::Builder;
use crate::media::probe::ProbeFile;
use crate::step::{PackageKind, Subject};

pub const RECIPE: u32 = 1;

pub fn params(package: PackageKind) -> Value {
    json!({"package": package.as_str()})
}

pub(crate) fn action(b: &Builder, probe: &ProbeFile) -> Action {
    let package = match b.first().subject {
        Subject::Verify(p) => p,
        _ => PackageKind::Hls,
    };
    let path = crate::layout::entry(b.ctx.m, &b.src.id, package);
    let aspect = probe.info.video.as_ref().map(|v| v.display_aspect());
    Action::Verify { package, path: b.port(&path), duration: probe.info.duration, out: b.tmp(), aspect }
}

/// Post-processing: checks the package at `path` and writes the problems (a JSON list) to
/// `out`; paths in them are shown relative to `root`.
pub fn run(
    package: PackageKind,
    path: &Path,
    duration: f64,
    aspect: Option<f64>,
    root: &Path,
    out: &Path,
) -> Result<(), String> {
    let mut f = crate::verify::Findings::new(root);
    crate::verify::check_package(package, path, Some(duration), &mut f);
    if let Some(a) = aspect {
        crate::verify::geometry::check(package, path, a, &mut f);
    }
    let report = serde_json::to_vec_pretty(&f.problems).expect("json");
    std::fs::write(out, report).map_err(|e| format!("writing {}: {e}", out.display()))?;
    if f.problems.is_empty() {
        Ok(())
    } else {
        let lines: Vec<String> = f.problems.iter().map(|p| p.to_string()).collect();
        Err(format!("{} problem(s):\n{}", lines.len(), lines.join("\n")))
    }
}
