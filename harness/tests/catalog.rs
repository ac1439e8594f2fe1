//! The whole end-to-end catalog against the reference responder on a real nats-server
//! process: every case must pass (or be skipped, when its version bounds exclude this
//! server), and each scenario file's transcripts must match its insta
//! snapshot in `scenarios/snapshots/` (review changes with `cargo insta review`).

use std::path::Path;

use callout_conformance::fixture::ProcessBackend;
use callout_conformance::runner::{self, RunOptions};
use callout_conformance::{provision, scenario, sut::ResponderSpec, verdict::Verdict};

fn transcript(results: &[callout_conformance::verdict::CaseResult]) -> String {
    let mut out = String::new();
    for r in results {
        out.push_str(&format!("{} {}: {}\n", r.id, r.verdict.label(), r.title));
        for l in &r.transcript {
            out.push_str(&format!("    {l}\n"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_against_the_reference_and_matches_its_snapshot() {
    let bin = provision::resolve(provision::DEFAULT_SERVER_VERSION, None).expect("nats-server");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let scenarios = scenario::load_dir(&dir).expect("scenarios load");
    assert!(!scenarios.is_empty());
    let spec = ResponderSpec::reference();
    let operator_spec = ResponderSpec::reference_operator();
    let mut failures = Vec::new();
    for scn in &scenarios {
        let out = runner::run_scenario(
            scn,
            &ProcessBackend,
            &bin,
            if scn.world.operator {
                &operator_spec
            } else {
                &spec
            },
            &RunOptions::default(),
            &mut |_| {},
        )
        .await;
        assert!(
            out.setup_error.is_none(),
            "{}: {:?}\n{}",
            scn.path.display(),
            out.setup_error,
            out.stderr
        );
        for r in &out.results {
            // A case bounded to other server versions (min_server, before_server) is skipped.
            let bounded_out = scn
                .cases
                .iter()
                .find(|c| c.id == r.id)
                .and_then(|c| c.outside_servers(&bin.version))
                .is_some();
            if r.verdict != Verdict::Pass && !(bounded_out && r.verdict == Verdict::Skipped) {
                failures.push(format!(
                    "{} {}: expected {} got {}\n  {}",
                    r.id,
                    r.verdict.label(),
                    r.expected,
                    r.actual,
                    r.transcript.join("\n  ")
                ));
            }
        }
        let name = scn.path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({
            snapshot_path => dir.join("snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("transcripts of {} against the reference responder", scn.path.file_name().unwrap().to_string_lossy()),
        }, {
            insta::assert_snapshot!(name, transcript(&out.results));
        });
    }
    assert!(
        failures.is_empty(),
        "cases failed against the reference responder:\n{}",
        failures.join("\n")
    );
}
