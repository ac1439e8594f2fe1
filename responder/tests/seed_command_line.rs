//! The NATS by Example service's own command line, with `service` replaced by
//! `callout-responder`, against a server configured exactly as the seed's `main.sh` (static
//! demo keys, accounts AUTH/APP/SYS, user auth/auth, the seed's users.json text): alice is
//! admitted and pam rejected, on nats-server 2.10.26 and 2.15.1.

use std::time::Duration;

use callout_conformance::client::{connect, ConnectOptions, ConnectOutcome};
use callout_conformance::provision;
use callout_conformance::server::{self, AccountConf, CalloutConf, ServerConf};
use callout_conformance::sut::RunningResponder;

const ISSUER_NKEY: &str = "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA";
const ISSUER_NSEED: &str = "SAANDLKMXL6CUS3CP52WIXBEDN6YJ545GDKC65U5JZPPV6WH6ESWUA6YAI";
const ISSUER_XKEY: &str = "XAB3NANV3M6N7AHSQP2U5FRWKKUT7EG2ZXXABV4XVXYQRJGM4S2CZGHT";
const ISSUER_XSEED: &str = "SXAAXMRAEP6JWWHNB6IKFL554IE6LZVT6EY5MBRICPILTLOPHAG73I3YX4";

const USERS_JSON: &str = r#"{
  "sys": { "pass": "sys", "account": "SYS" },
  "alice": { "pass": "alice", "account": "APP" },
  "bob": {
    "pass": "bob",
    "account": "APP",
    "permissions": {
      "pub": { "allow": ["bob.>"] },
      "sub": { "allow": ["bob.>"] },
      "resp": { "max": 1 }
    }
  }
}"#;

fn seed_conf() -> ServerConf {
    ServerConf {
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
            issuer: ISSUER_NKEY.into(),
            account: "AUTH".into(),
            auth_users: vec!["auth".into()],
            xkey: Some(ISSUER_XKEY.into()),
            allowed_accounts: vec![],
        }),
        auth_timeout_secs: 2.0,
        max_payload: None,
        port: None,
        tls: None,
        websocket_port: None,
        ..Default::default()
    }
}

async fn admit_alice_reject_pam(version: &str) {
    let bin = provision::resolve(version, None).expect("nats-server");
    let srv = server::start_process(&bin, &seed_conf()).expect("server");
    let dir = server::scratch_dir("seedcmd").unwrap();
    std::fs::write(dir.join("users.json"), USERS_JSON).unwrap();
    let responder = std::path::PathBuf::from(env!("CARGO_BIN_EXE_callout-responder"));
    let users = dir.join("users.json");
    // The seed: service -nats.url $NATS_URL -nats.user auth -nats.pass auth
    //   -issuer.seed $ISSUER_NSEED -xkey.seed $ISSUER_XSEED -users users.json
    let argv: Vec<String> = [
        responder.to_str().unwrap(),
        "-nats.url",
        &srv.url(),
        "-nats.user",
        "auth",
        "-nats.pass",
        "auth",
        "-issuer.seed",
        ISSUER_NSEED,
        "-xkey.seed",
        ISSUER_XSEED,
        "-users",
        users.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut proc = RunningResponder::start(&argv, vec![]).expect("responder starts");
    let alice = ConnectOptions {
        user: Some("alice".into()),
        pass: Some("alice".into()),
        ..Default::default()
    };
    let mut admitted = false;
    for _ in 0..50 {
        if let Ok(ConnectOutcome::Admitted(c)) =
            connect(&srv.addr(), &alice, Duration::from_secs(5)).await
        {
            c.close().await;
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        admitted,
        "alice was not admitted on {version}; responder stderr:\n{}",
        proc.stderr_tail(30)
    );
    let pam = ConnectOptions {
        user: Some("pam".into()),
        pass: Some("pam-secret".into()),
        ..Default::default()
    };
    match connect(&srv.addr(), &pam, Duration::from_secs(5)).await {
        Ok(ConnectOutcome::Rejected(e)) => assert_eq!(e, "Authorization Violation"),
        other => panic!("pam on {version}: expected Authorization Violation, got {other:?}"),
    }
    let status = proc.stop(Duration::from_secs(5));
    assert!(
        status.contains("exit status: 0"),
        "the responder should drain and exit 0 on SIGTERM, got {status}"
    );
    // The captured log (not redacted: no secrets were handed to the redactor) holds no seed
    // and no password.
    let log = proc.stderr_tail(500);
    assert!(
        log.contains("user=\"pam\"") && log.contains("rejected"),
        "one decision line per request:\n{log}"
    );
    for secret in [ISSUER_NSEED, ISSUER_XSEED, "pam-secret"] {
        assert!(
            !log.contains(secret),
            "a secret leaked into the log:\n{log}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_seed_command_line_works_on_2_15_1() {
    admit_alice_reject_pam("2.15.1").await;
}

#[tokio::test]
async fn the_seed_command_line_works_on_2_10_26() {
    admit_alice_reject_pam("2.10.26").await;
}
