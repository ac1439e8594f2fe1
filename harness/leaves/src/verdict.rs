//! Verdicts and results: what one case concluded about one responder, graded as Autobahn
//! grades (pass, fail, non-strict, informational, unimplemented), and the run that groups them.
//! Reports are built from these types only.

use serde::{Deserialize, Serialize};

/// The grade of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The responder did what the case requires.
    Pass,
    /// The server tolerates it, but it is unsafe or against best practice.
    NonStrict,
    /// Recorded, not judged (e.g. dropping instead of a signed error).
    Informational,
    /// The responder lacks the feature the case needs (e.g. no xkey support).
    Unimplemented,
    /// Not run (filtered, or a set-up step failed before it).
    Skipped,
    /// A failure listed in the `--baseline` file: accepted for now, does not fail the run.
    Known,
    /// The responder broke a requirement.
    Fail,
}

impl Verdict {
    /// Upper-case label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Informational => "INFO",
            Verdict::Unimplemented => "UNIMPLEMENTED",
            Verdict::Skipped => "SKIPPED",
            Verdict::Known => "KNOWN",
            Verdict::Fail => "FAIL",
        }
    }

    /// Applies `--strict`: non-strict becomes fail.
    pub fn strictly(self, strict: bool) -> Verdict {
        if strict && self == Verdict::NonStrict {
            Verdict::Fail
        } else {
            self
        }
    }
}

/// How binding a case's requirement is, decided from the protocol and the server source
/// (`docs/levels.md`): it fixes the verdict a responder gets when it breaks the requirement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Breaking it lets someone in who must not get in, or breaks clients: FAIL.
    #[default]
    Must,
    /// The server tolerates it, but it is unsafe or against best practice: NON-STRICT.
    Should,
    /// Recorded, not judged: INFO.
    May,
}

impl Level {
    /// The verdict a responder gets when it breaks a requirement of this level.
    pub fn on_breach(self) -> Verdict {
        match self {
            Level::Must => Verdict::Fail,
            Level::Should => Verdict::NonStrict,
            Level::May => Verdict::Informational,
        }
    }

    /// `MUST`, `SHOULD`, `MAY`.
    pub fn label(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }

    /// Parses `must`, `should` or `may` (as written in scenario files).
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "must" => Some(Level::Must),
            "should" => Some(Level::Should),
            "may" => Some(Level::May),
            _ => None,
        }
    }
}

/// What one case concluded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Stable hierarchical id, e.g. `e2e.perm.3`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// The requirement checked.
    pub requirement: String,
    /// Citation into protocol.md, e.g. `protocol.md §2 row 6`.
    pub cite: String,
    /// How binding the requirement is.
    #[serde(default)]
    pub level: Level,
    /// What breaking the requirement allows or breaks, and who can do it.
    #[serde(default)]
    pub rationale: String,
    /// The grade (after `--strict`, `--fail-on-unimplemented` and `--baseline`).
    pub verdict: Verdict,
    /// The reason the `--baseline` file gives, when it lists this case for this column
    /// (whether or not the case still fails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// What was expected, in words.
    pub expected: String,
    /// What happened, in words.
    pub actual: String,
    /// Step-by-step transcript (free of ports, keys and times).
    pub transcript: Vec<String>,
    /// Wall time of the case.
    pub duration_ms: u64,
    /// What the case measured (storm counts and latencies, restart times): reported, never
    /// part of a transcript or snapshot, since they depend on the machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<Figure>,
    /// When the verdict comes not from the case's own requirement but from something every
    /// responder must do (it exited or stopped answering on this request, answered past the
    /// timeout, leaked a secret): that cause, which every report shows first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl CaseResult {
    /// The line a failure leads with: its cause, else its requirement.
    pub fn headline(&self) -> &str {
        self.cause.as_deref().unwrap_or(&self.requirement)
    }
}

/// One measured figure of a case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// What, e.g. `admitted`, `connect p99`, `serves again after`.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Its unit: `ms`, or empty for a count.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
}

