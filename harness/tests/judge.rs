//! Judging the judge: responders that differ from the reference without being wrong (a slow
//! start, JSON with nulls and another header key order), or that are wrong in one way only (a
//! crash on one request, silence after some requests), get exactly the reference's verdicts,
//! except on the cases where they really differ, and those name the real defect. Mutants
//! (`mutants.rs`) prove the cases can fail; these tests prove they do not fail wrongly.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use callout_conformance::cli;
use callout_conformance::scenario::{self, Scenario};
use callout_conformance::session::Unobserved;
use callout_conformance::sut::{find_sibling_binary, OPERATOR_FLAGS, SEED_FLAGS};
use callout_conformance::verdict::{ResponderRun, Verdict};

fn bin(name: &str, env: &str) -> String {
    let p = find_sibling_binary(name, env);
    assert!(
        p.is_file(),
        "build it first: cargo build -p callout-responder --bins (looked for {})",
        p.display()
    );
    p.display().to_string()
}

fn responder() -> String {
    bin("callout-responder", "CALLOUT_RESPONDER_BIN")
}

fn mutant() -> String {
    bin("callout-mutant", "CALLOUT_MUTANT_BIN")
}

fn scenarios() -> Arc<Vec<Scenario>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    Arc::new(scenario::load_dir(&dir).expect("scenarios"))
}

/// Runs the catalog (or the cases matching `filters`) against each template, two at a time.
fn run_all(templates: Vec<String>, filters: &[&str]) -> Vec<ResponderRun> {
    run_some(templates, filters, 2)
}

/// Runs the catalog (or the cases matching `filters`) against each template, `parallel` at a
/// time.
fn run_some(templates: Vec<String>, filters: &[&str], parallel: usize) -> Vec<ResponderRun> {
    run_mode(templates, filters, parallel, false)
}

/// [`run_some`], in operator mode (`--mode operator`) when `operator`; no run may end in a
/// set-up error.
fn run_mode(
    templates: Vec<String>,
    filters: &[&str],
    parallel: usize,
    operator: bool,
) -> Vec<ResponderRun> {
    let runs = run_raw(templates, filters, parallel, operator);
    for run in &runs {
        assert!(
            run.setup_error.is_none(),
            "{}: set-up error {:?}\n{}",
            run.command,
            run.setup_error,
            run.responder_stderr
        );
    }
    runs
}

/// The runs of [`run_mode`], set-up errors and all.
fn run_raw(
    templates: Vec<String>,
    filters: &[&str],
    parallel: usize,
    operator: bool,
) -> Vec<ResponderRun> {
    let scenarios = scenarios();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel));
    let tasks: Vec<_> = templates
        .into_iter()
        .map(|t| {
            let mut argv = vec![
                "run".to_string(),
                "--strict".into(),
                "--responder-cmd".into(),
                t,
            ];
            if operator {
                argv.extend(["--mode".to_string(), "operator".into()]);
            }
            argv.extend(filters.iter().map(|f| f.to_string()));
            let args = cli::parse_args(&argv).unwrap();
            let scenarios = scenarios.clone();
            let sem = sem.clone();
            rt.spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let (session, opts) = (args.session(), args.run_options());
                callout_conformance::session::run(&session, &scenarios, &opts, &mut Unobserved)
                    .await
            })
        })
        .collect();
    tasks
        .into_iter()
        .map(|t| {
            let mut report = rt.block_on(t).unwrap();
            report.runs.remove(0)
        })
        .collect()
}

fn verdicts(run: &ResponderRun) -> BTreeMap<String, Verdict> {
    run.results
        .iter()
        .map(|r| (r.id.clone(), r.verdict))
        .collect()
}

