//! Editor and shell support: `vodbuild completions SHELL` (clap_complete), the man page
//! (`vodbuild man`, hidden; `cargo xtask man` writes it to target/man/vodbuild.1) and
//! `vodbuild schema` (the manifest's JSON Schema, see [`crate::manifest::schema`]).

use clap::{CommandFactory, ValueEnum};

use crate::error::{IoContext, Result};
use crate::term;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script on stdout.
pub fn completions(a: &CompletionsArgs) -> Result<()> {
    use clap_complete::Shell as S;
    let shell = match a.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut super::Cli::command(), "vodbuild", &mut buf);
    term::out(&String::from_utf8_lossy(&buf));
    Ok(())
}

/// The man page (roff) on stdout.
pub fn man() -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(super::Cli::command()).render(&mut buf).ctx(|| "rendering the man page".into())?;
    term::out(&String::from_utf8_lossy(&buf));
    Ok(())
}

/// The manifest's JSON Schema on stdout.
pub fn schema() -> Result<()> {
    term::out(&crate::manifest::schema::json());
    Ok(())
}
