//! The adoption baseline (`--baseline FILE`, `run --write-baseline FILE`): the failures a team
//! knows of and accepts for now, so that a strict suite can gate CI from the first day and the
//! list only shrinks. A listed failure is graded KNOWN and does not fail the run; a failure
//! not listed still does; an entry whose case no longer fails is reported so it can go.
//!
//! The file is TOML. `[known]` applies to every column; `[responder.NAME]` only to the columns
//! of the responder named NAME (every server version and backend):
//!
//! ```toml
//! [known]
//! "wire.hostile.2" = "we do not pin the server key yet"
//!
//! [responder.mine]
//! "e2e.perm.3" = "deny lists land in 1.4"
//! ```
//!
//! Every key must be a case id of the catalog (a typo must not silently widen the baseline);
//! an entry for a case this run does not select is ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use callout_leaves::text::line_of;
use callout_leaves::verdict::{BaselineSummary, PassesNow, Report, ResponderRun, Verdict};

/// A baseline file that cannot be used: which file, which line, what to do.
#[derive(Debug, Error)]
pub enum BaselineError {
    /// The file cannot be read.
    #[error("--baseline {file}: cannot read it: {source}; give the path of a baseline file (`run --write-baseline FILE` writes one)")]
    Read {
        /// The path as given.
        file: String,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The file is not a valid baseline.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The path as given.
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// One accepted failure.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Why the failure is accepted for now, as written in the file.
    pub reason: String,
    /// The line of the entry in the file.
    pub line: usize,
}

/// A loaded baseline: every entry checked against the catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    path: PathBuf,
    /// `[known]`: case id → entry, for every column.
    known: BTreeMap<String, Entry>,
    /// `[responder.NAME]`: responder name → case id → entry, for that responder's columns.
    responders: BTreeMap<String, BTreeMap<String, Entry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    #[serde(default)]
    known: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    responder: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
}

