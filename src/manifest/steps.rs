//! `steps:`: command steps, tools the manifest declares (a program and an argument template,
//! never a shell), run per source like the built-in steps (see [`crate::kinds::command`]).
//!
//! ```yaml
//! steps:
//!   captions:
//!     program: ./transcribe.py          # a name on PATH, or a path relative to the manifest's folder
//!     version_args: [--version]         # fingerprint: this output's digest (plus the file's for a path; default: the file's digest)
//!     args: [--wav, "{input:speech_wav}", --out, "{output:captions.vtt}", --lang, "{param:lang}"]
//!     outputs: [captions.vtt]           # plain file names; nothing else the tool writes is kept
//!     params: {lang: en-us}
//! ```
//!
//! Checked here, at load time, each error at its field: names, outputs and params are plain
//! names; every placeholder is known ([`super::template`]) and refers to something that exists
//! (`{input:audio_only}` needs `outputs.audio_only`, `{input:PROFILE}` a profile a package
//! encodes, `{input:STEP}` another step); command steps form no cycle.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ErrCtx;
use super::model::{RawManifest, Scalar};
use super::template::{self, Piece};
use crate::error::Result;
use crate::p;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandStep {
    /// A name on PATH, or a path relative to the manifest's folder.
    pub program: String,
    /// The argument template, one entry per argument.
    #[serde(default)]
    pub args: Vec<String>,
    /// The files the step makes (plain names); only these are kept.
    pub outputs: Vec<String>,
    #[serde(default)]
    pub params: BTreeMap<String, Scalar>,
    /// Fingerprint the tool by the output of `program VERSION_ARGS...` (default: the
    /// program file's digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_args: Option<Vec<String>>,
}

/// Names a command step cannot take (they name built-in inputs or output folders).
const RESERVED: [&str; 8] = ["source", "probe", "hls", "dash", "thumbnails", "audio_only", "metadata", "steps"];
const MAX_STEPS: usize = 64;
const MAX_ARGS: usize = 256;

/// What `{input:NAME}` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputRef<'a> {
    /// The `audio_only` output's file.
    AudioOnly,
    /// An encoded rendition (a video or audio profile a package uses).
    Encode(&'a str),
    /// A command step's output (`file`: the one named, or its only one).
    Step { name: &'a str, file: &'a str },
}

/// What `{input:NAME}` refers to in `m`, if anything.
pub fn input_ref<'a>(m: &'a RawManifest, name: &str) -> Option<InputRef<'a>> {
    if name == "audio_only" {
        return m.outputs.audio_only.as_ref().map(|_| InputRef::AudioOnly);
    }
    if let Some(p) = profiles_in_use(m).into_iter().find(|p| *p == name) {
        return Some(InputRef::Encode(p));
    }
    let (step, file) = match name.split_once('/') {
        Some((s, f)) => (s, Some(f)),
        None => (name, None),
    };
    let (step, spec) = m.steps.get_key_value(step)?;
    let file = match file {
        Some(f) => spec.outputs.iter().find(|o| *o == f)?,
        None if spec.outputs.len() == 1 => &spec.outputs[0],
        None => return None,
    };
    Some(InputRef::Step { name: step, file })
}

/// The video and audio profiles the packages encode.
fn profiles_in_use(m: &RawManifest) -> Vec<&str> {
    let o = &m.outputs;
    let hls = o.hls.iter().flat_map(|h| h.renditions.iter().chain(h.audio.iter().flat_map(|a| a.names())));
    let dash = o.dash.iter().flat_map(|d| d.renditions.iter().chain(d.audio.iter().flat_map(|a| a.names())));
    hls.chain(dash).map(String::as_str).collect()
}

/// The parsed template of a validated step.
pub fn pieces(step: &CommandStep) -> Vec<Vec<Piece>> {
    step.args.iter().map(|a| template::parse(a).expect("validated at load")).collect()
}

/// The steps whose outputs `step` reads.
pub fn step_inputs<'a>(m: &'a RawManifest, step: &'a CommandStep) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for arg in &step.args {
        for piece in template::parse(arg).unwrap_or_default() {
            if let Piece::Input(n) = piece
                && let Some(InputRef::Step { name, .. }) = input_ref(m, &n)
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
    }
    names
}

