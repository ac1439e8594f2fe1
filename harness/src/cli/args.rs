//! The argument definitions of `callout-conformance`, as clap derives them: one struct per
//! subcommand, each with its own `--help`. What the values mean is checked here (value parsers)
//! or in [`crate::flags`]; what the commands do is in `cli/mod.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::bench::{BenchArgs, BenchOptions};
use crate::flags::{not_an_option, path, TargetArgs, Targets};
use crate::provision::DEFAULT_SERVER_VERSION;
use crate::runner;

use callout_catalog::mode::Mode;
use callout_world::fixture::BackendKind;

use super::{Args, CatalogCommand};

const EXIT_CODES: &str =
    "Exit codes: 0 nothing failed, 1 a case failed, 2 a set-up or usage error.";

const FILTERS: &str =
    "Case id prefixes (e2e.perm, e2e.perm.3) or globs (e2e.*.1); several are OR-ed";

/// callout-conformance: conformance suite for NATS auth-callout responders
#[derive(Parser, Debug)]
#[command(
    name = "callout-conformance",
    disable_version_flag = true,
    arg_required_else_help = true,
    args_override_self = true,
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Print the tool's version and the catalog's (cases and scenario hash)
    #[arg(short = 'V', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Sub>,
}

/// The subcommands. A flag given twice is not an error: a switch stays on, the last value of
/// a single-valued option wins (as before clap; `ci/action/run.sh` relies on it when its
/// `args` input repeats `--strict`).
#[derive(Subcommand, Debug)]
pub enum Sub {
    /// Run the catalog against the responders and print the verdict table
    #[command(after_help = EXIT_CODES, args_override_self = true)]
    Run(RunArgs),
    /// List the cases with their level and citation
    #[command(args_override_self = true)]
    List(ListArgs),
    /// Run on several server versions and write what differs to docs/compatibility.md
    #[command(after_help = EXIT_CODES, args_override_self = true)]
    Matrix(MatrixArgs),
    /// Measure connect latency and throughput of responders
    #[command(args_override_self = true)]
    Bench(BenchArgs),
    /// Send mutated requests to responders: crashes, hangs, wrong admissions, memory growth
    #[command(args_override_self = true)]
    Fuzz(crate::fuzz::FuzzArgs),
    /// Compare what two responders decide for the same identities, field by field
    #[command(args_override_self = true)]
    Diff(crate::diff::DiffArgs),
    /// Print a failures-only Markdown summary of a --report-json file, for a CI job page
    #[command(args_override_self = true)]
    Summary(SummaryArgs),
    /// Print a shell completion script: completions bash|zsh|fish
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The options of `run` (and of `matrix`, which takes them all).
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    #[arg(value_name = "FILTER", help = FILTERS)]
    pub filters: Vec<String>,
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Where nats-server runs
    #[arg(long, value_name = "process|container", default_value = "process", value_parser = ["process", "container"], hide_possible_values = true)]
    pub backend: String,
    /// Read the scenario files of DIR instead of the catalog built into the binary
    #[arg(long, value_name = "DIR", value_parser = path)]
    pub scenarios: Option<PathBuf>,
    /// Judge the responder a profile describes (its command and the identities it knows), for
    /// a responder that does not read the harness's users.json
    #[arg(long, value_name = "FILE", value_parser = path, conflicts_with_all = ["scenarios", "responder", "responder_cmd", "name"])]
    pub profile: Option<PathBuf>,
    /// Which catalog runs: the config-mode files and the wire catalog (config), or the
    /// operator-mode files (operator: decentralized auth, the reference started with
    /// -nats.creds {creds} -signing.keys {signing_keys})
    #[arg(long, value_name = "config|operator", default_value = "config", value_parser = ["config", "operator"], hide_possible_values = true, conflicts_with = "profile")]
    pub mode: String,
    /// NON-STRICT verdicts count as failures
    #[arg(long)]
    pub strict: bool,
    /// UNIMPLEMENTED verdicts count as failures
    #[arg(long)]
    pub fail_on_unimplemented: bool,
    /// How long a responder may take to answer its first callout, more than 0 and at most 3600
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = secs, allow_negative_numbers = true)]
    pub ready_timeout: Duration,
    /// Write the JSON report
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub report_json: Option<PathBuf>,
    /// Write JUnit XML
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub junit: Option<PathBuf>,
    /// Write a Markdown report
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML report
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub html: Option<PathBuf>,
    /// Failures listed in FILE (TOML: [known] CASE-ID = REASON) are KNOWN and do not fail the
    /// run; listed cases that pass now are reported so FILE can shrink
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub baseline: Option<PathBuf>,
    /// Write the run's failures to FILE as a baseline (may be the --baseline file: its reasons
    /// are kept, fixed entries dropped)
    #[arg(long, value_name = "FILE", value_parser = path)]
    pub write_baseline: Option<PathBuf>,
    /// List what would run, run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Plain terminal output
    #[arg(long)]
    pub no_color: bool,
    /// Print what each case did, step by step (all cases, or those FILTER selects)
    #[arg(long, value_name = "FILTER", num_args = 0..=1, require_equals = true, default_missing_value = "", value_parser = not_an_option)]
    pub transcripts: Option<String>,
}

