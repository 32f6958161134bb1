//! One error type for the whole crate, with context and hints, rendered by miette, and the
//! one place where an outcome becomes a process exit code ([`Error::exit_code`],
//! [`exit_code`]). A command either succeeds or returns an [`Error`]: a run whose steps
//! failed is [`Error::BuildFailed`], an interrupted one [`Error::Interrupted`]. Hints that
//! name a vodbuild command take it from [`hint`], whose lines a test parses with the real
//! command line.

use std::path::PathBuf;

use miette::{Diagnostic, SourceSpan};

use crate::exit_codes;
use crate::manifest::snippet::{self, Snippet};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Command lines that hints tell the user to run. Each must parse with the real command
/// line (a test in `cli` checks every one, and every hint an [`Error`] shows).
pub mod hint {
    /// Drops an unreadable state (and the intermediates) and keeps the outputs.
    pub const CLEAN_STATE: &str = "vodbuild clean FILE --keep-outputs";
    /// What a manifest path is for.
    pub const RUN: &str = "vodbuild run pipeline.yaml";
    /// Every command line above.
    pub const ALL: &[&str] = &[CLEAN_STATE, RUN];
}

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

    /// A command step's program (`steps.NAME.program`) is missing or its version command fails.
    #[error("program `{program}` of command step `{step}` is not usable: {message}")]
    #[diagnostic(help(
        "install it, or fix `steps.{step}.program` (a name on PATH, or a path relative to the manifest's folder) or its `version_args`"
    ))]
    CommandTool { step: String, program: String, message: String },

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

    /// A run in which steps failed (its report names each).
    #[error("{failed} step(s) failed")]
    BuildFailed { failed: usize },

    /// Ctrl-C or SIGTERM: finished steps are recorded, nothing partial is.
    #[error("interrupted")]
    Interrupted,

    /// `verify` found problems (it printed each).
    #[error("{problems} problem(s) in the packages")]
    VerifyFailed { problems: usize },

    /// `clean` refused to remove some paths (it printed each) and kept the state.
    #[error("{refused} path(s) were not removed")]
    CleanIncomplete { refused: usize },

    #[error("state in {path} is unreadable: {message}")]
    #[diagnostic(help("run `{}` to remove the state and start afresh (the outputs stay)", hint::CLEAN_STATE))]
    State { path: PathBuf, message: String },

    #[error("{0}")]
    Usage(String),

    /// The command line did not parse, or asked for `--help` / `--version` (clap prints it).
    #[error("{0}")]
    CommandLine(clap::Error),
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

    /// The process exit code for this error: every variant chooses one here.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Manifest(_) | Error::ManifestPlain(..) => exit_codes::MANIFEST_ERROR,
            Error::Locked { .. } => exit_codes::LOCKED,
            Error::Tool { .. } | Error::CommandTool { .. } => exit_codes::TOOL_ERROR,
            Error::Interrupted => exit_codes::INTERRUPTED,
            Error::VerifyFailed { .. } => exit_codes::VERIFY_FAILED,
            Error::Usage(_) => exit_codes::USAGE_ERROR,
            Error::CommandLine(e) => match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => exit_codes::SUCCESS,
                _ => exit_codes::USAGE_ERROR,
            },
            Error::Io { .. }
            | Error::Media { .. }
            | Error::Step { .. }
            | Error::Storage { .. }
            | Error::State { .. }
            | Error::BuildFailed { .. }
            | Error::CleanIncomplete { .. } => exit_codes::BUILD_FAILED,
        }
    }

    /// Whether the command already told this outcome (each failed step, problem or refused
    /// path, and a summary), so that nothing more is printed.
    pub fn already_told(&self) -> bool {
        matches!(self, Error::BuildFailed { .. } | Error::VerifyFailed { .. } | Error::CleanIncomplete { .. })
    }
}

/// The process exit code of a command's outcome.
pub fn exit_code(outcome: &Result<()>) -> i32 {
    match outcome {
        Ok(()) => exit_codes::SUCCESS,
        Err(e) => e.exit_code(),
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
