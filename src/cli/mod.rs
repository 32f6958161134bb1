//! Command line: clap definitions, logging set-up, error rendering and exit codes.
//! The commands themselves are in [`commands`].

mod clean;
mod commands;
mod fitting;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::Error;
use crate::exit_codes;
use crate::graph::render::GraphFormat;

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
    /// Only these steps (a glob over step ids or source ids) and what they depend on.
    #[arg(long, value_name = "SELECTOR")]
    pub only: Option<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    pub file: PathBuf,
    /// Check that published objects are still in the backend (see `run --check-remote`).
    #[arg(long)]
    pub check_remote: bool,
    #[arg(long, value_name = "SELECTOR")]
    pub only: Option<String>,
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
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    pub file: PathBuf,
    /// Print the problems as JSON on stdout.
    #[arg(long)]
    pub json: bool,
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
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => exit_codes::SUCCESS,
                _ => exit_codes::USAGE_ERROR,
            };
        }
    };
    init_logging(&cli);
    match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => report_error(e, cli.log_format == LogFormat::Json),
    }
}

/// Errors always reach stderr, whatever `-q` says; with `--log-format json`, as one JSON line.
fn report_error(e: Error, json: bool) -> i32 {
    let code = e.exit_code();
    if json {
        crate::say!("{}", e.json_line());
        return code;
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
    code
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
        .with_writer(std::io::stderr)
        .with_ansi(crate::term::color_stderr())
        // Its own complaint about a broken stderr would be an `eprint!`, which panics.
        .log_internal_errors(false);
    let _ = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_target(false).without_time().try_init(),
    };
}