/// The options of `list`.
#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    #[arg(value_name = "FILTER", help = FILTERS)]
    pub filters: Vec<String>,
    /// Read the scenario files of DIR instead of the catalog built into the binary
    #[arg(long, value_name = "DIR", value_parser = path)]
    pub scenarios: Option<PathBuf>,
    /// List the cases a profile's responder is judged by (see run --profile)
    #[arg(long, value_name = "FILE", value_parser = path, conflicts_with = "scenarios")]
    pub profile: Option<PathBuf>,
    /// List the cases run --mode operator judges (as run, config by default)
    #[arg(long, value_name = "config|operator", default_value = "config", value_parser = ["config", "operator"], hide_possible_values = true, conflicts_with = "profile")]
    pub mode: String,
    /// Also list the selected cases the run would leave out, each with the reason (the other
    /// mode's cases; for a profile, those its identities cannot carry)
    #[arg(long)]
    pub left_out: bool,
}

/// The options of `matrix`: every option of `run`, and where the comparison goes.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_long_help = "--server-version defaults to 2.10.26,2.11.11,2.12.8,2.14.6,2.15.1 here."
)]
pub struct MatrixArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Where the comparison goes
    #[arg(long, value_name = "FILE", default_value = "docs/compatibility.md", value_parser = path)]
    pub output: PathBuf,
    /// Compare the runs of JSON reports written by run --report-json instead of running;
    /// repeatable
    #[arg(long, value_name = "REPORT.json", value_parser = path)]
    pub from: Vec<PathBuf>,
}

/// The options of `summary`.
#[derive(clap::Args, Debug, Clone)]
pub struct SummaryArgs {
    /// A JSON report written by run --report-json
    #[arg(value_name = "REPORT.json", value_parser = path)]
    pub file: PathBuf,
    /// Print at most N bytes, at least 1024 (default 1000000, under GitHub's 1 MiB step-summary
    /// limit)
    #[arg(long, value_name = "N", value_parser = max_bytes)]
    pub max_bytes: Option<usize>,
}

/// Parses `--ready-timeout`: finite seconds, more than 0, at most an hour.
fn secs(v: &str) -> Result<Duration, String> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 3600.0 => Ok(Duration::from_secs_f64(x)),
        _ => Err(
            "give a number of seconds greater than 0 and at most 3600, e.g. --ready-timeout 30"
                .into(),
        ),
    }
}

fn max_bytes(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n >= 1024 => Ok(n),
        _ => Err("give a number of bytes, at least 1024".into()),
    }
}

/// A parsed command line: what `main` runs.
#[derive(Debug)]
pub enum Command {
    /// `--version`.
    Version,
    /// `run`, `list` or `matrix` (`Args::command` says which).
    Catalog(Box<Args>),
    /// `bench`.
    Bench(Box<BenchOptions>, Targets),
    /// `fuzz`.
    Fuzz(crate::fuzz::FuzzOptions, Targets),
    /// `diff`.
    Diff(Box<crate::diff::DiffOptions>),
    /// `summary`: the report and the byte limit.
    Summary(PathBuf, usize),
    /// `completions SHELL`.
    Completions(clap_complete::Shell),
}

/// A usage error found after clap's own checks (the order of `--name`, a name used twice), in
/// clap's format and with its exit code (2).
fn usage(msg: String) -> clap::Error {
    clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{msg}\n"))
}

