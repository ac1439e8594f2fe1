//! Mutation testing of the suite itself: the `callout-mutant` binary is the reference
//! responder with one deliberate defect (`-fault NAME`).
//!
//! - `each_mutant_fails_the_cases_it_breaks` (in CI): every mutant runs against the cases
//!   listed as its catchers below, `--strict`, and each of those cases must FAIL. Each run
//!   starts only the worlds of its catchers, so the sweep takes a few minutes, not ten.
//! - `the_whole_catalog_catches_every_mutant` (ignored: about ten minutes on 2 cores; run it
//!   when a mutant or a case is added, `cargo test -p callout-conformance --test mutants --
//!   --ignored --nocapture`): the whole suite against every mutant; each must be caught, its
//!   listed catchers among the failing cases, and the table of which cases catch which
//!   mutant is written to `target/mutants.md` (the copy in docs/mutants.md comes from it).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use callout_conformance::cli;
use callout_conformance::scenario::{self, Scenario};
use callout_conformance::session::Unobserved;
use callout_conformance::sut::{find_sibling_binary, OPERATOR_FLAGS, SEED_FLAGS};
use callout_conformance::verdict::Verdict;

/// Which files a mutant runs against.
#[derive(Clone, Copy, PartialEq)]
enum Set {
    /// Every file but the topology files, config mode.
    Plain,
    /// The topology files (`[topology]`): cluster, storm, fault, leaf.
    Topology,
    /// `--mode operator`: the operator-mode files and wire cases, the decentralized flags.
    Operator,
}

/// A mutant: its `-fault`, the rule it breaks, where it runs, and cases that must catch it.
struct Mutant {
    fault: &'static str,
    rule: &'static str,
    set: Set,
    catchers: &'static [&'static str],
}

const fn m(
    fault: &'static str,
    rule: &'static str,
    set: Set,
    catchers: &'static [&'static str],
) -> Mutant {
    Mutant {
        fault,
        rule,
        set,
        catchers,
    }
}

