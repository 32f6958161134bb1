//! Which backend settings are credentials (refused in the manifest, never in keys or logs),
//! which select the destination (they enter the publish step's key wherever they come
//! from), and URLs with a user name or password in them.

use std::collections::BTreeMap;

use super::BackendConfig;

/// The secret fields of the opendal services vodbuild enables (s3, gcs, azblob, sftp,
/// webdav; fs has none), lower case.
pub const SECRET_FIELDS: &[&str] = &[
    // s3
    "access_key_id",
    "secret_access_key",
    "session_token",
    "server_side_encryption_customer_key",
    "server_side_encryption_customer_key_md5",
    "external_id",
    // gcs
    "credential",
    "token",
    // azblob
    "account_key",
    "sas_token",
    "encryption_key",
    "encryption_key_sha256",
    // webdav
    "password",
];

/// Names that match a secret pattern but are not secrets: an id, and paths to a key file
/// (sftp's `key` does not match any pattern and is a path too).
pub const NOT_SECRET: &[&str] = &["server_side_encryption_aws_kms_key_id", "credential_path"];

/// Whether a config key holds a credential (case-insensitive): a known secret field, or a
/// name like `*_key`, `*_key_*`, `*secret*`, `*password*`, `*passwd*`, `*token*`,
/// `*credential*`, `*private*`.
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    if NOT_SECRET.contains(&k.as_str()) {
        return false;
    }
    SECRET_FIELDS.contains(&k.as_str())
        || k.ends_with("_key")
        || k.contains("_key_")
        || ["secret", "password", "passwd", "token", "credential", "private"].iter().any(|p| k.contains(p))
}

/// Settings that choose where objects go: they enter the publish step's key.
pub const DESTINATION_FIELDS: &[&str] =
    &["endpoint", "bucket", "container", "root", "region", "account_name", "user", "enable_virtual_host_style"];

/// Whether `value` is a URL with userinfo (`scheme://user:password@host`).
pub fn has_userinfo(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.contains('@')
}

impl BackendConfig {
    /// The non-secret settings that select the destination, as they will be used: the
    /// manifest's config with the environment's `VODBUILD_<NAME>_<KEY>` overrides of
    /// destination fields, and `AWS_REGION` for an s3 backend without `region`.
    pub fn destination(&self) -> BTreeMap<String, String> {
        let mut d = self.config.clone();
        for (k, v) in self.env_overrides() {
            if DESTINATION_FIELDS.contains(&k.as_str()) && !is_secret(&k) && !has_userinfo(&v) {
                d.insert(k, v);
            }
        }
        if self.service == "s3"
            && !d.contains_key("region")
            && let Ok(r) = std::env::var("AWS_REGION")
        {
            d.insert("region".into(), r);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_any_case() {
        for k in [
            "SECRET_ACCESS_KEY",
            "Secret_Access_Key",
            "server_side_encryption_customer_key",
            "account_key",
            "sas_token",
            "password",
            "my_api_token",
            "ssh-private-key",
        ] {
            assert!(is_secret(k), "{k}");
        }
        for k in ["endpoint", "bucket", "region", "root", "server_side_encryption_aws_kms_key_id", "user", "key"] {
            assert!(!is_secret(k), "{k}");
        }
    }

    #[test]
    fn environment_destinations_count_and_secrets_do_not() {
        let b = BackendConfig {
            name: "vbtestdest".into(),
            service: "fs".into(),
            config: [("root".to_string(), "published".to_string())].into(),
            base: None,
        };
        let before = b.destination();
        // SAFETY: these variables are read by this test only.
        unsafe {
            std::env::set_var("VODBUILD_VBTESTDEST_ROOT", "elsewhere");
            std::env::set_var("VODBUILD_VBTESTDEST_PASSWORD", "hunter2");
        }
        let after = b.destination();
        assert_eq!(before["root"], "published");
        assert_eq!(after["root"], "elsewhere");
        assert!(!after.values().any(|v| v == "hunter2"));
    }

    #[test]
    fn userinfo() {
        assert!(has_userinfo("http://admin:pw@host:9000/x"));
        assert!(has_userinfo("ssh://u@h"));
        assert!(!has_userinfo("http://host:9000/a@b"));
        assert!(!has_userinfo("us-east-1"));
    }
}
