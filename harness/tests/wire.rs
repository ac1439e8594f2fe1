//! The wire catalog against the reference responder, `--strict`: nothing fails, nothing is
//! non-strict, and the transcripts match `scenarios/snapshots/wire.snap`.

use std::path::Path;

use callout_conformance::runner::{ProcessBackend, RunOptions};
use callout_conformance::sut::ResponderSpec;
use callout_conformance::verdict::Verdict;
use callout_conformance::{provision, wire};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_passes_every_wire_case_strictly() {
    let bin = provision::resolve(provision::DEFAULT_SERVER_VERSION, None).expect("nats-server");
    let opts = RunOptions {
        strict: true,
        filters: vec![],
        ..RunOptions::default()
    };
    let out = wire::run_wire(
        &ProcessBackend,
        &bin,
        &ResponderSpec::reference(),
        &opts,
        false,
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
    assert_eq!(
        out.results.len(),
        wire::catalog().filter(|c| !c.config.is_operator()).count()
    );
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
            text.push_str(&format!("    {l}\n"));
        }
    }
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "wire catalog transcripts against the reference responder",
    }, {
        insta::assert_snapshot!("wire", text);
    });
}

/// The operator-mode wire catalog (`run --mode operator`) against the reference with its
/// decentralized flags: nothing fails, nothing is non-strict, the transcripts match
/// `scenarios/snapshots/wire-operator.snap`; and the config-mode run above never ran one of
/// these cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_passes_every_operator_wire_case_strictly() {
    let bin = provision::resolve(provision::DEFAULT_SERVER_VERSION, None).expect("nats-server");
    let opts = RunOptions {
        strict: true,
        filters: vec![],
        ..RunOptions::default()
    };
    let out = wire::run_wire(
        &ProcessBackend,
        &bin,
        &ResponderSpec::reference_operator(),
        &opts,
        true,
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
    let operator_cases = wire::catalog().filter(|c| c.config.is_operator()).count();
    assert!(operator_cases >= 10);
    assert_eq!(out.results.len(), operator_cases);
    assert!(out.results.iter().all(|r| r.id.starts_with("wire.op.")));
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
            text.push_str(&format!("    {l}\n"));
        }
    }
    insta::with_settings!({
        snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "operator-mode wire catalog transcripts against the reference responder",
    }, {
        insta::assert_snapshot!("wire-operator", text);
    });
}