/// Every mutant. The catchers are a few of the cases whose requirement the mutant breaks
/// (docs/mutants.md lists them all); a crash or silence is blamed on the case it happened in.
const MUTANTS: &[Mutant] = &[
    m("skip-signature-check", "does not verify the request signature", Set::Plain, &["wire.hostile.1", "wire.hostile.14"]),
    m("skip-exp-check", "does not check the request exp", Set::Plain, &["wire.hostile.4"]),
    m("skip-issuer-check", "does not check iss == server_id.id", Set::Plain, &["wire.hostile.2"]),
    m("wrong-aud", "response aud is not the server id", Set::Plain, &["e2e.acct.2"]),
    m("wrong-sub", "response and user sub are not user_nkey", Set::Plain, &["e2e.acct.2"]),
    m("padded-base64", "pads the base64 of the response", Set::Plain, &["e2e.acct.2"]),
    m("missing-version", "omits nats.version from the response", Set::Plain, &["e2e.acct.2"]),
    m("ignore-deny", "drops deny lists from the user JWT", Set::Plain, &["e2e.perm.6", "wire.resp.8"]),
    m("ignore-resp", "drops resp from the user JWT", Set::Plain, &["e2e.resp.1"]),
    m("ttl-in-seconds", "writes resp.ttl in seconds", Set::Plain, &["e2e.resp.3"]),
    m("password-in-error", "echoes the password in the error text", Set::Plain, &["wire.resp.14"]),
    m("admit-unknown", "admits users not in users.json", Set::Plain, &["e2e.cred.2"]),
    m("admit-empty-password", "admits an empty password", Set::Plain, &["e2e.cred.4"]),
    m("unsealed-reply", "answers sealed requests in plaintext", Set::Plain, &["wire.seal.1"]),
    m("wrong-seal-key", "seals with a key other than the configured xkey", Set::Plain, &["e2e.seed.1"]),
    m("crash-on-garbage", "exits on a request that does not decode", Set::Plain, &["wire.hostile.11"]),
    m("double-reply", "sends two replies per request", Set::Plain, &["wire.resp.13"]),
    m("no-account", "leaves the user JWT aud (account) empty", Set::Plain, &["e2e.acct.2"]),
    m("wrong-signer", "signs with an account key other than the issuer", Set::Plain, &["e2e.acct.2"]),
    m("skip-nonce-check", "admits an nkey user without verifying sig over the nonce", Set::Plain, &["e2e.nkey.3", "wire.nkey.1"]),
    m("short-expiry", "gives user JWTs an exp 2 s ahead", Set::Plain, &["e2e.session.1"]),
    m("admit-unknown-cert", "admits a verified client certificate whose subject no user has", Set::Plain, &["e2e.tls.3"]),
    m("trust-unverified-cert", "places a client by a certificate the server did not verify", Set::Plain, &["wire.cert.1"]),
    m("silent-after=25", "stops answering after 25 requests", Set::Plain, &["e2e.load.1"]),
    // Only a cluster, a storm or a fault shows these (the topology files alone).
    m("crash-after=50", "aborts (crashes) after answering 50 requests", Set::Topology, &["e2e.storm.1"]),
    m("slow=1.5", "holds every answer 1.5 s, so a storm outruns it", Set::Topology, &["e2e.storm.1"]),
    m("swap-decisions", "gives every fifth admitted client the previous client's account and permissions", Set::Topology, &["e2e.storm.1"]),
    m("no-issuer-account", "operator mode: signs with the target account's signing key but omits issuer_account", Set::Operator, &["e2e.op-plain.1"]),
    m("ignore-signing-keys", "operator mode: signs every user JWT with the issuer (the callout account), as in config mode", Set::Operator, &["e2e.op-acckey.1"]),
    m("scoped-permissions", "operator mode: gives a user signed by a scoped key its users.json permissions", Set::Operator, &["e2e.op-scoped.2", "wire.op.6"]),
    m("scoped-limits", "operator mode: gives a user signed by a scoped key Go's default limits (-1)", Set::Operator, &["e2e.op-scoped.1"]),
    m("foreign-response-signer", "operator mode: signs the response with an account key unknown to the callout account", Set::Operator, &["e2e.op-plain.1"]),
    m("spoof-issuer-account", "operator mode: signs the response with a foreign key and claims issuer_account = the callout account", Set::Operator, &["wire.op.3"]),
    m("wrong-account-key", "operator mode: signs the user JWT with another target account's key (issuer_account still right)", Set::Operator, &["e2e.op-acckey.1"]),
    m("wrong-issuer-account", "operator mode: sets the user JWT's issuer_account to the callout account, not the target", Set::Operator, &["e2e.op-acckey.1"]),
];

/// What one mutant's run showed: the failing cases and the set-up error, if any.
struct Caught {
    failing: Vec<String>,
    setup_error: Option<String>,
}

/// Runs each mutant (three at a time) against its set, only its catchers when `focused`.
fn sweep(focused: bool) -> Vec<Caught> {
    let mutant = find_sibling_binary("callout-mutant", "CALLOUT_MUTANT_BIN");
    assert!(
        mutant.is_file(),
        "build the mutant first: cargo build -p callout-responder --bins (looked for {})",
        mutant.display()
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let (topology, plain): (Vec<Scenario>, Vec<Scenario>) = scenario::load_dir(&dir)
        .expect("scenarios")
        .into_iter()
        .partition(|s| !s.world.topology.is_plain());
    assert!(topology.len() >= 4, "cluster, storm, fault and leaf files");
    // The topology mutants skip the wire catalog (its cases do not depend on the topology).
    let topology_ids: Vec<String> = topology
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.id.clone()))
        .collect();
    let (plain, topology) = (Arc::new(plain), Arc::new(topology));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sem = Arc::new(tokio::sync::Semaphore::new(3));
    let mut tasks = Vec::new();
    for mu in MUTANTS {
        let operator = mu.set == Set::Operator;
        let flags = if operator { OPERATOR_FLAGS } else { SEED_FLAGS };
        let template = format!("{} -fault {} {flags}", mutant.display(), mu.fault);
        let mut argv = vec![
            "run".to_string(),
            "--strict".into(),
            "--responder-cmd".into(),
            template,
        ];
        if operator {
            argv.extend(["--mode".to_string(), "operator".into()]);
        }
        if focused {
            argv.extend(mu.catchers.iter().map(|c| c.to_string()));
        } else if mu.set == Set::Topology {
            argv.extend(topology_ids.iter().cloned());
        }
        let args = cli::parse_args(&argv).unwrap();
        let scenarios = match mu.set {
            Set::Topology => topology.clone(),
            Set::Plain | Set::Operator => plain.clone(),
        };
        let sem = sem.clone();
        tasks.push(rt.spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let (session, opts) = (args.session(), args.run_options());
            callout_conformance::session::run(&session, &scenarios, &opts, &mut Unobserved).await
        }));
    }
    tasks
        .into_iter()
        .map(|t| {
            let report = rt.block_on(t).unwrap();
            let run = &report.runs[0];
            Caught {
                failing: run
                    .results
                    .iter()
                    .filter(|r| r.verdict == Verdict::Fail)
                    .map(|r| r.id.clone())
                    .collect(),
                setup_error: run.setup_error.clone(),
            }
        })
        .collect()
}

