//! What a job built elsewhere may touch when `vodbuild exec-job` runs it. A spec file is
//! input: before anything is written, every path vodbuild itself writes, renames or deletes
//! for the job must be a plain `{root}/…` path (no `..`, nothing absolute), each output's
//! temporary the `.NAME.tmp-ID` sibling of its destination, its confinement root `{root}` or
//! a folder in it, the action's own outputs those temporaries, and a fetched source a file of
//! the workspace. (Local runs build their specs themselves and confine with
//! [`crate::confine`] as they place.)

use std::path::{Component, Path};

use super::paths::ROOT;
use super::{Action, JobSpec};

/// Refuses a spec that would make vodbuild write outside the workspace.
pub fn check(spec: &JobSpec) -> Result<(), String> {
    let mut temporaries = Vec::new();
    for o in &spec.outputs {
        inside("output", &o.dest)?;
        inside("temporary", &o.tmp)?;
        if let Some(r) = &o.root {
            inside("output root", r)?;
            if !o.dest.starts_with(r) {
                return Err(format!("output {} is not inside its root {}", o.dest.display(), r.display()));
            }
        }
        let name = o.dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let sibling = o.tmp.parent() == o.dest.parent();
        let named = o.tmp.file_name().is_some_and(|t| t.to_string_lossy().starts_with(&format!(".{name}.tmp-")));
        if !(sibling && named) {
            return Err(format!("temporary {} is not `.{name}.tmp-ID` beside {}", o.tmp.display(), o.dest.display()));
        }
        temporaries.push(o.tmp.as_path());
    }
    for written in action_outputs(&spec.action) {
        if !temporaries.contains(&written) {
            return Err(format!("the action writes {}, which is none of the job's temporaries", written.display()));
        }
    }
    if let Action::Command(c) = &spec.action
        && let Some(o) = c.outputs.iter().find(|o| o.is_empty() || o.starts_with('.') || o.contains('/'))
    {
        return Err(format!("command output `{o}` is not a plain file name"));
    }
    // Subtitle tracks and variants name folders inside the package: plain names only.
    let plain = |n: &str| !n.is_empty() && !n.starts_with('.') && !n.contains('/') && !n.contains('\0');
    let (subtitles, variants): (&[super::subtitle::PackagedSubtitle], Vec<&str>) = match &spec.action {
        Action::Hls { subtitles, variants, .. } => (subtitles, variants.iter().map(|(n, _)| n.as_str()).collect()),
        Action::Dash { subtitles, .. } => (subtitles, Vec::new()),
        _ => (&[], Vec::new()),
    };
    if let Some(bad) = subtitles.iter().map(|t| t.id.as_str()).chain(variants).find(|n| !plain(n)) {
        return Err(format!("package folder name `{bad}` is not a plain name"));
    }
    for i in spec.inputs.iter().filter(|i| i.fetch.is_some()) {
        inside("fetched source", &i.path)?;
    }
    Ok(())
}

/// The files and folders the action itself writes (besides the tool's arguments).
fn action_outputs(action: &Action) -> Vec<&Path> {
    match action {
        Action::Probe { out, .. } | Action::Verify { out, .. } | Action::Loudness { out, .. } => vec![out.as_path()],
        Action::Hls { dir, .. } | Action::Dash { dir, .. } => vec![dir.as_path()],
        Action::Storyboard { dir, .. } => vec![dir.as_path()],
        Action::WriteFile { path, .. } => vec![path.as_path()],
        Action::Command(c) => vec![c.dir.as_path()],
        Action::Notify(n) => vec![n.out.as_path()],
        Action::Subtitle(j) => vec![j.out.as_path()],
        Action::Run { .. } | Action::Publish(_) => Vec::new(),
    }
}

/// `p` is `{root}` followed by plain names only.
fn inside(what: &str, p: &Path) -> Result<(), String> {
    let plain = p.strip_prefix(ROOT).is_ok_and(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))));
    if plain { Ok(()) } else { Err(format!("{what} {} is not a plain path inside {ROOT}", p.display())) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobOutput;
    use std::path::PathBuf;

    fn spec(tmp: &str, dest: &str, root: Option<&str>, path: &str) -> JobSpec {
        let mut s: JobSpec = serde_json::from_value(serde_json::json!({
            "id": "j", "label": "j", "steps": ["metadata:a"], "duration": 0.0, "inputs": [], "tools": [],
            "action": {"WriteFile": {"path": path, "contents": ""}}, "outputs": [],
            "checks": {"durations": {"video": 0.0, "audio": 0.0}, "tolerance": 0.5, "expect": []},
        }))
        .expect("a spec");
        let out = JobOutput {
            step: "metadata:a".into(),
            tmp: PathBuf::from(tmp),
            dest: PathBuf::from(dest),
            dir: false,
            root: root.map(PathBuf::from),
        };
        s.outputs.push(out);
        s
    }

    #[test]
    fn only_plain_workspace_paths_and_their_temporaries_pass() {
        let good =
            spec("{root}/out/a/.m.json.tmp-j", "{root}/out/a/m.json", Some("{root}/out"), "{root}/out/a/.m.json.tmp-j");
        assert_eq!(check(&good), Ok(()));
        let cases = [
            spec("{root}/../x/.m.json.tmp-j", "{root}/../x/m.json", None, "{root}/../x/.m.json.tmp-j"),
            spec("/etc/.m.json.tmp-j", "/etc/m.json", None, "/etc/.m.json.tmp-j"),
            spec("{root}/out/a/.m.json.tmp-j", "{root}/out/a/m.json", Some("/"), "{root}/out/a/.m.json.tmp-j"),
            spec("{root}/home/u", "{root}/out/a/m.json", Some("{root}/out"), "{root}/home/u"),
            spec("{root}/out/a/.m.json.tmp-j", "{root}/out/a/m.json", Some("{root}/out"), "/etc/cron.d/x"),
            spec(
                "{root}/out/a/.m.json.tmp-j",
                "{root}/out/a/m.json",
                Some("{root}/elsewhere"),
                "{root}/out/a/.m.json.tmp-j",
            ),
        ];
        for (i, c) in cases.iter().enumerate() {
            assert!(check(c).is_err(), "case {i} passed: {:?}", c.outputs);
        }
    }

    #[test]
    fn subtitle_and_variant_folders_are_plain_names() {
        let dash = |id: &str| {
            let mut s = spec("{root}/out/a/.dash.tmp-j", "{root}/out/a/dash", Some("{root}/out"), "x");
            s.action = serde_json::from_value(serde_json::json!({"Dash": {
                "tool": "packager", "args": [], "dir": "{root}/out/a/.dash.tmp-j",
                "subtitles": [{"id": id, "lang": "fr", "name": "fr", "default": false, "forced": false,
                               "vtt": "{root}/w/fr.vtt"}]}}))
            .expect("a dash action");
            s
        };
        assert!(check(&dash("fr-forced")).is_ok(), "{:?}", check(&dash("fr-forced")));
        for bad in ["../../../etc/x", "a/b", ".hidden", ""] {
            assert!(check(&dash(bad)).is_err(), "`{bad}` passed");
        }
    }
}
