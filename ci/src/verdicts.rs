//! The verdict guard: every case's verdict for the reference responder on the newest server,
//! read from the JSON reports a `test` run writes, compared with
//! `harness/tests/fixtures/reference-verdicts.txt`. A refactoring changes no verdict; a change
//! that does must change the file too (`cargo run -p ci -- verdicts --bless` rewrites it from
//! the reports in `target/reports/`).

use anyhow::{Context, Result};
use xshell::Shell;

/// The reports compared, by label (`target/reports/LABEL.json`).
pub const LABELS: &[&str] = &["process-2.15.1", "operator-process-2.15.1"];

const FIXTURE: &str = "harness/tests/fixtures/reference-verdicts.txt";

/// `LABEL ID VERDICT` lines of the reports, in report order.
fn lines_of_reports(sh: &Shell) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for label in LABELS {
        let path = format!("target/reports/{label}.json");
        let text = sh
            .read_file(&path)
            .with_context(|| format!("reading {path}"))?;
        let report: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {path}"))?;
        let results = report["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in results {
            let (id, verdict) = (c["id"].as_str(), c["verdict"].as_str());
            out.push(format!(
                "{label} {} {}",
                id.unwrap_or("?"),
                verdict.unwrap_or("?")
            ));
        }
    }
    Ok(out)
}

/// The differences between the fixture and the reports, or none; with `bless`, rewrites the
/// fixture's lines (keeping its comment header) instead.
pub fn check(sh: &Shell, bless: bool) -> Result<Vec<String>> {
    let got = lines_of_reports(sh)?;
    let text = sh
        .read_file(FIXTURE)
        .with_context(|| format!("reading {FIXTURE}"))?;
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    let want: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    if bless {
        let body = header
            .iter()
            .map(|h| h.to_string())
            .chain(got)
            .collect::<Vec<_>>();
        sh.write_file(FIXTURE, body.join("\n") + "\n")?;
        return Ok(vec![]);
    }
    let mut diffs = Vec::new();
    for w in &want {
        if !got.iter().any(|g| g == w) {
            diffs.push(format!("expected {w}; the run has {}", find(&got, w)));
        }
    }
    for g in &got {
        if !want.iter().any(|w| w == g) && find_str(&want, g).is_none() {
            diffs.push(format!("new case {g}: add it to {FIXTURE}"));
        }
    }
    Ok(diffs)
}

/// The line of `lines` for the same label and id as `line`.
fn find(lines: &[String], line: &str) -> String {
    let key: Vec<&str> = line.split(' ').take(2).collect();
    lines
        .iter()
        .find(|l| l.split(' ').take(2).eq(key.iter().copied()))
        .cloned()
        .unwrap_or_else(|| "no such case".into())
}

fn find_str<'a>(lines: &[&'a str], line: &str) -> Option<&'a str> {
    let key: Vec<&str> = line.split(' ').take(2).collect();
    lines
        .iter()
        .find(|l| l.split(' ').take(2).eq(key.iter().copied()))
        .copied()
}
