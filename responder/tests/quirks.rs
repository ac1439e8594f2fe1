//! The mutant's quirks against real nats-server 2.10.26 and 2.15.1: with `-quirk
//! json-nulls,header-order` the responder writes `null` for every optional field and a
//! reordered, spaced header (checked on the wire), and the server still admits the seed-style
//! users with exactly their permissions and refuses unknown users, which proves the server
//! accepts these shapes (`protocol.md §8.2`). `start-delay` delays readiness and
//! `-fault silent-after=N` answers N requests, then none.

use std::time::{Duration, Instant};

use callout_codec::{jwt, CurveSecret, KeyKind, Signer};
use callout_conformance::client::{connect, Client, ConnectOptions, ConnectOutcome, Event};
use callout_conformance::provision;
use callout_conformance::server::{self, AccountConf, CalloutConf, RunningServer, ServerConf};
use callout_conformance::sut::RunningResponder;

const MUTANT: &str = env!("CARGO_BIN_EXE_callout-mutant");

const USERS_JSON: &str = r#"{
  "alice": { "pass": "alice", "account": "APP" },
  "bob": {
    "pass": "bob",
    "account": "APP",
    "permissions": {
      "pub": { "allow": ["bob.>"], "deny": ["bob.secret"] },
      "sub": { "allow": ["bob.>", "_INBOX.>"] },
      "resp": { "max": 1 }
    }
  }
}"#;

struct Rig {
    srv: RunningServer,
    issuer: Signer,
    xkey: Option<CurveSecret>,
    dir: std::path::PathBuf,
}

fn rig(version: &str, sealed: bool, auth_timeout_secs: f64) -> Rig {
    let bin = provision::resolve(version, None).expect("nats-server");
    let issuer = Signer::generate(KeyKind::Account);
    let xkey = sealed.then(CurveSecret::generate);
    let conf = ServerConf {
        accounts: vec![
            AccountConf {
                name: "AUTH".into(),
                users: vec![("auth".into(), "auth".into())],
                ..Default::default()
            },
            AccountConf {
                name: "APP".into(),
                users: vec![],
                ..Default::default()
            },
            AccountConf {
                name: "SYS".into(),
                users: vec![],
                ..Default::default()
            },
        ],
        system_account: Some("SYS".into()),
        callout: Some(CalloutConf {
            issuer: issuer.public_key().into(),
            account: "AUTH".into(),
            auth_users: vec!["auth".into()],
            xkey: xkey.as_ref().map(|x| x.public().as_str().into()),
            allowed_accounts: vec![],
        }),
        auth_timeout_secs,
        max_payload: None,
        port: None,
        tls: None,
        websocket_port: None,
        ..Default::default()
    };
    let srv = server::start_process(&bin, &conf).expect("server");
    let dir = server::scratch_dir("quirks").unwrap();
    std::fs::write(dir.join("users.json"), USERS_JSON).unwrap();
    Rig {
        srv,
        issuer,
        xkey,
        dir,
    }
}

