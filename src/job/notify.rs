//! A notify job ([`crate::job::Action::Notify`]): one HTTP request, fully rendered by the
//! coordinator ([`crate::kinds::notify`]) and sent by [`crate::exec::webhook`]. It holds the
//! *names* of the environment variables that hold secrets, never their values.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyJob {
    /// The `notify:` target's name.
    pub target: String,
    pub url: String,
    pub method: String,
    /// Plain headers, sent as they are.
    pub headers: Vec<(String, String)>,
    /// Header name and the environment variable holding its value.
    pub secret_headers: Vec<(String, String)>,
    /// The environment variable holding the HMAC-SHA256 key of the signature header.
    pub signing_secret_env: Option<String>,
    pub body: String,
    /// `Idempotency-Key`: the same for every attempt of one announcement.
    pub idempotency_key: String,
    pub timeout_seconds: f64,
    /// Where the receipt (status, key) is written: the step's temporary output.
    pub out: PathBuf,
}
