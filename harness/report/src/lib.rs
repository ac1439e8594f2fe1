//! Report writers: one [`Report`] rendered as JSON (with Autobahn's per-column index), JUnit XML
//! for CI, Markdown for review, a self-contained HTML page for CI artifacts, and an aligned
//! terminal table with h2spec-style failure blocks, and a short failures-only summary for a CI
//! job page, one writer per file. Every writer is pure
//! and returns the text; the caller decides where it goes. This module holds what they share:
//! the columns, the rows, the totals.

use std::collections::{BTreeMap, BTreeSet};

use callout_leaves::verdict::{CaseResult, Level, Report, ResponderRun, Verdict};

/// Titles longer than this are cut (with `…`) in the terminal table.
const TITLE_WIDTH: usize = 60;
/// At most this many trailing lines of a responder's stderr go into the Markdown report.
const STDERR_TAIL_LINES: usize = 50;
/// The order in which totals list verdicts.
const VERDICT_ORDER: [Verdict; 7] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::Known,
    Verdict::NonStrict,
    Verdict::Informational,
    Verdict::Unimplemented,
    Verdict::Skipped,
];

pub mod baseline;
mod html;
mod json;
mod junit;
mod markdown;
pub mod matrix;
pub mod progress;
mod summary;
mod terminal;

pub use html::html;
pub use json::json;
pub use junit::junit;
pub use markdown::markdown;
pub use summary::{summary, DEFAULT_MAX_BYTES as SUMMARY_MAX_BYTES};
pub use terminal::{progress_line, terminal};

// ---------------------------------------------------------------------------------------------
// Shared layout
// ---------------------------------------------------------------------------------------------

/// One heading per run, `responder @ version (backend)`. A heading that repeats gets ` #2`,
/// ` #3`… so that the JSON maps keyed by column never merge two runs.
fn columns(report: &Report) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    report
        .runs
        .iter()
        .map(|run| {
            let base = run.column();
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                base
            } else {
                format!("{base} #{n}")
            }
        })
        .collect()
}

/// The table's rows: every case id of every run, in the order first seen, with its title.
fn case_rows(report: &Report) -> Vec<(&str, &str)> {
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for case in report.runs.iter().flat_map(|run| &run.results) {
        if seen.insert(case.id.as_str()) {
            rows.push((case.id.as_str(), case.title.as_str()));
        }
    }
    rows
}

/// The level of case `id` (the same in every run: it belongs to the case).
fn level_of(report: &Report, id: &str) -> Level {
    report
        .runs
        .iter()
        .flat_map(|run| &run.results)
        .find(|r| r.id == id)
        .map(|r| r.level)
        .unwrap_or_default()
}

fn verdict_of(run: &ResponderRun, id: &str) -> Option<Verdict> {
    run.results.iter().find(|r| r.id == id).map(|r| r.verdict)
}

/// The totals cell of one column: `SETUP ERROR` if set-up failed, then the count of each
/// verdict that occurs (`3 PASS, 1 FAIL, …`). `brief` keeps only PASS, FAIL and KNOWN, for
/// the terminal, whose per-run summary lines give the rest.
fn totals_cell(run: &ResponderRun, brief: bool) -> String {
    let mut parts = Vec::new();
    if run.setup_error.is_some() {
        parts.push("SETUP ERROR".to_string());
    }
    let shown: &[Verdict] = if brief {
        &VERDICT_ORDER[..3]
    } else {
        &VERDICT_ORDER
    };
    for &v in shown {
        let n = run.count(v);
        if n > 0 {
            parts.push(format!("{n} {}", v.label()));
        }
    }
    if parts.is_empty() {
        "no cases".to_string()
    } else {
        parts.join(", ")
    }
}

