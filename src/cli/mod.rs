//! Command line: clap definitions, logging set-up and error rendering. The commands
//! themselves are in [`commands`]; each returns `Ok(())` or an [`Error`], whose exit code
//! [`crate::error::exit_code`] chooses.

mod audio_files;
mod ci_reports;
mod clean;
mod commands;
mod exec_job;
mod executor;
mod failed;
mod fitting;
mod init;
mod shell;
mod slurm_task;
pub mod watch;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{self, Error};
use crate::graph::render::GraphFormat;
use crate::shard::Shard;

#[derive(Parser, Debug)]
#[command(
    name = "vodbuild",
    version,
    about = "Build HLS/DASH packages for a video catalog, doing only the work whose inputs changed"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Less output: no progress lines (errors are always shown).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output: `-v` each tool's command line, `-vv` also the tools' stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build every stale step (encode, package, ...) in dependency order.
    Run(RunArgs),
    /// Dry run: list the steps that would run and why. Executes nothing.
    Plan(PlanArgs),
    /// Draw the step graph (stale steps marked).
    Graph(GraphArgs),
    /// Fresh and stale counts per source.
    Status(StatusArgs),
    /// Remove the outputs, intermediates and state this manifest made.
    Clean(CleanArgs),
    /// Check every package: segments exist, CODECS/RESOLUTION/BANDWIDTH are exact, boundaries align.
    Verify(VerifyArgs),
    /// Rebuild whenever the manifest or a source folder changes (drop folders); Ctrl-C ends it.
    Watch(watch::WatchArgs),
    /// Preview server on 127.0.0.1: the titles, their renditions and verify results, and players.
    Serve(ServeArgs),
    /// Write a commented starter manifest for a folder of media (never overwrites a file).
    Init(init::InitArgs),
    /// Print a shell completion script (bash, zsh or fish) on stdout.
    Completions(shell::CompletionsArgs),
    /// Print the manifest's JSON Schema (for editors: yaml-language-server) on stdout.
    Schema,
    /// Print the man page (roff) on stdout; `cargo xtask man` writes target/man/vodbuild.1.
    #[command(hide = true)]
    Man,
    /// Run one job built elsewhere (a JobSpec) against the workspace at --root.
    #[command(hide = true)]
    ExecJob(exec_job::ExecJobArgs),
    /// Run one task of a Slurm batch file (the interpreter its `#!` line names).
    #[command(hide = true)]
    SlurmTask(slurm_task::SlurmTaskArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The pipeline manifest (YAML).
    pub file: PathBuf,
    /// Job slots: how many jobs are in flight, 1 to 4× the cores (default: the number of cores);
    /// on this machine at most 2× the cores run at once (the rest wait their turn).
    #[arg(short, long, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// After a failure, go on with work that does not depend on it.
    #[arg(short, long)]
    pub keep_going: bool,
    /// Run every selected step, fresh or not.
    #[arg(long)]
    pub force: bool,
    /// Delete published objects that the manifest no longer produces.
    #[arg(long)]
    pub prune: bool,
    /// Check that published objects are still in the backend, even those this workspace
    /// published or saw before (otherwise only records from remote state are checked).
    #[arg(long)]
    pub check_remote: bool,
    /// Only these steps (a glob over step ids or source ids) and what they depend on;
    /// `@failed`: the steps the last run failed (see `status --failed`).
    #[arg(long, value_name = "SELECTOR")]
    pub only: Option<String>,
    /// Only the sources of shard K of N, 1 <= K <= N <= 1000 (for CI matrices): a source's
    /// shard is a stable hash of its id. With --only, both apply. Not with --prune (a shard
    /// would delete what the other shards published).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse, conflicts_with = "prune")]
    pub shard: Option<Shard>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Also write a JUnit XML report (one testcase per step) to this file.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Also write a Prometheus textfile (steps by kind and status, durations, bytes) here.
    #[arg(long, value_name = "PATH")]
    pub metrics: Option<PathBuf>,
    /// Also save each job's spec (`ID.json`) and result (`ID.result.json`) in DIR, for
    /// `vodbuild exec-job` (hidden: for executors and tests).
    #[arg(long, value_name = "DIR", hide = true)]
    pub keep_jobs: Option<PathBuf>,
    /// Where compute jobs run: this machine, or a Slurm cluster (sbatch on PATH); overrides
    /// the manifest's `executor: {kind: ...}`.
    #[arg(long, value_enum, value_name = "KIND")]
    pub executor: Option<crate::manifest::executor::ExecutorKind>,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    pub file: PathBuf,
    /// Check that published objects are still in the backend (see `run --check-remote`).
    #[arg(long)]
    pub check_remote: bool,
    #[arg(long, value_name = "SELECTOR")]
    pub only: Option<String>,
    /// Only the sources of shard K of N (see `run --shard`).
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Plan as if every step were forced.
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Only the steps of this source.
    #[arg(long, value_name = "ID")]
    pub source: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub json: bool,
    /// The last run's failed steps, with their attempts and the end of their error.
    #[arg(long)]
    pub failed: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    pub file: PathBuf,
    /// Print the problems as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    pub file: PathBuf,
    /// Port on 127.0.0.1 (0: any free port; the URL is printed on stdout).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Serve hls.min.js and shaka-player.compiled.js from DIR instead of the builds embedded
    /// in vodbuild.
    #[arg(long, value_name = "DIR")]
    pub players: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CleanArgs {
    pub file: PathBuf,
    /// Keep the published outputs; remove only intermediates and state.
    #[arg(long)]
    pub keep_outputs: bool,
}

/// The number of cores vodbuild counts with.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// `-j N`: at least one slot, at most four per core (the local pool runs at most two per core).
fn parse_jobs(text: &str) -> Result<usize, String> {
    let max = 4 * cores();
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of job slots from 1 to {max} (4 x {} cores)", cores())),
    }
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    crate::signals::install();
    let (outcome, json) = match Cli::try_parse() {
        Ok(cli) => {
            init_logging(&cli);
            (commands::dispatch(&cli), cli.log_format == LogFormat::Json)
        }
        Err(e) => (Err(Error::CommandLine(e)), false),
    };
    let code = error::exit_code(&outcome);
    if let Err(e) = outcome {
        report_error(e, json);
    }
    code
}