/// Every case whose verdict differs from the baseline's, with its reason.
fn differences(baseline: &ResponderRun, other: &ResponderRun) -> Vec<(String, Verdict, String)> {
    let base = verdicts(baseline);
    assert_eq!(
        base.keys().collect::<Vec<_>>(),
        verdicts(other).keys().collect::<Vec<_>>(),
        "both runs have the same cases"
    );
    other
        .results
        .iter()
        .filter(|r| base[&r.id] != r.verdict)
        .map(|r| (r.id.clone(), r.verdict, r.actual.clone()))
        .collect()
}

fn seed(program: &str) -> String {
    format!("{program} {SEED_FLAGS}")
}

#[test]
fn responders_that_differ_without_being_wrong_get_the_references_verdicts() {
    let delayed = format!("sh -c 'sleep 3; exec \"$0\" \"$@\"' {}", seed(&responder()));
    let quirky = format!("{} -quirk json-nulls,header-order {SEED_FLAGS}", mutant());
    let runs = run_all(vec![seed(&responder()), delayed, quirky], &[]);
    let (baseline, delayed, quirky) = (&runs[0], &runs[1], &runs[2]);
    assert!(baseline.results.len() > 100, "the whole catalog ran");
    assert_eq!(baseline.count(Verdict::Fail), 0, "the reference passes");
    assert_eq!(
        differences(baseline, delayed),
        vec![],
        "a 3 s start delay changes no verdict"
    );
    assert_eq!(delayed.restarts, 0);
    assert_eq!(
        differences(baseline, quirky),
        vec![],
        "JSON nulls and a reordered header change no verdict (the server accepts both, protocol.md §8.2)"
    );
}

/// Operator mode, e2e and wire: a responder that writes nulls, another header order, keeps
/// `aud` in the user JWT and names the callout account in every response, and one that starts
/// 3 s late, get the reference's verdicts (the server accepts all of it, protocol.md §1.6,
/// §1.7 `aud`, §8.2).
#[test]
fn operator_mode_responders_that_differ_without_being_wrong_get_the_references_verdicts() {
    let reference = format!("{} {OPERATOR_FLAGS}", responder());
    let delayed = format!("sh -c 'sleep 3; exec \"$0\" \"$@\"' {reference}");
    let quirky = format!(
        "{} -quirk json-nulls,header-order,operator-extras {OPERATOR_FLAGS}",
        mutant()
    );
    let runs = run_mode(vec![reference, delayed, quirky], &[], 2, true);
    let (baseline, delayed, quirky) = (&runs[0], &runs[1], &runs[2]);
    assert!(
        baseline
            .results
            .iter()
            .any(|r| r.id.starts_with("wire.op."))
            && baseline
                .results
                .iter()
                .any(|r| r.id.starts_with("e2e.op-scoped.")),
        "the operator catalog ran, wire and e2e"
    );
    // The operator-mode catalog: its files, its wire cases, and the wire cases that judge
    // only admission (hostile, robust, output), which run in operator mode too.
    let operator_wire: std::collections::BTreeSet<&str> = callout_conformance::wire::catalog()
        .filter(|c| c.phase(true).is_some())
        .map(|c| c.id)
        .collect();
    assert!(
        baseline
            .results
            .iter()
            .all(|r| r.id.starts_with("e2e.op") || operator_wire.contains(r.id.as_str())),
        "only operator-mode cases"
    );
    assert!(
        baseline
            .results
            .iter()
            .any(|r| r.id.starts_with("wire.hostile.")),
        "hostile requests are judged in operator mode"
    );
    for group in ["wire.resp.", "wire.seal."] {
        assert!(
            baseline.results.iter().any(|r| r.id.starts_with(group)),
            "{group} is judged in operator mode"
        );
    }
    assert_eq!(baseline.count(Verdict::Fail), 0, "the reference passes");
    assert_eq!(
        differences(baseline, delayed),
        vec![],
        "a 3 s start delay changes no verdict"
    );
    assert_eq!(
        differences(baseline, quirky),
        vec![],
        "nulls, a reordered header, aud and a response issuer_account change no verdict"
    );
}

