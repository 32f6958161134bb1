//! `after_publish:` at load time: deleting sources needs `publish:` and `verify: true` on
//! every package (the lifecycle itself is [`crate::lifecycle`]).

use super::ErrCtx;
use super::model::{RawManifest, SourceAction};
use crate::error::Result;
use crate::p;

/// Whether the manifest says `after_publish: {source: delete}`.
pub fn deletes_sources(m: &RawManifest) -> bool {
    m.after_publish.as_ref().is_some_and(|a| a.source == SourceAction::Delete)
}

/// Load-time rules: deleting needs `publish:` and `verify: true` on every package.
pub fn check(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    if !deletes_sources(m) {
        return Ok(());
    }
    let at = p!["after_publish", "source"];
    if m.publish.is_none() {
        let hint = "add `publish: {to: BACKEND}`, or use `source: keep`";
        return Err(ctx.err(
            &at,
            "`source: delete` needs `publish:` (a source is deleted once published)",
            Some(hint.into()),
        ));
    }
    let o = &m.outputs;
    let unverified = [("hls", o.hls.as_ref().map(|h| h.verify)), ("dash", o.dash.as_ref().map(|d| d.verify))];
    if let Some((name, _)) = unverified.iter().find(|(_, v)| *v == Some(false)) {
        return Err(ctx.err(
            &p!["outputs", *name],
            format!("`after_publish: {{source: delete}}` needs `verify: true` on outputs.{name}"),
            Some("a source is deleted only after its packages are verified and published".into()),
        ));
    }
    Ok(())
}
