//! Mutation testing of the suite itself: the `callout-mutant` binary is the reference
//! responder with one deliberate defect (`-fault NAME`). The whole suite (end-to-end catalog
//! and wire cases, `--strict`) runs against each mutant, and every mutant must be caught by at
//! least one failing case. The table of which cases catch which mutant is written to
//! `target/mutants.md` (the copy in docs/mutants.md comes from it).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use callout_conformance::cli;
use callout_conformance::runner::RunOptions;
use callout_conformance::scenario;
use callout_conformance::sut::{find_sibling_binary, OPERATOR_FLAGS, SEED_FLAGS};
use callout_conformance::verdict::Verdict;

/// Every mutant and the rule it breaks.
const MUTANTS: &[(&str, &str)] = &[
    (
        "skip-signature-check",
        "does not verify the request signature",
    ),
    ("skip-exp-check", "does not check the request exp"),
    ("skip-issuer-check", "does not check iss == server_id.id"),
    ("wrong-aud", "response aud is not the server id"),
    ("wrong-sub", "response and user sub are not user_nkey"),
    ("padded-base64", "pads the base64 of the response"),
    ("missing-version", "omits nats.version from the response"),
    ("ignore-deny", "drops deny lists from the user JWT"),
    ("ignore-resp", "drops resp from the user JWT"),
    ("ttl-in-seconds", "writes resp.ttl in seconds"),
    ("password-in-error", "echoes the password in the error text"),
    ("admit-unknown", "admits users not in users.json"),
    ("admit-empty-password", "admits an empty password"),
    ("unsealed-reply", "answers sealed requests in plaintext"),
    (
        "wrong-seal-key",
        "seals with a key other than the configured xkey",
    ),
    (
        "crash-on-garbage",
        "exits on a request that does not decode",
    ),
    ("double-reply", "sends two replies per request"),
    ("no-account", "leaves the user JWT aud (account) empty"),
    (
        "wrong-signer",
        "signs with an account key other than the issuer",
    ),
    (
        "skip-nonce-check",
        "admits an nkey user without verifying sig over the nonce",
    ),
    ("short-expiry", "gives user JWTs an exp 2 s ahead"),
    (
        "admit-unknown-cert",
        "admits a verified client certificate whose subject no user has",
    ),
    (
        "trust-unverified-cert",
        "places a client by a certificate the server did not verify",
    ),
    ("silent-after=25", "stops answering after 25 requests"),
];

/// Operator-mode mutants: run with `--mode operator` (the operator-mode files, the
/// decentralized flags) and caught there.
const OPERATOR_MUTANTS: &[(&str, &str)] = &[
    (
        "no-issuer-account",
        "operator mode: signs with the target account's signing key but omits issuer_account",
    ),
    (
        "ignore-signing-keys",
        "operator mode: signs every user JWT with the issuer (the callout account), as in config mode",
    ),
    (
        "scoped-permissions",
        "operator mode: gives a user signed by a scoped key its users.json permissions",
    ),
    (
        "scoped-limits",
        "operator mode: gives a user signed by a scoped key Go's default limits (-1)",
    ),
    (
        "foreign-response-signer",
        "operator mode: signs the response with an account key unknown to the callout account",
    ),
    (
        "spoof-issuer-account",
        "operator mode: signs the response with a foreign key and claims issuer_account = the callout account",
    ),
    (
        "wrong-account-key",
        "operator mode: signs the user JWT with another target account's key (issuer_account still right)",
    ),
    (
        "wrong-issuer-account",
        "operator mode: sets the user JWT's issuer_account to the callout account, not the target",
    ),
];

/// Mutants that only a cluster, a storm or a fault shows: run against the topology files
/// (`[topology]`) alone, and caught by their cases. The mutants above run against every other
/// file (the topology files add minutes and catch nothing more of them).
const TOPOLOGY_MUTANTS: &[(&str, &str)] = &[
    (
        "crash-after=50",
        "aborts (crashes) after answering 50 requests",
    ),
    (
        "slow=1.5",
        "holds every answer 1.5 s, so a storm outruns it",
    ),
    (
        "swap-decisions",
        "gives every fifth admitted client the previous client's account and permissions",
    ),
];

