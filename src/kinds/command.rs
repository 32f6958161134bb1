//! `command`: a tool the manifest declares in `steps:` ([`crate::manifest::steps`]), run once
//! per source. Params: the step's program, argument template, outputs, `version_args` and each
//! `param:KEY`. Tool: the program's fingerprint ([`crate::command_tool`]). Inputs: the source
//! when the template names `{source}`, probe.json, and the files its `{input:...}`
//! placeholders name (an encode, `audio_only`, another command step's output).
//!
//! Its output is a folder holding exactly the declared files: the tool runs with that
//! folder's temporary as its working directory (and `TMPDIR` inside it); what it writes there
//! beyond the declared files is removed before the check, and a declared file that is missing
//! or empty fails the step ([`crate::job::promise::Promise::Command`]). A step with a `.vtt`
//! output is a deliverable: its folder is `OUT/SOURCE/NAME/` (published beside the packages
//! as a sidecar; subtitle tracks in the packages do not exist yet); other steps are
//! intermediates in the source's work folder.

use serde_json::{Map, Value, json};

use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::paths::portable;
use crate::job::promise::Promise;
use crate::manifest::Manifest;
use crate::manifest::steps::{self, CommandStep, InputRef};
use crate::manifest::template::Piece;
use crate::step::{Step, Subject};

pub const RECIPE: u32 = 1;

/// The step's params: everything of its declaration, its params as `param:KEY`.
pub fn params(spec: &CommandStep) -> Value {
    let mut p = Map::new();
    p.insert("program".into(), json!(spec.program));
    p.insert("args".into(), json!(spec.args));
    p.insert("outputs".into(), json!(spec.outputs));
    p.insert("version_args".into(), json!(spec.version_args));
    for (k, v) in &spec.params {
        p.insert(format!("param:{k}"), json!(v.0));
    }
    Value::Object(p)
}

/// Whether the step's folder is a deliverable (it makes WebVTT), published with the packages.
pub fn delivers(spec: &CommandStep) -> bool {
    spec.outputs.iter().any(|o| o.ends_with(".vtt"))
}

/// The step's name in `steps:`.
pub fn name(step: &Step) -> &str {
    match &step.subject {
        Subject::Command { name, .. } => name,
        _ => "",
    }
}

/// The step's output folder for `source`.
pub fn folder(m: &Manifest, source: &str, name: &str) -> std::path::PathBuf {
    crate::layout::command(m, source, name, delivers(&m.raw.steps[name]))
}

pub(crate) fn action(b: &Builder) -> Result<Action, String> {
    let (m, s) = (b.ctx.m, &b.src.id);
    let name = name(b.first());
    let spec = m.raw.steps.get(name).ok_or_else(|| format!("no command step `{name}`"))?;
    let dir = b.tmp();
    let value = |p: &Piece| -> Result<String, String> {
        let path = match p {
            Piece::Text(t) => return Ok(t.clone()),
            Piece::Param(k) => return Ok(spec.params.get(k).map(|v| v.0.clone()).unwrap_or_default()),
            Piece::Output(f) => dir.join(f),
            Piece::Source => b.port(&b.src.path),
            Piece::Input(n) => match steps::input_ref(&m.raw, n).ok_or_else(|| format!("`{{input:{n}}}`"))? {
                InputRef::AudioOnly => {
                    let a = m.raw.outputs.audio_only.as_ref().ok_or("no audio_only output")?;
                    b.port(&crate::layout::folder(m, s, "audio_only").join(crate::argv::ffmpeg::audio_only_file(a)))
                }
                InputRef::Encode(p) => b.enc(p),
                InputRef::Step { name, file } => b.port(&folder(m, s, name).join(file)),
            },
        };
        Ok(path.to_string_lossy().into_owned())
    };
    let args = steps::pieces(spec)
        .iter()
        .map(|arg| crate::manifest::template::expand(arg, value))
        .collect::<Result<Vec<String>, String>>()?;
    let program = if spec.program.contains('/') {
        portable(&m.root, &m.root.join(&spec.program)).to_string_lossy().into_owned()
    } else {
        spec.program.clone()
    };
    let digest = b.ctx.tools.commands.get(name).map(|t| t.digest.clone()).unwrap_or_default();
    Ok(Action::Command(crate::job::CommandRun {
        program,
        version_args: spec.version_args.clone(),
        digest,
        args,
        dir,
        outputs: spec.outputs.clone(),
    }))
}

/// Exactly the declared files, none empty (`.vtt` files start with `WEBVTT`).
pub fn promise(m: &Manifest, step: &Step) -> Promise {
    Promise::Command { files: m.raw.steps.get(name(step)).map(|s| s.outputs.clone()).unwrap_or_default() }
}
