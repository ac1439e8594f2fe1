//! The live progress as a user sees it, on real runs of the `callout-conformance` binary
//! against a responder with a defect (`callout-mutant -fault ignore-deny`, so some cases
//! FAIL): with stderr piped, as in a CI log, the plain `== column ==` and `[ n/N] VERDICT  id`
//! lines, one per case in order; under a pseudo-terminal (util-linux `script`) a bar instead,
//! the FAIL lines above it, and the table and summary at the end; under the same terminal
//! with `CI=true`, the plain lines again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use callout_conformance::sut::{find_sibling_binary, SEED_FLAGS};

const HARNESS: &str = env!("CARGO_BIN_EXE_callout-conformance");
const FILTER: &str = "e2e.perm";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The arguments of `callout-conformance run` against the mutant.
fn run_args() -> Vec<String> {
    let mutant = find_sibling_binary("callout-mutant", "CALLOUT_MUTANT_BIN");
    assert!(
        mutant.is_file(),
        "build the mutant first: cargo build -p callout-responder --bins (looked for {})",
        mutant.display()
    );
    vec![
        "run".into(),
        "--no-color".into(),
        "--scenarios".into(),
        root().join("scenarios").display().to_string(),
        "--responder-cmd".into(),
        format!(
            "mutant={} -fault ignore-deny {SEED_FLAGS}",
            mutant.display()
        ),
        FILTER.into(),
    ]
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `[ n/N] VERDICT  id` → (n, N, verdict, id).
fn parse_progress(line: &str) -> Option<(usize, usize, String, String)> {
    let rest = line.strip_prefix('[')?;
    let (count, rest) = rest.split_once("] ")?;
    let (n, total) = count.trim_start().split_once('/')?;
    let (verdict, id) = rest.split_once("  ")?;
    Some((
        n.parse().ok()?,
        total.parse().ok()?,
        verdict.into(),
        id.into(),
    ))
}

/// Runs the harness under a pseudo-terminal with `script`, returning what the terminal
/// showed, or `None` when `script` is not installed.
fn under_pty(ci: Option<&str>) -> Option<Output> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = quote(HARNESS);
    for a in run_args() {
        line.push(' ');
        line.push_str(&quote(&a));
    }
    let mut c = Command::new("script");
    c.args(["-qefc", &line, "/dev/null"])
        .current_dir(root())
        .env("TERM", "xterm")
        .env_remove("CI")
        .stdin(Stdio::null());
    if let Some(ci) = ci {
        c.env("CI", ci);
    }
    match c.output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("script: {e}"),
    }
}

#[test]
fn progress_is_plain_lines_in_a_log_and_a_bar_on_a_terminal() {
    // Piped stderr, no CI variable: the plain lines, unchanged.
    let out = Command::new(HARNESS)
        .args(run_args())
        .current_dir(root())
        .env_remove("CI")
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("run callout-conformance");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the mutant fails: {stderr}");
    let heading = stderr
        .lines()
        .find(|l| l.starts_with("== "))
        .unwrap_or_else(|| panic!("a column heading: {stderr}"));
    assert!(
        heading.starts_with("== mutant @ ") && heading.ends_with(" (process) =="),
        "{heading}"
    );
    let progress: Vec<_> = stderr.lines().filter_map(parse_progress).collect();
    assert!(progress.len() > 3, "{stderr}");
    let total = progress.len();
    for (i, (n, of, verdict, id)) in progress.iter().enumerate() {
        assert_eq!((*n, *of), (i + 1, total), "counted in order: {stderr}");
        assert!(id.starts_with("e2e.perm."), "{id}");
        assert!(
            [
                "PASS",
                "FAIL",
                "NON-STRICT",
                "INFO",
                "UNIMPLEMENTED",
                "SKIPPED"
            ]
            .contains(&verdict.as_str()),
            "{verdict}"
        );
    }
    let width = total.to_string().len().max(3);
    assert!(
        stderr.contains(&format!("\n[{:>width$}/{total}] ", 1)),
        "the count is padded: {stderr}"
    );
    let fails: Vec<&String> = progress
        .iter()
        .filter(|p| p.2 == "FAIL")
        .map(|p| &p.3)
        .collect();
    assert!(!fails.is_empty(), "ignore-deny fails some case: {stderr}");

    // Under a terminal: a bar, the FAIL lines above it, the table and summary after it.
    let Some(pty) = under_pty(None) else {
        eprintln!("util-linux `script` is not installed: the terminal mode was not exercised");
        return;
    };
    let shown = text(&pty.stdout);
    assert_eq!(pty.status.code(), Some(1), "{shown}");
    for id in &fails {
        let line = format!("FAIL  {id}");
        assert!(shown.contains(&line), "{line} above the bar: {shown}");
    }
    assert!(
        !shown.contains("] PASS  e2e.perm."),
        "passing cases only move the bar: {shown}"
    );
    assert!(
        !shown.contains("== mutant @"),
        "the bar names the column: {shown}"
    );
    assert!(
        shown.contains(&format!("{total}/{total}"))
            && shown.contains(&format!("{} FAIL", fails.len())),
        "the bar ends full, with the FAIL count: {shown}"
    );
    let last = shown.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        last.trim_end()
            .starts_with("result: failures in 1 of 1 column(s)"),
        "ends with the summary: {last:?}\n{shown}"
    );
    assert!(shown.contains("Case "), "the table: {shown}");

    // The same terminal in CI: plain lines.
    let ci = under_pty(Some("true")).expect("script ran a moment ago");
    let shown = text(&ci.stdout);
    assert!(shown.contains("== mutant @"), "{shown}");
    assert!(shown.contains("] PASS  e2e.perm."), "{shown}");
}
