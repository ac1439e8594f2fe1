//! The wire catalog against the reference responder, `--strict`, in config mode and in operator
//! mode (operator mode also runs the admission-only wire cases): nothing fails, nothing is
//! non-strict, and the transcripts match
//! `scenarios/snapshots/wire.snap` and `wire-operator.snap`.

use std::path::Path;

use callout_conformance::fixture::ProcessBackend;
use callout_conformance::runner::RunOptions;
use callout_conformance::sut::ResponderSpec;
use callout_conformance::verdict::Verdict;
use callout_conformance::{provision, wire};

/// Runs one mode's wire catalog against `spec` (the reference) strictly: no restart, no set-up
/// error, every case of that mode and only those, each PASS or INFO; the transcripts must match
/// the snapshot `snapshot`.
/// A transcript line with what differs from run to run written the same way each time (the
/// evidence of an INFO case shows the reply's claims as they came): keys and `jti`s (runs of
/// 40 or more base32 capitals) become `…`, Unix times (ten digits) `T`, sizes `# bytes`.
fn stable(line: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let run = |ok: fn(char) -> bool| chars[i..].iter().take_while(|c| ok(**c)).count();
        let key = run(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c));
        let digits = run(|c| c.is_ascii_digit());
        let word_start = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if key >= 40 && word_start {
            out.push('…');
            i += key;
        } else if digits == 10 && word_start {
            out.push('T');
            i += digits;
        } else if digits > 0
            && word_start
            && line[line
                .char_indices()
                .nth(i + digits)
                .map_or(line.len(), |(b, _)| b)..]
                .starts_with(" bytes")
        {
            out.push('#');
            i += digits;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

async fn reference_passes_strictly(
    spec: ResponderSpec,
    operator: bool,
    snapshot: &str,
    about: &str,
) {
    let bin = provision::resolve(provision::DEFAULT_SERVER_VERSION, None).expect("nats-server");
    let opts = RunOptions {
        strict: true,
        filters: vec![],
        ..RunOptions::default()
    };
    let out = callout_conformance::phase::run_wire(
        &ProcessBackend,
        &bin,
        &spec,
        &opts,
        operator,
        &mut |_| {},
    )
    .await;
    assert_eq!(out.restarts, 0, "the reference was restarted");
    let out = out.outcome;
    assert!(
        out.setup_error.is_none(),
        "{:?}\n{}",
        out.setup_error,
        out.stderr
    );
    let mode: Vec<&str> = wire::catalog()
        .filter(|c| c.phase(operator).is_some())
        .map(|c| c.id)
        .collect();
    let mut ran: Vec<&str> = out.results.iter().map(|r| r.id.as_str()).collect();
    ran.sort();
    let mut want = mode.clone();
    want.sort();
    assert_eq!(ran, want, "exactly this mode's cases ran");
    let bad: Vec<String> = out
        .results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Informational))
        .map(|r| {
            format!(
                "{} {}: expected {}, got {}",
                r.id,
                r.verdict.label(),
                r.expected,
                r.actual
            )
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let mut text = String::new();
    for r in &out.results {
        text.push_str(&format!("{} {}: {}\n", r.id, r.verdict.label(), r.title));
        for l in &r.transcript {
            text.push_str(&format!("    {}\n", stable(l)));
        }
    }
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => about,
    }, {
        insta::assert_snapshot!(snapshot, text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_passes_every_wire_case_strictly() {
    reference_passes_strictly(
        ResponderSpec::reference(),
        false,
        "wire",
        "wire catalog transcripts against the reference responder",
    )
    .await;
}

/// The operator-mode wire catalog (`run --mode operator`) against the reference with its
/// decentralized flags (`scenarios/snapshots/wire-operator.snap`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_passes_every_operator_wire_case_strictly() {
    assert!(wire::catalog().filter(|c| c.config.is_operator()).count() >= 10);
    reference_passes_strictly(
        ResponderSpec::reference_operator(),
        true,
        "wire-operator",
        "operator-mode wire catalog transcripts against the reference responder",
    )
    .await;
}
