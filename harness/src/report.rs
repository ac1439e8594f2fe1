//! Report writers: one [`Report`] rendered as JSON (with Autobahn's per-column index), JUnit XML
//! for CI, Markdown for review, and an aligned terminal table with h2spec-style failure blocks.
//! Every writer is pure and returns the text; the caller decides where it goes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::verdict::{CaseResult, Level, Report, ResponderRun, Verdict};

/// Titles longer than this are cut (with `…`) in the terminal table.
const TITLE_WIDTH: usize = 60;
/// At most this many trailing lines of a responder's stderr go into the Markdown report.
const STDERR_TAIL_LINES: usize = 50;
/// The order in which totals list verdicts.
const VERDICT_ORDER: [Verdict; 6] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::NonStrict,
    Verdict::Informational,
    Verdict::Unimplemented,
    Verdict::Skipped,
];

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
/// verdict that occurs (`3 PASS, 1 FAIL, …`). `brief` keeps only PASS and FAIL, for the
/// terminal, whose per-run summary lines give the rest.
fn totals_cell(run: &ResponderRun, brief: bool) -> String {
    let mut parts = Vec::new();
    if run.setup_error.is_some() {
        parts.push("SETUP ERROR".to_string());
    }
    let shown: &[Verdict] = if brief {
        &VERDICT_ORDER[..2]
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

fn failures(run: &ResponderRun) -> impl Iterator<Item = &CaseResult> {
    run.results.iter().filter(|r| r.verdict == Verdict::Fail)
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct JsonReport<'a> {
    tool_version: &'a str,
    strict: bool,
    summary: BTreeMap<&'a str, Summary>,
    runs: &'a [ResponderRun],
    index: BTreeMap<&'a str, BTreeMap<&'a str, IndexEntry>>,
}

/// Counts per verdict; the keys are the verdicts' JSON names.
#[derive(Serialize)]
struct Summary {
    pass: usize,
    fail: usize,
    #[serde(rename = "non-strict")]
    non_strict: usize,
    informational: usize,
    unimplemented: usize,
    skipped: usize,
}

impl Summary {
    fn of(run: &ResponderRun) -> Summary {
        Summary {
            pass: run.count(Verdict::Pass),
            fail: run.count(Verdict::Fail),
            non_strict: run.count(Verdict::NonStrict),
            informational: run.count(Verdict::Informational),
            unimplemented: run.count(Verdict::Unimplemented),
            skipped: run.count(Verdict::Skipped),
        }
    }
}

#[derive(Serialize)]
struct IndexEntry {
    verdict: Verdict,
    level: Level,
    duration_ms: u64,
}

/// The report as pretty JSON: `tool_version`, `strict`, `summary` (column → counts per
/// verdict), `runs` (the full [`ResponderRun`]s) and Autobahn's `index` (column → case id →
/// `{verdict, duration_ms}`), so CI can look up one case of one responder directly. Keys come
/// out in a fixed order: the top level as listed, maps sorted.
pub fn json(report: &Report) -> String {
    let columns = columns(report);
    let mut summary = BTreeMap::new();
    let mut index = BTreeMap::new();
    for (column, run) in columns.iter().zip(&report.runs) {
        summary.insert(column.as_str(), Summary::of(run));
        let cases = run
            .results
            .iter()
            .map(|r| {
                (
                    r.id.as_str(),
                    IndexEntry {
                        verdict: r.verdict,
                        level: r.level,
                        duration_ms: r.duration_ms,
                    },
                )
            })
            .collect();
        index.insert(column.as_str(), cases);
    }
    let doc = JsonReport {
        tool_version: &report.tool_version,
        strict: report.strict,
        summary,
        runs: &report.runs,
        index,
    };
    // Every map above has string keys and every value is plain data, so this cannot fail.
    let mut out = serde_json::to_string_pretty(&doc).expect("a report always serializes to JSON");
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// JUnit XML
// ---------------------------------------------------------------------------------------------

/// Whether XML 1.0 allows `c` at all (Rust `char`s are never surrogates).
fn xml_char_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes markup characters and drops characters XML 1.0 forbids. In attributes, tabs and line
/// breaks become character references so parsers do not fold them into spaces.
fn xml_escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c if xml_char_allowed(c) => out.push(c),
            _ => {}
        }
    }
    out
}

fn attr(s: &str) -> String {
    xml_escape(s, true)
}

fn text(s: &str) -> String {
    xml_escape(s, false)
}

