//! The one place a verdict is decided. Every case kind (a scenario file's steps, a wire case,
//! a skipped or unimplemented case) ends in an [`Outcome`]: the facts, stated without a
//! verdict. [`grade`] turns an outcome at a case's level into the verdict, with `--strict` and
//! `--fail-on-unimplemented` applied, and [`judged`] builds the result every report and the
//! progress bar read. Nothing else in the harness writes a verdict (the baseline marks a graded
//! FAIL as KNOWN afterwards, and says so).

use callout_leaves::verdict::{CaseResult, Figure, Level, Verdict};

/// What happened when a case ran, before any grading.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The case's requirement held.
    Met,
    /// The case's own requirement was broken: its level says what that weighs.
    Breached {
        /// What the requirement asks for.
        expected: String,
        /// What the responder did instead.
        actual: String,
    },
    /// Something every responder must do was broken, whatever the case's level: it exited or
    /// stopped answering, echoed a secret, or left the server without an answer it can use.
    Broken {
        /// What any responder must do.
        expected: String,
        /// What this one did.
        actual: String,
    },
    /// A behaviour that is recorded, not judged (a safe refusal where a signed error is
    /// expected).
    Noted {
        /// What the case hoped for.
        expected: String,
        /// What the responder did.
        actual: String,
    },
    /// The responder lacks the feature the case needs.
    Unimplemented(String),
    /// The case did not run, and why.
    Skipped(String),
}

impl Outcome {
    /// A breach of the case's own requirement.
    pub fn breached(expected: impl Into<String>, actual: impl Into<String>) -> Outcome {
        Outcome::Breached {
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// A breach of what every responder must do.
    pub fn broken(expected: impl Into<String>, actual: impl Into<String>) -> Outcome {
        Outcome::Broken {
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// A recorded behaviour.
    pub fn noted(expected: impl Into<String>, actual: impl Into<String>) -> Outcome {
        Outcome::Noted {
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// The command line's say in grading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grading {
    /// `--strict`: NON-STRICT counts as FAIL.
    pub strict: bool,
    /// `--fail-on-unimplemented`: UNIMPLEMENTED counts as FAIL.
    pub fail_on_unimplemented: bool,
}

/// The verdict of `outcome` for a case of `level`: the one rule of the suite.
pub fn grade(level: Level, outcome: &Outcome, g: Grading) -> Verdict {
    let v = match outcome {
        Outcome::Met => Verdict::Pass,
        Outcome::Breached { .. } => level.on_breach(),
        Outcome::Broken { .. } => Verdict::Fail,
        Outcome::Noted { .. } => Verdict::Informational,
        Outcome::Unimplemented(_) => Verdict::Unimplemented,
        Outcome::Skipped(_) => Verdict::Skipped,
    };
    let v = v.strictly(g.strict);
    if g.fail_on_unimplemented && v == Verdict::Unimplemented {
        Verdict::Fail
    } else {
        v
    }
}

/// What a case is, as its result shows it.
#[derive(Clone, Copy, Debug)]
pub struct CaseMeta<'a> {
    /// The case id.
    pub id: &'a str,
    /// Its one-line title.
    pub title: &'a str,
    /// The requirement it checks.
    pub requirement: &'a str,
    /// Where the requirement comes from.
    pub cite: &'a str,
    /// How binding the requirement is.
    pub level: Level,
    /// What breaking it allows or breaks.
    pub rationale: &'a str,
}

/// What a case did besides its outcome: its transcript, how long it took, its figures.
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// The step-by-step transcript.
    pub transcript: Vec<String>,
    /// Milliseconds the case took.
    pub duration_ms: u64,
    /// Measured figures (storms, faults).
    pub figures: Vec<Figure>,
}

/// The graded result of a case: [`grade`] of its outcome, with the outcome's words.
pub fn judged(meta: CaseMeta<'_>, outcome: Outcome, g: Grading, record: Record) -> CaseResult {
    let verdict = grade(meta.level, &outcome, g);
    let cause = match &outcome {
        Outcome::Broken { actual, .. } => Some(actual.clone()),
        _ => None,
    };
    let (expected, actual) = match outcome {
        Outcome::Met => (String::new(), String::new()),
        Outcome::Breached { expected, actual }
        | Outcome::Broken { expected, actual }
        | Outcome::Noted { expected, actual } => (expected, actual),
        Outcome::Unimplemented(why) if verdict == Verdict::Fail => (
            "the feature implemented (--fail-on-unimplemented)".into(),
            format!("unimplemented: {why}"),
        ),
        Outcome::Unimplemented(why) | Outcome::Skipped(why) => (String::new(), why),
    };
    CaseResult {
        id: meta.id.into(),
        title: meta.title.into(),
        requirement: meta.requirement.into(),
        cite: meta.cite.into(),
        level: meta.level,
        rationale: meta.rationale.into(),
        verdict,
        baseline: None,
        expected,
        actual,
        transcript: record.transcript,
        duration_ms: record.duration_ms,
        figures: record.figures,
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_outcome_gets_the_same_verdict_at_every_level_but_a_breach() {
        let g = Grading::default();
        for level in [Level::Must, Level::Should, Level::May] {
            assert_eq!(grade(level, &Outcome::broken("e", "a"), g), Verdict::Fail);
            assert_eq!(
                grade(level, &Outcome::noted("e", "a"), g),
                Verdict::Informational
            );
            assert_eq!(grade(level, &Outcome::Met, g), Verdict::Pass);
        }
        assert_eq!(
            grade(Level::Must, &Outcome::breached("e", "a"), g),
            Verdict::Fail
        );
        assert_eq!(
            grade(Level::Should, &Outcome::breached("e", "a"), g),
            Verdict::NonStrict
        );
        assert_eq!(
            grade(Level::May, &Outcome::breached("e", "a"), g),
            Verdict::Informational
        );
    }

    #[test]
    fn strict_and_fail_on_unimplemented_are_applied_here() {
        let strict = Grading {
            strict: true,
            fail_on_unimplemented: false,
        };
        assert_eq!(
            grade(Level::Should, &Outcome::breached("e", "a"), strict),
            Verdict::Fail
        );
        let unimpl = Grading {
            strict: false,
            fail_on_unimplemented: true,
        };
        let o = Outcome::Unimplemented("no xkey".into());
        assert_eq!(grade(Level::Must, &o, unimpl), Verdict::Fail);
        let meta = CaseMeta {
            id: "x.1",
            title: "t",
            requirement: "r",
            cite: "c",
            level: Level::Must,
            rationale: "",
        };
        let r = judged(meta, o, unimpl, Record::default());
        assert_eq!(r.actual, "unimplemented: no xkey");
        assert_eq!(
            grade(Level::Must, &Outcome::Skipped("f".into()), unimpl),
            Verdict::Skipped
        );
    }

    #[test]
    fn a_broken_outcome_is_the_cause_every_report_leads_with() {
        let meta = CaseMeta {
            id: "wire.hostile.13",
            title: "random bytes",
            requirement: "not admitted",
            cite: "c",
            level: Level::Must,
            rationale: "",
        };
        let crash = Outcome::broken(
            "the responder keeps answering good requests",
            "the responder exited (exit status: 1) on this request",
        );
        let r = judged(meta, crash, Grading::default(), Record::default());
        assert_eq!(
            r.headline(),
            "the responder exited (exit status: 1) on this request"
        );
        let breach = Outcome::breached("not admitted", "admitted");
        let r = judged(meta, breach, Grading::default(), Record::default());
        assert_eq!((r.cause.as_deref(), r.headline()), (None, "not admitted"));
    }
}
