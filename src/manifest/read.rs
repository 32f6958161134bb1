//! Reading the manifest file with bounds: a regular file (never a FIFO or a device, which
//! could block or never end), at most [`MAX_SIZE`] bytes read, UTF-8 text without control
//! characters (other than tab and line breaks). Each refusal is located.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, ManifestError, Result};

/// Largest manifest accepted.
pub const MAX_SIZE: u64 = 16 << 20;

pub fn read_manifest(path: &Path, file: &str) -> Result<String> {
    let plain = |message: String| {
        Error::ManifestPlain(message, "pass the path of a pipeline YAML file, e.g. `vodbuild run pipeline.yaml`".into())
    };
    let at_start = |message: String, help: &str| -> Error {
        ManifestError::new(file, "", 1, 1, None, "", message, Some(help.to_string())).into()
    };
    let file = &crate::manifest::snippet::escape(file);
    let meta = std::fs::metadata(path).map_err(|e| plain(format!("cannot read manifest {file}: {e}")))?;
    if !meta.is_file() {
        return Err(at_start(
            "the manifest is not a regular file (a folder, FIFO or device)".into(),
            "pass the path of a pipeline YAML file",
        ));
    }
    let too_big = || {
        at_start(
            format!("the manifest is larger than {} MiB", MAX_SIZE >> 20),
            "a manifest describes a catalog in a few kilobytes; split it, or use globs",
        )
    };
    if meta.len() > MAX_SIZE {
        return Err(too_big());
    }
    let f = std::fs::File::open(path).map_err(|e| plain(format!("cannot read manifest {file}: {e}")))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(MAX_SIZE + 1).read_to_end(&mut bytes).map_err(|e| plain(format!("cannot read manifest {file}: {e}")))?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(too_big());
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let (line, col) = line_col(prefix);
            return Err(ManifestError::new(
                file,
                prefix,
                line,
                col,
                None,
                "",
                "the manifest is not UTF-8 text",
                Some("save the file as UTF-8".into()),
            )
            .into());
        }
    };
    if let Some(i) = text.find(|c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        let c = text[i..].chars().next().unwrap_or('\0');
        let (line, col) = line_col(&text[..i]);
        return Err(ManifestError::new(
            file,
            &text,
            line,
            col,
            Some(i),
            "",
            format!("control character U+{:04X} in the manifest", c as u32),
            Some(
                "remove it; YAML text cannot hold raw control characters (write them escaped in double quotes)".into(),
            ),
        )
        .into());
    }
    Ok(text)
}

/// 1-based line and column just after `prefix`.
fn line_col(prefix: &str) -> (usize, usize) {
    let line = prefix.matches('\n').count() + 1;
    let col = prefix.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}