/// Parses the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command, clap::Error> {
    let argv = std::iter::once("callout-conformance".to_string()).chain(args.iter().cloned());
    let m = Cli::command().try_get_matches_from(argv)?;
    let cli = Cli::from_arg_matches(&m)?;
    if cli.version {
        return Ok(Command::Version);
    }
    let sub_m = m.subcommand().map(|(_, m)| m);
    let (Some(sub), Some(sub_m)) = (cli.command, sub_m) else {
        // arg_required_else_help covers an empty command line; this is `-V`-less flags only.
        return Err(Cli::command().error(
            clap::error::ErrorKind::MissingSubcommand,
            "name a subcommand: run, list, matrix, bench, fuzz, diff, summary or completions",
        ));
    };
    Ok(match sub {
        Sub::Run(r) => Command::Catalog(Box::new(catalog(CatalogCommand::Run, r, None, sub_m)?)),
        Sub::Matrix(x) => {
            let output = Some(x.output);
            let mut a = catalog(CatalogCommand::Matrix, x.run, output, sub_m)?;
            a.from = x.from;
            Command::Catalog(Box::new(a))
        }
        Sub::List(l) => Command::Catalog(Box::new(Args {
            command: CatalogCommand::List,
            filters: l.filters,
            scenarios: l.scenarios,
            profile: l.profile,
            mode: Mode::parse(&l.mode).unwrap_or_default(),
            left_out: l.left_out,
            responders: vec![],
            versions: vec![],
            ready_timeout: runner::DEFAULT_READY_TIMEOUT,
            ..Args::default()
        })),
        Sub::Bench(b) => {
            let (o, t) = b.resolve(sub_m).map_err(usage)?;
            Command::Bench(Box::new(o), t)
        }
        Sub::Fuzz(f) => {
            let (o, t) = f.resolve(sub_m).map_err(usage)?;
            Command::Fuzz(o, t)
        }
        Sub::Diff(d) => Command::Diff(Box::new(d.resolve(sub_m).map_err(usage)?)),
        Sub::Summary(s) => Command::Summary(
            s.file,
            s.max_bytes.unwrap_or(crate::report::SUMMARY_MAX_BYTES),
        ),
        Sub::Completions { shell } => Command::Completions(shell),
    })
}

/// The [`Args`] of `run` or `matrix`.
fn catalog(
    command: CatalogCommand,
    r: RunArgs,
    output: Option<PathBuf>,
    m: &clap::ArgMatches,
) -> Result<Args, clap::Error> {
    let targets = r.targets.targets(m).map_err(usage)?;
    let mut versions = targets.versions;
    if versions.is_empty() {
        versions = if command == CatalogCommand::Matrix {
            crate::matrix::DEFAULT_VERSIONS
                .iter()
                .map(|v| v.to_string())
                .collect()
        } else {
            vec![DEFAULT_SERVER_VERSION.into()]
        };
    }
    if let (Some(bin), true) = (&targets.nats_server, versions.len() > 1) {
        return Err(usage(format!(
            "--nats-server {} is one binary, and {} server versions were asked for ({}): the same binary would run {} times under different names. Give one --server-version with --nats-server, or drop --nats-server to provision each version",
            bin.display(),
            versions.len(),
            versions.join(", "),
            versions.len()
        )));
    }
    Ok(Args {
        command,
        filters: r.filters,
        responders: targets.responders,
        // clap's value parsers admit only these names.
        backend: BackendKind::parse(&r.backend).unwrap_or_default(),
        versions,
        nats_server: targets.nats_server,
        scenarios: r.scenarios,
        profile: r.profile,
        mode: Mode::parse(&r.mode).unwrap_or_default(),
        strict: r.strict,
        report_json: r.report_json,
        junit: r.junit,
        markdown: r.markdown,
        html: r.html,
        dry_run: r.dry_run,
        no_color: r.no_color,
        transcripts: r.transcripts,
        fail_on_unimplemented: r.fail_on_unimplemented,
        ready_timeout: r.ready_timeout,
        output,
        from: vec![],
        baseline: r.baseline,
        write_baseline: r.write_baseline,
        left_out: false,
    })
}

/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "callout-conformance", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