impl Baseline {
    /// Reads and checks `path`; `is_case` says whether an id is in the catalog.
    pub fn load(path: &Path, is_case: impl Fn(&str) -> bool) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            file: path.display().to_string(),
            source,
        })?;
        Baseline::parse(&text, path, is_case)
    }

    /// Parses a baseline from `text`; `path` names it in errors and in the report.
    pub fn parse(
        text: &str,
        path: &Path,
        is_case: impl Fn(&str) -> bool,
    ) -> Result<Baseline, BaselineError> {
        let file = path.display().to_string();
        let err = |line: usize, message: String| BaselineError::Invalid {
            file: file.clone(),
            line,
            message,
        };
        let raw: RawBaseline = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            err(
                line,
                format!(
                    "{}; a baseline has a [known] table and [responder.NAME] tables of \"case id\" = \"reason\"",
                    e.message().trim()
                ),
            )
        })?;
        let entries = |table: &str,
                       raw: BTreeMap<Spanned<String>, Spanned<toml::Value>>|
         -> Result<BTreeMap<String, Entry>, BaselineError> {
            // In file order, so that the first mistake reported is the first in the file.
            let mut raw: Vec<_> = raw.into_iter().collect();
            raw.sort_by_key(|(k, _)| k.span().start);
            let mut out = BTreeMap::new();
            for (id, reason) in raw {
                let line = line_of(text, id.span().start);
                let id = id.into_inner();
                if !is_case(&id) {
                    return Err(err(
                        line,
                        format!(
                            "{id:?} in [{table}] is not a case id; `callout-conformance list` prints them (a typo here would accept a failure you did not mean to)"
                        ),
                    ));
                }
                let reason = match reason.into_inner() {
                    toml::Value::String(s) => s,
                    other => {
                        return Err(err(
                            line,
                            format!(
                                "{id:?} in [{table}] is a {}; give the reason as a string: {id:?} = \"why it fails for now\"",
                                other.type_str()
                            ),
                        ))
                    }
                };
                out.insert(id, Entry { reason, line });
            }
            Ok(out)
        };
        let known = entries("known", raw.known)?;
        let mut responders = BTreeMap::new();
        for (name, table) in raw.responder {
            let name = name.into_inner();
            let table = entries(&format!("responder.{name}"), table)?;
            if let Some((id, e)) = table.iter().find(|(id, _)| known.contains_key(*id)) {
                return Err(err(
                    e.line,
                    format!(
                        "{id:?} is in [responder.{name}] and in [known] (line {}), which already covers every column; keep one",
                        known[id].line
                    ),
                ));
            }
            responders.insert(name, table);
        }
        Ok(Baseline {
            path: path.to_path_buf(),
            known,
            responders,
        })
    }

    /// The file, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many entries the file has, in every table.
    pub fn len(&self) -> usize {
        self.known.len() + self.responders.values().map(BTreeMap::len).sum::<usize>()
    }

    /// True when the file lists no failure.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry for case `id` in the columns of responder `responder`, if any.
    pub fn entry(&self, responder: &str, id: &str) -> Option<&Entry> {
        self.known.get(id).or_else(|| {
            self.responders
                .get(responder)
                .and_then(|table| table.get(id))
        })
    }

    /// The verdict after the baseline: a listed FAIL is KNOWN; everything else is unchanged.
    pub fn grade(&self, responder: &str, id: &str, v: Verdict) -> Verdict {
        if v == Verdict::Fail && self.entry(responder, id).is_some() {
            Verdict::Known
        } else {
            v
        }
    }

    /// Applies the baseline to one column: every listed case gets the entry's reason in
    /// `baseline`, and a listed FAIL becomes KNOWN (its expected and actual unchanged).
    pub fn apply_run(&self, run: &mut ResponderRun) {
        for r in run.results.iter_mut() {
            if let Some(e) = self.entry(&run.responder, &r.id) {
                r.baseline = Some(e.reason.clone());
                r.verdict = self.grade(&run.responder, &r.id, r.verdict);
            }
        }
    }

    /// Applies the baseline to every column (after `--strict` and `--fail-on-unimplemented`)
    /// and records in `report.baseline` which entries are no longer needed.
    pub fn apply(&self, report: &mut Report) {
        for run in report.runs.iter_mut() {
            self.apply_run(run);
        }
        report.baseline = Some(self.summary(report));
    }

    /// The file and the entries that no longer fail: in every column the entry applies to,
    /// the case did not fail, no set-up error hid it, and in at least one it ran (was not
    /// SKIPPED). An entry for a case this run did not select is not among them.
    pub fn summary(&self, report: &Report) -> BaselineSummary {
        let mut passes_now = Vec::new();
        let tables = std::iter::once((None, &self.known)).chain(
            self.responders
                .iter()
                .map(|(name, table)| (Some(name.as_str()), table)),
        );
        for (responder, table) in tables {
            let runs: Vec<&ResponderRun> = report
                .runs
                .iter()
                .filter(|run| responder.is_none_or(|n| run.responder == n))
                .collect();
            if runs.iter().any(|run| run.setup_error.is_some()) {
                continue;
            }
            for id in table.keys() {
                let verdicts: Vec<Verdict> = runs
                    .iter()
                    .filter_map(|run| run.results.iter().find(|r| &r.id == id))
                    .map(|r| r.verdict)
                    .collect();
                if verdicts
                    .iter()
                    .any(|v| matches!(v, Verdict::Known | Verdict::Fail))
                {
                    continue;
                }
                let Some(worst) = verdicts
                    .iter()
                    .copied()
                    .filter(|v| *v != Verdict::Skipped)
                    .max()
                else {
                    continue;
                };
                passes_now.push(PassesNow {
                    id: id.clone(),
                    table: match responder {
                        None => "known".into(),
                        Some(n) => format!("responder.{n}"),
                    },
                    verdict: worst,
                });
            }
        }
        passes_now.sort_by(|a, b| natural_cmp(&a.id, &b.id).then(a.table.cmp(&b.table)));
        BaselineSummary {
            file: self.path.display().to_string(),
            known: report
                .runs
                .iter()
                .map(|run| run.count(Verdict::Known))
                .sum(),
            passes_now,
        }
    }
}