/// Milliseconds as JUnit's seconds, `1.234`.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// A case's class: its id up to the last dot (`e2e.perm.3` → `e2e.perm`).
fn group(id: &str) -> &str {
    id.rsplit_once('.').map_or(id, |(group, _)| group)
}

#[derive(Default)]
struct SuiteCounts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time_ms: u64,
}

impl SuiteCounts {
    fn of(run: &ResponderRun) -> SuiteCounts {
        let setup = usize::from(run.setup_error.is_some());
        SuiteCounts {
            tests: run.results.len() + setup,
            failures: run.count(Verdict::Fail),
            errors: setup,
            skipped: run.count(Verdict::Skipped) + run.count(Verdict::Unimplemented),
            time_ms: run.results.iter().map(|r| r.duration_ms).sum(),
        }
    }

    fn add(&mut self, other: &SuiteCounts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
        self.time_ms += other.time_ms;
    }

    fn attributes(&self) -> String {
        format!(
            r#"tests="{}" failures="{}" errors="{}" skipped="{}" time="{}""#,
            self.tests,
            self.failures,
            self.errors,
            self.skipped,
            seconds(self.time_ms)
        )
    }
}

fn junit_case(out: &mut String, case: &CaseResult) {
    let mut inner = String::new();
    match case.verdict {
        Verdict::Pass => {}
        Verdict::Fail => {
            let body = format!(
                "expected: {}\nactual: {}\nrequirement: {}\nwhy it matters: {}",
                case.expected,
                case.actual,
                requirement(case),
                case.rationale
            );
            inner.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                attr(&case.requirement),
                text(&body)
            ));
            if !case.transcript.is_empty() {
                let transcript = text(&case.transcript.join("\n"));
                inner.push_str(&format!("      <system-out>{transcript}</system-out>\n"));
            }
        }
        Verdict::Skipped | Verdict::Unimplemented => {
            let message = format!("{}: {}", case.verdict.label(), case.actual);
            inner.push_str(&format!(
                "      <skipped message=\"{}\"/>\n",
                attr(&message)
            ));
        }
        Verdict::NonStrict | Verdict::Informational => {
            let body = format!(
                "{}: {}\nrequirement: {}",
                case.verdict.label(),
                case.actual,
                requirement(case)
            );
            inner.push_str(&format!("      <system-out>{}</system-out>\n", text(&body)));
        }
    }
    out.push_str(&format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
        attr(group(&case.id)),
        attr(&heading(case)),
        seconds(case.duration_ms)
    ));
    if inner.is_empty() {
        out.push_str("/>\n");
    } else {
        out.push_str(">\n");
        out.push_str(&inner);
        out.push_str("    </testcase>\n");
    }
}

/// The report as JUnit XML: one `<testsuite>` per run, named by its column, one `<testcase>`
/// per case (`classname` is the id's group, `name` is `id title`). FAIL becomes `<failure>`
/// with expected, actual and the cited requirement; SKIPPED and UNIMPLEMENTED become
/// `<skipped/>`; NON-STRICT and INFO pass with a `<system-out>` naming the verdict; a run's
/// set-up error becomes a `setup` test case with an `<error>`.
pub fn junit(report: &Report) -> String {
    let columns = columns(report);
    let mut total = SuiteCounts::default();
    let mut suites = String::new();
    for (column, run) in columns.iter().zip(&report.runs) {
        let counts = SuiteCounts::of(run);
        total.add(&counts);
        suites.push_str(&format!(
            "  <testsuite name=\"{}\" {}>\n",
            attr(column),
            counts.attributes()
        ));
        suites.push_str("    <properties>\n");
        for (name, value) in [
            ("responder", run.responder.as_str()),
            ("command", run.command.as_str()),
            ("server_version", run.server_version.as_str()),
            ("backend", run.backend.as_str()),
            ("strict", if report.strict { "true" } else { "false" }),
            ("restarts", &run.restarts.to_string()),
        ] {
            suites.push_str(&format!(
                "      <property name=\"{name}\" value=\"{}\"/>\n",
                attr(value)
            ));
        }
        suites.push_str("    </properties>\n");
        if let Some(error) = &run.setup_error {
            let message = error.lines().next().unwrap_or_default();
            suites.push_str("    <testcase classname=\"setup\" name=\"setup\" time=\"0.000\">\n");
            suites.push_str(&format!(
                "      <error message=\"{}\">{}</error>\n",
                attr(message),
                text(error)
            ));
            suites.push_str("    </testcase>\n");
        }
        for case in &run.results {
            junit_case(&mut suites, case);
        }
        suites.push_str("  </testsuite>\n");
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"{}\" {}>\n",
        attr(&format!("callout-conformance {}", report.tool_version)),
        total.attributes()
    ));
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    out
}

