//! The `notify:` and `retries:` sections: webhook (or CMS) targets called when a source's
//! packages are built and published ([`crate::kinds::notify`]), and how often each step
//! kind is retried after a transient failure ([`crate::exec::retry`]). Types and their
//! checks; secrets never appear here, only the names of the environment variables that
//! hold them (read when a request is sent).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ErrCtx;
use super::model::RawManifest;
use crate::error::Result;
use crate::p;
use crate::step::StepKind;

/// One webhook target.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyTarget {
    /// Names its steps (`notify_NAME:SOURCE`) and its receipts.
    pub name: String,
    /// `http://` or `https://`, without a user or password.
    pub url: String,
    #[serde(default)]
    pub method: HttpMethod,
    /// Plain headers (they enter the step key: no secrets here).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Header name → the environment variable holding its value (read at send time; the
    /// value is never logged, recorded or keyed).
    #[serde(default)]
    pub secret_headers: BTreeMap<String, String>,
    /// The environment variable holding the HMAC-SHA256 key of `X-Vodbuild-Signature`.
    pub signing_secret_env: Option<String>,
    /// The body template (placeholders are replaced by JSON values, see the README);
    /// default: the whole announcement as a JSON document.
    pub body: Option<String>,
    /// Prefixed to published locations to make package URLs (e.g. a CDN's address).
    pub base_url: Option<String>,
    /// Per request, in seconds (1 to 300).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
}

fn default_timeout() -> f64 {
    10.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
    Patch,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
        }
    }
}

/// Retries per step kind after a transient failure; unset kinds keep their default (0, or
/// 3 for `publish` and `notify`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retries {
    pub probe: Option<u32>,
    pub encode: Option<u32>,
    pub package_hls: Option<u32>,
    pub package_dash: Option<u32>,
    pub thumbnails: Option<u32>,
    pub audio_only: Option<u32>,
    pub metadata: Option<u32>,
    pub publish: Option<u32>,
    pub verify: Option<u32>,
    pub notify: Option<u32>,
    /// Seconds before the first retry; doubled for each next one, at most 60.
    #[serde(default = "default_backoff")]
    pub backoff: f64,
}

fn default_backoff() -> f64 {
    1.0
}

impl Retries {
    /// The kinds the manifest sets.
    pub fn per_kind(&self) -> Vec<(StepKind, u32)> {
        let all = [
            (StepKind::Probe, self.probe),
            (StepKind::Encode, self.encode),
            (StepKind::PackageHls, self.package_hls),
            (StepKind::PackageDash, self.package_dash),
            (StepKind::Thumbnails, self.thumbnails),
            (StepKind::AudioOnly, self.audio_only),
            (StepKind::Metadata, self.metadata),
            (StepKind::Publish, self.publish),
            (StepKind::Verify, self.verify),
            (StepKind::Notify, self.notify),
        ];
        all.into_iter().filter_map(|(k, n)| Some((k, n?))).collect()
    }
}

/// The checks serde cannot express: bounds, URLs, names, no secret in a plain header.
pub fn check(m: &RawManifest, ctx: &ErrCtx) -> Result<()> {
    if let Some(r) = &m.retries {
        for (k, n) in r.per_kind() {
            if n > crate::exec::retry::MAX_RETRIES {
                return Err(ctx.err(&p!["retries", k.as_str()], "at most 10 retries", None));
            }
        }
        if !(0.0..=60.0).contains(&r.backoff) {
            return Err(ctx.err(&p!["retries", "backoff"], "backoff must be in 0..60 seconds", None));
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, t) in m.notify.iter().enumerate() {
        let at = |field: &str| p!["notify", i, field];
        super::validate::check_id(&t.name).map_err(|why| ctx.err(&at("name"), why, None))?;
        if t.name.contains('/') || !names.insert(t.name.as_str()) {
            return Err(ctx.err(&at("name"), "names must be unique and contain no `/`", None));
        }
        check_target(t).map_err(|(field, why)| ctx.err(&at(field), why, None))?;
    }
    Ok(())
}

fn check_target(t: &NotifyTarget) -> std::result::Result<(), (&'static str, String)> {
    let scheme_ok = t.url.starts_with("http://") || t.url.starts_with("https://");
    if !scheme_ok || crate::storage::secrets::has_userinfo(&t.url) {
        return Err(("url", "an http:// or https:// URL without a user or password".into()));
    }
    if let Some(key) = secret_query_key(&t.url) {
        // The key only: its value is the secret.
        return Err((
            "url",
            format!("the query parameter `{key}` looks secret: send it in a header named in `secret_headers`"),
        ));
    }
    if !(1.0..=300.0).contains(&t.timeout_seconds) {
        return Err(("timeout_seconds", "timeout_seconds must be in 1..300".into()));
    }
    for name in t.headers.keys() {
        if name.eq_ignore_ascii_case("authorization") || crate::storage::secrets::is_secret(name) {
            return Err(("headers", format!("`{name}` looks secret: name its variable in `secret_headers`")));
        }
    }
    // The value is not echoed: it may be a secret written where its variable's name belongs.
    let name = |v: &String| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !t.secret_headers.values().all(name) {
        return Err(("secret_headers", "values name environment variables (letters, digits, `_`)".into()));
    }
    if !t.signing_secret_env.iter().all(name) {
        return Err(("signing_secret_env", "names an environment variable (letters, digits, `_`)".into()));
    }
    Ok(())
}

/// The first query parameter of `url` whose name looks secret (a token, key, signature...).
fn secret_query_key(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    let secret = |k: &str| {
        let k = k.to_ascii_lowercase();
        ["token", "key", "secret", "signature", "password", "sig"].iter().any(|p| k.contains(p))
            || crate::storage::secrets::is_secret(&k)
    };
    url.query_pairs().map(|(k, _)| k.into_owned()).find(|k| secret(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> NotifyTarget {
        serde_json::from_value(serde_json::json!({"name": "cms", "url": url})).unwrap()
    }

    #[test]
    fn urls_and_headers_keep_secrets_out_of_the_manifest() {
        assert!(check_target(&target("https://cms.example.com/hook")).is_ok());
        assert_eq!(check_target(&target("ftp://x/")).unwrap_err().0, "url");
        assert_eq!(check_target(&target("https://user:pw@cms.example.com/")).unwrap_err().0, "url");
        for url in
            ["https://h/x?token=abc", "https://h/x?a=1&API_KEY=abc", "https://h/x?sig=1", "https://h/?Password=p"]
        {
            let (field, why) = check_target(&target(url)).unwrap_err();
            assert_eq!(field, "url", "{url}");
            assert!(why.contains("secret_headers") && !why.contains("abc"), "{why}");
        }
        assert!(check_target(&target("https://h/x?id=7&kind=video")).is_ok());
        let mut t = target("http://127.0.0.1:1/");
        t.headers.insert("Authorization".into(), "Bearer x".into());
        assert_eq!(check_target(&t).unwrap_err().0, "headers");
        let mut t = target("http://127.0.0.1:1/");
        t.secret_headers.insert("Authorization".into(), "NOT A NAME".into());
        assert_eq!(check_target(&t).unwrap_err().0, "secret_headers");
        t.secret_headers.insert("Authorization".into(), "CMS_TOKEN".into());
        t.timeout_seconds = 0.0;
        assert_eq!(check_target(&t).unwrap_err().0, "timeout_seconds");
    }
}
