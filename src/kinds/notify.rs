//! `notify`: announces a source's deliverables to one `notify:` target (a webhook or a CMS
//! API) once they are built, and published when the manifest publishes. Params: the target's
//! settings (URL, method, plain headers, the *names* of the variables holding secrets, body
//! template, base URL; not the timeout). Inputs: the files of every deliverable it announces (the
//! published copies when publishing) and probe.json, so a rerun with nothing changed sends
//! nothing and a changed package sends once. Output: a receipt JSON in the source's work
//! folder (an intermediate: a lost receipt never sends again). Sent by vodbuild itself
//! ([`crate::exec::webhook`]), on the coordinator.
//!
//! The body is the announcement document (`announcement`) or the target's template, whose
//! placeholders are replaced by JSON values ([`render`]).

use petgraph::graph::NodeIndex;
use serde_json::{Value, json};

use crate::job::Action;
use crate::job::ctx::Builder;
use crate::job::notify::NotifyJob;
use crate::manifest::model::NotifyTarget;
use crate::media::probe::ProbeFile;
use crate::state::OutputFile;
use crate::step::{OutputLoc, StepKind, Subject};

pub const RECIPE: u32 = 1;

/// The most bytes a rendered body may have.
pub const MAX_BODY: usize = 1 << 20;

/// The target's settings, without `timeout_seconds`: how long to wait says nothing about what
/// is announced, so changing it neither sends again nor changes the `Idempotency-Key`.
pub fn params(t: &NotifyTarget) -> Value {
    let mut p = super::params_of(t);
    if let Some(o) = p.as_object_mut() {
        o.remove("timeout_seconds");
    }
    p
}

/// The target a notify step announces to.
pub fn target<'m>(m: &'m crate::manifest::Manifest, step: &crate::step::Step) -> Option<&'m NotifyTarget> {
    let Subject::Notify(name) = &step.subject else { return None };
    m.raw.notify.iter().find(|t| &t.name == name)
}

pub(crate) fn action<'o>(
    b: &Builder,
    probe: &ProbeFile,
    outputs_of: &impl Fn(NodeIndex) -> &'o [OutputFile],
) -> Result<Action, String> {
    let step = b.first();
    let t = target(b.ctx.m, step).ok_or_else(|| format!("{}: no such notify target", step.id))?;
    let doc = announcement(b, t, probe, outputs_of);
    let body = match &t.body {
        Some(template) => render(template, &doc),
        None => serde_json::to_string_pretty(&doc).expect("json"),
    };
    if body.len() > MAX_BODY {
        return Err(format!("notify {}: the body is over {MAX_BODY} bytes", t.name));
    }
    // What the step key is made of (the step, its params, the digests it announces, the
    // probe): the same for every attempt, new when anything announced or configured changes.
    let probe_digest = b.ctx.sg.deps(b.nodes[0]).into_iter().find(|d| b.ctx.sg.g[*d].kind == StepKind::Probe);
    let probe_digest = probe_digest.and_then(|p| outputs_of(p).first()).map(|o| o.digest.as_str()).unwrap_or("");
    let ingredients = format!("vodbuild-notify/1\n{}\n{}\n{}\n{probe_digest}", step.id, step.params, doc["digest"]);
    let idempotency = blake3::hash(ingredients.as_bytes());
    Ok(Action::Notify(NotifyJob {
        target: t.name.clone(),
        url: t.url.clone(),
        method: t.method.as_str().into(),
        headers: t.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        secret_headers: t.secret_headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        signing_secret_env: t.signing_secret_env.clone(),
        body,
        idempotency_key: idempotency.to_hex()[..32].to_string(),
        timeout_seconds: t.timeout_seconds,
        out: b.tmp(),
    }))
}