/// The cases of the topology files (cluster, storm, fault, leaf).
fn topology_cases() -> Vec<String> {
    scenarios()
        .iter()
        .filter(|s| !s.world.topology.is_plain())
        .flat_map(|s| s.cases.iter().map(|c| c.id.clone()))
        .collect()
}

#[test]
fn answers_out_of_order_or_twice_change_no_topology_verdict() {
    // Under a storm, `shuffle` holds each answer 0-50 ms so they go out in another order than
    // the requests came, and `double-reply` answers every request twice: the server matches
    // answers by reply subject and takes the first, so every client still gets its own
    // decision (read back through $SYS.REQ.USER.INFO), and no topology case may fail.
    let ids = topology_cases();
    let filters: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert!(filters.len() >= 15, "{filters:?}");
    let shuffled = format!("{} -quirk shuffle {SEED_FLAGS}", mutant());
    let twice = format!("{} -fault double-reply {SEED_FLAGS}", mutant());
    // One at a time: the storms are sized for one topology on this 2-core machine.
    let runs = run_some(vec![seed(&responder()), shuffled, twice], &filters, 1);
    let (baseline, shuffled, twice) = (&runs[0], &runs[1], &runs[2]);
    assert_eq!(baseline.results.len(), ids.len());
    let failed: Vec<String> = baseline
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| format!("{}: {}", r.id, r.actual))
        .collect();
    assert_eq!(failed, Vec::<String>::new(), "the reference passes");
    assert_eq!(
        differences(baseline, shuffled),
        vec![],
        "answers out of order"
    );
    assert_eq!(differences(baseline, twice), vec![], "answers sent twice");
}

#[test]
fn a_crash_is_blamed_on_the_request_that_caused_it_only() {
    let crashing = format!("{} -fault crash-on-garbage {SEED_FLAGS}", mutant());
    let runs = run_all(vec![seed(&responder()), crashing], &["wire"]);
    let (baseline, crashing) = (&runs[0], &runs[1]);
    let diffs = differences(baseline, crashing);
    assert!(!diffs.is_empty(), "the crash is caught");
    for (id, verdict, actual) in &diffs {
        assert_eq!(*verdict, Verdict::Fail, "{id}");
        assert!(
            actual.contains("the responder exited"),
            "{id} names the crash: {actual}"
        );
        assert!(
            id.starts_with("wire.hostile."),
            "{id}: only forged requests crash it"
        );
    }
    assert_eq!(crashing.restarts, diffs.len(), "one restart per crash");
    let crashed = crashing
        .results
        .iter()
        .filter(|r| {
            r.transcript
                .iter()
                .any(|l| l.starts_with("liveness: the responder exited"))
        })
        .count();
    assert_eq!(
        crashed,
        diffs.len(),
        "every crash is in its case's transcript"
    );
}

#[test]
fn a_responder_that_goes_silent_is_blamed_where_it_stopped_then_recovers() {
    let silent = format!("{} -fault silent-after=25 {SEED_FLAGS}", mutant());
    let runs = run_all(vec![seed(&responder()), silent], &["wire"]);
    let (baseline, silent) = (&runs[0], &runs[1]);
    let diffs = differences(baseline, silent);
    assert!(!diffs.is_empty(), "the silence is caught");
    for (id, verdict, actual) in &diffs {
        assert_eq!(*verdict, Verdict::Fail, "{id}");
        assert!(
            actual.contains("stopped answering"),
            "{id} names the silence: {actual}"
        );
    }
    assert!(silent.restarts >= 1, "it was restarted");
    assert_eq!(silent.restarts, diffs.len(), "one restart per silence");
    // After each restart the cases are judged afresh: far more cases match than differ.
    assert!(diffs.len() * 3 < silent.results.len(), "{diffs:?}");
}