/// A case's figures on one line, `connects 2000, admitted 2000, connect p99 10.5 ms`, or
/// `None` when it measured nothing.
pub fn figures_line(case: &CaseResult) -> Option<String> {
    (!case.figures.is_empty()).then(|| {
        case.figures
            .iter()
            .map(|f| f.text())
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// `id title`, or just the id when the title is empty.
fn heading(case: &CaseResult) -> String {
    if case.title.is_empty() {
        case.id.clone()
    } else {
        format!("{} {}", case.id, case.title)
    }
}

/// The requirement with its level in front and its citation in parentheses.
fn requirement(case: &CaseResult) -> String {
    let req = format!("[{}] {}", case.level.label(), case.requirement);
    if case.cite.is_empty() {
        req
    } else {
        format!("{req} ({})", case.cite)
    }
}

/// A case's class: its id up to the last dot (`e2e.perm.3` → `e2e.perm`).
fn group(id: &str) -> &str {
    id.rsplit_once('.').map_or(id, |(group, _)| group)
}

fn failures(run: &ResponderRun) -> impl Iterator<Item = &CaseResult> {
    run.results.iter().filter(|r| r.verdict == Verdict::Fail)
}

/// The failures the `--baseline` file accepts.
fn known(run: &ResponderRun) -> impl Iterator<Item = &CaseResult> {
    run.results.iter().filter(|r| r.verdict == Verdict::Known)
}

/// `remove it from FILE`, or `from [responder.NAME] in FILE`, for a baseline entry that
/// passes now; and what it does now (`passes now`, `no longer fails (NON-STRICT)`).
fn passes_now_line(file: &str, p: &callout_leaves::verdict::PassesNow) -> String {
    let now = if p.verdict == Verdict::Pass {
        "passes now".to_string()
    } else {
        format!("no longer fails ({})", p.verdict.label())
    };
    let from = if p.table == "known" {
        file.to_string()
    } else {
        format!("[{}] in {file}", p.table)
    };
    format!("{} {now}; remove it from {from}", p.id)
}

/// A report with two columns and one case of every verdict, shared by the writers' tests.
#[doc(hidden)]
pub mod sample {
    use super::*;

    pub const REF: &str = "reference @ 2.15.1 (process)";
    pub const MUTANT: &str = "mutant @ 2.10.26 (container)";
    pub const LONG_TITLE: &str =
        "a very long title that goes on and on well past the sixty character limit of the table";

    pub fn case(id: &str, title: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: title.into(),
            requirement: format!("requirement of {id}"),
            cite: "protocol.md §1.7".into(),
            level: Level::Must,
            rationale: format!("rationale of {id}"),
            verdict,
            baseline: None,
            expected: "expected thing".into(),
            actual: "actual thing".into(),
            transcript: Vec::new(),
            duration_ms: 10,
            figures: vec![],
            cause: None,
        }
    }

    /// A failure the baseline accepts.
    pub fn known_case() -> CaseResult {
        let mut known = case("wire.resp.8", "resp claims", Verdict::Known);
        known.baseline = Some("resp lands in <1.4>".into());
        known
    }

    pub fn report() -> Report {
        let mut fail = case("e2e.perm.3", "bob cannot publish to test", Verdict::Fail);
        fail.requirement = "publish to <test> & \"quote\" 'apos' is denied".into();
        fail.expected = "-ERR 'Permissions Violation' & <close>".into();
        fail.actual = "message delivered\u{1b}[31m\u{0}".into();
        fail.transcript = vec![
            "CONNECT bob".into(),
            "PUB test \"hi\" <&>".into(),
            "```".into(),
        ];
        fail.duration_ms = 1500;
        let reference = ResponderRun {
            responder: "reference".into(),
            command: "callout-responder --seed {issuer_seed}".into(),
            server_version: "2.15.1".into(),
            backend: "process".into(),
            results: vec![
                case("e2e.perm.1", "alice can publish", Verdict::Pass),
                fail,
                case("e2e.perm.4", "pipes | in | title", Verdict::NonStrict),
                case("wire.xkey.1", LONG_TITLE, Verdict::Unimplemented),
                case(
                    "wire.drop.1",
                    "drop instead of error",
                    Verdict::Informational,
                ),
                case("e2e.perm.5", "skipped case", Verdict::Skipped),
                known_case(),
            ],
            responder_stderr: String::new(),
            stderr: vec![],
            restarts: 0,
            setup_error: None,
        };
        let mutant = ResponderRun {
            responder: "mutant".into(),
            command: "callout-mutant".into(),
            server_version: "2.10.26".into(),
            backend: "container".into(),
            results: Vec::new(),
            responder_stderr: "starting\npanic: <boom>".into(),
            stderr: vec![],
            restarts: 2,
            setup_error: Some("nats-server did not start: <timeout> & more".into()),
        };
        Report {
            tool_version: "0.1.0".into(),
            strict: false,
            runs: vec![reference, mutant],
            baseline: Some(callout_leaves::verdict::BaselineSummary {
                file: "ci/baseline.toml".into(),
                known: 1,
                passes_now: vec![
                    callout_leaves::verdict::PassesNow {
                        id: "e2e.perm.1".into(),
                        table: "known".into(),
                        verdict: Verdict::Pass,
                    },
                    callout_leaves::verdict::PassesNow {
                        id: "e2e.perm.4".into(),
                        table: "responder.mine".into(),
                        verdict: Verdict::NonStrict,
                    },
                ],
            }),
        }
    }
}

#[cfg(test)]
mod figure_tests {
    use super::sample::*;
    use super::*;
    use callout_leaves::verdict::Figure;

    #[test]
    fn figures_reach_every_writer_and_stay_out_when_there_are_none() {
        let plain = json(&report());
        assert!(!plain.contains("\"figures\""), "no empty figures lists");
        let mut r = report();
        r.runs[0].results[1].figures = vec![
            Figure::count("admitted", 2000),
            Figure::ms("connect p99", std::time::Duration::from_micros(10_480)),
        ];
        let line = "admitted 2000, connect p99 10.5 ms";
        assert_eq!(figures_line(&r.runs[0].results[1]).as_deref(), Some(line));
        let t = terminal(&r, false);
        assert!(
            t.contains(&format!("FIGURES e2e.perm.3   [{REF}]\n  {line}")),
            "{t}"
        );
        let m = markdown(&r);
        assert!(m.contains(&format!("## Figures\n\n### {REF}\n\n| Case | Figures |\n| --- | --- |\n| `e2e.perm.3` | {line} |")), "{m}");
        assert!(html(&r).contains(&format!("<dt>Figures</dt><dd>{line}</dd>")));
        let j: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(
            j["runs"][0]["results"][1]["figures"][1],
            serde_json::json!({"name": "connect p99", "value": 10.5, "unit": "ms"})
        );
    }
}