/// What a notify step announces: the source, its duration, the renditions built, and per
/// deliverable its kind, location (remote folder, or local folder under the output
/// directory), entry file, URL (with `base_url`), files, bytes and digest; `digest` covers
/// them all.
pub(crate) fn announcement<'o>(
    b: &Builder,
    t: &NotifyTarget,
    probe: &ProbeFile,
    outputs_of: &impl Fn(NodeIndex) -> &'o [OutputFile],
) -> Value {
    let (sg, m) = (b.ctx.sg, b.ctx.m);
    let mut items = Vec::new();
    let mut renditions: Vec<String> = Vec::new();
    for d in sg.deps(b.nodes[0]).into_iter().filter(|d| sg.g[*d].kind != StepKind::Probe) {
        let dep = &sg.g[d];
        let (kind_step, published) = match dep.kind {
            StepKind::Publish => (package_of(b, d), true),
            _ => (d, false),
        };
        let made = &sg.g[kind_step];
        let rungs = crate::job::ctx::built_rungs(made).to_vec();
        for r in &rungs {
            if !renditions.contains(r) {
                renditions.push(r.clone());
            }
        }
        let outs = outputs_of(d);
        let location = match &dep.output {
            OutputLoc::Remote { remote, .. } => remote.clone(),
            OutputLoc::File(p) | OutputLoc::Dir(p) => {
                let p = if matches!(dep.output, OutputLoc::File(_)) { p.parent().unwrap_or(p) } else { p };
                p.strip_prefix(&m.output_dir).unwrap_or(p).to_string_lossy().into_owned()
            }
        };
        let entry = entry_of(made.kind, outs);
        let url = t.base_url.as_ref().zip(entry.as_ref()).map(|(base, e)| {
            let mut u = format!("{}/", base.trim_end_matches('/'));
            if !location.is_empty() {
                u = format!("{u}{}/", location.trim_matches('/'));
            }
            format!("{u}{e}")
        });
        items.push(json!({
            "kind": made.kind.as_str().trim_start_matches("package_"),
            "step": dep.id,
            "published": published,
            "location": location,
            "entry": entry,
            "url": url,
            "renditions": rungs,
            "files": outs.len(),
            "bytes": outs.iter().map(|o| o.size).sum::<u64>(),
            "digest": files_digest(outs),
        }));
    }
    let all: String = items.iter().map(|i| format!("{}:{}\n", i["step"], i["digest"])).collect();
    json!({
        "event": "vodbuild.ready",
        "source": b.src.id,
        "duration": probe.info.duration,
        "renditions": renditions,
        "deliverables": items,
        "digest": blake3::hash(all.as_bytes()).to_hex().to_string(),
    })
}

/// The step that made what publish step `p` uploads.
fn package_of(b: &Builder, p: NodeIndex) -> NodeIndex {
    let sg = b.ctx.sg;
    sg.deps(p).into_iter().find(|d| sg.g[*d].kind != StepKind::Verify).unwrap_or(p)
}

/// The file a player or client opens first.
fn entry_of(kind: StepKind, outs: &[OutputFile]) -> Option<String> {
    let wanted = match kind {
        StepKind::PackageHls => crate::layout::MASTER,
        StepKind::PackageDash => crate::layout::MPD,
        StepKind::Metadata => crate::layout::METADATA,
        _ => return outs.first().map(|o| o.path.clone()).filter(|_| kind == StepKind::AudioOnly),
    };
    Some(wanted.to_string())
}

fn files_digest(outs: &[OutputFile]) -> String {
    let list: String = outs.iter().map(|o| format!("{}\0{}\n", o.path, o.digest)).collect();
    blake3::hash(list.as_bytes()).to_hex().to_string()
}

/// The template with each placeholder replaced by a JSON value: `{source}`, `{digest}`,
/// `{duration}`, `{renditions}`, `{deliverables}`, `{document}` (the whole announcement),
/// `{event}`, and per deliverable kind (`hls`, `dash`, `thumbnails`, `audio_only`,
/// `metadata`) `{url:KIND}`, `{location:KIND}`, `{digest:KIND}` (null when absent). Any
/// other text, braces included, is kept as written.
pub fn render(template: &str, doc: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end =
            rest.find('}').filter(|e| rest[1..*e].chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == ':'));
        match end.and_then(|e| placeholder(&rest[1..e], doc).map(|v| (e, v))) {
            Some((e, v)) => {
                out.push_str(&v.to_string());
                rest = &rest[e + 1..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn placeholder(name: &str, doc: &Value) -> Option<Value> {
    match name.split_once(':') {
        None if name == "document" => Some(doc.clone()),
        None => doc.get(name).cloned(),
        Some((field @ ("url" | "location" | "digest"), kind)) => {
            let items = doc["deliverables"].as_array()?;
            let item = items.iter().find(|i| i["kind"] == kind);
            Some(item.map(|i| i[field].clone()).unwrap_or(Value::Null))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_is_not_a_param() {
        let t: NotifyTarget =
            serde_json::from_value(json!({"name": "cms", "url": "https://h/x", "timeout_seconds": 5.0})).unwrap();
        let mut longer = t.clone();
        longer.timeout_seconds = 60.0;
        assert_eq!(params(&t), params(&longer));
        assert!(params(&t).get("timeout_seconds").is_none() && params(&t)["url"] == "https://h/x");
    }

    #[test]
    fn placeholders_become_json_values_and_other_braces_stay() {
        let doc = json!({
            "source": "a \"b\"", "duration": 2.0, "digest": "d",
            "deliverables": [{"kind": "hls", "url": "https://cdn/x/hls/master.m3u8", "location": "x/hls", "digest": "h"}],
        });
        let t = r#"{"title": {source}, "len": {duration}, "hls": {url:hls}, "dash": {url:dash}, "x": {unknown}}"#;
        assert_eq!(
            render(t, &doc),
            r#"{"title": "a \"b\"", "len": 2.0, "hls": "https://cdn/x/hls/master.m3u8", "dash": null, "x": {unknown}}"#
        );
        assert_eq!(render("{location:hls} {digest:hls}", &doc), r#""x/hls" "h""#);
    }
}
