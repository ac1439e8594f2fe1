//! The Markdown report, for review: the verdict table with levels, each failure in detail,
//! restarts, and the responder's stderr per scenario and phase.

use super::*;

/// Inline Markdown text: punctuation that Markdown or HTML would interpret is backslash-escaped
/// (so `|` becomes `\|` and cannot split a table cell), line breaks become spaces and other
/// control characters are dropped.
pub(super) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c if callout_leaves::text::is_bidi_control(c) => out.extend(c.escape_default()),
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
        .flat_map(|c| {
            let bidi = callout_leaves::text::is_bidi_control(c);
            let escaped: Vec<char> = if bidi {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
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
/// each set-up error; with `--baseline`, a "Baseline" section with each KNOWN failure and its
/// reason and each entry that passes now; then each run's responder stderr tail.
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
            if let Some(cause) = &case.cause {
                out.push_str(&format!("- **{}**\n", md(cause)));
            }
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

    if let Some(b) = &report.baseline {
        out.push_str(&format!("## Baseline\n\n`{}`: ", b.file.replace('`', "'")));
        out.push_str(&format!(
            "{} known failure(s) accepted (KNOWN, not failing the run).\n\n",
            b.known
        ));
        for (column, run) in columns.iter().zip(&report.runs) {
            for case in known(run) {
                out.push_str(&format!(
                    "- KNOWN {} in {}: {} (actual: {})\n",
                    md(&case.id),
                    md(column),
                    md(case.baseline.as_deref().unwrap_or_default()),
                    md(&case.actual)
                ));
            }
        }
        for p in &b.passes_now {
            out.push_str(&format!("- {}\n", md(&passes_now_line(&b.file, p))));
        }
        out.push('\n');
    }

    let restarted: Vec<_> = columns
        .iter()
        .zip(&report.runs)
        .filter(|(_, run)| run.restarts > 0)
        .collect();
    let measured: Vec<_> = columns
        .iter()
        .zip(&report.runs)
        .filter(|(_, run)| run.results.iter().any(|c| !c.figures.is_empty()))
        .collect();
    if !measured.is_empty() {
        out.push_str("## Figures\n\n");
        for (column, run) in measured {
            out.push_str(&format!("### {}\n\n", md(column)));
            out.push_str(&md_row(&["Case".into(), "Figures".into()]));
            out.push_str(&md_row(&["---".into(), "---".into()]));
            for case in &run.results {
                if let Some(line) = figures_line(case) {
                    out.push_str(&md_row(&[format!("`{}`", case.id), md(&line)]));
                }
            }
            out.push('\n');
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::*;

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
        // Header, rule, seven cases, totals.
        assert_eq!(table.len(), 10);
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
        let totals = md_cells(table[9]);
        assert_eq!(totals[0], "**Totals**");
        assert_eq!(
            totals[3],
            "1 PASS, 1 FAIL, 1 KNOWN, 1 NON-STRICT, 1 INFO, 1 UNIMPLEMENTED, 1 SKIPPED"
        );
        let baseline = &out[out.find("\n## Baseline\n").expect("a Baseline section")..];
        assert!(baseline.contains("`ci/baseline.toml`: 1 known failure(s) accepted"));
        assert!(
            baseline.contains(&format!(
                "- KNOWN wire.resp.8 in {REF}: resp lands in \\<1.4\\> (actual: actual thing)\n"
            )),
            "{baseline}"
        );
        assert!(baseline.contains("- e2e.perm.4 no longer fails (NON-STRICT); remove it from \\[responder.mine\\] in ci/baseline.toml\n"), "{baseline}");
        assert_eq!(totals[4], "SETUP ERROR");

        let failures = &out[out.find("\n## Failures\n").expect("a Failures section")..];
        let failures = &failures[..failures.find("\n## Baseline\n").expect("then Baseline")];
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
    fn bidi_overrides_from_a_responder_are_escaped() {
        assert_eq!(md("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        let mut out = String::new();
        md_fenced(&mut out, "stderr \u{2066}hidden\u{2069} line\n");
        assert!(out.contains("\\u{2066}hidden\\u{2069}"), "{out}");
        assert!(!out.contains('\u{2066}'));
    }
}