#[test]
fn every_mutant_is_caught_by_at_least_one_case() {
    let mutant = find_sibling_binary("callout-mutant", "CALLOUT_MUTANT_BIN");
    assert!(
        mutant.is_file(),
        "build the mutant first: cargo build -p callout-responder --bins (looked for {})",
        mutant.display()
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let (topology, plain): (Vec<_>, Vec<_>) = scenario::load_dir(&dir)
        .expect("scenarios")
        .into_iter()
        .partition(|s| !s.world.topology.is_plain());
    assert!(topology.len() >= 4, "cluster, storm, fault and leaf files");
    let (plain, topology) = (Arc::new(plain), Arc::new(topology));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sem = Arc::new(tokio::sync::Semaphore::new(3));
    let mut tasks = Vec::new();
    // The topology mutants skip the wire catalog (its cases do not depend on the topology).
    let topology_filters: Vec<String> = topology
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.id.clone()))
        .collect();
    let all = MUTANTS
        .iter()
        .map(|m| (m, plain.clone(), vec![], false))
        .chain(
            TOPOLOGY_MUTANTS
                .iter()
                .map(|m| (m, topology.clone(), topology_filters.clone(), false)),
        )
        .chain(
            OPERATOR_MUTANTS
                .iter()
                .map(|m| (m, plain.clone(), vec![], true)),
        );
    for ((name, rule), scenarios, filters, operator) in all {
        let flags = if operator { OPERATOR_FLAGS } else { SEED_FLAGS };
        let template = format!("{} -fault {name} {flags}", mutant.display());
        let mut argv = vec![
            "run".to_string(),
            "--strict".into(),
            "--responder-cmd".into(),
            template,
        ];
        if operator {
            argv.extend(["--mode".to_string(), "operator".into()]);
        }
        argv.extend(filters);
        let args = cli::parse_args(&argv).unwrap();
        let sem = sem.clone();
        tasks.push((
            *name,
            *rule,
            rt.spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let opts = RunOptions {
                    strict: true,
                    filters: args.filters.clone(),
                    ..RunOptions::default()
                };
                callout_conformance::session::run(
                    &args.session(),
                    &scenarios,
                    &opts,
                    &mut callout_conformance::session::Unobserved,
                )
                .await
            }),
        ));
    }
    let mut table = String::from("| mutant | defect | caught by |\n|---|---|---|\n");
    let mut uncaught: Vec<&str> = Vec::new();
    let mut caught_by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, rule, task) in tasks {
        let report = rt.block_on(task).unwrap();
        let run = &report.runs[0];
        let failing: Vec<String> = run
            .results
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .map(|r| r.id.clone())
            .collect();
        if failing.is_empty() && run.setup_error.is_none() {
            uncaught.push(name);
        }
        let shown = if failing.is_empty() {
            run.setup_error
                .clone()
                .map(|e| format!("set-up error: {}", e.lines().next().unwrap_or("")))
                .unwrap_or_else(|| "NOT CAUGHT".into())
        } else if failing.len() > 8 {
            format!("{} and {} more", failing[..8].join(", "), failing.len() - 8)
        } else {
            failing.join(", ")
        };
        table.push_str(&format!("| `{name}` | {rule} | {shown} |\n"));
        caught_by.insert(name, failing);
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/mutants.md");
    let _ = std::fs::write(&out, &table);
    println!("{table}");
    assert!(
        uncaught.is_empty(),
        "mutants not caught by any case: {uncaught:?}\n{table}"
    );
    // A crash on garbage shows as a set-up error at worst; make sure it is a case failure too.
    assert!(!caught_by["crash-on-garbage"].is_empty(), "{table}");
    for (name, _) in OPERATOR_MUTANTS {
        assert!(
            caught_by[name].iter().any(|id| id.starts_with("e2e.op")),
            "{name}: {table}"
        );
    }
    // The topology mutants are caught by cluster, storm or fault cases, not by a set-up error.
    for (name, _) in TOPOLOGY_MUTANTS {
        assert!(
            caught_by[name].iter().any(|id| id.starts_with("e2e.storm.")
                || id.starts_with("e2e.cluster.")
                || id.starts_with("e2e.fault.")),
            "{name}: {table}"
        );
    }
}