// ---------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------

/// Inline Markdown text: punctuation that Markdown or HTML would interpret is backslash-escaped
/// (so `|` becomes `\|` and cannot split a table cell), line breaks become spaces and other
/// control characters are dropped.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A fenced block around `content`, the fence longer than any backtick run inside it.
fn md_fenced(out: &mut String, content: &str) {
    let mut longest = 0;
    let mut current = 0;
    for c in content.chars() {
        current = if c == '`' { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let body: String = content
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect();
    out.push_str(&format!(
        "{fence}text\n{}\n{fence}\n\n",
        body.trim_end_matches('\n')
    ));
}

fn md_row(cells: &[String]) -> String {
    format!("| {} |\n", cells.join(" | "))
}

/// The report as Markdown: a table with one column per run and one row per case id (each cell
/// the verdict label, `—` where a run has no result) and a totals row; then a "Failures"
/// section with each failed case's requirement, citation, expected, actual and transcript, and
/// each set-up error; then each run's responder stderr tail.
pub fn markdown(report: &Report) -> String {
    let columns = columns(report);
    let mut out = String::from("# Auth-callout conformance report\n\n");
    out.push_str(&format!(
        "callout-conformance {}, strict mode {}.\n\n",
        md(&report.tool_version),
        if report.strict { "on" } else { "off" }
    ));

    let mut header = vec!["Case".to_string(), "Title".to_string(), "Level".to_string()];
    header.extend(columns.iter().map(|c| md(c)));
    out.push_str(&md_row(&header));
    out.push_str(&md_row(&vec!["---".to_string(); header.len()]));
    for (id, title) in case_rows(report) {
        let mut row = vec![md(id), md(title), level_of(report, id).label().to_string()];
        row.extend(
            report
                .runs
                .iter()
                .map(|run| verdict_of(run, id).map_or("—", Verdict::label).to_string()),
        );
        out.push_str(&md_row(&row));
    }
    let mut totals = vec!["**Totals**".to_string(), String::new(), String::new()];
    totals.extend(report.runs.iter().map(|run| totals_cell(run, false)));
    out.push_str(&md_row(&totals));

    out.push_str("\n## Failures\n\n");
    let mut any = false;
    for (column, run) in columns.iter().zip(&report.runs) {
        if run.setup_error.is_none() && failures(run).next().is_none() {
            continue;
        }
        any = true;
        out.push_str(&format!("### {}\n\n", md(column)));
        if let Some(error) = &run.setup_error {
            out.push_str("Set-up error:\n\n");
            md_fenced(&mut out, error);
        }
        for case in failures(run) {
            out.push_str(&format!("#### FAIL {}\n\n", md(&heading(case))));
            out.push_str(&format!("- Requirement: {}\n", md(&case.requirement)));
            out.push_str(&format!("- Level: {}\n", case.level.label()));
            if !case.rationale.is_empty() {
                out.push_str(&format!("- Why it matters: {}\n", md(&case.rationale)));
            }
            out.push_str(&format!("- Cite: {}\n", md(&case.cite)));
            out.push_str(&format!("- Expected: {}\n", md(&case.expected)));
            out.push_str(&format!("- Actual: {}\n\n", md(&case.actual)));
            if !case.transcript.is_empty() {
                md_fenced(&mut out, &case.transcript.join("\n"));
            }
        }
    }
    if !any {
        out.push_str("None.\n\n");
    }

    let restarted: Vec<_> = columns
        .iter()
        .zip(&report.runs)
        .filter(|(_, run)| run.restarts > 0)
        .collect();
    if !restarted.is_empty() {
        out.push_str("## Restarts\n\n");
        for (column, run) in restarted {
            out.push_str(&format!(
                "- {}: the responder exited or stopped answering, and was restarted {} time(s)\n",
                md(column),
                run.restarts
            ));
        }
        out.push('\n');
    }
    let with_stderr: Vec<_> = columns
        .iter()
        .zip(&report.runs)
        .filter(|(_, run)| {
            !run.responder_stderr.trim().is_empty()
                || run.stderr.iter().any(|c| !c.text.trim().is_empty())
        })
        .collect();
    if !with_stderr.is_empty() {
        out.push_str("## Responder stderr\n\n");
        for (column, run) in with_stderr {
            out.push_str(&format!("### {}\n\n", md(column)));
            let captures: Vec<(String, &str)> = if run.stderr.is_empty() {
                vec![(String::new(), run.responder_stderr.as_str())]
            } else {
                run.stderr
                    .iter()
                    .filter(|c| !c.text.trim().is_empty())
                    .map(|c| (c.source.clone(), c.text.as_str()))
                    .collect()
            };
            for (source, text) in captures {
                if !source.is_empty() {
                    out.push_str(&format!("{}:\n\n", md(&source)));
                }
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
                md_fenced(&mut out, &tail);
            }
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// Terminal
// ---------------------------------------------------------------------------------------------

/// One line of terminal text: line breaks and tabs become spaces; control characters (an
/// escape sequence from a responder could repaint the terminal) and bidirectional overrides
/// are shown escaped.
fn term(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control()
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') =>
            {
                out.extend(c.escape_default())
            }
            c => out.push(c),
        }
    }
    out
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The ANSI SGR code for a verdict's label.
fn sgr(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "32",
        Verdict::Fail => "31",
        Verdict::NonStrict => "33",
        Verdict::Informational => "36",
        Verdict::Unimplemented => "35",
        Verdict::Skipped => "2",
    }
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// A table cell: its plain text (which sets the width) and the verdict that colors it.
struct Cell {
    plain: String,
    verdict: Option<Verdict>,
}

impl Cell {
    fn plain(s: String) -> Cell {
        Cell {
            plain: s,
            verdict: None,
        }
    }
}

/// Writes `rows` aligned on the widest cell of each column, two spaces apart.
fn aligned(out: &mut String, rows: &[Vec<Cell>], color: bool) {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.plain.chars().count();
            match widths.get_mut(i) {
                Some(width) => *width = (*width).max(w),
                None => widths.push(w),
            }
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            match cell.verdict {
                Some(v) => line.push_str(&paint(&cell.plain, sgr(v), color)),
                None => line.push_str(&cell.plain),
            }
            line.push_str(&" ".repeat(widths[i] - cell.plain.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// A labelled, possibly multi-line value, continuation lines indented under the first.
fn term_field(out: &mut String, label: &str, value: &str) {
    let indent = " ".repeat(label.chars().count());
    let mut lines = value.lines();
    out.push_str(&format!(
        "{label}{}\n",
        term(lines.next().unwrap_or_default())
    ));
    for line in lines {
        out.push_str(&format!("{indent}{}\n", term(line)));
    }
}

/// The `<column>: N passed, …` line of one run.
fn run_summary(column: &str, run: &ResponderRun) -> String {
    let restarts = match run.restarts {
        0 => String::new(),
        n => format!(", {n} restart(s) of the responder"),
    };
    format!(
        "{}: {} passed, {} failed, {} non-strict, {} informational, {} unimplemented, {} skipped{restarts}",
        term(column),
        run.count(Verdict::Pass),
        run.count(Verdict::Fail),
        run.count(Verdict::NonStrict),
        run.count(Verdict::Informational),
        run.count(Verdict::Unimplemented),
        run.count(Verdict::Skipped),
    )
}

/// The last line: the exit code's reason, per column (never a sum across responders).
fn overall_line(report: &Report) -> String {
    let n = report.runs.len();
    let failed = report
        .runs
        .iter()
        .filter(|run| run.count(Verdict::Fail) > 0)
        .count();
    let setup_errors = report
        .runs
        .iter()
        .filter(|run| run.setup_error.is_some())
        .count();
    let mut line = if failed == 0 {
        format!("result: no failures in {n} column(s)")
    } else {
        format!("result: failures in {failed} of {n} column(s)")
    };
    if setup_errors > 0 {
        let s = if setup_errors == 1 { "" } else { "s" };
        line.push_str(&format!(", {setup_errors} set-up error{s}"));
    }
    line
}

/// The report for a terminal: the Markdown table's layout aligned with spaces (titles cut to
/// 60 characters, verdicts colored when `color`), an h2spec-style block per failure and per
/// set-up error, one summary line per run
/// (`<column>: N passed, N failed, N non-strict, N informational, N unimplemented, N skipped`)
/// and an overall `N passed, N failed` line, with `, N skipped` and `, N set-up error(s)`
/// appended when there are any.
pub fn terminal(report: &Report, color: bool) -> String {
    let columns = columns(report);
    let mut rows = Vec::new();
    let mut header = vec![Cell::plain("Case".into()), Cell::plain("Title".into())];
    header.extend(columns.iter().map(|c| Cell::plain(term(c))));
    let rule = header
        .iter()
        .map(|c| Cell::plain("-".repeat(c.plain.chars().count())))
        .collect();
    rows.push(header);
    rows.push(rule);
    for (id, title) in case_rows(report) {
        let mut row = vec![
            Cell::plain(term(id)),
            Cell::plain(truncate(&term(title), TITLE_WIDTH)),
        ];
        row.extend(report.runs.iter().map(|run| match verdict_of(run, id) {
            Some(v) => Cell {
                plain: v.label().to_string(),
                verdict: Some(v),
            },
            None => Cell::plain("-".into()),
        }));
        rows.push(row);
    }
    let mut totals = vec![Cell::plain("Totals".into()), Cell::plain(String::new())];
    totals.extend(
        report
            .runs
            .iter()
            .map(|run| Cell::plain(totals_cell(run, true))),
    );
    rows.push(totals);

    let mut out = String::new();
    aligned(&mut out, &rows, color);

    for (column, run) in columns.iter().zip(&report.runs) {
        if let Some(error) = &run.setup_error {
            out.push_str(&format!(
                "\n{} setup   [{}]\n",
                paint("ERROR", "31", color),
                term(column)
            ));
            term_field(&mut out, "  -> ", error);
        }
        for case in failures(run) {
            out.push_str(&format!(
                "\n{} {}   [{}]\n",
                paint(Verdict::Fail.label(), sgr(Verdict::Fail), color),
                term(&heading(case)),
                term(column)
            ));
            term_field(&mut out, "  -> ", &requirement(case));
            if !case.rationale.is_empty() {
                term_field(&mut out, "      Matters: ", &case.rationale);
            }
            term_field(&mut out, "     Expected: ", &case.expected);
            term_field(&mut out, "       Actual: ", &case.actual);
        }
    }

    out.push('\n');
    for (column, run) in columns.iter().zip(&report.runs) {
        out.push_str(&run_summary(column, run));
        out.push('\n');
    }
    out.push_str(&overall_line(report));
    out.push('\n');
    out
}

/// One live progress line, e.g. `[ 12/40] PASS  e2e.perm.3`: the count right-aligned to at
/// least three digits, the verdict label, the case id.
pub fn progress_line(done: usize, total: usize, id: &str, verdict: Verdict) -> String {
    let width = total.to_string().len().max(3);
    format!("[{done:>width$}/{total}] {}  {}", verdict.label(), term(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const REF: &str = "reference @ 2.15.1 (process)";
    const MUTANT: &str = "mutant @ 2.10.26 (container)";
    const LONG_TITLE: &str =
        "a very long title that goes on and on well past the sixty character limit of the table";

    fn case(id: &str, title: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: title.into(),
            requirement: format!("requirement of {id}"),
            cite: "protocol.md §1.7".into(),
            level: Level::Must,
            rationale: format!("rationale of {id}"),
            verdict,
            expected: "expected thing".into(),
            actual: "actual thing".into(),
            transcript: Vec::new(),
            duration_ms: 10,
        }
    }

    fn report() -> Report {
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
        }
    }

    #[test]
    fn report_json_has_autobahn_index_and_round_trips_runs() {
        let r = report();
        let out = json(&r);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["index"][REF]["e2e.perm.3"]["verdict"], "fail");
        assert_eq!(v["index"][REF]["e2e.perm.3"]["duration_ms"], 1500);
        assert_eq!(v["index"][REF]["e2e.perm.4"]["verdict"], "non-strict");
        assert_eq!(v["index"][MUTANT], serde_json::json!({}));
        assert_eq!(v["summary"][REF]["pass"], 1);
        assert_eq!(v["summary"][REF]["fail"], 1);
        assert_eq!(v["summary"][REF]["non-strict"], 1);
        assert_eq!(v["summary"][REF]["unimplemented"], 1);
        assert_eq!(v["summary"][MUTANT]["fail"], 0);
        assert_eq!(v["strict"], false);
        let runs: Vec<ResponderRun> = serde_json::from_value(v["runs"].clone()).unwrap();
        assert_eq!(runs, r.runs);
        // Top-level keys in the documented order.
        let at = |key: &str| {
            out.find(&format!("\n  \"{key}\":"))
                .unwrap_or_else(|| panic!("no top-level {key}"))
        };
        assert!(at("tool_version") < at("strict"));
        assert!(at("strict") < at("summary"));
        assert!(at("summary") < at("runs"));
        assert!(at("runs") < at("index"));
        assert_eq!(out, json(&r), "output is deterministic");
    }

    #[test]
    fn report_json_keeps_runs_with_the_same_column_apart() {
        let mut r = report();
        r.runs[1] = r.runs[0].clone();
        r.runs[1].results[1].verdict = Verdict::Pass;
        let v: Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(v["index"][REF]["e2e.perm.3"]["verdict"], "fail");
        assert_eq!(
            v["index"][format!("{REF} #2")]["e2e.perm.3"]["verdict"],
            "pass"
        );
    }

    /// A small XML checker: well-formed nesting, quoted attributes, only known entities, no
    /// characters XML 1.0 forbids. Returns the start tags with their attributes.
    fn parse_xml(xml: &str) -> Vec<(String, BTreeMap<String, String>)> {
        fn check_text(s: &str) {
            assert!(!s.contains('<'), "raw < in {s:?}");
            for (i, _) in s.match_indices('&') {
                let rest = &s[i..];
                let end = rest
                    .find(';')
                    .unwrap_or_else(|| panic!("unterminated entity in {s:?}"));
                let name = &rest[1..end];
                let ok = ["amp", "lt", "gt", "quot", "apos"].contains(&name)
                    || name
                        .strip_prefix('#')
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                assert!(ok, "unknown entity &{name}; in {s:?}");
            }
            assert!(
                s.chars().all(xml_char_allowed),
                "forbidden character in {s:?}"
            );
        }
        let mut starts = Vec::new();
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            .expect("XML declaration");
        while let Some(open) = rest.find('<') {
            check_text(&rest[..open]);
            assert!(
                !stack.is_empty() || rest[..open].trim().is_empty(),
                "text outside the root element"
            );
            let close = rest[open..].find('>').expect("unterminated tag") + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
                continue;
            }
            let (tag, empty) = match tag.strip_suffix('/') {
                Some(t) => (t, true),
                None => (tag, false),
            };
            let (name, mut attrs_src) = tag.split_once(' ').unwrap_or((tag, ""));
            let mut attrs = BTreeMap::new();
            while !attrs_src.trim().is_empty() {
                let (key, after) = attrs_src
                    .trim_start()
                    .split_once("=\"")
                    .expect("attribute without =\"");
                let end = after.find('"').expect("unterminated attribute");
                let value = &after[..end];
                check_text(value);
                assert!(!value.contains('\n'), "raw newline in attribute {key}");
                assert!(
                    attrs.insert(key.to_string(), value.to_string()).is_none(),
                    "duplicate attribute {key}"
                );
                attrs_src = &after[end + 1..];
            }
            if stack.is_empty() {
                assert!(starts.is_empty(), "second root element <{name}>");
            }
            starts.push((name.to_string(), attrs));
            if !empty {
                stack.push(name.to_string());
            }
        }
        assert!(stack.is_empty(), "unclosed elements {stack:?}");
        assert!(rest.trim().is_empty(), "trailing text");
        starts
    }

    #[test]
    fn report_junit_is_well_formed_counts_and_escapes() {
        let out = junit(&report());
        let tags = parse_xml(&out);
        let named = |n: &str| {
            tags.iter()
                .filter(|(name, _)| name == n)
                .map(|(_, a)| a)
                .collect::<Vec<_>>()
        };

        let root = &named("testsuites")[0];
        assert_eq!(root["tests"], "7");
        assert_eq!(root["failures"], "1");
        assert_eq!(root["errors"], "1");
        assert_eq!(root["skipped"], "2");
        assert_eq!(root["time"], "1.550");

        let suites = named("testsuite");
        assert_eq!(suites.len(), 2);
        assert_eq!(suites[0]["name"], REF);
        assert_eq!(
            [
                &suites[0]["tests"],
                &suites[0]["failures"],
                &suites[0]["errors"],
                &suites[0]["skipped"]
            ],
            ["6", "1", "0", "2"]
        );
        assert_eq!(suites[1]["name"], MUTANT);
        assert_eq!(
            [
                &suites[1]["tests"],
                &suites[1]["failures"],
                &suites[1]["errors"],
                &suites[1]["skipped"]
            ],
            ["1", "0", "1", "0"]
        );

        assert_eq!(out.matches("<testcase ").count(), 7);
        let cases = named("testcase");
        assert_eq!(cases[1]["classname"], "e2e.perm");
        assert_eq!(cases[1]["name"], "e2e.perm.3 bob cannot publish to test");
        assert_eq!(cases[1]["time"], "1.500");
        assert!(cases
            .iter()
            .any(|c| c["name"] == "setup" && c["classname"] == "setup"));
        assert_eq!(named("failure").len(), 1);
        assert_eq!(named("error").len(), 1);
        assert_eq!(named("skipped").len(), 2);

        // The failure carries expected, actual and the cited requirement, escaped.
        assert!(out.contains(
            "<failure message=\"publish to &lt;test&gt; &amp; &quot;quote&quot; &apos;apos&apos; is denied\">"
        ));
        assert!(out.contains("expected: -ERR &apos;Permissions Violation&apos; &amp; &lt;close&gt;\nactual: message delivered[31m\nrequirement: [MUST] publish to &lt;test&gt; &amp; &quot;quote&quot; &apos;apos&apos; is denied (protocol.md §1.7)\nwhy it matters: rationale of e2e.perm.3</failure>"));
        assert!(out.contains("PUB test &quot;hi&quot; &lt;&amp;&gt;"));
        assert!(out
            .contains("<error message=\"nats-server did not start: &lt;timeout&gt; &amp; more\">"));
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{0}'),
            "forbidden characters dropped"
        );
        // Non-strict and informational pass with a note.
        assert!(out.contains("<system-out>NON-STRICT: actual thing\n"));
        assert!(out.contains("<system-out>INFO: actual thing\n"));
    }

    #[test]
    fn report_xml_escape_handles_every_special_character() {
        assert_eq!(
            text("a&b<c>d\"e'f\u{1}\u{FFFE}g\nh"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;fg\nh"
        );
        assert_eq!(attr("a\nb\tc\rd"), "a&#10;b&#9;c&#13;d");
        assert_eq!(group("e2e.perm.3"), "e2e.perm");
        assert_eq!(group("setup"), "setup");
    }

    /// Splits a Markdown table row on unescaped pipes.
    fn md_cells(line: &str) -> Vec<String> {
        let inner = line
            .strip_prefix("| ")
            .and_then(|l| l.strip_suffix(" |"))
            .expect("a table row");
        let mut cells = vec![String::new()];
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    let last = cells.last_mut().unwrap();
                    last.push(c);
                    last.extend(chars.next());
                }
                '|' => cells.push(String::new()),
                c => cells.last_mut().unwrap().push(c),
            }
        }
        cells.iter().map(|c| c.trim().to_string()).collect()
    }

    #[test]
    fn report_markdown_has_one_column_per_run_and_escapes_pipes() {
        let out = markdown(&report());
        let table: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
        // Header, rule, six cases, totals.
        assert_eq!(table.len(), 9);
        for line in &table {
            assert_eq!(md_cells(line).len(), 5, "3 + one column per run: {line}");
        }
        assert_eq!(md_cells(table[0]), ["Case", "Title", "Level", REF, MUTANT]);
        let perm3 = table
            .iter()
            .find(|l| l.starts_with("| e2e.perm.3 "))
            .unwrap();
        assert_eq!(
            md_cells(perm3),
            [
                "e2e.perm.3",
                "bob cannot publish to test",
                "MUST",
                "FAIL",
                "—"
            ]
        );
        let perm4 = table
            .iter()
            .find(|l| l.starts_with("| e2e.perm.4 "))
            .unwrap();
        assert!(perm4.contains("pipes \\| in \\| title"), "{perm4}");
        assert_eq!(md_cells(perm4)[3], "NON-STRICT");
        let totals = md_cells(table[8]);
        assert_eq!(totals[0], "**Totals**");
        assert_eq!(
            totals[3],
            "1 PASS, 1 FAIL, 1 NON-STRICT, 1 INFO, 1 UNIMPLEMENTED, 1 SKIPPED"
        );
        assert_eq!(totals[4], "SETUP ERROR");

        let failures = &out[out.find("\n## Failures\n").expect("a Failures section")..];
        assert!(failures.contains(&format!("### {REF}")));
        assert!(failures.contains("#### FAIL e2e.perm.3 bob cannot publish to test"));
        assert!(failures.contains("- Cite: protocol.md §1.7"));
        assert!(failures.contains("- Expected: -ERR 'Permissions Violation' \\& \\<close\\>"));
        // The transcript holds a ``` line, so its fence is longer.
        assert!(failures.contains("````text\nCONNECT bob\nPUB test \"hi\" <&>\n```\n````"));
        assert!(failures.contains(&format!(
            "### {MUTANT}\n\nSet-up error:\n\n```text\nnats-server did not start"
        )));
        assert!(
            !failures.contains("e2e.perm.1"),
            "only failed cases are listed"
        );

        let stderr = &out[out
            .find("\n## Responder stderr\n")
            .expect("a stderr section")..];
        assert!(stderr.contains(&format!(
            "### {MUTANT}\n\n```text\nstarting\npanic: <boom>\n```"
        )));
        assert!(!stderr.contains(REF), "empty stderr is left out");
    }

    #[test]
    fn report_terminal_aligns_summarises_and_colors_only_on_request() {
        let r = report();
        let plain = terminal(&r, false);
        assert!(!plain.contains('\u{1b}'), "no escape codes without color");
        let lines: Vec<&str> = plain.lines().collect();
        assert!(lines.contains(&format!("{REF}: 1 passed, 1 failed, 1 non-strict, 1 informational, 1 unimplemented, 1 skipped").as_str()));
        assert!(lines.contains(&format!("{MUTANT}: 0 passed, 0 failed, 0 non-strict, 0 informational, 0 unimplemented, 0 skipped, 2 restart(s) of the responder").as_str()));
        // Totals stay per column: the last line counts columns, never sums their cases.
        assert_eq!(
            *lines.last().unwrap(),
            "result: failures in 1 of 2 column(s), 1 set-up error"
        );

        // Columns line up: each row's cell for a run starts where that run's heading does.
        let chars_from = |line: &str, col: usize| line.chars().skip(col).collect::<String>();
        let ref_col = lines[0][..lines[0].find(REF).unwrap()].chars().count();
        let mutant_col = lines[0][..lines[0].find(MUTANT).unwrap()].chars().count();
        for (id, label) in [
            ("e2e.perm.1", "PASS "),
            ("e2e.perm.3", "FAIL "),
            ("wire.xkey.1", "UNIMPLEMENTED "),
        ] {
            let row = lines.iter().find(|l| l.starts_with(id)).unwrap();
            assert!(chars_from(row, ref_col).starts_with(label), "{row}");
            assert_eq!(chars_from(row, mutant_col), "-", "{row}");
        }
        let totals = lines.iter().find(|l| l.starts_with("Totals")).unwrap();
        assert_eq!(chars_from(totals, mutant_col), "SETUP ERROR");
        assert!(
            chars_from(totals, ref_col).starts_with("1 PASS, 1 FAIL  "),
            "{totals}"
        );
        let xkey = lines.iter().find(|l| l.starts_with("wire.xkey.1")).unwrap();
        let cut: String = LONG_TITLE.chars().take(59).chain(['…']).collect();
        assert!(
            xkey.contains(&cut) && !xkey.contains(LONG_TITLE),
            "titles cut at 60: {xkey}"
        );

        let block = format!(
            "FAIL e2e.perm.3 bob cannot publish to test   [{REF}]\n  -> [MUST] publish to <test> & \"quote\" 'apos' is denied (protocol.md §1.7)\n      Matters: rationale of e2e.perm.3\n     Expected: -ERR 'Permissions Violation' & <close>\n       Actual: message delivered\\u{{1b}}[31m\\u{{0}}\n"
        );
        assert!(plain.contains(&block), "{plain}");
        assert!(plain.contains(&format!(
            "ERROR setup   [{MUTANT}]\n  -> nats-server did not start: <timeout> & more\n"
        )));

        let colored = terminal(&r, true);
        assert!(colored.contains("\x1b[32mPASS\x1b[0m"));
        assert!(colored.contains("\x1b[31mFAIL\x1b[0m e2e.perm.3"));
        assert!(colored.contains("\x1b[33mNON-STRICT\x1b[0m"));
        assert!(colored.contains("\x1b[36mINFO\x1b[0m"));
        assert!(colored.contains("\x1b[35mUNIMPLEMENTED\x1b[0m"));
        assert!(colored.contains("\x1b[2mSKIPPED\x1b[0m"));
        // Color does not change the words, only wraps them.
        let stripped = colored
            .replace("\x1b[0m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[36m", "")
            .replace("\x1b[35m", "")
            .replace("\x1b[2m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn report_progress_line_pads_the_count() {
        assert_eq!(
            progress_line(12, 40, "e2e.perm.3", Verdict::Pass),
            "[ 12/40] PASS  e2e.perm.3"
        );
        assert_eq!(
            progress_line(3, 1200, "x.1", Verdict::NonStrict),
            "[   3/1200] NON-STRICT  x.1"
        );
    }
}