#[test]
fn a_responder_without_xkey_support_is_unimplemented_not_failed() {
    // The reference started without its xkey seed cannot open sealed requests and stays
    // silent on them: the sealed cases are UNIMPLEMENTED, the plain ones judged as usual.
    let no_xkey = format!(
        "{} -nats.url {{url}} -nats.user {{user}} -nats.pass {{pass}} -issuer.seed {{issuer_seed}} -users {{users}}",
        responder()
    );
    let scenarios = scenarios();
    let args = cli::parse_args(&[
        "run".into(),
        "--strict".into(),
        "--ready-timeout".into(),
        "4".into(),
        "--responder-cmd".into(),
        no_xkey,
        "wire".into(),
        "e2e.seed".into(),
    ])
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(callout_conformance::session::run(
        &args.session(),
        &scenarios,
        &args.run_options(),
        &mut callout_conformance::session::Unobserved,
    ));
    let run = &report.runs[0];
    assert!(run.setup_error.is_none(), "{:?}", run.setup_error);
    for r in &run.results {
        let sealed = r.id.starts_with("wire.seal.")
            || matches!(
                r.id.as_str(),
                "wire.hostile.7"
                    | "wire.hostile.8"
                    | "wire.hostile.9"
                    | "wire.hostile.10"
                    | "wire.hostile.15"
                    | "wire.hostile.30"
            )
            || r.id.starts_with("e2e.seed.");
        if sealed {
            assert_eq!(r.verdict, Verdict::Unimplemented, "{} {}", r.id, r.actual);
            assert!(!r.actual.is_empty(), "{}: the reason is given", r.id);
        } else {
            assert!(
                matches!(r.verdict, Verdict::Pass | Verdict::Informational),
                "{} {}: {}",
                r.id,
                r.verdict.label(),
                r.actual
            );
        }
    }
    assert_eq!(
        report.exit_code(),
        0,
        "UNIMPLEMENTED alone does not fail the run"
    );
}

#[test]
fn a_responder_without_the_nkey_and_token_extensions_is_unimplemented_not_failed() {
    // The NATS by Example service knows only passwords: the mutant's seed-users quirk reads
    // users.json the same way, so the nkey and token users have no credential. Their files
    // must be UNIMPLEMENTED, with the reason, and everything else judged as usual.
    let seed_only = format!("{} -quirk seed-users {SEED_FLAGS}", mutant());
    let runs = run_all(vec![seed_only], &["e2e.nkey", "e2e.token", "e2e.session"]);
    let run = &runs[0];
    assert_eq!(run.results.len(), 16, "all three files ran");
    for r in &run.results {
        if r.id.starts_with("e2e.nkey.") || r.id.starts_with("e2e.token.") {
            assert_eq!(r.verdict, Verdict::Unimplemented, "{} {}", r.id, r.actual);
            assert!(
                r.actual.contains("users.json extension"),
                "{}: {}",
                r.id,
                r.actual
            );
        } else {
            assert_eq!(r.verdict, Verdict::Pass, "{} {}", r.id, r.actual);
        }
    }
}

