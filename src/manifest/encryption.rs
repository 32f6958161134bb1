//! `encryption:` on `outputs.hls` / `outputs.dash`: the method, where the key (and IV) come
//! from, and the DRM systems to signal. Key material is never in the manifest: `key` and `iv`
//! name an environment variable or a key file outside the output and state folders
//! ([`crate::crypt::keys`] reads them). The loaded key enters the package step's parameters
//! only as a keyed digest (`key_digest`, filled in at load), so a new key re-packages.
//!
//! What each packager can do is checked here, at load (plan) time: HLS AES-128 with ffmpeg
//! (TS segments), CENC / cbcs with Shaka Packager for HLS and DASH.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the package is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum CryptMethod {
    /// HLS whole-segment AES-128-CBC (`#EXT-X-KEY:METHOD=AES-128`), ffmpeg packager, TS segments.
    #[serde(rename = "aes-128")]
    Aes128,
    /// Common Encryption, AES-CTR (`cenc`), Shaka Packager.
    #[serde(rename = "cenc")]
    Cenc,
    /// Common Encryption, AES-CBC pattern (`cbcs`), Shaka Packager.
    #[serde(rename = "cbcs")]
    Cbcs,
}

impl CryptMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CryptMethod::Aes128 => "aes-128",
            CryptMethod::Cenc => "cenc",
            CryptMethod::Cbcs => "cbcs",
        }
    }
}

/// A DRM system whose signalling (PSSH / ContentProtection) the package carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DrmSystem {
    /// W3C ClearKey (the common `1077efec` PSSH).
    Clearkey,
    Widevine,
    Playready,
    Fairplay,
}

/// Where secret bytes come from: exactly one of `env` (a variable holding 32 hex digits) or
/// `file` (32 hex digits, or 16 raw bytes; relative to the manifest; outside the output and
/// state folders).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// `encryption:` on an HLS or DASH output.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    pub method: CryptMethod,
    /// The 16-byte content key: `{env: VAR}` or `{file: PATH}`.
    pub key: KeySource,
    /// Optional 16-byte IV (otherwise ffmpeg uses the segment number, Shaka a random one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iv: Option<KeySource>,
    /// The key ID (32 hex digits; public: it is written into the playlists). Required for
    /// `cenc` and `cbcs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// DRM systems to signal (`cenc` / `cbcs`); none: the common PSSH only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<DrmSystem>,
    /// Seconds left in clear at the start (`cenc` / `cbcs`; rounded up to whole segments).
    #[serde(default)]
    pub clear_lead: f64,
    /// The key's URI in `#EXT-X-KEY` (AES-128; required there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_uri: Option<String>,
    /// A keyed digest of the loaded key and IV (set at load, never read from the manifest).
    #[serde(skip_deserializing, default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub key_digest: Option<String>,
}