/// Errors always reach stderr, whatever `-q` says; with `--log-format json`, as one JSON line.
/// An outcome the command already told (failed steps, problems found) is not repeated.
fn report_error(e: Error, json: bool) {
    if e.already_told() {
        return;
    }
    if let Error::CommandLine(c) = &e {
        // clap's own rendering (usage, or the help / version text on stdout).
        let _ = c.print();
        return;
    }
    if json {
        crate::say!("{}", e.json_line());
        return;
    }
    let color = crate::term::color_stderr();
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(miette::MietteHandlerOpts::new().width(160).wrap_lines(false).color(color).build())
    }));
    if matches!(e, Error::Interrupted) {
        crate::say!("vodbuild: interrupted");
    } else {
        crate::say!("{:?}", miette::Report::new(e));
    }
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let json = cli.log_format == LogFormat::Json;
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) if json => "info",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("VODBUILD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::term::LogWriter)
        .with_ansi(crate::term::color_stderr())
        // Its own complaint about a broken stderr would be an `eprint!`, which panics.
        .log_internal_errors(false);
    let _ = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_target(false).without_time().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::Diagnostic;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(line.split_whitespace())
    }

    /// The `vodbuild …` command lines a hint shows (in backticks).
    fn commands_in(help: &str) -> Vec<&str> {
        help.split('`').skip(1).step_by(2).filter(|c| c.starts_with("vodbuild ")).collect()
    }

    /// One error of each kind. The match fails to compile when a kind is added, so that it
    /// gets a sample here too.
    fn one_of_each() -> Vec<Error> {
        let manifest_path = crate::manifest::read::read_manifest(std::path::Path::new("/nonexistent/p.yaml"), "p.yaml");
        let all = vec![
            crate::error::ManifestError::new(crate::error::Position::hidden("p.yaml", 1, 1), "", "m", None).into(),
            manifest_path.expect_err("a missing manifest"),
            Error::io("reading", std::io::Error::other("x")),
            Error::Tool { tool: "ffmpeg".into(), message: "m".into() },
            Error::CommandTool { step: "s".into(), program: "p".into(), message: "m".into() },
            Error::Media { source_id: "a".into(), path: "a.mp4".into(), message: "m".into() },
            Error::Step { step: "s".into(), message: "m".into() },
            Error::Storage { message: "m".into() },
            Error::Locked { path: ".vodbuild".into() },
            Error::BuildFailed { failed: 1 },
            Error::Interrupted,
            Error::VerifyFailed { problems: 1 },
            Error::CleanIncomplete { refused: 1 },
            Error::State { path: "state.json".into(), message: "m".into() },
            Error::Usage("m".into()),
            Error::CommandLine(parse("vodbuild --no-such-flag").expect_err("an unknown flag")),
        ];
        for e in &all {
            match e {
                Error::Manifest(_)
                | Error::ManifestPlain(..)
                | Error::Io { .. }
                | Error::Tool { .. }
                | Error::CommandTool { .. }
                | Error::Media { .. }
                | Error::Step { .. }
                | Error::Storage { .. }
                | Error::Locked { .. }
                | Error::BuildFailed { .. }
                | Error::Interrupted
                | Error::VerifyFailed { .. }
                | Error::CleanIncomplete { .. }
                | Error::State { .. }
                | Error::Usage(_)
                | Error::CommandLine(_) => {}
            }
        }
        all
    }

    #[test]
    fn every_hint_names_a_command_and_flags_that_exist() {
        for line in crate::error::hint::ALL {
            parse(line).unwrap_or_else(|e| panic!("hint command `{line}` does not parse:\n{e}"));
        }
        let mut seen = 0;
        for e in one_of_each() {
            let help = e.help().map(|h| h.to_string()).unwrap_or_default();
            for line in commands_in(&help) {
                parse(line)
                    .unwrap_or_else(|err| panic!("the hint of `{e}` names `{line}`, which does not parse:\n{err}"));
                seen += 1;
            }
        }
        assert!(seen >= 2, "the state and manifest-path hints name commands; found {seen}");
        // What this guards against: the state hint used to name a flag `clean` does not have.
        assert!(parse("vodbuild clean FILE --state").is_err());
    }

    #[test]
    fn exit_codes_are_chosen_by_the_error() {
        use crate::exit_codes::*;
        assert_eq!(crate::error::exit_code(&Ok(())), SUCCESS);
        let code = |e: Error| crate::error::exit_code(&Err(e));
        assert_eq!(code(Error::BuildFailed { failed: 2 }), BUILD_FAILED);
        assert_eq!(code(Error::Interrupted), INTERRUPTED);
        assert_eq!(code(Error::VerifyFailed { problems: 1 }), VERIFY_FAILED);
        assert_eq!(code(Error::Tool { tool: "ffmpeg".into(), message: "m".into() }), TOOL_ERROR);
        assert_eq!(code(Error::Storage { message: "m".into() }), BUILD_FAILED);
        assert_eq!(code(Error::CommandLine(parse("vodbuild --help").expect_err("help"))), SUCCESS);
        assert_eq!(code(Error::CommandLine(parse("vodbuild run").expect_err("no file"))), USAGE_ERROR);
    }
}
