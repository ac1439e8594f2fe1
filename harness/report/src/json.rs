//! The JSON report: the whole [`Report`] plus Autobahn's per-column `index` and a summary per
//! column, for CI jobs that look a case up directly.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use callout_leaves::verdict::BaselineSummary;

use super::*;

#[derive(Serialize)]
struct JsonReport<'a> {
    tool_version: &'a str,
    strict: bool,
    summary: InOrder<'a, Summary>,
    runs: &'a [ResponderRun],
    index: InOrder<'a, InOrder<'a, IndexEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a BaselineSummary>,
}

/// A JSON object whose keys come out in the order they were first inserted (the run's order
/// of columns, the catalog's order of cases: `e2e.perm.7` before `e2e.perm.17`), where a
/// `BTreeMap` would sort them as strings. A key inserted again is ignored, so no object has
/// a key twice. Lighter than serde_json's `preserve_order`, which would reorder every
/// `Value` in the workspace.
struct InOrder<'a, V>(Vec<(&'a str, V)>);

impl<'a, V> FromIterator<(&'a str, V)> for InOrder<'a, V> {
    fn from_iter<I: IntoIterator<Item = (&'a str, V)>>(iter: I) -> Self {
        let mut seen = BTreeSet::new();
        InOrder(iter.into_iter().filter(|(k, _)| seen.insert(*k)).collect())
    }
}

impl<V: Serialize> Serialize for InOrder<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
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
    known: usize,
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
            known: run.count(Verdict::Known),
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
/// `{verdict, duration_ms}`), so CI can look up one case of one responder directly; with
/// `--baseline`, a last `baseline` (`{file, known, passes_now}`). A KNOWN result is `"known"`
/// and keeps its expected and actual, with the baseline's reason in `baseline`. Keys come out
/// in a fixed order: the top level as listed, columns in the run's order, cases in the
/// catalog's (the order of the run's results; the first of two results with one id wins).
pub fn json(report: &Report) -> String {
    let columns = columns(report);
    let summary = columns
        .iter()
        .zip(&report.runs)
        .map(|(column, run)| (column.as_str(), Summary::of(run)))
        .collect();
    let index = columns
        .iter()
        .zip(&report.runs)
        .map(|(column, run)| {
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
            (column.as_str(), cases)
        })
        .collect();
    let doc = JsonReport {
        tool_version: &report.tool_version,
        strict: report.strict,
        summary,
        runs: &report.runs,
        index,
        baseline: report.baseline.as_ref(),
    };
    // Every map above has string keys and every value is plain data, so this cannot fail.
    let mut out = serde_json::to_string_pretty(&doc).expect("a report always serializes to JSON");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::*;
    use serde_json::Value;

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
        assert_eq!(v["summary"][REF]["known"], 1);
        assert_eq!(v["index"][REF]["wire.resp.8"]["verdict"], "known");
        let known = &v["runs"][0]["results"][6];
        assert_eq!(known["verdict"], "known");
        assert_eq!(known["baseline"], "resp lands in <1.4>");
        assert_eq!(known["actual"], "actual thing");
        assert!(v["runs"][0]["results"][0].get("baseline").is_none());
        assert_eq!(v["baseline"]["file"], "ci/baseline.toml");
        assert_eq!(v["baseline"]["known"], 1);
        assert_eq!(
            v["baseline"]["passes_now"][1],
            serde_json::json!({"id": "e2e.perm.4", "table": "responder.mine", "verdict": "non-strict"})
        );
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
        assert!(at("index") < at("baseline"));
        assert_eq!(out, json(&r), "output is deterministic");
    }

    #[test]
    fn report_json_keys_come_in_case_and_run_order() {
        let mut r = report();
        r.runs[0].results = vec![
            case("e2e.perm.7", "seven", Verdict::Pass),
            case("e2e.perm.17", "seventeen", Verdict::Fail),
            case("e2e.perm.2", "two", Verdict::Pass),
        ];
        // The mutant column sorts before the reference one; it stays second.
        let out = json(&r);
        let at = |needle: &str, from: usize| from + out[from..].find(needle).unwrap();
        let index = at("\n  \"index\":", 0);
        let seven = at("\"e2e.perm.7\":", index);
        let seventeen = at("\"e2e.perm.17\":", index);
        let two = at("\"e2e.perm.2\":", index);
        assert!(seven < seventeen && seventeen < two, "{out}");
        for section in ["\n  \"summary\":", "\n  \"index\":"] {
            let start = at(section, 0);
            assert!(
                at(&format!("\"{REF}\":"), start) < at(&format!("\"{MUTANT}\":"), start),
                "{section}: columns in run order"
            );
        }
        let v: Value = serde_json::from_str(&out).unwrap();
        let keys: Vec<&String> = v["index"][REF].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3);
        assert_eq!(v["index"][REF]["e2e.perm.17"]["verdict"], "fail");
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
}
