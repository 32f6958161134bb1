//! Reading the manifest file with bounds: a regular file (never a FIFO or a device, which
//! could block or never end), at most [`MAX_SIZE`] bytes read, UTF-8 text without control
//! characters (other than tab and line breaks). Each refusal is located.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, ManifestError, Position, Result, hint};

/// Largest manifest accepted.
pub const MAX_SIZE: u64 = 16 << 20;
/// Longest line accepted: no manifest needs more, and it keeps huge one-line values (and
/// their parsing) away.
pub const MAX_LINE: usize = 64 << 10;

pub fn read_manifest(path: &Path, file: &str) -> Result<String> {
    let plain = |message: String| {
        Error::ManifestPlain(message, format!("pass the path of a pipeline YAML file, e.g. `{}`", hint::RUN))
    };
    let at_start = |message: String, help: &str| -> Error {
        ManifestError::new(Position::hidden(file, 1, 1), "", message, Some(help.to_string())).into()
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
    let text = decode(file, bytes)?;
    check_text(file, &text)?;
    Ok(text)
}

/// The bytes as text, or an error at the first byte that is not UTF-8.
fn decode(file: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let prefix = std::str::from_utf8(valid).unwrap_or_default();
        let (line, col) = line_col(prefix);
        let help = Some("save the file as UTF-8".into());
        ManifestError::new(Position::hidden(file, line, col), "", "the manifest is not UTF-8 text", help).into()
    })
}

/// No line longer than [`MAX_LINE`], no raw control character.
fn check_text(file: &str, text: &str) -> Result<()> {
    if let Some(start) = long_line(text) {
        return Err(line_too_long(file, text, start));
    }
    if let Some(i) = first_control(text.as_bytes()) {
        let c = text[i..].chars().next().unwrap_or('\0');
        let (line, col) = line_col(&text[..i]);
        return Err(ManifestError::new(
            Position::hidden(file, line, col).showing(text, i),
            "",
            format!("control character U+{:04X} in the manifest", c as u32),
            Some(
                "remove it; YAML text cannot hold raw control characters (write them escaped in double quotes)".into(),
            ),
        )
        .into());
    }
    Ok(())
}

fn line_too_long(file: &str, text: &str, start: usize) -> Error {
    let (line, _) = line_col(&text[..start]);
    let col = text[start..].char_indices().take_while(|(b, _)| *b < MAX_LINE).count() + 1;
    ManifestError::new(
        Position::hidden(file, line, col).showing(text, start + MAX_LINE),
        "",
        format!("line {line} is longer than {} KiB", MAX_LINE >> 10),
        Some("split the value (YAML block scalars `|` span lines), or use globs for long source lists".into()),
    )
    .into()
}

/// Offset of the first control character other than tab and line breaks: C0, DEL, and C1
/// (U+0080..U+009F, UTF-8 `C2 80`..`C2 9F`). A plain byte loop: fast even unoptimized.
fn first_control(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r')
            || b == 0x7f
            || (b == 0xc2 && i + 1 < bytes.len() && (0x80..0xa0).contains(&bytes[i + 1]))
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// The start offset of the first line longer than [`MAX_LINE`] bytes.
fn long_line(text: &str) -> Option<usize> {
    let mut start = 0;
    for line in text.split('\n') {
        if line.len() > MAX_LINE {
            return Some(start);
        }
        start += line.len() + 1;
    }
    None
}

/// 1-based line and column just after `prefix`.
fn line_col(prefix: &str) -> (usize, usize) {
    let line = prefix.matches('\n').count() + 1;
    let col = prefix.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}