/// Whether step `name` reads the source's audio (`audio_only`, an audio encode, or a command
/// step that does): it is skipped for a source without audio (see [`crate::skip`]).
pub fn reads_audio(m: &RawManifest, name: &str) -> bool {
    // In order, each step once (a recursion would revisit shared inputs exponentially).
    let mut audio: Vec<&str> = Vec::new();
    for n in order(m) {
        let spec = &m.steps[n];
        let direct = pieces(spec).into_iter().flatten().any(|p| match p {
            Piece::Input(i) => match input_ref(m, &i) {
                Some(InputRef::AudioOnly) => true,
                Some(InputRef::Encode(p)) => m.profiles.audio.contains_key(p),
                _ => false,
            },
            _ => false,
        });
        if direct || step_inputs(m, spec).iter().any(|d| audio.contains(d)) {
            audio.push(n);
        }
        if n == name {
            break;
        }
    }
    audio.contains(&name)
}

/// The command steps, each after the steps it reads (validated acyclic).
pub fn order(m: &RawManifest) -> Vec<&str> {
    let mut done: Vec<&str> = Vec::new();
    while done.len() < m.steps.len() {
        let before = done.len();
        for (name, s) in &m.steps {
            if !done.contains(&name.as_str()) && step_inputs(m, s).iter().all(|d| done.contains(d)) {
                done.push(name);
            }
        }
        if done.len() == before {
            break; // a cycle: refused by `validate`
        }
    }
    done
}

pub fn validate(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    if m.steps.len() > MAX_STEPS {
        return Err(ctx.err(&p!["steps"], format!("at most {MAX_STEPS} command steps"), None));
    }
    for (name, s) in &m.steps {
        check_step(m, name, s, ctx)?;
    }
    if let Some(name) = m.steps.keys().find(|n| !order(m).contains(&n.as_str())) {
        let cycle = cycle_from(m, name);
        // Located at the argument of the first step that reads the next one.
        let reads_next = |a: &String| {
            let refs = template::parse(a).unwrap_or_default().into_iter().filter_map(|p| match p {
                Piece::Input(n) => input_ref(m, &n),
                _ => None,
            });
            refs.into_iter().any(|r| matches!(r, InputRef::Step { name, .. } if Some(&name) == cycle.get(1)))
        };
        let i = m.steps[cycle[0]].args.iter().position(reads_next).unwrap_or_default();
        return Err(ctx.err(
            &p!["steps", cycle[0], "args", i],
            format!("command steps read each other in a cycle: {}", cycle.join(" -> ")),
            Some("a step may read only steps that do not read it back".into()),
        ));
    }
    Ok(())
}

/// A cycle reachable from `start` (one exists: `start` never became orderable).
fn cycle_from<'a>(m: &'a RawManifest, start: &'a str) -> Vec<&'a str> {
    let ordered = order(m);
    let mut path = vec![start];
    loop {
        let last = path[path.len() - 1];
        let next = step_inputs(m, &m.steps[last]).into_iter().find(|d| !ordered.contains(d));
        let Some(next) = next else { return path };
        if let Some(i) = path.iter().position(|p| *p == next) {
            let mut cycle = path.split_off(i);
            cycle.push(next);
            return cycle;
        }
        path.push(next);
    }
}

fn check_step(m: &RawManifest, name: &str, s: &CommandStep, ctx: &ErrCtx) -> Result<()> {
    let at = |field: &str| p!["steps", name, field].to_vec();
    if !plain_name(name, false) || RESERVED.contains(&name) || profiles_in_use(m).contains(&name) {
        return Err(ctx.err(
            &p!["steps", name],
            format!("invalid step name `{name}`"),
            Some("use letters, digits, `-`, `_`; not a profile name nor source, probe, hls, dash, thumbnails, audio_only, metadata, steps".into()),
        ));
    }
    if s.program.trim().is_empty() || s.program.chars().any(char::is_control) {
        return Err(ctx.err(&at("program"), "program must be a name on PATH or a path", None));
    }
    if s.outputs.is_empty() {
        return Err(ctx.err(&at("outputs"), "a command step needs at least one output", None));
    }
    for (i, o) in s.outputs.iter().enumerate() {
        if !plain_name(o, true) || s.outputs[..i].contains(o) {
            return Err(ctx.err(
                &p!["steps", name, "outputs", i],
                format!("invalid output `{o}`"),
                Some("a plain file name (letters, digits, `-`, `_`, `.`; no folder), listed once".into()),
            ));
        }
    }
    if let Some(k) = s.params.keys().find(|k| !plain_name(k, true)) {
        return Err(ctx.err(&p!["steps", name, "params", k.as_str()], format!("invalid param name `{k}`"), None));
    }
    let lists = [("args", &s.args[..]), ("version_args", s.version_args.as_deref().unwrap_or_default())];
    for (field, list) in lists {
        if list.len() > MAX_ARGS {
            return Err(ctx.err(&at(field), format!("at most {MAX_ARGS} arguments"), None));
        }
        if let Some(i) = list.iter().position(|a| a.contains('\0')) {
            return Err(ctx.err(&p!["steps", name, field, i], "an argument cannot hold a NUL byte", None));
        }
    }
    for (i, arg) in s.args.iter().enumerate() {
        check_arg(m, s, arg).map_err(|why| ctx.err(&p!["steps", name, "args", i], why, None))?;
    }
    Ok(())
}