fn start_mutant(r: &Rig, extra: &[&str]) -> RunningResponder {
    let mut argv: Vec<String> = [
        MUTANT,
        "-nats.url",
        &r.srv.url(),
        "-nats.user",
        "auth",
        "-nats.pass",
        "auth",
        "-issuer.seed",
        &r.issuer.seed(),
        "-users",
        r.dir.join("users.json").to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(x) = &r.xkey {
        argv.extend(["-xkey.seed".to_string(), x.seed()]);
    }
    argv.extend(extra.iter().map(|s| s.to_string()));
    RunningResponder::start(&argv, vec![]).expect("mutant starts")
}

fn user(name: &str, pass: &str) -> ConnectOptions {
    ConnectOptions {
        user: Some(name.into()),
        pass: Some(pass.into()),
        ..Default::default()
    }
}

/// Connects until admitted or `secs` pass.
async fn admitted_within(srv: &RunningServer, opts: &ConnectOptions, secs: f64) -> Option<Client> {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    while Instant::now() < deadline {
        if let Ok(ConnectOutcome::Admitted(c)) =
            connect(&srv.addr(), opts, Duration::from_secs(5)).await
        {
            return Some(c);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Publishes and reports the `-ERR`s the server answered with.
async fn publish_errors(c: &mut Client, subject: &str) -> Vec<String> {
    c.publish(subject, None, b"x").await;
    assert!(c.flush(Duration::from_secs(5)).await, "connection lost");
    c.take_pending()
        .into_iter()
        .filter_map(|e| match e {
            Event::Err(e) => Some(e),
            _ => None,
        })
        .collect()
}

async fn quirky_responses_are_accepted(version: &str, sealed: bool) {
    let r = rig(version, sealed, 2.0);
    let mut mutant = start_mutant(&r, &["-quirk", "json-nulls,header-order"]);
    // The callout account's own user sees the answers on their reply subjects (plain mode).
    let mut tap = match connect(&r.srv.addr(), &user("auth", "auth"), Duration::from_secs(5)).await
    {
        Ok(ConnectOutcome::Admitted(c)) => c,
        other => panic!("auth user: {other:?}"),
    };
    tap.subscribe("$SYS._INBOX.>", None).await;
    assert!(tap.flush(Duration::from_secs(5)).await);

    let Some(alice) = admitted_within(&r.srv, &user("alice", "alice"), 15.0).await else {
        panic!(
            "alice not admitted on {version} (sealed: {sealed}):\n{}",
            mutant.stderr_tail(30)
        )
    };
    alice.close().await;
    let Some(mut bob) = admitted_within(&r.srv, &user("bob", "bob"), 5.0).await else {
        panic!("bob not admitted on {version}:\n{}", mutant.stderr_tail(30))
    };
    assert_eq!(
        publish_errors(&mut bob, "bob.news").await,
        Vec::<String>::new()
    );
    let denied = publish_errors(&mut bob, "bob.secret").await;
    assert!(
        denied
            .iter()
            .any(|e| e.starts_with("Permissions Violation for Publish to \"bob.secret\"")),
        "bob's deny list from users.json holds through the null-filled JWT: {denied:?}"
    );
    let outside = publish_errors(&mut bob, "alice.news").await;
    assert!(
        outside
            .iter()
            .any(|e| e.starts_with("Permissions Violation for Publish")),
        "bob's allow list holds: {outside:?}"
    );
    bob.close().await;
    match connect(&r.srv.addr(), &user("pam", "pam"), Duration::from_secs(5)).await {
        Ok(ConnectOutcome::Rejected(e)) => assert_eq!(e, "Authorization Violation"),
        other => panic!("pam on {version}: expected Authorization Violation, got {other:?}"),
    }

    if !sealed {
        // What crossed the wire is the quirky shape, not Go's.
        assert!(tap.flush(Duration::from_secs(5)).await);
        let answers: Vec<String> = tap
            .take_pending()
            .into_iter()
            .filter_map(|e| match e {
                Event::Msg(m) => String::from_utf8(m.payload).ok(),
                _ => None,
            })
            .collect();
        assert!(answers.len() >= 3, "{answers:?}");
        let header = jwt::b64_encode(br#"{"alg": "ed25519-nkey", "typ": "JWT"}"#);
        let mut users_seen = 0;
        for token in &answers {
            assert!(token.starts_with(&format!("{header}.")), "{token}");
            let resp = jwt::peek_payload(token).unwrap();
            assert!(resp["exp"].is_null() && resp["nbf"].is_null(), "{resp}");
            assert!(resp["nats"]["issuer_account"].is_null(), "{resp}");
            let nats = &resp["nats"];
            if let Some(user_jwt) = nats["jwt"].as_str() {
                assert!(nats["error"].is_null(), "{resp}");
                assert!(user_jwt.starts_with(&format!("{header}.")));
                let u = jwt::peek_payload(user_jwt).unwrap();
                for key in [
                    "src",
                    "times",
                    "tags",
                    "issuer_account",
                    "allowed_connection_types",
                ] {
                    assert!(u["nats"][key].is_null(), "{key} in {u}");
                }
                assert!(
                    u["exp"].is_null() && u["nats"]["sub"]["deny"].is_null(),
                    "{u}"
                );
                users_seen += 1;
            } else {
                assert!(nats["jwt"].is_null(), "{resp}");
            }
        }
        assert!(users_seen >= 2, "{answers:?}");
    }
    tap.close().await;
    mutant.stop(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[tokio::test]
async fn json_nulls_and_header_order_are_accepted_by_2_15_1() {
    quirky_responses_are_accepted("2.15.1", false).await;
    quirky_responses_are_accepted("2.15.1", true).await;
}

#[tokio::test]
async fn json_nulls_and_header_order_are_accepted_by_2_10_26() {
    quirky_responses_are_accepted("2.10.26", false).await;
    quirky_responses_are_accepted("2.10.26", true).await;
}

#[tokio::test]
async fn start_delay_delays_readiness_and_silent_after_stops_answering() {
    let r = rig(provision::DEFAULT_SERVER_VERSION, false, 1.0);
    let started = Instant::now();
    let mut mutant = start_mutant(
        &r,
        &["-quirk", "start-delay=1.5", "-fault", "silent-after=2"],
    );
    let alice = user("alice", "alice");
    // Answer 1: the first admission, no sooner than the delay.
    let first = admitted_within(&r.srv, &alice, 15.0).await;
    let waited = started.elapsed();
    assert!(first.is_some(), "{}", mutant.stderr_tail(30));
    assert!(
        waited >= Duration::from_millis(1500),
        "admitted after {waited:?}"
    );
    assert!(mutant.stderr_tail(50).contains("start-delay"));
    // Answer 2: a refusal counts too.
    match connect(&r.srv.addr(), &user("pam", "pam"), Duration::from_secs(5)).await {
        Ok(ConnectOutcome::Rejected(e)) => assert_eq!(e, "Authorization Violation"),
        other => panic!("pam: {other:?}"),
    }
    // Then silence: the server times out (auth_timeout 1 s) and refuses alice.
    for _ in 0..2 {
        let t = Instant::now();
        let out = connect(&r.srv.addr(), &alice, Duration::from_secs(5)).await;
        assert!(
            matches!(
                &out,
                Ok(ConnectOutcome::Rejected(_)) | Ok(ConnectOutcome::Closed)
            ),
            "{out:?}"
        );
        assert!(
            t.elapsed() >= Duration::from_millis(900),
            "refused before the timeout: no silence"
        );
    }
    assert!(
        mutant.exited().is_none(),
        "a silent responder keeps running"
    );
    mutant.stop(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[test]
fn the_reference_binary_refuses_quirks() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callout-responder"))
        .args([
            "-quirk",
            "json-nulls",
            "-issuer.seed",
            &Signer::generate(KeyKind::Account).seed(),
        ])
        .args(["-users", "/nonexistent/users.json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("-quirk is only accepted by the callout-mutant"),
        "{err}"
    );
}
