//! The session loop: every responder on every server version, each scenario file of the
//! run's mode and then the wire catalog, into one [`Report`]. The loop reports each graded
//! case to an [`Observer`] (the progress bar), which prints and never judges.

use std::path::PathBuf;

use callout_catalog::mode::Mode;
use callout_catalog::scenario::Scenario;
use callout_catalog::wire::{self, WireCase};
use callout_leaves::verdict::{CaseResult, Report, ResponderRun, StderrTail};
use callout_world::fixture::BackendKind;
use callout_world::provision;
use callout_world::sut::ResponderSpec;

use crate::runner::{self, RunOptions, ScenarioOutcome};

/// Who is judged, where and how.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The responders, one column each.
    pub responders: Vec<ResponderSpec>,
    /// The nats-server versions.
    pub versions: Vec<String>,
    /// Where servers run.
    pub backend: BackendKind,
    /// An explicit server binary (`--nats-server`), instead of provisioning one.
    pub nats_server: Option<PathBuf>,
    /// Which half of the catalog runs.
    pub mode: Mode,
    /// `--strict`, recorded in the report.
    pub strict: bool,
}

/// Follows a session as it goes: a column starts, its cases end one by one, it finishes.
pub trait Observer: Send {
    /// A column (one responder on one server) starts, with this many cases to run.
    fn column_started(&mut self, column: &str, total: usize);
    /// A case was graded.
    fn case_graded(&mut self, result: &CaseResult);
    /// The column is done.
    fn column_finished(&mut self);
}

/// An observer that watches nothing.
pub struct Unobserved;

impl Observer for Unobserved {
    fn column_started(&mut self, _: &str, _: usize) {}
    fn case_graded(&mut self, _: &CaseResult) {}
    fn column_finished(&mut self) {}
}

/// The wire cases the filters select.
pub fn wire_selected(opts: &RunOptions) -> Vec<&'static WireCase> {
    wire::catalog().filter(|c| opts.selects_id(c.id)).collect()
}

/// Runs every responder on every version; returns the report.
pub async fn run(
    s: &Session,
    scenarios: &[Scenario],
    opts: &RunOptions,
    observer: &mut (dyn Observer + Send),
) -> Report {
    let mut report = Report {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        strict: s.strict,
        runs: vec![],
        baseline: None,
    };
    // A mode's files and wire cases only: operator-mode cases need the operator-mode
    // responder command (a profile is always config mode).
    let scenarios: Vec<&Scenario> = scenarios.iter().filter(|f| s.mode.has_file(f)).collect();
    let wire: Vec<_> = wire_selected(opts)
        .into_iter()
        .filter(|c| s.mode.has_wire(c))
        .collect();
    let total: usize = scenarios
        .iter()
        .map(|f| f.cases.iter().filter(|c| opts.selects(c)).count())
        .sum::<usize>()
        + wire.len();
    let backend = match s.backend.start() {
        Ok(b) => b,
        Err(e) => {
            for r in &s.responders {
                let run = empty_run(r, "-", s.backend.name(), Some(e.clone()));
                report.runs.push(run);
            }
            return report;
        }
    };
    for version in &s.versions {
        let bin = match provision::resolve(version, s.nats_server.as_deref()) {
            Ok(b) => b,
            Err(e) => {
                for r in &s.responders {
                    let run = empty_run(r, version, s.backend.name(), Some(e.to_string()));
                    report.runs.push(run);
                }
                continue;
            }
        };
        for r in &s.responders {
            let mut run = empty_run(r, &bin.version, backend.name(), None);
            observer.column_started(&run.column(), total);
            let mut progress = |c: &CaseResult| observer.case_graded(c);
            for f in &scenarios {
                let out =
                    runner::run_scenario(f, backend.as_ref(), &bin, r, opts, &mut progress).await;
                let source = f
                    .path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                merge(&mut run, out, Some(source));
            }
            if !wire.is_empty() {
                let operator = s.mode.is_operator();
                let out = crate::phase::run_wire(
                    backend.as_ref(),
                    &bin,
                    r,
                    opts,
                    operator,
                    &mut progress,
                )
                .await;
                run.restarts += out.restarts;
                let last = out.stderr.last().map(|c| c.text.clone());
                merge(&mut run, out.outcome, None);
                run.stderr.extend(out.stderr);
                if let Some(last) = last.filter(|t| !t.is_empty()) {
                    run.responder_stderr = last;
                }
            }
            observer.column_finished();
            report.runs.push(run);
        }
    }
    report
}

fn merge(run: &mut ResponderRun, out: ScenarioOutcome, source: Option<String>) {
    run.results.extend(out.results);
    if !out.stderr.is_empty() {
        if let Some(source) = source {
            run.stderr.push(StderrTail {
                source,
                text: out.stderr.clone(),
            });
        }
        run.responder_stderr = out.stderr;
    }
    if let Some(e) = out.setup_error {
        let prev = run.setup_error.take();
        run.setup_error = Some(match prev {
            Some(p) => format!("{p}\n{e}"),
            None => e,
        });
    }
}

fn empty_run(r: &ResponderSpec, version: &str, backend: &str, err: Option<String>) -> ResponderRun {
    ResponderRun {
        responder: r.name.clone(),
        command: r.template.clone(),
        server_version: version.into(),
        backend: backend.into(),
        results: vec![],
        responder_stderr: String::new(),
        stderr: vec![],
        restarts: 0,
        setup_error: err,
    }
}
