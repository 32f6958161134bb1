//! One error type for the whole crate, with context and hints, rendered by miette.

use std::path::PathBuf;

use miette::{Diagnostic, SourceSpan};

use crate::exit_codes;
use crate::manifest::snippet::{self, Snippet};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A problem in the manifest, located in its text.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{location}: {message}{field_note}")]
pub struct ManifestError {
    /// `file:line:column`, printed first so that editors and CI logs can jump to it.
    pub location: String,
    pub message: String,
    /// The field path (`profiles.video.720p.bitrate`), empty when not known.
    pub field: String,
    field_note: String,
    #[source_code]
    pub src: Snippet,
    #[label("here")]
    pub span: Option<SourceSpan>,
    #[help]
    pub help: Option<String>,
}

/// Where a manifest error is: the file, a 1-based line and column, and the manifest text
/// with the byte offset of that position when the line may be shown.
#[derive(Debug, Clone, Copy)]
pub struct Position<'a> {
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    /// The manifest text and the offset in it; `None` shows no text (e.g. the line holds a secret).
    pub shown: Option<(&'a str, usize)>,
}

impl<'a> Position<'a> {
    /// A position whose line is not shown.
    pub fn hidden(file: &'a str, line: usize, column: usize) -> Self {
        Position { file, line, column, shown: None }
    }

    /// A position in `text`, shown when it exists there.
    pub fn in_text(file: &'a str, text: &'a str, line: usize, column: usize) -> Self {
        Position {
            shown: snippet::offset_of(text, line, column).map(|o| (text, o)),
            ..Position::hidden(file, line, column)
        }
    }

    /// Shows `text` around byte `offset` (the position's own offset).
    pub fn showing(self, text: &'a str, offset: usize) -> Self {
        Position { shown: Some((text, offset)), ..self }
    }
}

impl ManifestError {
    pub fn new(at: Position, field: &str, message: impl Into<String>, help: Option<String>) -> Self {
        // Everything echoed is escaped, and the source shown is one cut line (see snippet).
        let Position { file, line, column, shown } = at;
        let field = snippet::escape(field);
        let field_note = if field.is_empty() { String::new() } else { format!(" (field `{field}`)") };
        let (src, span) = match shown {
            Some((text, o)) => {
                let (src, at) = snippet::around(file, text, line, o);
                (src, Some(SourceSpan::from((at, 0))))
            }
            None => (snippet::around(file, "", line, 0).0, None),
        };
        ManifestError {
            location: format!("{}:{line}:{column}", snippet::escape(file)),
            message: snippet::escape(&message.into()),
            field,
            field_note,
            src,
            span,
            help: help.map(|h| snippet::escape(&h)),
        }
    }
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(Box<ManifestError>),

    #[error("{0}")]
    #[diagnostic(help("{1}"))]
    ManifestPlain(String, String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("tool `{tool}` is not usable: {message}")]
    #[diagnostic(help(
        "install ffmpeg (`cargo xtask setup` or `apt-get install ffmpeg`), or set `tools:` in the manifest / VODBUILD_FFMPEG, VODBUILD_FFPROBE"
    ))]
    Tool { tool: String, message: String },

    #[error("source `{source_id}` ({path}): {message}")]
    Media { source_id: String, path: PathBuf, message: String },

    #[error("step `{step}` failed: {message}")]
    Step { step: String, message: String },

    #[error("{message}")]
    #[diagnostic(help("check the backend's endpoint and that its credentials are in the environment"))]
    Storage { message: String },

    #[error("workspace {path} is locked by another vodbuild run")]
    #[diagnostic(help("wait for the other run to finish; the lock is released when it exits"))]
    Locked { path: PathBuf },

    #[error("{failed} step(s) failed")]
    BuildFailed { failed: usize },

    #[error("interrupted")]
    Interrupted,

    #[error("state in {path} is unreadable: {message}")]
    #[diagnostic(help("run `vodbuild clean FILE --state` to start afresh"))]
    State { path: PathBuf, message: String },

    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    /// The error as one JSON line (for `--log-format json`), shaped like the log lines.
    pub fn json_line(&self) -> String {
        let mut fields = serde_json::json!({"message": self.to_string(), "exit_code": self.exit_code()});
        if let Some(help) = self.help() {
            fields["help"] = help.to_string().into();
        }
        if let Error::Manifest(m) = self {
            fields["location"] = m.location.clone().into();
            fields["field"] = m.field.clone().into();
        }
        serde_json::json!({"level": "ERROR", "fields": fields, "target": "vodbuild"}).to_string()
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Manifest(_) | Error::ManifestPlain(..) => exit_codes::MANIFEST_ERROR,
            Error::Locked { .. } => exit_codes::LOCKED,
            Error::Tool { .. } => exit_codes::TOOL_ERROR,
            Error::Interrupted => exit_codes::INTERRUPTED,
            Error::Usage(_) => exit_codes::USAGE_ERROR,
            _ => exit_codes::BUILD_FAILED,
        }
    }
}

impl From<Box<ManifestError>> for Error {
    fn from(e: Box<ManifestError>) -> Self {
        Error::Manifest(e)
    }
}

impl From<ManifestError> for Error {
    fn from(e: ManifestError) -> Self {
        Error::Manifest(Box::new(e))
    }
}

/// Attach a context string to I/O results.
pub trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}