/// One argument: every placeholder known and referring to something that exists.
fn check_arg(m: &RawManifest, s: &CommandStep, arg: &str) -> std::result::Result<(), String> {
    for piece in template::parse(arg)? {
        match piece {
            // Jobs write the workspace root as `{root}` (see crate::job::paths).
            Piece::Text(t) if t.contains("{root}") => return Err("`{root}` is reserved".into()),
            Piece::Text(_) | Piece::Source => {}
            Piece::Input(n) if input_ref(m, &n).is_none() => {
                return Err(format!(
                    "`{{input:{n}}}` names nothing: use audio_only (with outputs.audio_only), a profile a package encodes, or another step (STEP/FILE when it has several outputs)"
                ));
            }
            Piece::Input(_) => {}
            Piece::Output(f) if !s.outputs.contains(&f) => {
                return Err(format!("`{{output:{f}}}` is not in this step's `outputs`"));
            }
            Piece::Output(_) => {}
            Piece::Param(k) if !s.params.contains_key(&k) => {
                return Err(format!("`{{param:{k}}}` is not in this step's `params`"));
            }
            Piece::Param(_) => {}
        }
    }
    Ok(())
}

/// Letters, digits, `-`, `_` (and `.` when `dot`), not starting with `.`, at most 64.
fn plain_name(s: &str, dot: bool) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || (dot && c == '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(steps: &str) -> RawManifest {
        let text = format!(
            "version: 1\nsources: [{{path: a.mp4}}]\nprofiles:\n  audio: {{aac: {{codec: aac}}}}\n  video: {{v: {{codec: h264, height: 90, bitrate: 100k}}}}\noutputs: {{hls: {{renditions: [v], audio: aac}}}}\nsteps:\n{steps}"
        );
        super::super::yaml::from_str("m.yaml", &text, &|_| None).expect("a manifest")
    }

    #[test]
    fn order_follows_inputs_and_audio_is_transitive() {
        let m = raw(
            "  c: {program: x, args: [\"{input:b}\", \"{input:a/2.txt}\"], outputs: [c.txt]}\n  b: {program: x, args: [\"{input:aac}\"], outputs: [b.txt]}\n  a: {program: x, args: [\"{input:v}\"], outputs: [1.txt, 2.txt]}\n  d: {program: x, args: [\"{input:a/1.txt}\"], outputs: [d.txt]}\n",
        );
        let order = order(&m);
        let at = |n: &str| order.iter().position(|o| *o == n).unwrap();
        assert!(at("a") < at("c") && at("b") < at("c") && at("a") < at("d"), "{order:?}");
        assert_eq!(step_inputs(&m, &m.steps["c"]), vec!["b", "a"]);
        assert!(reads_audio(&m, "b") && reads_audio(&m, "c"));
        assert!(!reads_audio(&m, "a") && !reads_audio(&m, "d"));
        assert_eq!(input_ref(&m, "a"), None, "a has two outputs: a/FILE is needed");
        assert_eq!(input_ref(&m, "a/2.txt"), Some(InputRef::Step { name: "a", file: "2.txt" }));
    }

    #[test]
    fn many_steps_reading_each_other_stay_cheap() {
        let mut steps = String::new();
        for i in 0..64 {
            let reads: Vec<String> = (0..i).map(|j| format!("\"{{input:s{j}}}\"")).collect();
            steps += &format!("  s{i}: {{program: x, args: [{}], outputs: [o.txt]}}\n", reads.join(", "));
        }
        let m = raw(&steps);
        assert_eq!(order(&m).len(), 64);
        assert!(!reads_audio(&m, "s63"));
    }
}