/// The responders in the wild of issue 25, each wrong in exactly one way: each is judged by
/// its own defect, at the level the protocol gives it, and by nothing else.
#[test]
fn responders_in_the_wild_are_judged_by_their_own_defect_only() {
    let m = |how: &str| format!("{} {how} {SEED_FLAGS}", mutant());
    let cases = [
        // Seals the user JWT to the unsigned header key: credential theft (MUST), and it
        // admitted a request whose header was rewritten (SHOULD).
        (
            "-fault seal-to-header-key",
            vec![
                (
                    "wire.hostile.7",
                    Verdict::Fail,
                    "admitted, with the answer sealed to the unsigned header key",
                ),
                (
                    "wire.hostile.30",
                    Verdict::Fail,
                    "the user JWT was sealed to the unsigned header key",
                ),
            ],
        ),
        // Opens with the header key but answers to the signed one: the SHOULD deviation only.
        (
            "-fault header-key-signed-answer",
            vec![("wire.hostile.7", Verdict::Fail, "admitted into")],
        ),
        // Admits the v1 trap: a signature by a key of the forger's own, as wire.hostile.2.
        (
            "-fault accept-v1",
            vec![("wire.hostile.20", Verdict::Fail, "admitted into")],
        ),
        // Logs every password it is given.
        (
            "-fault log-secrets",
            vec![(
                "wire.output.1",
                Verdict::Fail,
                "wrote a secret the harness handed it",
            )],
        ),
    ];
    let templates: Vec<String> = std::iter::once(seed(&responder()))
        .chain(cases.iter().map(|(how, _)| m(how)))
        .collect();
    // --strict: a SHOULD breach is FAIL here, and is NON-STRICT without it.
    let runs = run_all(templates, &["wire.hostile", "wire.output"]);
    for ((how, want), run) in cases.iter().zip(&runs[1..]) {
        let got = differences(&runs[0], run);
        let ids: Vec<&str> = got.iter().map(|(id, _, _)| id.as_str()).collect();
        let want_ids: Vec<&str> = want.iter().map(|(id, _, _)| *id).collect();
        assert_eq!(ids, want_ids, "{how}: {got:#?}");
        for ((_, verdict, actual), (_, want_v, want_text)) in got.iter().zip(want) {
            assert_eq!(verdict, want_v, "{how}");
            assert!(actual.contains(want_text), "{how}: {actual:?}");
        }
    }
    let levels: BTreeMap<&str, _> = callout_conformance::wire::catalog()
        .map(|c| (c.id, c.level))
        .collect();
    use callout_conformance::verdict::Level;
    assert_eq!(levels["wire.hostile.7"], Level::Should);
    assert_eq!(levels["wire.hostile.20"], Level::Should);
    assert_eq!(levels["wire.hostile.30"], Level::Must);
}

/// A responder on slow crypto answers in 150-500 ms, inside the server's 1 s: three runs of
/// the whole catalog but the topology files give the same verdicts every time, and the
/// reference's, except `e2e.load.1`, where 200 clients connecting at once outrun a responder
/// that spends that long on each (a real defect: clients are refused). The topology files
/// (storms, clusters, faults) measure capacity against the clock; the mutant `slow=1.5` is
/// caught there (mutants.rs), and `-quirk shuffle` and the start delay are judged on them
/// above.
#[test]
fn a_slow_responder_gets_the_same_verdicts_every_time() {
    let slow = format!("{} -quirk slow-answers=150..500 {SEED_FLAGS}", mutant());
    let mut filters: Vec<String> = scenarios()
        .iter()
        .filter(|s| s.world.topology.is_plain() && !s.world.operator)
        .flat_map(|s| s.cases.iter().map(|c| c.id.clone()))
        .collect();
    filters.push("wire".into());
    let filters: Vec<&str> = filters.iter().map(String::as_str).collect();
    let runs = run_some(
        vec![seed(&responder()), slow.clone(), slow.clone(), slow],
        &filters,
        4,
    );
    for run in &runs[2..] {
        assert_eq!(differences(&runs[1], run), vec![], "{}", run.command);
    }
    let capacity: Vec<_> = differences(&runs[0], &runs[1])
        .into_iter()
        .filter(|(id, _, _)| id != "e2e.load.1")
        .collect();
    assert_eq!(
        capacity,
        vec![],
        "only the load case differs from the reference"
    );
}

