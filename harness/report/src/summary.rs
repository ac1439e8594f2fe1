//! The CI job summary: a short Markdown digest of a report for `$GITHUB_STEP_SUMMARY` (or any
//! CI page), with the failures only, and a hard byte limit because GitHub refuses a step
//! summary over 1 MiB. The full story stays in the HTML and JUnit reports.

use super::markdown::md;
use super::*;

/// GitHub's limit on one step's summary is 1 MiB; the default stays under it with room to spare.
pub const DEFAULT_MAX_BYTES: usize = 1_000_000;
/// Expected and actual are cut to this many characters in the summary (the reports have them
/// in full).
const CELL_CHARS: usize = 300;

/// `s` cut to `max` characters, with `…` when it was longer.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// The summary of `report` as Markdown, at most `max_bytes` long: a heading with the number of
/// failing columns, then per column its totals and, for a column with failures, its set-up
/// error and a table of every FAIL (id, title, level, expected, actual). When the failures do
/// not fit, the table stops at the last row that does and a note says how many were left out.
pub fn summary(report: &Report, max_bytes: usize) -> String {
    let columns = columns(report);
    let failing = report
        .runs
        .iter()
        .filter(|r| r.setup_error.is_some() || r.count(Verdict::Fail) > 0)
        .count();
    let mut out = if failing == 0 {
        format!(
            "## Auth-callout conformance: no failures in {} column(s)\n\n",
            report.runs.len()
        )
    } else {
        format!(
            "## Auth-callout conformance: failures in {failing} of {} column(s)\n\n",
            report.runs.len()
        )
    };
    out.push_str(&format!(
        "callout-conformance {}, strict mode {}. Failures only; every case, its transcript and \
         the responder's stderr are in the HTML and JUnit reports.\n\n",
        md(&report.tool_version),
        if report.strict { "on" } else { "off" }
    ));
    // Everything after the header is optional: it goes in while it fits, leaving room for the
    // note that says what was left out.
    let total_failures: usize = report.runs.iter().map(|r| r.count(Verdict::Fail)).sum();
    let mut shown = 0usize;
    let mut truncated = false;
    let note = |left: usize| {
        format!(
            "\n**Summary cut to {max_bytes} bytes:** {left} more failure(s) not shown. See the \
             HTML or JUnit report.\n"
        )
    };
    let room = |out: &str, piece: &str, left: usize| {
        out.len() + piece.len() + note(left).len() <= max_bytes
    };
    'runs: for (column, run) in columns.iter().zip(&report.runs) {
        let fails: Vec<&CaseResult> = failures(run).collect();
        let mut block = format!("### {}: {}\n\n", md(column), totals_cell(run, false));
        if let Some(err) = &run.setup_error {
            block.push_str(&format!(
                "Set-up error: {}\n\n",
                md(&cut(err, CELL_CHARS * 2))
            ));
        }
        if !fails.is_empty() {
            block.push_str("| case | title | level | expected | actual |\n|---|---|---|---|---|\n");
        }
        if !room(&out, &block, total_failures - shown) {
            truncated = true;
            break;
        }
        out.push_str(&block);
        for case in &fails {
            let row = format!(
                "| `{}` | {} | {} | {} | {} |\n",
                case.id.replace('`', "'"),
                md(&cut(&case.title, CELL_CHARS)),
                case.level.label(),
                md(&cut(&case.expected, CELL_CHARS)),
                md(&cut(&case.actual, CELL_CHARS)),
            );
            if !room(&out, &row, total_failures - shown) {
                truncated = true;
                break 'runs;
            }
            out.push_str(&row);
            shown += 1;
        }
        if !fails.is_empty() {
            out.push('\n');
        }
    }
    if truncated {
        out.push_str(&note(total_failures - shown));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::*;

    #[test]
    fn lists_each_failure_with_level_expected_and_actual_and_nothing_that_passed() {
        let r = report();
        let s = summary(&r, DEFAULT_MAX_BYTES);
        assert!(s.starts_with("## Auth-callout conformance: failures in 2 of 2 column(s)"));
        assert!(
            s.contains(&format!("### {REF}: 1 PASS, 1 FAIL, 1 KNOWN, 1 NON-STRICT")),
            "{s}"
        );
        assert!(s.contains("| `e2e.perm.3` | bob cannot publish to test | MUST | -ERR 'Permissions Violation' \\& \\<close\\> | message delivered"));
        assert!(s.contains("Set-up error: nats-server did not start: \\<timeout\\> \\& more"));
        for not_failed in ["e2e.perm.1", "e2e.perm.4", "wire.xkey.1", "wire.drop.1"] {
            assert!(!s.contains(not_failed), "{not_failed} did not fail:\n{s}");
        }
        assert!(!s.contains("Summary cut"));
    }

    #[test]
    fn a_clean_report_says_so() {
        let mut r = report();
        r.runs.truncate(1);
        r.runs[0].results.retain(|c| c.verdict != Verdict::Fail);
        let s = summary(&r, DEFAULT_MAX_BYTES);
        assert!(s.starts_with("## Auth-callout conformance: no failures in 1 column(s)"));
        assert!(!s.contains("| case |"));
    }

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let mut r = report();
        r.runs[0].results[1].actual = "é".repeat(5000);
        let s = summary(&r, DEFAULT_MAX_BYTES);
        assert!(s.contains(&format!("{}…", "é".repeat(CELL_CHARS))));
        assert!(!s.contains(&"é".repeat(CELL_CHARS + 1)));
    }

    #[test]
    fn a_huge_report_stays_under_the_limit_and_says_what_it_left_out() {
        let mut r = report();
        let fail = r.runs[0].results[1].clone();
        r.runs[0].results = (0..20_000)
            .map(|i| CaseResult {
                id: format!("wire.big.{i}"),
                actual: "x".repeat(1000),
                ..fail.clone()
            })
            .collect();
        for max in [DEFAULT_MAX_BYTES, 4096] {
            let s = summary(&r, max);
            assert!(s.len() <= max, "{} > {max}", s.len());
            assert!(s.contains("| `wire.big.0` |"));
            assert!(
                s.contains("more failure(s) not shown"),
                "{}",
                &s[s.len() - 300..]
            );
            let shown = s.matches("| `wire.big.").count();
            assert!(s.contains(&format!(" {} more failure(s)", 20_000 - shown)));
        }
    }
}