/// Orders case ids as the catalog reads: numeric parts by value (`perm.7` before `perm.17`).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> Vec<(u64, String)> {
        s.split('.')
            .map(|p| match p.parse::<u64>() {
                Ok(n) => (n, String::new()),
                Err(_) => (u64::MAX, p.to_string()),
            })
            .collect()
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// A TOML basic string (quoted, escaped): used for keys and values alike.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The reason written for a new entry: the failure's actual text, on one line, at most 200
/// characters, for the team to replace with why they accept it.
fn placeholder(actual: &str) -> String {
    let one_line: String = actual.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        out.push('…');
    }
    if out.is_empty() {
        out = "fails; say why it is accepted for now".into();
    }
    out
}

/// The `--write-baseline` text: every case that failed (FAIL, or KNOWN through `previous`) in
/// this report, sorted by id. An entry of `previous` that still fails keeps its reason; a new
/// one gets the failure's actual text as a placeholder. A case that failed for every responder
/// of the report goes in `[known]`; one that failed for some goes in their `[responder.NAME]`
/// tables. Columns with a set-up error contribute nothing (their cases did not run).
pub fn write(report: &Report, previous: Option<&Baseline>) -> String {
    let responders: BTreeSet<&str> = report.runs.iter().map(|r| r.responder.as_str()).collect();
    // case id → responder → reason
    let mut failed: BTreeMap<&str, BTreeMap<&str, String>> = BTreeMap::new();
    for run in &report.runs {
        for r in &run.results {
            if !matches!(r.verdict, Verdict::Fail | Verdict::Known) {
                continue;
            }
            let reason = previous
                .and_then(|b| b.entry(&run.responder, &r.id))
                .map(|e| e.reason.clone())
                .unwrap_or_else(|| placeholder(&r.actual));
            failed
                .entry(r.id.as_str())
                .or_default()
                .entry(run.responder.as_str())
                .or_insert(reason);
        }
    }
    let mut known: Vec<(&str, String)> = Vec::new();
    let mut per_responder: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
    for (id, by) in &failed {
        if by.len() == responders.len() {
            let reason = by.values().next().cloned().unwrap_or_default();
            known.push((id, reason));
        } else {
            for (name, reason) in by {
                per_responder
                    .entry(name)
                    .or_default()
                    .push((id, reason.clone()));
            }
        }
    }
    let mut out = String::from(
        "# callout-conformance baseline: failures known and accepted for now.\n\
         # Listed failures are graded KNOWN and do not fail the run; any other failure does.\n\
         # [known] applies to every column, [responder.NAME] to that responder's columns.\n\
         # A new entry's reason is the failure as observed: replace it with why it is accepted.\n\
         # Regenerate (reasons kept, fixed entries dropped):\n\
         #   callout-conformance run --baseline FILE --write-baseline FILE ...\n",
    );
    let table = |out: &mut String, header: String, mut rows: Vec<(&str, String)>| {
        rows.sort_by(|a, b| natural_cmp(a.0, b.0));
        out.push_str(&format!("\n{header}\n"));
        for (id, reason) in rows {
            out.push_str(&format!("{} = {}\n", toml_string(id), toml_string(&reason)));
        }
    };
    table(&mut out, "[known]".into(), known);
    for (name, rows) in per_responder {
        table(&mut out, format!("[responder.{}]", toml_string(name)), rows);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use callout_leaves::verdict::CaseResult;

    const IDS: &[&str] = &["e2e.perm.1", "e2e.perm.3", "e2e.perm.17", "wire.resp.8"];

    fn parse(text: &str) -> Result<Baseline, BaselineError> {
        Baseline::parse(text, Path::new("b.toml"), |id| IDS.contains(&id))
    }

    fn message(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    fn run(name: &str, results: Vec<CaseResult>) -> ResponderRun {
        let mut r = sample::report().runs[0].clone();
        r.responder = name.into();
        r.results = results;
        r
    }

    fn report(runs: Vec<ResponderRun>) -> Report {
        Report {
            tool_version: "0".into(),
            strict: true,
            runs,
            baseline: None,
        }
    }

    #[test]
    fn parses_known_and_responder_tables() {
        let b = parse(
            "# comment\n[known]\n\"e2e.perm.3\" = \"deny lists later\"\n\n[responder.mine]\n\"wire.resp.8\" = \"x\"\n",
        )
        .unwrap();
        assert_eq!(
            b.entry("any", "e2e.perm.3").unwrap().reason,
            "deny lists later"
        );
        assert_eq!(b.entry("any", "e2e.perm.3").unwrap().line, 3);
        assert_eq!(b.entry("mine", "wire.resp.8").unwrap().line, 6);
        assert!(b.entry("other", "wire.resp.8").is_none());
        assert!(b.entry("mine", "e2e.perm.1").is_none());
        assert!(
            parse("").unwrap().known.is_empty(),
            "an empty file is an empty baseline"
        );
    }

    #[test]
    fn mistakes_name_the_file_the_line_and_the_id() {
        let e = message("[known]\n\"e2e.perm.1\" = \"a\"\n\"e2e.prem.3\" = \"typo\"\n");
        assert!(
            e.starts_with("b.toml:3: \"e2e.prem.3\" in [known] is not a case id"),
            "{e}"
        );
        let e = message("[responder.x]\n\"wire.resp.80\" = \"a\"\n");
        assert!(
            e.starts_with("b.toml:2: \"wire.resp.80\" in [responder.x] is not a case id"),
            "{e}"
        );
        let e = message("[known]\n\"e2e.perm.1\" = 3\n");
        assert!(
            e.starts_with("b.toml:2: ") && e.contains("give the reason as a string"),
            "{e}"
        );
        let e = message("[knwon]\n\"e2e.perm.1\" = \"a\"\n");
        assert!(e.starts_with("b.toml:1: ") && e.contains("knwon"), "{e}");
        let e = message("[known]\n\"e2e.perm.1\" = \"a\"\n\"e2e.perm.1\" = \"b\"\n");
        assert!(e.starts_with("b.toml:3: "), "a duplicate key: {e}");
        let e = message("[known]\n\"e2e.perm.1\" = \"a\"\n[responder.m]\n\"e2e.perm.1\" = \"b\"\n");
        assert!(
            e.starts_with("b.toml:4: ") && e.contains("(line 2)") && e.contains("keep one"),
            "{e}"
        );
        let e = Baseline::load(Path::new("/no/such/b.toml"), |_| true)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--baseline /no/such/b.toml: cannot read it"),
            "{e}"
        );
    }

    #[test]
    fn listed_failures_are_known_and_do_not_fail_the_run() {
        let b = parse("[known]\n\"e2e.perm.3\" = \"later\"\n\"e2e.perm.1\" = \"fixed\"\n\"wire.resp.8\" = \"not run\"\n").unwrap();
        let mut r = report(vec![run(
            "ref",
            vec![
                sample::case("e2e.perm.1", "", Verdict::Pass),
                sample::case("e2e.perm.3", "", Verdict::Fail),
            ],
        )]);
        assert_eq!(r.exit_code(), 1);
        b.apply(&mut r);
        assert_eq!(r.exit_code(), 0, "the only failure is listed");
        let known = &r.runs[0].results[1];
        assert_eq!(known.verdict, Verdict::Known);
        assert_eq!(known.baseline.as_deref(), Some("later"));
        assert_eq!(known.actual, "actual thing", "the failure stays visible");
        let s = r.baseline.as_ref().unwrap();
        assert_eq!(s.known, 1);
        // e2e.perm.1 passes now; wire.resp.8 did not run, so it is not reported.
        assert_eq!(
            s.passes_now,
            vec![PassesNow {
                id: "e2e.perm.1".into(),
                table: "known".into(),
                verdict: Verdict::Pass
            }]
        );

        // A failure that is not listed still fails the run.
        let mut r = report(vec![run(
            "ref",
            vec![
                sample::case("e2e.perm.3", "", Verdict::Fail),
                sample::case("e2e.perm.17", "", Verdict::Fail),
            ],
        )]);
        b.apply(&mut r);
        assert_eq!(r.exit_code(), 1);
        assert_eq!(r.runs[0].results[1].verdict, Verdict::Fail);
        // A set-up error still exits 2.
        let mut r = report(vec![run("ref", vec![])]);
        r.runs[0].setup_error = Some("boom".into());
        b.apply(&mut r);
        assert_eq!(r.exit_code(), 2);
        assert!(r.baseline.unwrap().passes_now.is_empty());
    }

    #[test]
    fn responder_tables_apply_to_that_responder_only() {
        let b = parse("[responder.a]\n\"e2e.perm.3\" = \"later\"\n").unwrap();
        let fail = || vec![sample::case("e2e.perm.3", "", Verdict::Fail)];
        let mut r = report(vec![run("a", fail()), run("b", fail())]);
        b.apply(&mut r);
        assert_eq!(r.runs[0].results[0].verdict, Verdict::Known);
        assert_eq!(r.runs[1].results[0].verdict, Verdict::Fail);
        assert_eq!(r.exit_code(), 1);
        // Passing in b's column does not make a's entry stale while a still fails.
        let mut r = report(vec![
            run("a", fail()),
            run("b", vec![sample::case("e2e.perm.3", "", Verdict::Pass)]),
        ]);
        b.apply(&mut r);
        assert_eq!(r.exit_code(), 0);
        assert!(r.baseline.unwrap().passes_now.is_empty());
        // Not failing on one version but failing on another: still needed.
        let b = parse("[known]\n\"e2e.perm.3\" = \"later\"\n").unwrap();
        let mut r = report(vec![
            run(
                "a",
                vec![sample::case("e2e.perm.3", "", Verdict::NonStrict)],
            ),
            run("a", fail()),
        ]);
        b.apply(&mut r);
        assert!(r.baseline.unwrap().passes_now.is_empty());
    }

    #[test]
    fn written_baselines_parse_back_and_keep_reasons() {
        let mut odd = sample::case("e2e.perm.3", "", Verdict::Fail);
        odd.actual = "said \"no\"\\ \n\tthen\u{1b} left".into();
        let r = report(vec![
            run(
                "a",
                vec![
                    sample::case("e2e.perm.17", "", Verdict::Fail),
                    odd.clone(),
                    sample::case("wire.resp.8", "", Verdict::Fail),
                ],
            ),
            run(
                "b",
                vec![odd, sample::case("wire.resp.8", "", Verdict::Pass)],
            ),
        ]);
        let text = write(&r, None);
        let b = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        // Failed for both responders: [known]; for a only: [responder.a], natural order.
        assert_eq!(
            b.entry("b", "e2e.perm.3").unwrap().reason,
            "said \"no\"\\ then\u{1b} left"
        );
        assert!(b.entry("b", "wire.resp.8").is_none());
        assert!(b.entry("a", "wire.resp.8").is_some());
        let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} in\n{text}"));
        assert!(
            at("[known]") < at("\"e2e.perm.3\"") && at("\"e2e.perm.3\"") < at("[responder.\"a\"]")
        );
        assert!(at("\"e2e.perm.17\"") < at("\"wire.resp.8\""));

        // Rewritten from a run with the baseline: reasons kept, fixed entries gone.
        let old =
            parse("[known]\n\"e2e.perm.3\" = \"our reason\"\n\"e2e.perm.1\" = \"fixed now\"\n")
                .unwrap();
        let mut r = report(vec![run(
            "a",
            vec![
                sample::case("e2e.perm.1", "", Verdict::Pass),
                sample::case("e2e.perm.3", "", Verdict::Fail),
                sample::case("e2e.perm.17", "", Verdict::Fail),
            ],
        )]);
        old.apply(&mut r);
        let b = parse(&write(&r, Some(&old))).unwrap();
        assert_eq!(b.entry("a", "e2e.perm.3").unwrap().reason, "our reason");
        assert_eq!(b.entry("a", "e2e.perm.17").unwrap().reason, "actual thing");
        assert!(b.entry("a", "e2e.perm.1").is_none());
    }

    #[test]
    fn ids_sort_as_the_catalog_reads() {
        let mut ids = vec!["e2e.perm.17", "wire.resp.8", "e2e.perm.7", "e2e.perm.10"];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            vec!["e2e.perm.7", "e2e.perm.10", "e2e.perm.17", "wire.resp.8"]
        );
    }
}
