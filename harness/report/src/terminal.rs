//! The terminal report: the aligned verdict table, h2spec-style failure blocks, one summary
//! line per column, and the live progress line.

use super::*;

/// One line of terminal text: line breaks and tabs become spaces; control characters (an
/// escape sequence from a responder could repaint the terminal) and bidirectional overrides
/// are shown escaped.
fn term(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || callout_leaves::text::is_bidi_control(c) => {
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
        Verdict::Known => "34",
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
    let known = match run.count(Verdict::Known) {
        0 => String::new(),
        n => format!(", {n} known (baseline)"),
    };
    format!(
        "{}: {} passed, {} failed, {} non-strict, {} informational, {} unimplemented, {} skipped{known}{restarts}",
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
    if let Some(b) = report.baseline.as_ref().filter(|b| b.known > 0) {
        line.push_str(&format!(
            ", {} known failure(s) accepted by {}",
            b.known,
            term(&b.file)
        ));
    }
    line
}

/// Every line of the verdict table (and its legend) fits in this many characters.
pub const TABLE_WIDTH: usize = 100;
/// The title column is cut to make room for the runs, but not below this; past that the
/// runs' headings are abbreviated, and then the runs are split over several tables.
const TITLE_MIN: usize = 24;

/// A run's column in the table: its heading, its cells in the order of [`case_rows`] and its
/// totals, one line per entry when `stacked`.
struct RunColumn {
    heading: String,
    cells: Vec<Cell>,
    totals: Vec<String>,
}

impl RunColumn {
    fn width(&self) -> usize {
        let cells = self.cells.iter().map(|c| c.plain.chars().count());
        let totals = self.totals.iter().map(|t| t.chars().count());
        cells
            .chain(totals)
            .chain([self.heading.chars().count()])
            .max()
            .unwrap_or(0)
    }
}

/// Short headings such as `ref@2.15.1/p`: the shortest prefix (3 characters or more) of the
/// responder's name that no other responder of the report shares, `@`, the server version,
/// `/` and the backend's initial; one that still repeats gets `#2`, `#3`…
fn abbreviations(report: &Report) -> Vec<String> {
    let names: BTreeSet<String> = report.runs.iter().map(|r| term(&r.responder)).collect();
    let prefix = |name: &str, k: usize| name.chars().take(k).collect::<String>();
    let short = |name: &str| {
        let len = name.chars().count();
        (3..len)
            .find(|&k| {
                names
                    .iter()
                    .filter(|other| other.as_str() != name)
                    .all(|other| prefix(other, k) != prefix(name, k))
            })
            .map_or_else(|| name.to_string(), |k| prefix(name, k))
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    report
        .runs
        .iter()
        .map(|run| {
            let backend: String = run.backend.chars().take(1).collect();
            let base = format!(
                "{}@{}/{}",
                short(&term(&run.responder)),
                term(&run.server_version),
                term(&backend)
            );
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                base
            } else {
                format!("{base}#{n}")
            }
        })
        .collect()
}

/// The verdict table, fitted into [`TABLE_WIDTH`] characters: the title column is cut (with
/// `…`) to make room; if it would fall below [`TITLE_MIN`], the headings are abbreviated
/// (with a legend below), the totals put one per line, and the runs split over as many
/// tables (each with Case and Title) as it takes. Verdict labels are never shortened.
fn tables(report: &Report, columns: &[String], color: bool) -> String {
    let rows = case_rows(report);
    let case_width = rows
        .iter()
        .map(|(id, _)| term(id).chars().count())
        .chain(["Totals".len()])
        .max()
        .unwrap_or(0);
    let title_width = rows
        .iter()
        .map(|(_, title)| term(title).chars().count())
        .chain(["Title".len()])
        .max()
        .unwrap_or(0)
        .min(TITLE_WIDTH);
    let run_columns = |headings: &[String], stacked: bool| -> Vec<RunColumn> {
        report
            .runs
            .iter()
            .zip(headings)
            .map(|(run, heading)| {
                let cells = rows
                    .iter()
                    .map(|(id, _)| match verdict_of(run, id) {
                        Some(v) => Cell {
                            plain: v.label().to_string(),
                            verdict: Some(v),
                        },
                        None => Cell::plain("-".into()),
                    })
                    .collect();
                let totals = totals_cell(run, true);
                let totals = if stacked {
                    totals.split(", ").map(str::to_string).collect()
                } else {
                    vec![totals]
                };
                RunColumn {
                    heading: heading.clone(),
                    cells,
                    totals,
                }
            })
            .collect()
    };
    // Room left for the title beside `group`: the Case column, then two spaces before each
    // further column.
    let room = |group: &[RunColumn]| {
        TABLE_WIDTH
            .saturating_sub(case_width + 2)
            .saturating_sub(group.iter().map(|c| c.width() + 2).sum::<usize>())
    };

    let full: Vec<String> = columns.iter().map(|c| term(c)).collect();
    let whole = run_columns(&full, false);
    if room(&whole) >= TITLE_MIN.min(title_width) {
        let mut out = String::new();
        table(
            &mut out,
            &rows,
            &whole,
            title_width.min(room(&whole)),
            color,
        );
        return out;
    }

    let short = abbreviations(report);
    let mut groups: Vec<Vec<RunColumn>> = vec![vec![]];
    for column in run_columns(&short, true) {
        let last = groups.last_mut().expect("there is always a group");
        last.push(column);
        if last.len() > 1 && room(last) < TITLE_MIN.min(title_width) {
            let column = last.pop().expect("just pushed");
            groups.push(vec![column]);
        }
    }
    let mut out = String::new();
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        table(&mut out, &rows, group, title_width.min(room(group)), color);
    }
    out.push_str("\nColumns:\n");
    let width = short.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    for (abbr, name) in short.iter().zip(&full) {
        let pad = " ".repeat(width - abbr.chars().count());
        let line = format!("  {abbr}{pad}  {name}");
        out.push_str(&truncate(&line, TABLE_WIDTH));
        out.push('\n');
    }
    out
}

/// One table: Case, Title cut to `title_width` (left out when there is no room for it at
/// all), then `group`'s columns and their totals.
fn table(
    out: &mut String,
    rows: &[(&str, &str)],
    group: &[RunColumn],
    title_width: usize,
    color: bool,
) {
    let with_title = title_width >= "Title".len();
    let mut lines = Vec::new();
    let mut header = vec![Cell::plain("Case".into())];
    if with_title {
        header.push(Cell::plain("Title".into()));
    }
    header.extend(group.iter().map(|c| Cell::plain(c.heading.clone())));
    let rule = header
        .iter()
        .map(|c| Cell::plain("-".repeat(c.plain.chars().count())))
        .collect();
    lines.push(header);
    lines.push(rule);
    for (i, (id, title)) in rows.iter().enumerate() {
        let mut row = vec![Cell::plain(term(id))];
        if with_title {
            row.push(Cell::plain(truncate(&term(title), title_width)));
        }
        row.extend(group.iter().map(|c| Cell {
            plain: c.cells[i].plain.clone(),
            verdict: c.cells[i].verdict,
        }));
        lines.push(row);
    }
    let depth = group.iter().map(|c| c.totals.len()).max().unwrap_or(0);
    for k in 0..depth {
        let mut row = vec![Cell::plain(if k == 0 { "Totals" } else { "" }.into())];
        if with_title {
            row.push(Cell::plain(String::new()));
        }
        row.extend(
            group
                .iter()
                .map(|c| Cell::plain(c.totals.get(k).cloned().unwrap_or_default())),
        );
        lines.push(row);
    }
    aligned(out, &lines, color);
}

/// The report for a terminal: the verdict table ([`tables`]: the Markdown table's layout
/// aligned with spaces, fitted into [`TABLE_WIDTH`] characters, verdicts colored when
/// `color`), an h2spec-style block per failure and per
/// set-up error, a shorter one per KNOWN failure (with the baseline's reason), a
/// `baseline: ID passes now; remove it from FILE` line per baseline entry no longer needed,
/// one summary line per run
/// (`<column>: N passed, N failed, N non-strict, N informational, N unimplemented, N skipped`,
/// then `, N known (baseline)` and restarts when there are any) and the `result:` line, which
/// counts columns with failures (never cases across columns).
pub fn terminal(report: &Report, color: bool) -> String {
    let columns = columns(report);
    let mut out = tables(report, &columns, color);

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
            if let Some(cause) = &case.cause {
                term_field(&mut out, "  !! ", cause);
            }
            term_field(&mut out, "  -> ", &requirement(case));
            if !case.rationale.is_empty() && case.cause.is_none() {
                term_field(&mut out, "      Matters: ", &case.rationale);
            }
            term_field(&mut out, "     Expected: ", &case.expected);
            term_field(&mut out, "       Actual: ", &case.actual);
        }
        for case in known(run) {
            out.push_str(&format!(
                "\n{} {}   [{}]\n",
                paint(Verdict::Known.label(), sgr(Verdict::Known), color),
                term(&heading(case)),
                term(column)
            ));
            term_field(
                &mut out,
                "  -> baseline: ",
                case.baseline.as_deref().unwrap_or_default(),
            );
            term_field(&mut out, "       Actual: ", &case.actual);
        }
    }

    for (column, run) in columns.iter().zip(&report.runs) {
        for case in &run.results {
            if let Some(line) = figures_line(case) {
                out.push_str(&format!(
                    "\nFIGURES {}   [{}]\n",
                    term(&case.id),
                    term(column)
                ));
                term_field(&mut out, "  ", &line);
            }
        }
    }

    if let Some(b) = report
        .baseline
        .as_ref()
        .filter(|b| !b.passes_now.is_empty())
    {
        out.push('\n');
        for p in &b.passes_now {
            out.push_str(&format!(
                "baseline: {}\n",
                term(&passes_now_line(&b.file, p))
            ));
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
    use crate::sample::*;

    #[test]
    fn report_terminal_aligns_summarises_and_colors_only_on_request() {
        let r = report();
        let plain = terminal(&r, false);
        assert!(!plain.contains('\u{1b}'), "no escape codes without color");
        let lines: Vec<&str> = plain.lines().collect();
        assert!(lines.contains(&format!("{REF}: 1 passed, 1 failed, 1 non-strict, 1 informational, 1 unimplemented, 1 skipped, 1 known (baseline)").as_str()));
        assert!(lines.contains(&format!("{MUTANT}: 0 passed, 0 failed, 0 non-strict, 0 informational, 0 unimplemented, 0 skipped, 2 restart(s) of the responder").as_str()));
        // Totals stay per column: the last line counts columns, never sums their cases.
        assert_eq!(
            *lines.last().unwrap(),
            "result: failures in 1 of 2 column(s), 1 set-up error, 1 known failure(s) accepted by ci/baseline.toml"
        );
        assert!(plain.contains(&format!(
            "KNOWN wire.resp.8 resp claims   [{REF}]\n  -> baseline: resp lands in <1.4>\n       Actual: actual thing\n"
        )), "{plain}");
        assert!(plain.contains("\nbaseline: e2e.perm.1 passes now; remove it from ci/baseline.toml\nbaseline: e2e.perm.4 no longer fails (NON-STRICT); remove it from [responder.mine] in ci/baseline.toml\n"), "{plain}");

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
            chars_from(totals, ref_col).starts_with("1 PASS, 1 FAIL, 1 KNOWN  "),
            "{totals}"
        );
        let xkey = lines.iter().find(|l| l.starts_with("wire.xkey.1")).unwrap();
        // 100 - Case (11) - the two columns (28 each) - four gaps of two = 27 for the title.
        let cut: String = LONG_TITLE.chars().take(26).chain(['…']).collect();
        assert!(
            xkey.contains(&format!("{cut}  UNIMPLEMENTED")) && !xkey.contains(LONG_TITLE),
            "titles cut to fit 100 columns: {xkey}"
        );
        assert!(!plain.contains("Columns:"), "two columns fit unabbreviated");

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
        assert!(colored.contains("\x1b[34mKNOWN\x1b[0m"));
        // Color does not change the words, only wraps them.
        let stripped = colored
            .replace("\x1b[0m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[36m", "")
            .replace("\x1b[35m", "")
            .replace("\x1b[2m", "")
            .replace("\x1b[34m", "");
        assert_eq!(stripped, plain);
    }

    /// A report of `n` runs (responders × versions × backends), every verdict in each.
    fn wide_report(n: usize) -> Report {
        let responders = [
            "reference",
            "mutant-ignore-deny",
            "python-svc",
            "go-service",
        ];
        let places = [
            ("2.15.1", "process"),
            ("2.10.26", "process"),
            ("2.15.1", "container"),
        ];
        let mut runs = Vec::new();
        for (i, &(version, backend)) in places.iter().cycle().take(n).enumerate() {
            let mut run = report().runs[0].clone();
            run.responder = responders[i % responders.len()].into();
            run.server_version = version.into();
            run.backend = backend.into();
            // Columns differ: rotate the verdicts so each column has its own pattern.
            let mut verdicts: Vec<Verdict> = run.results.iter().map(|r| r.verdict).collect();
            let len = verdicts.len();
            verdicts.rotate_left(i % len);
            for (r, v) in run.results.iter_mut().zip(verdicts) {
                r.verdict = v;
            }
            runs.push(run);
        }
        Report { runs, ..report() }
    }

    /// The lines of the table part of the terminal report (before the first failure block).
    fn table_lines(r: &Report) -> Vec<String> {
        tables(r, &columns(r), false)
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn report_terminal_table_fits_100_columns() {
        for n in [1, 3, 8] {
            let r = wide_report(n);
            let lines = table_lines(&r);
            for line in &lines {
                assert!(
                    line.chars().count() <= TABLE_WIDTH,
                    "{n} columns: {} chars: {line}\n{}",
                    line.chars().count(),
                    lines.join("\n")
                );
            }
            let text = lines.join("\n");
            // Every verdict of every run is in a table, with its label unshortened.
            for v in [
                Verdict::Pass,
                Verdict::Fail,
                Verdict::NonStrict,
                Verdict::Informational,
                Verdict::Unimplemented,
                Verdict::Skipped,
                Verdict::Known,
            ] {
                let expected: usize = r.runs.iter().map(|run| run.count(v)).sum();
                let shown: usize = lines
                    .iter()
                    .filter(|l| l.starts_with("e2e.") || l.starts_with("wire."))
                    .map(|l| l.split_whitespace().filter(|w| *w == v.label()).count())
                    .sum();
                assert_eq!(shown, expected, "{n} columns, {v:?}:\n{text}");
            }
            let abbreviated = text.contains("\nColumns:\n");
            assert_eq!(abbreviated, n > 1, "{n} columns:\n{text}");
            if abbreviated {
                for column in columns(&r) {
                    assert!(
                        lines
                            .iter()
                            .any(|l| l.trim_start().contains(&format!("  {column}"))),
                        "the legend names {column}:\n{text}"
                    );
                }
            } else {
                assert!(lines[0].contains(REF), "{text}");
            }
        }
        let lines = table_lines(&wide_report(8));
        assert!(
            lines.iter().filter(|l| l.starts_with("Case ")).count() > 1,
            "8 columns split into several tables"
        );
        let words = |l: &String| l.split_whitespace().collect::<Vec<_>>().join(" ");
        for entry in [
            "ref@2.15.1/p reference @ 2.15.1 (process)",
            "mut@2.10.26/p mutant-ignore-deny @ 2.10.26 (process)",
            "pyt@2.15.1/c python-svc @ 2.15.1 (container)",
        ] {
            assert!(
                lines.iter().any(|l| words(l) == entry),
                "legend has {entry}:\n{}",
                lines.join("\n")
            );
        }
    }

    #[test]
    fn report_terminal_abbreviations_stay_unique() {
        let mut r = wide_report(4);
        r.runs[0].responder = "ref".into();
        r.runs[1].responder = "reference".into();
        r.runs[2].responder = "reference".into();
        r.runs[3] = r.runs[2].clone();
        assert_eq!(
            abbreviations(&r),
            [
                "ref@2.15.1/p",
                "refe@2.10.26/p",
                "refe@2.15.1/c",
                "refe@2.15.1/c#2"
            ]
        );
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