/// The listed catchers of `mu` that did not fail.
fn missed<'a>(mu: &'a Mutant, c: &Caught) -> Vec<&'a str> {
    mu.catchers
        .iter()
        .copied()
        .filter(|id| !c.failing.iter().any(|f| f == id))
        .collect()
}

#[test]
fn each_mutant_fails_the_cases_it_breaks() {
    let mut wrong = Vec::new();
    for (mu, c) in MUTANTS.iter().zip(sweep(true)) {
        let missed = missed(mu, &c);
        println!(
            "{} ({}): failing {:?}{}",
            mu.fault,
            mu.rule,
            c.failing,
            c.setup_error
                .as_deref()
                .map(|e| format!(", set-up error: {}", e.lines().next().unwrap_or("")))
                .unwrap_or_default()
        );
        if !missed.is_empty() || c.setup_error.is_some() {
            wrong.push(format!(
                "{}: {missed:?} did not fail (failing: {:?}; set-up error: {:?})",
                mu.fault, c.failing, c.setup_error
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "mutants not caught by their cases:\n{}",
        wrong.join("\n")
    );
}

#[test]
#[ignore = "the whole catalog against every mutant, about ten minutes on 2 cores; CI runs the focused sweep above. Run it when a mutant or a case is added: cargo test -p callout-conformance --test mutants -- --ignored --nocapture"]
fn the_whole_catalog_catches_every_mutant() {
    let mut table = String::from("| mutant | defect | caught by |\n|---|---|---|\n");
    let mut wrong = Vec::new();
    let mut caught_by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (mu, c) in MUTANTS.iter().zip(sweep(false)) {
        let shown = if c.failing.is_empty() {
            c.setup_error
                .clone()
                .map(|e| format!("set-up error: {}", e.lines().next().unwrap_or("")))
                .unwrap_or_else(|| "NOT CAUGHT".into())
        } else if c.failing.len() > 8 {
            format!(
                "{} and {} more",
                c.failing[..8].join(", "),
                c.failing.len() - 8
            )
        } else {
            c.failing.join(", ")
        };
        table.push_str(&format!("| `{}` | {} | {shown} |\n", mu.fault, mu.rule));
        let missed = missed(mu, &c);
        if !missed.is_empty() {
            wrong.push(format!(
                "{}: listed catchers {missed:?} did not fail",
                mu.fault
            ));
        }
        caught_by.insert(mu.fault, c.failing);
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/mutants.md");
    let _ = std::fs::write(&out, &table);
    println!("{table}");
    assert!(wrong.is_empty(), "{}\n{table}", wrong.join("\n"));
    for mu in MUTANTS {
        let failing = &caught_by[mu.fault];
        let own = match mu.set {
            Set::Plain => true,
            Set::Operator => failing.iter().any(|id| id.starts_with("e2e.op")),
            // Caught by cluster, storm or fault cases, not by a set-up error.
            Set::Topology => failing.iter().any(|id| {
                id.starts_with("e2e.storm.")
                    || id.starts_with("e2e.cluster.")
                    || id.starts_with("e2e.fault.")
            }),
        };
        assert!(own, "{}: {table}", mu.fault);
    }
}