impl Figure {
    /// A count.
    pub fn count(name: &str, n: usize) -> Figure {
        Figure {
            name: name.into(),
            value: n as f64,
            unit: String::new(),
        }
    }

    /// Milliseconds.
    pub fn ms(name: &str, d: std::time::Duration) -> Figure {
        Figure {
            name: name.into(),
            value: (d.as_secs_f64() * 1e4).round() / 10.0,
            unit: "ms".into(),
        }
    }

    /// `name value unit`, as the terminal and Markdown reports print it.
    pub fn text(&self) -> String {
        if self.unit.is_empty() {
            format!("{} {}", self.name, self.value)
        } else {
            format!("{} {} {}", self.name, self.value, self.unit)
        }
    }
}

/// One responder judged on one server version and backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponderRun {
    /// Column label, e.g. `reference` or the command's program name.
    pub responder: String,
    /// The command line template used (secrets are placeholders, never values).
    pub command: String,
    /// nats-server version.
    pub server_version: String,
    /// `process` or `container`.
    pub backend: String,
    /// Results in catalog order.
    pub results: Vec<CaseResult>,
    /// The last lines the responder wrote to stderr, in its last scenario or phase (kept for
    /// readers of earlier reports; `stderr` has every one).
    pub responder_stderr: String,
    /// The responder's stderr tail for every scenario file and wire phase, in run order.
    #[serde(default)]
    pub stderr: Vec<StderrTail>,
    /// How often the harness restarted the responder after it exited or stopped answering.
    #[serde(default)]
    pub restarts: usize,
    /// A set-up error that stopped the run, if any.
    pub setup_error: Option<String>,
}

impl ResponderRun {
    /// `responder @ version (backend)`, the column heading.
    pub fn column(&self) -> String {
        format!(
            "{} @ {} ({})",
            self.responder, self.server_version, self.backend
        )
    }

    /// Counts by verdict.
    pub fn count(&self, v: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == v).count()
    }
}

/// The stderr a responder wrote while one scenario file or wire phase ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StderrTail {
    /// The scenario file (`seed.toml`) or wire phase (`wire (plain)`).
    pub source: String,
    /// Its last lines, with every secret the harness handed out redacted.
    pub text: String,
}

/// A whole invocation: several runs side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Harness version.
    pub tool_version: String,
    /// Whether `--strict` was on.
    pub strict: bool,
    /// Runs, one column each.
    pub runs: Vec<ResponderRun>,
    /// What `--baseline` did, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSummary>,
}

/// What the `--baseline` file did in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineSummary {
    /// The file, as given to `--baseline`.
    pub file: String,
    /// How many results, across every column, it turned from FAIL into KNOWN.
    pub known: usize,
    /// Its entries that are no longer needed: remove them so the baseline shrinks.
    pub passes_now: Vec<PassesNow>,
}

/// A baseline entry whose case did not fail in any column the entry applies to (and ran in
/// at least one). It does not fail the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassesNow {
    /// The case id.
    pub id: String,
    /// The table that lists it: `known` or `responder.NAME`.
    pub table: String,
    /// The least good verdict the case got in those columns (PASS, or NON-STRICT, INFO…).
    pub verdict: Verdict,
}

impl Report {
    /// True when any case failed or any run had a set-up error.
    pub fn failed(&self) -> bool {
        self.runs
            .iter()
            .any(|r| r.setup_error.is_some() || r.count(Verdict::Fail) > 0)
    }

    /// True when any run had a set-up error.
    pub fn setup_failed(&self) -> bool {
        self.runs.iter().any(|r| r.setup_error.is_some())
    }

    /// The process exit code: 0 nothing failed, 1 a case failed, 2 a set-up error. KNOWN
    /// (a failure the baseline accepts) is not a failure, nor is a baseline entry that passes
    /// now.
    pub fn exit_code(&self) -> i32 {
        if self.setup_failed() {
            2
        } else if self.failed() {
            1
        } else {
            0
        }
    }
}
