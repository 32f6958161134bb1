//! Sending a notify job's request ([`NotifyJob`]): reqwest (the client opendal already
//! brings) on the storage runtime ([`crate::storage::block_on`]), no redirects, a timeout.
//! Headers: the plain ones, the secret ones read from the environment now (never logged,
//! recorded or keyed), `Idempotency-Key`, and `X-Vodbuild-Signature: sha256=HEX`, the
//! HMAC-SHA256 of the body with the key from `signing_secret_env`.
//!
//! A 2xx writes the receipt (target, status, idempotency key). A 5xx, 408, 429, a timeout or
//! a connection error fails with [`TRANSIENT`] in the message, so the builder retries it
//! ([`super::retry`]); any other status fails at once with the response's first lines.

use std::path::Path;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::retry::TRANSIENT;
use crate::job::notify::NotifyJob;

/// The signature header.
pub const SIGNATURE: &str = "X-Vodbuild-Signature";
/// How much of a response body an error quotes.
const QUOTED_LINES: usize = 5;
const QUOTED_BYTES: usize = 4096;

/// Sends `job`'s request; on success writes its receipt to `out`.
pub fn deliver(job: &NotifyJob, out: &Path) -> Result<(), String> {
    let name = &job.target;
    let headers = headers(job)?;
    let (status, reason, text) = crate::storage::block_on(send(job, headers)).map_err(|e| {
        let transient = e.is_timeout() || e.is_connect() || e.is_request();
        // The URL may carry something secret: it never enters the message.
        let e = e.without_url();
        let e = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| format!("{e}: {s}"));
        format!("notify {name}: {e}{}", if transient { format!(" {TRANSIENT}") } else { String::new() })
    })?;
    tracing::info!(target = %name, status, "notified");
    if (200..300).contains(&status) {
        let receipt = serde_json::json!({"target": name, "status": status, "idempotency_key": job.idempotency_key});
        let bytes = serde_json::to_vec_pretty(&receipt).expect("json");
        return std::fs::write(out, bytes).map_err(|e| format!("writing {}: {e}", out.display()));
    }
    let transient = status >= 500 || status == 408 || status == 429;
    let mark = if transient { format!(" {TRANSIENT}") } else { String::new() };
    Err(format!("notify {name}: HTTP {status} {reason}{mark}:\n{text}"))
}

/// Every header of the request, secrets read from the environment.
fn headers(job: &NotifyJob) -> Result<Vec<(String, String)>, String> {
    let env = |var: &str, what: &str| {
        std::env::var(var).map_err(|_| format!("notify {}: environment variable {var} ({what}) is not set", job.target))
    };
    let mut h = job.headers.clone();
    if !h.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        h.push(("Content-Type".into(), "application/json".into()));
    }
    for (header, var) in &job.secret_headers {
        h.push((header.clone(), env(var, header)?));
    }
    h.push(("Idempotency-Key".into(), job.idempotency_key.clone()));
    if let Some(var) = &job.signing_secret_env {
        let key = signing_key(&job.target, var, env(var, "signing secret")?)?;
        h.push((SIGNATURE.into(), signature(key.as_bytes(), job.body.as_bytes())));
    }
    Ok(h)
}

/// The signing secret read from `var`: an empty one signs nothing and is refused (naming
/// the variable only).
fn signing_key(target: &str, var: &str, key: String) -> Result<String, String> {
    if key.is_empty() {
        return Err(format!("notify {target}: environment variable {var} (signing secret) is empty"));
    }
    Ok(key)
}

/// `sha256=HEX` of the body's HMAC-SHA256 under `key`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Sends the request; the status, its reason and the first lines of the response.
async fn send(job: &NotifyJob, headers: Vec<(String, String)>) -> Result<(u16, String, String), reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs_f64(job.timeout_seconds))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let method = reqwest::Method::from_bytes(job.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut req = client.request(method, &job.url).body(job.body.clone());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let mut resp = req.send().await?;
    let status = resp.status();
    let mut quoted = Vec::new();
    while quoted.len() < QUOTED_BYTES
        && let Ok(Some(chunk)) = resp.chunk().await
    {
        quoted.extend_from_slice(&chunk);
    }
    quoted.truncate(QUOTED_BYTES);
    let text = String::from_utf8_lossy(&quoted);
    let first: Vec<&str> = text.lines().take(QUOTED_LINES).collect();
    Ok((status.as_u16(), status.canonical_reason().unwrap_or("").to_string(), first.join("\n")))
}

#[cfg(test)]
mod tests {
    use crate::job::notify::NotifyJob;

    #[test]
    fn a_missing_secret_variable_fails_naming_the_variable_only() {
        let job = NotifyJob {
            target: "cms".into(),
            url: "http://127.0.0.1:9/".into(),
            method: "POST".into(),
            headers: vec![("X-Team".into(), "video".into())],
            secret_headers: vec![("Authorization".into(), "VODBUILD_TEST_UNSET_TOKEN_7Q".into())],
            signing_secret_env: None,
            body: "{}".into(),
            idempotency_key: "k".into(),
            timeout_seconds: 1.0,
            out: "/nonexistent".into(),
        };
        let e = super::headers(&job).unwrap_err();
        assert!(e.contains("VODBUILD_TEST_UNSET_TOKEN_7Q") && e.contains("not set"), "{e}");
        assert!(!crate::exec::retry::is_transient(&e), "a missing secret is not worth retrying");
        let mut plain = job.clone();
        plain.secret_headers.clear();
        let h = super::headers(&plain).unwrap();
        assert!(h.contains(&("Idempotency-Key".into(), "k".into())));
        assert!(h.iter().any(|(k, v)| k == "Content-Type" && v == "application/json"));
        // An empty signing secret signs nothing: refused, naming the variable only.
        let e = super::signing_key("cms", "VODBUILD_TEST_EMPTY_SIGNING_7Q", String::new()).unwrap_err();
        assert!(e.contains("VODBUILD_TEST_EMPTY_SIGNING_7Q") && e.contains("empty"), "{e}");
    }

    #[test]
    fn a_failed_request_does_not_quote_the_url() {
        // Port 9 (discard) is closed here: the connection is refused.
        let job = NotifyJob {
            target: "cms".into(),
            url: "http://127.0.0.1:9/hooks/SECRETPATH7Q".into(),
            method: "POST".into(),
            headers: vec![],
            secret_headers: vec![],
            signing_secret_env: None,
            body: "{}".into(),
            idempotency_key: "k".into(),
            timeout_seconds: 1.0,
            out: "/nonexistent".into(),
        };
        let e = super::deliver(&job, std::path::Path::new("/nonexistent")).unwrap_err();
        assert!(e.starts_with("notify cms: "), "{e}");
        assert!(!e.contains("SECRETPATH7Q") && !e.contains("127.0.0.1:9"), "{e}");
    }

    #[test]
    fn signature_is_the_rfc4231_hmac_sha256() {
        // RFC 4231 test case 2.
        let s = super::signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(s, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