/// A responder that answers every request right but 1.2 s late, past the server's 1 s
/// timeout, denies every client: it FAILs, with its answer time named; a late answer to a
/// hostile request is judged as the server judges it (no answer). An end-to-end file cannot
/// run on it, and its set-up error says why (the answer times, timed by the answer tap)
/// instead of "did not become ready" after the whole ready timeout.
#[test]
fn a_responder_past_the_timeout_fails_naming_its_answer_time() {
    let late = format!("{} -fault slow=1.2 {SEED_FLAGS}", mutant());
    let runs = run_raw(
        vec![late],
        &[
            "wire.resp.1",
            "wire.robust.1",
            "wire.hostile.1",
            "e2e.acct.1",
        ],
        1,
        false,
    );
    let setup = runs[0].setup_error.clone().unwrap_or_default();
    assert!(
        setup.contains("the responder answers late: 1.2")
            && setup.contains("past the server's 1 s"),
        "{setup}"
    );
    let by_id: BTreeMap<&str, _> = runs[0].results.iter().map(|r| (r.id.as_str(), r)).collect();
    for id in ["wire.resp.1", "wire.robust.1"] {
        let r = by_id[id];
        assert_eq!(r.verdict, Verdict::Fail, "{id}");
        assert!(
            r.actual.contains("answered after 1.") && r.actual.contains("at 1 s"),
            "{id}: {:?}",
            r.actual
        );
    }
    // The refusal of the bad signature comes after the server gave up (or, queued behind the
    // earlier late answers, not at all while the harness listens): no admission either way.
    let h = by_id["wire.hostile.1"];
    assert_eq!(h.verdict, Verdict::Informational, "{:?}", h.actual);
}

/// Issue 25, family 13: the response and seal checks that hold in both modes judge an
/// operator-mode responder too, and fail it for the same defects as in config mode.
#[test]
fn operator_mode_judges_the_response_and_seal_groups() {
    let faults = [
        ("wrong-aud", "wire.resp.5"),
        ("wrong-sub", "wire.resp.4"),
        ("double-reply", "wire.resp.13"),
        ("password-in-error", "wire.resp.14"),
        ("unsealed-reply", "wire.seal.2"),
    ];
    let templates = faults
        .iter()
        .map(|(f, _)| format!("{} -fault {f} {OPERATOR_FLAGS}", mutant()))
        .collect();
    let runs = run_mode(templates, &["wire.resp", "wire.seal"], 2, true);
    for ((fault, id), run) in faults.iter().zip(&runs) {
        let r = run.results.iter().find(|r| r.id == *id).unwrap();
        assert_eq!(r.verdict, Verdict::Fail, "{fault}: {id} {:?}", r.actual);
    }
    // What only a config-mode answer holds is not judged in operator mode.
    assert!(runs[0]
        .results
        .iter()
        .all(|r| r.id != "wire.resp.3" && r.id != "wire.resp.8"));
}

/// The Node fixture responder (`tests/fixtures/node-responder`), installed with `npm ci` into
/// `target/node-responder`: `node service.mjs FLAGS`.
fn node_responder() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("tests/fixtures/node-responder");
    let dir = root.join("../target/node-responder");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["package.json", "package-lock.json", "service.mjs"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let npm = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .expect(
            "npm (Node.js 20 and npm come with the machine; Debian: apt-get install nodejs npm)",
        );
    assert!(npm.success(), "npm ci in {} failed", dir.display());
    format!(
        "node {} {SEED_FLAGS} -nats.ca {{ca_file}} -nats.cert {{cert_file}} -nats.key {{key_file}}",
        dir.join("service.mjs").display()
    )
}

/// Issue 25, family 12: a responder on the official Node client, whose client library starts
/// TLS whenever the server offers it, runs the TLS file with the run's CA and a client
/// certificate (`{ca_file}`, `{cert_file}`, `{key_file}`) and gets the reference's verdicts;
/// so do its other JSON and JWT libraries on the account, response, seal and hostile cases.
#[test]
fn a_responder_on_the_official_node_client_gets_the_references_verdicts() {
    let filters = [
        "e2e.tls",
        "e2e.acct",
        "wire.resp",
        "wire.seal",
        "wire.hostile",
    ];
    let runs = run_some(vec![seed(&responder()), node_responder()], &filters, 2);
    assert!(
        runs[1]
            .results
            .iter()
            .any(|r| r.id == "e2e.tls.1" && r.verdict == Verdict::Pass),
        "the Node responder connects over TLS and admits a certificate user"
    );
    assert_eq!(
        differences(&runs[0], &runs[1]),
        vec![],
        "{}",
        runs[1].command
    );
}
