//! The JUnit XML report, for CI systems that show test results: one suite per column, one
//! test case per case, failures with expected, actual, level and requirement.

use super::*;

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
            skipped: run.count(Verdict::Skipped)
                + run.count(Verdict::Unimplemented)
                + run.count(Verdict::Known),
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
            // The cause leads when the responder broke what every responder must do (it
            // exited, went silent, leaked): the message is that, and the type says so.
            let kind = match case.cause {
                Some(_) => " type=\"responder\"",
                None => "",
            };
            inner.push_str(&format!(
                "      <failure message=\"{}\"{kind}>{}</failure>\n",
                attr(case.headline()),
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
        Verdict::Known => {
            let message = format!(
                "KNOWN failure, accepted by the baseline: {}",
                case.baseline.as_deref().unwrap_or_default()
            );
            let body = format!(
                "expected: {}\nactual: {}\nrequirement: {}",
                case.expected,
                case.actual,
                requirement(case)
            );
            inner.push_str(&format!(
                "      <skipped message=\"{}\">{}</skipped>\n",
                attr(&message),
                text(&body)
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
/// `<skipped/>`; KNOWN (a failure the baseline accepts) becomes `<skipped>` whose message
/// gives the baseline's reason and whose text the expected and actual; NON-STRICT and INFO pass with a `<system-out>` naming the verdict; a run's
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::*;
    use std::collections::BTreeMap;

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
        assert_eq!(root["tests"], "8");
        assert_eq!(root["failures"], "1");
        assert_eq!(root["errors"], "1");
        assert_eq!(root["skipped"], "3");
        assert_eq!(root["time"], "1.560");

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
            ["7", "1", "0", "3"]
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

        assert_eq!(out.matches("<testcase ").count(), 8);
        let cases = named("testcase");
        assert_eq!(cases[1]["classname"], "e2e.perm");
        assert_eq!(cases[1]["name"], "e2e.perm.3 bob cannot publish to test");
        assert_eq!(cases[1]["time"], "1.500");
        assert!(cases
            .iter()
            .any(|c| c["name"] == "setup" && c["classname"] == "setup"));
        assert_eq!(named("failure").len(), 1);
        assert_eq!(named("error").len(), 1);
        assert_eq!(named("skipped").len(), 3);
        // A KNOWN failure is skipped, with the baseline's reason, expected and actual.
        assert!(out.contains("<skipped message=\"KNOWN failure, accepted by the baseline: resp lands in &lt;1.4&gt;\">expected: expected thing\nactual: actual thing\nrequirement: [MUST] requirement of wire.resp.8 (protocol.md §1.7)</skipped>"), "{out}");

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

    #[test]
    fn a_crash_leads_the_failure_not_the_requirement() {
        let mut r = sample::report();
        let case = &mut r.runs[0].results[1];
        assert_eq!(case.verdict, Verdict::Fail);
        case.cause = Some("the responder exited (exit status: 1) on this request".into());
        let out = junit(&r);
        assert!(
            out.contains("<failure message=\"the responder exited (exit status: 1) on this request\" type=\"responder\">"),
            "{out}"
        );
        let t = crate::terminal(&r, false);
        let at = |needle: &str| t.find(needle).unwrap_or(usize::MAX);
        assert!(at("!! the responder exited") < at("-> [MUST]"), "{t}");
        let m = crate::markdown(&r);
        assert!(
            m.contains("- **the responder exited (exit status: 1) on this request**"),
            "{m}"
        );
        let h = crate::html(&r);
        assert!(
            h.contains("<dt>What happened</dt><dd>the responder exited"),
            "{h}"
        );
    }
}
