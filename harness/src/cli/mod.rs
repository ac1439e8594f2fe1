//! The command line of `callout-conformance` (a stable interface: flags, report formats and
//! exit codes are documented in the README and change only with a note there).
//!
//! Exit codes: 0 nothing failed, 1 a case failed, 2 a set-up or usage error.
//!
//! `args` defines the command line (clap); this file runs the subcommands.

mod args;
mod listing;

pub use listing::list;

pub use args::{completions, parse, Cli, Command};

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use callout_catalog::mode::Mode;
use callout_judge::session::{self, wire_selected, Observer, Session};
use callout_world::fixture::BackendKind;

use crate::provision;
use crate::report;
use crate::runner::RunOptions;
use crate::scenario::{self, Scenario};
use crate::sut::ResponderSpec;
use crate::verdict::Report;

/// Parsed `run`/`list` options.
#[derive(Debug, Default)]
pub struct Args {
    /// Which of `run`, `list` and `matrix`.
    pub command: CatalogCommand,
    /// Filters.
    pub filters: Vec<String>,
    /// Responders.
    pub responders: Vec<ResponderSpec>,
    /// Where servers run (`--backend`).
    pub backend: BackendKind,
    /// Versions.
    pub versions: Vec<String>,
    /// Explicit server binary.
    pub nats_server: Option<PathBuf>,
    /// Scenario dir.
    pub scenarios: Option<PathBuf>,
    /// `--profile`: the responder and its identities, instead of the e2e catalog and
    /// `--responder-cmd`.
    pub profile: Option<PathBuf>,
    /// `--mode`: which half of the catalog runs.
    pub mode: Mode,
    /// Strict.
    pub strict: bool,
    /// JSON path.
    pub report_json: Option<PathBuf>,
    /// JUnit path.
    pub junit: Option<PathBuf>,
    /// Markdown path.
    pub markdown: Option<PathBuf>,
    /// `--html`: where the HTML report goes.
    pub html: Option<PathBuf>,
    /// Dry run.
    pub dry_run: bool,
    /// No color.
    pub no_color: bool,
    /// Print the transcripts of the cases matching these filters (empty string = all).
    pub transcripts: Option<String>,
    /// `--fail-on-unimplemented`.
    pub fail_on_unimplemented: bool,
    /// `--ready-timeout`.
    pub ready_timeout: Duration,
    /// `matrix --output`: where the version comparison is written.
    pub output: Option<PathBuf>,
    /// `matrix --from`: JSON reports to compare instead of running.
    pub from: Vec<PathBuf>,
    /// `--baseline`: the failures accepted for now.
    pub baseline: Option<PathBuf>,
    /// `--write-baseline`: where this run's failures go, as a baseline.
    pub write_baseline: Option<PathBuf>,
    /// `list --left-out`: also the selected cases the run would not judge, and why.
    pub left_out: bool,
}

/// The subcommands that run or list the catalog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatalogCommand {
    /// `run`.
    #[default]
    Run,
    /// `list`.
    List,
    /// `matrix`.
    Matrix,
}

impl Args {
    /// True with `--mode operator`.
    pub fn operator_mode(&self) -> bool {
        self.mode.is_operator()
    }

    /// The session the judge runs: the responders, versions, backend and mode.
    pub fn session(&self) -> Session {
        Session {
            responders: self.responders.clone(),
            versions: self.versions.clone(),
            backend: self.backend,
            nats_server: self.nats_server.clone(),
            mode: self.mode,
            strict: self.strict,
        }
    }

    /// The options the runner needs.
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            strict: self.strict,
            filters: self.filters.clone(),
            fail_on_unimplemented: self.fail_on_unimplemented,
            ready_timeout: self.ready_timeout,
        }
    }
}

