//! `--responder-cmd` with a responder that understands only the NATS by Example service's six
//! flags (a wrapper that refuses anything else): the seed scenarios and the wire catalog run
//! and pass, and the column is named after the program.

use std::path::Path;

use callout_conformance::runner::RunOptions;
use callout_conformance::sut::{find_sibling_binary, SEED_FLAGS};
use callout_conformance::verdict::Verdict;
use callout_conformance::{cli, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_flags_only_responder_is_judged() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wrapper = here.join("tests/fixtures/seed-flags-only.sh");
    let responder = find_sibling_binary("callout-responder", "CALLOUT_RESPONDER_BIN");
    let template = format!("{} {} {SEED_FLAGS}", wrapper.display(), responder.display());
    let args = cli::parse_args(&[
        "run".into(),
        "--responder-cmd".into(),
        template,
        "e2e.seed".into(),
        "wire.resp".into(),
    ])
    .unwrap();
    assert_eq!(
        args.responders.len(),
        1,
        "only the command, no reference column"
    );
    assert_eq!(args.responders[0].name, "seed-flags-only.sh");
    let scenarios = scenario::load_dir(&here.join("../scenarios")).unwrap();
    let opts = RunOptions {
        strict: true,
        filters: args.filters.clone(),
        ..RunOptions::default()
    };
    let report = callout_conformance::session::run(
        &args.session(),
        &scenarios,
        &opts,
        &mut callout_conformance::session::Unobserved,
    )
    .await;
    let run = &report.runs[0];
    assert!(
        run.setup_error.is_none(),
        "{:?}\n{}",
        run.setup_error,
        run.responder_stderr
    );
    assert_eq!(
        run.results
            .iter()
            .filter(|r| r.id.starts_with("e2e.seed."))
            .count(),
        5
    );
    assert!(run.results.iter().any(|r| r.id.starts_with("wire.resp.")));
    let bad: Vec<_> = run
        .results
        .iter()
        // wire.resp.17 (MAY) records, as for the reference, that a users.json password gives
        // a user JWT without exp.
        .filter(|r| {
            r.verdict != Verdict::Pass
                && !(r.id == "wire.resp.17" && r.verdict == Verdict::Informational)
        })
        .map(|r| format!("{} {:?}: {}", r.id, r.verdict, r.actual))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(report.exit_code(), 0);
}