/// Parses the arguments (without the program name) of `run`, `list` or `matrix`; any other
/// command is an error. The message is clap's.
pub fn parse_args(args: &[String]) -> Result<Args, String> {
    match parse(args) {
        Ok(Command::Catalog(a)) => Ok(*a),
        Ok(other) => Err(format!("not run, list or matrix: {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The e2e catalog: the files of `--scenarios DIR` when given, else the one embedded at build
/// time (see [`crate::embedded`]).
pub fn load_scenarios(explicit: Option<&Path>) -> Result<Vec<Scenario>, scenario::ScenarioError> {
    match explicit {
        Some(dir) => scenario::load_dir(dir),
        None => crate::embedded::load(),
    }
}

/// Entry point; returns the exit code. SIGINT and SIGTERM stop every server and responder
/// started, remove the scratch files and exit 130 or 143.
pub fn main(args: Vec<String>) -> i32 {
    crate::cleanup::install_signal_handlers();
    let code = main_inner(args);
    crate::cleanup::remove_all_dirs();
    code
}

fn main_inner(args: Vec<String>) -> i32 {
    let mut a = match parse(&args) {
        Ok(Command::Catalog(a)) => a,
        Ok(Command::Version) => return version_main(),
        Ok(Command::Bench(opts, targets)) => return crate::bench::main(*opts, targets),
        Ok(Command::Fuzz(opts, targets)) => return crate::fuzz::main(opts, targets),
        Ok(Command::Diff(opts)) => return crate::diff::main(*opts),
        Ok(Command::Summary(file, max_bytes)) => return summary_main(&file, max_bytes),
        Ok(Command::Completions(shell)) => {
            print!("{}", completions(shell));
            return 0;
        }
        // Help goes to stdout with 0, a usage error to stderr with 2.
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    match catalog_main(&mut a) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("callout-conformance: {e}");
            2
        }
    }
}

fn version_main() -> i32 {
    match crate::embedded::version_line() {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("callout-conformance: the embedded catalog: {e}");
            2
        }
    }
}

/// `run`, `list` and `matrix`; an error is a usage or set-up error (exit 2).
fn catalog_main(a: &mut Args) -> Result<i32, String> {
    let scenarios = load_catalog(a)?;
    // The reference's command line in operator mode is the decentralized example's.
    if a.operator_mode() {
        let config = ResponderSpec::reference();
        for r in a.responders.iter_mut() {
            if r.template == config.template {
                *r = ResponderSpec::reference_operator();
            }
        }
    }
    let opts = a.run_options();
    check_filters(a, &scenarios, &opts)?;
    let baseline = match (&a.baseline, a.command) {
        (Some(path), CatalogCommand::Run) => {
            Some(load_baseline(path, &scenarios).map_err(|e| e.to_string())?)
        }
        _ => None,
    };
    match a.command {
        CatalogCommand::List => {
            print!("{}", list_of(a, &scenarios, &opts, a.left_out));
            Ok(0)
        }
        _ if a.dry_run => {
            dry_run(a, &scenarios, &opts, baseline.as_ref());
            Ok(0)
        }
        CatalogCommand::Matrix if !a.from.is_empty() => {
            let mut outputs = open_outputs(a)?;
            let report = read_reports(&a.from)?;
            Ok(write_outputs(&report, &mut outputs, 0, None))
        }
        CatalogCommand::Run | CatalogCommand::Matrix => {
            run_main(a, &scenarios, &opts, baseline.as_ref())
        }
    }
}

/// The cases of the run: a profile's, the `--scenarios` directory's, or the embedded
/// catalog's. `list --profile` prints the profile's description first.
fn load_catalog(a: &mut Args) -> Result<Vec<Scenario>, String> {
    match &a.profile {
        Some(path) => {
            let p = crate::profile::load(path).map_err(|e| e.to_string())?;
            if a.command == CatalogCommand::List {
                print!("{}", crate::profile::describe(&p));
            }
            a.responders = vec![p.responder];
            Ok(vec![p.scenario])
        }
        None => load_scenarios(a.scenarios.as_deref()).map_err(|e| e.to_string()),
    }
}

/// A filter that matches no case, or only cases of the other mode, is an error: the run
/// would judge nothing it was asked to.
fn check_filters(a: &Args, scenarios: &[Scenario], opts: &RunOptions) -> Result<(), String> {
    let unmatched = unmatched_filters(scenarios, opts);
    if !unmatched.is_empty() {
        return Err(format!(
            "{} match{} no case; a filter is a case id prefix (e2e.perm) or a glob with * (e2e.*.1); see `callout-conformance list`",
            quoted_filters(&unmatched),
            if unmatched.len() == 1 { "es" } else { "" }
        ));
    }
    if a.command == CatalogCommand::List || a.profile.is_some() {
        return Ok(());
    }
    let elsewhere: Vec<String> = opts
        .filters
        .iter()
        .filter(|f| {
            let one = RunOptions {
                filters: vec![(*f).clone()],
                ..RunOptions::default()
            };
            let in_files = scenarios
                .iter()
                .filter(|s| a.mode.has_file(s))
                .flat_map(|s| &s.cases)
                .any(|c| one.selects(c));
            let in_wire = wire_selected(&one).iter().any(|c| a.mode.has_wire(c));
            !in_files && !in_wire
        })
        .cloned()
        .collect();
    if elsewhere.is_empty() {
        return Ok(());
    }
    let (this, other, fix) = if a.operator_mode() {
        ("operator", "config", "drop --mode operator")
    } else {
        ("config", "operator", "add --mode operator")
    };
    Err(format!(
        "{} select{} only {other}-mode cases, and this run is in {this} mode; {fix}",
        quoted_filters(&elsewhere),
        if elsewhere.len() == 1 { "s" } else { "" },
    ))
}

fn quoted_filters(filters: &[String]) -> String {
    filters
        .iter()
        .map(|f| format!("filter {f:?}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

fn dry_run(
    a: &Args,
    scenarios: &[Scenario],
    opts: &RunOptions,
    baseline: Option<&crate::baseline::Baseline>,
) {
    println!(
        "would run {} responder(s) × {} server version(s) on the {} backend:",
        a.responders.len(),
        a.versions.len(),
        a.backend.name()
    );
    for r in &a.responders {
        println!("  responder {}: {}", r.name, r.template);
    }
    if let Some(b) = baseline {
        println!("  baseline {}: {} entry(ies)", b.path().display(), b.len());
    }
    print!("{}", list_of(a, scenarios, opts, false));
}

/// [`list`] with the mode and the profile identities of `a`.
fn list_of(a: &Args, scenarios: &[Scenario], opts: &RunOptions, left_out: bool) -> String {
    let ids = a.responders.first().and_then(|r| r.identities.as_deref());
    list(scenarios, opts, a.mode, ids, left_out)
}

/// `run` and `matrix`: everything that can fail before the first case does (the report
/// files, the server binaries), then the session, the baseline, the terminal table and the
/// report files.
fn run_main(
    a: &Args,
    scenarios: &[Scenario],
    opts: &RunOptions,
    baseline: Option<&crate::baseline::Baseline>,
) -> Result<i32, String> {
    let mut outputs = open_outputs(a)?;
    for version in &a.versions {
        provision::resolve(version, a.nats_server.as_deref()).map_err(|e| e.to_string())?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let mut bars = Bars {
        mode: crate::progress::ProgressMode::detect(a.no_color),
        column: None,
    };
    let mut report = rt.block_on(session::run(&a.session(), scenarios, opts, &mut bars));
    if let Some(b) = baseline {
        b.apply(&mut report);
    }
    let color = !a.no_color && std::io::stdout().is_terminal();
    if let Some(f) = &a.transcripts {
        print!("{}", transcripts(&report, f));
    }
    print!("{}", report::terminal(&report, color));
    let code = report.exit_code();
    Ok(write_outputs(&report, &mut outputs, code, baseline))
}

/// The progress bars: one per column, fed the graded cases.
struct Bars {
    mode: crate::progress::ProgressMode,
    column: Option<crate::progress::ColumnProgress>,
}

impl Observer for Bars {
    fn column_started(&mut self, column: &str, total: usize) {
        self.column = Some(crate::progress::ColumnProgress::start(
            self.mode, column, total,
        ));
    }
    fn case_graded(&mut self, r: &crate::verdict::CaseResult) {
        if let Some(c) = self.column.as_mut() {
            c.case(&r.id, r.verdict);
        }
    }
    fn column_finished(&mut self) {
        if let Some(c) = self.column.take() {
            c.finish();
        }
    }
}

/// Writes every report file; returns `code`, raised to 2 when a file cannot be written.
fn write_outputs(
    report: &Report,
    outputs: &mut [OutputFile],
    mut code: i32,
    baseline: Option<&crate::baseline::Baseline>,
) -> i32 {
    for out in outputs.iter_mut() {
        let text = match out.kind {
            Output::Json => report::json(report),
            Output::Junit => report::junit(report),
            Output::Markdown => report::markdown(report),
            Output::Html => report::html(report),
            Output::Baseline => crate::baseline::write(report, baseline),
            Output::Compatibility => {
                let cmp = crate::matrix::compare(&report.runs);
                crate::matrix::markdown(&cmp, &crate::matrix::today_utc(), &report.tool_version)
            }
        };
        if let Err(e) = out.write(&text) {
            eprintln!(
                "callout-conformance: cannot write {} ({}): {e}",
                out.path.display(),
                out.flag
            );
            code = code.max(2);
        } else if matches!(out.kind, Output::Compatibility) {
            eprintln!("callout-conformance: wrote {}", out.path.display());
        }
    }
    code
}

/// The runs of JSON reports written by `run --report-json`, in the order given.
fn read_reports(paths: &[PathBuf]) -> Result<Report, String> {
    let mut all = Report {
        tool_version: String::new(),
        strict: false,
        runs: vec![],
        baseline: None,
    };
    for p in paths {
        let text = std::fs::read_to_string(p)
            .map_err(|e| format!("--from {}: cannot read it: {e}", p.display()))?;
        let r: Report = serde_json::from_str(&text).map_err(|e| {
            format!(
                "--from {}: not a report of run --report-json ({e}); write one with callout-conformance run --report-json FILE",
                p.display()
            )
        })?;
        if all.tool_version.is_empty() {
            all.tool_version = r.tool_version;
        }
        all.strict |= r.strict;
        all.runs.extend(r.runs);
    }
    Ok(all)
}

/// The filters that select no case, e2e or wire.
pub fn unmatched_filters(scenarios: &[Scenario], opts: &RunOptions) -> Vec<String> {
    opts.filters
        .iter()
        .filter(|f| {
            let one = RunOptions {
                filters: vec![(*f).clone()],
                ..RunOptions::default()
            };
            !scenarios
                .iter()
                .flat_map(|s| &s.cases)
                .any(|c| one.selects(c))
                && wire_selected(&one).is_empty()
        })
        .cloned()
        .collect()
}

enum Output {
    Json,
    Junit,
    Markdown,
    Html,
    Compatibility,
    Baseline,
}

/// A report file, opened (and so checked) before the run and written after it.
struct OutputFile {
    flag: &'static str,
    path: PathBuf,
    kind: Output,
    file: std::fs::File,
}

impl OutputFile {
    fn write(&mut self, text: &str) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(text.as_bytes())?;
        self.file.flush()
    }
}

/// Opens every report file for writing, without truncating (the old report stays until the
/// new one replaces it), so that an unwritable path fails before the first case.
/// `p` as the file it names: canonical when it exists, else its canonical directory joined
/// with its name, so that `./x.html` and `x.html`, or a path through a symlink, compare equal.
fn same_file_key(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.join(p.file_name().unwrap_or_default())
}

/// An output that would overwrite an input or another output is refused before anything is
/// written (`--write-baseline` over the `--baseline` file stays allowed: it keeps the reasons).
fn check_outputs(a: &Args, outputs: &[(&'static str, &Option<PathBuf>)]) -> Result<(), String> {
    let mut inputs: Vec<(&str, PathBuf)> = Vec::new();
    if let Some(p) = &a.profile {
        inputs.push(("--profile", same_file_key(p)));
    }
    if let Some(p) = &a.baseline {
        inputs.push(("--baseline", same_file_key(p)));
    }
    for p in &a.from {
        inputs.push(("--from", same_file_key(p)));
    }
    let mut seen: Vec<(&str, PathBuf)> = Vec::new();
    for (flag, path) in outputs {
        let Some(p) = path else { continue };
        let key = same_file_key(p);
        if let Some((other, _)) = seen.iter().find(|(_, k)| *k == key) {
            return Err(format!(
                "{flag} {}: {other} writes the same file; give each report its own file",
                p.display()
            ));
        }
        let overwritten = inputs.iter().find(|(input, k)| {
            *k == key && !(*flag == "--write-baseline" && *input == "--baseline")
        });
        if let Some((input, _)) = overwritten {
            return Err(format!("{flag} {}: that is the {input} file, which the report would overwrite; write the report elsewhere", p.display()));
        }
        seen.push((flag, key));
    }
    Ok(())
}

fn open_outputs(a: &Args) -> Result<Vec<OutputFile>, String> {
    check_outputs(
        a,
        &[
            ("--report-json", &a.report_json),
            ("--junit", &a.junit),
            ("--markdown", &a.markdown),
            ("--html", &a.html),
            ("--output", &a.output),
            ("--write-baseline", &a.write_baseline),
        ],
    )?;
    let mut out = Vec::new();
    for (flag, path, kind) in [
        ("--report-json", &a.report_json, Output::Json),
        ("--junit", &a.junit, Output::Junit),
        ("--markdown", &a.markdown, Output::Markdown),
        ("--html", &a.html, Output::Html),
        ("--output", &a.output, Output::Compatibility),
        ("--write-baseline", &a.write_baseline, Output::Baseline),
    ] {
        let Some(p) = path else { continue };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(p)
            .map_err(|e| {
                format!(
                    "{flag} {}: cannot open it for writing: {e}; give a path in a writable directory",
                    p.display()
                )
            })?;
        out.push(OutputFile {
            flag,
            path: p.clone(),
            kind,
            file,
        });
    }
    Ok(out)
}

/// The step-by-step transcripts of the cases matching `filter` (empty = all).
pub fn transcripts(report: &Report, filter: &str) -> String {
    let mut out = String::new();
    for run in &report.runs {
        out.push_str(&format!("== transcripts: {} ==\n", run.column()));
        for r in run
            .results
            .iter()
            .filter(|r| filter.is_empty() || callout_leaves::text::matches_filter(&r.id, filter))
        {
            out.push_str(&format!("{} {} — {}\n", r.verdict.label(), r.id, r.title));
            for l in &r.transcript {
                // Responder text reaches transcripts: no control or bidi character of it
                // reaches the terminal as such.
                out.push_str(&format!("    {}\n", callout_leaves::text::visible(l)));
            }
        }
        out.push('\n');
    }
    out
}

/// Loads `--baseline`, checking every id against the whole catalog (e2e and wire, whatever
/// the filters select).
fn load_baseline(
    path: &Path,
    scenarios: &[Scenario],
) -> Result<crate::baseline::Baseline, crate::baseline::BaselineError> {
    let ids: std::collections::HashSet<&str> = scenarios
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.id.as_str()))
        .chain(crate::wire::catalog().map(|c| c.id))
        .collect();
    crate::baseline::Baseline::load(path, |id| ids.contains(id))
}

/// `summary REPORT.json [--max-bytes N]`: prints [`report::summary`] of a JSON report (the
/// format `--report-json` writes). Exit 0 when it printed one, 2 when the file cannot be read.
fn summary_main(file: &Path, max_bytes: usize) -> i32 {
    let parsed = std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<Report>(&t).map_err(|e| e.to_string()));
    match parsed {
        Ok(r) => {
            print!("{}", report::summary(&r, max_bytes));
            0
        }
        Err(e) => {
            eprintln!(
                "callout-conformance: cannot read the JSON report {}: {e} (write one with run --report-json FILE)",
                file.display()
            );
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Args, String> {
        parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_and_columns() {
        let a = p(&["run"]).unwrap();
        assert_eq!(a.responders.len(), 1);
        assert_eq!(a.responders[0].name, "reference");
        assert_eq!(a.versions, vec!["2.15.1"]);
        let a = p(&[
            "run",
            "e2e.seed",
            "--responder",
            "reference",
            "--responder-cmd",
            "./svc {url}",
            "--server-version",
            "2.10.26,2.15.1",
        ])
        .unwrap();
        assert_eq!(
            a.responders
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            vec!["reference", "svc"]
        );
        assert_eq!(a.filters, vec!["e2e.seed"]);
        assert_eq!(a.versions.len(), 2);
    }

    #[test]
    fn matrix_defaults_to_five_versions_and_docs_compatibility_md() {
        let a = p(&["matrix"]).unwrap();
        assert_eq!(
            a.versions,
            vec!["2.10.26", "2.11.11", "2.12.8", "2.14.6", "2.15.1"]
        );
        assert_eq!(
            a.output.as_deref(),
            Some(Path::new("docs/compatibility.md"))
        );
        let a = p(&[
            "matrix",
            "--server-version",
            "2.10.26,2.15.1",
            "--output",
            "x.md",
            "--from",
            "a.json",
            "--from",
            "b.json",
        ])
        .unwrap();
        assert_eq!(a.versions, vec!["2.10.26", "2.15.1"]);
        assert_eq!(a.output.as_deref(), Some(Path::new("x.md")));
        assert_eq!(a.from.len(), 2);
        assert_eq!(p(&["run"]).unwrap().output, None);
        assert!(p(&["run", "--output", "x.md"])
            .unwrap_err()
            .contains("unexpected argument '--output'"));
    }

    #[test]
    fn matrix_from_reads_back_the_runs_of_json_reports_in_order() {
        let dir = std::env::temp_dir().join(format!("matrix-from-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let r = crate::report::sample::report();
        let (a, b) = (dir.join("a.json"), dir.join("b.json"));
        std::fs::write(&a, report::json(&r)).unwrap();
        let mut second = r.clone();
        second.runs.truncate(1);
        second.runs[0].server_version = "2.14.6".into();
        std::fs::write(&b, report::json(&second)).unwrap();
        let both = read_reports(&[a.clone(), b]).unwrap();
        let mut want = r.runs.clone();
        want.extend(second.runs);
        assert_eq!(both.runs, want);
        assert_eq!(both.tool_version, r.tool_version);
        std::fs::write(&a, "{}").unwrap();
        let e = read_reports(&[a]).unwrap_err();
        assert!(e.contains("a.json") && e.contains("--report-json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn usage_errors_are_explained() {
        assert!(p(&["run", "--backend", "vm"])
            .unwrap_err()
            .contains("[possible values: process, container]"));
        assert!(p(&["run", "--server-version", "latest"])
            .unwrap_err()
            .contains("not a version"));
        assert!(p(&["run", "--frobnicate"])
            .unwrap_err()
            .contains("unexpected argument '--frobnicate'"));
        assert!(p(&["run", "--responder-cmd", "'unclosed"])
            .unwrap_err()
            .contains("unclosed"));
    }

    #[test]
    fn columns_can_be_named() {
        let names = |a: &[&str]| {
            p(a).map(|a| {
                a.responders
                    .iter()
                    .map(|r| (r.name.clone(), r.template.clone()))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            names(&[
                "run",
                "--responder-cmd",
                "mine=./svc {url}",
                "--name",
                "b",
                "--responder-cmd",
                "./svc -x"
            ])
            .unwrap(),
            vec![
                ("mine".into(), "./svc {url}".into()),
                ("b".into(), "./svc -x".into())
            ]
        );
        // Not a name: a slash before the '=', or a blank after it.
        assert_eq!(
            names(&["run", "--responder-cmd", "/opt/a=b/svc -x"]).unwrap()[0].0,
            "svc"
        );
        assert_eq!(
            names(&["run", "--responder-cmd", "x= ./svc"]).unwrap()[0].1,
            "x= ./svc"
        );
        // Derived names are numbered, given ones never are; a given one used twice is an error.
        assert_eq!(
            names(&[
                "run",
                "--name",
                "svc",
                "--responder-cmd",
                "./a",
                "--responder-cmd",
                "./svc"
            ])
            .unwrap(),
            vec![
                ("svc".into(), "./a".into()),
                ("svc#2".into(), "./svc".into())
            ]
        );
        assert!(p(&[
            "run",
            "--responder-cmd",
            "a=./x",
            "--responder-cmd",
            "a=./y"
        ])
        .unwrap_err()
        .contains("used twice"));
        assert!(p(&["run", "--responder-cmd", "./x", "--name", "late"])
            .unwrap_err()
            .contains("names no --responder-cmd"));
        assert!(p(&["run", "--name", "a b", "--responder-cmd", "./x"])
            .unwrap_err()
            .contains("letters"));
    }

    #[test]
    fn values_that_look_like_options_and_bad_seconds_are_errors() {
        let e = p(&["run", "--junit", "--no-color"]).unwrap_err();
        assert!(
            e.contains("a value is required for '--junit <FILE>'"),
            "{e}"
        );
        let e = p(&["run", "--markdown=--x"]).unwrap_err();
        assert!(e.contains("--markdown"), "{e}");
        let e = p(&["run", "--html", "--strict"]).unwrap_err();
        assert!(e.contains("a value is required for '--html <FILE>'"), "{e}");
        assert_eq!(
            p(&["run", "--html=r.html"]).unwrap().html,
            Some(PathBuf::from("r.html"))
        );
        for bad in ["0", "-1", "nan", "inf", "x", "4000"] {
            let e = p(&["run", "--ready-timeout", bad]).unwrap_err();
            assert!(e.contains("--ready-timeout"), "{bad}: {e}");
        }
        let a = p(&["run", "--ready-timeout", "2.5", "--fail-on-unimplemented"]).unwrap();
        let o = a.run_options();
        assert_eq!(o.ready_timeout, Duration::from_millis(2500));
        assert!(o.fail_on_unimplemented);
        assert_eq!(
            p(&["run"]).unwrap().run_options().ready_timeout,
            Duration::from_secs(30)
        );
    }

    #[test]
    fn report_files_are_opened_before_the_run() {
        let dir = std::env::temp_dir().join(format!("cli-outputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let html = dir.join("r.html");
        let a = p(&["run", "--html", html.to_str().unwrap()]).unwrap();
        let outputs = open_outputs(&a).unwrap();
        assert_eq!(outputs.len(), 1);
        assert!(matches!(outputs[0].kind, Output::Html));
        assert!(html.exists(), "opened, so checked, before the run");
        let missing = dir.join("no-such-dir/r.html");
        let a = p(&["run", "--html", missing.to_str().unwrap()]).unwrap();
        let e = open_outputs(&a).err().unwrap();
        assert!(
            e.starts_with("--html ") && e.contains("cannot open it for writing"),
            "{e}"
        );
        let same = html.to_str().unwrap();
        let a = p(&["run", "--junit", same, "--html", same]).unwrap();
        let e = open_outputs(&a).err().unwrap();
        assert!(e.contains("--html") && e.contains("same file"), "{e}");
        // The same file through another spelling of its path.
        let dotted = format!("{}/./r.html", dir.display());
        let a = p(&["run", "--html", same, "--junit", &dotted]).unwrap();
        let e = open_outputs(&a).err().unwrap();
        assert!(
            e.contains("--junit") && e.contains("--html") && e.contains("same file"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn transcripts_show_a_responders_bidi_and_escape_characters_escaped() {
        let mut r = crate::report::sample::report();
        r.runs[0].results[0].transcript = vec!["error \"x\u{202e}gpj.exe\" \u{1b}[2J".into()];
        let t = transcripts(&r, "");
        assert!(
            t.contains("x\\u{202e}gpj.exe") && t.contains("\\u{1b}[2J"),
            "{t}"
        );
        assert!(!t.contains('\u{202e}') && !t.contains('\u{1b}'));
    }

    #[test]
    fn one_server_binary_for_several_versions_is_refused() {
        let e = p(&[
            "matrix",
            "--nats-server",
            "/bin/true",
            "--server-version",
            "2.10.26,2.15.1",
        ])
        .err()
        .unwrap();
        assert!(
            e.contains("--nats-server /bin/true is one binary") && e.contains("2.10.26, 2.15.1"),
            "{e}"
        );
        let e = p(&["matrix", "--nats-server", "/bin/true"]).err().unwrap();
        assert!(e.contains("5 server versions"), "{e}");
        assert!(p(&[
            "run",
            "--nats-server",
            "/bin/true",
            "--server-version",
            "2.15.1"
        ])
        .is_ok());
    }

    #[test]
    fn a_report_never_overwrites_an_input() {
        let dir = std::env::temp_dir().join(format!("cli-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let keep = dir.join("keep.toml");
        std::fs::write(&keep, "[known]\n").unwrap();
        let k = keep.to_str().unwrap();
        for (flag, input) in [("--report-json", "--baseline"), ("--html", "--profile")] {
            let a = p(&["run", flag, k, input, k]).unwrap();
            let e = open_outputs(&a).err().unwrap();
            assert!(
                e.starts_with(flag) && e.contains(&format!("that is the {input} file")),
                "{e}"
            );
            assert_eq!(std::fs::read_to_string(&keep).unwrap(), "[known]\n");
        }
        // Writing the baseline over the baseline it read stays allowed, as documented.
        let a = p(&["run", "--baseline", k, "--write-baseline", k]).unwrap();
        assert!(open_outputs(&a).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fail_on_unimplemented_grades_like_strict() {
        use crate::grade::{grade, Outcome};
        use crate::verdict::{Level, Verdict};
        let a = p(&["run", "--fail-on-unimplemented"]).unwrap();
        let g = a.run_options().grading();
        let unimplemented = Outcome::Unimplemented("no xkey".into());
        assert_eq!(grade(Level::Must, &unimplemented, g), Verdict::Fail);
        let breach = Outcome::breached("e", "a");
        assert_eq!(grade(Level::Should, &breach, g), Verdict::NonStrict);
        let plain = RunOptions::default().grading();
        assert_eq!(
            grade(Level::Must, &unimplemented, plain),
            Verdict::Unimplemented
        );
    }
}
