//! The responder as a service, against real nats-server processes: it reconnects when the
//! server goes away, instances share the load through the queue group with exactly one answer
//! per request, and bad start-up input exits 2 with an error that names the problem and never
//! echoes a secret.

use std::process::Command;
use std::time::Duration;

use callout_codec::{CurveSecret, KeyKind, Signer};
use callout_conformance::client::{connect, ConnectOptions, ConnectOutcome};
use callout_conformance::provision::{self, ServerBinary};
use callout_conformance::server::{self, AccountConf, CalloutConf, RunningServer, ServerConf};
use callout_conformance::sut::RunningResponder;

const BIN: &str = env!("CARGO_BIN_EXE_callout-responder");

struct Setup {
    bin: ServerBinary,
    conf: ServerConf,
    issuer: Signer,
    xkey: CurveSecret,
    dir: std::path::PathBuf,
}

fn setup() -> Setup {
    let bin = provision::resolve(provision::DEFAULT_SERVER_VERSION, None).expect("nats-server");
    let issuer = Signer::generate(KeyKind::Account);
    let xkey = CurveSecret::generate();
    let conf = ServerConf {
        accounts: vec![
            AccountConf {
                name: "AUTH".into(),
                users: vec![("auth".into(), "auth-pw".into())],
            },
            AccountConf {
                name: "APP".into(),
                users: vec![],
            },
        ],
        system_account: None,
        callout: Some(CalloutConf {
            issuer: issuer.public_key().into(),
            account: "AUTH".into(),
            auth_users: vec!["auth".into()],
            xkey: Some(xkey.public().as_str().into()),
            allowed_accounts: vec![],
        }),
        auth_timeout_secs: 2.0,
        max_payload: None,
    };
    let dir = server::scratch_dir("svc").unwrap();
    std::fs::write(
        dir.join("users.json"),
        r#"{"alice": {"pass": "alice-pw", "account": "APP"}}"#,
    )
    .unwrap();
    Setup {
        bin,
        conf,
        issuer,
        xkey,
        dir,
    }
}

fn start_responder(s: &Setup, url: &str) -> RunningResponder {
    let argv: Vec<String> = [
        BIN,
        "-nats.url",
        url,
        "-nats.user",
        "auth",
        "-nats.pass",
        "auth-pw",
        "-issuer.seed",
        &s.issuer.seed(),
        "-xkey.seed",
        &s.xkey.seed(),
        "-users",
        s.dir.join("users.json").to_str().unwrap(),
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    RunningResponder::start(&argv, vec![]).expect("responder")
}

async fn alice_admitted_within(srv: &RunningServer, secs: u64) -> bool {
    let opts = ConnectOptions {
        user: Some("alice".into()),
        pass: Some("alice-pw".into()),
        ..Default::default()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Ok(ConnectOutcome::Admitted(c)) =
            connect(&srv.addr(), &opts, Duration::from_secs(5)).await
        {
            c.close().await;
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn reconnects_after_the_server_restarts() {
    let s = setup();
    let mut srv = server::start_process(&s.bin, &s.conf).expect("server");
    let port = srv.port;
    let mut r = start_responder(&s, &srv.url());
    assert!(
        alice_admitted_within(&srv, 10).await,
        "{}",
        r.stderr_tail(20)
    );
    srv.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        r.exited().is_none(),
        "the responder must keep running while the server is away"
    );
    let srv2 =
        server::start_process_on(&s.bin, &s.conf, port).expect("server restarts on the same port");
    assert!(
        alice_admitted_within(&srv2, 15).await,
        "no admission after the restart:\n{}",
        r.stderr_tail(20)
    );
    r.stop(Duration::from_secs(5));
}

#[tokio::test]
async fn instances_share_the_load_with_one_answer_per_request() {
    let s = setup();
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let mut a = start_responder(&s, &srv.url());
    let mut b = start_responder(&s, &srv.url());
    assert!(alice_admitted_within(&srv, 10).await);
    // Let the second instance's subscription settle, then connect 40 times.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..40 {
        assert!(alice_admitted_within(&srv, 5).await);
    }
    a.stop(Duration::from_secs(5));
    b.stop(Duration::from_secs(5));
    let count = |r: &RunningResponder| {
        r.stderr_tail(1000)
            .lines()
            .filter(|l| l.contains("user=alice") && l.contains("admitted"))
            .count()
    };
    let (na, nb) = (count(&a), count(&b));
    assert!(
        na >= 41 - nb && na + nb == 41,
        "each request is decided exactly once: {na} + {nb} != 41"
    );
    assert!(
        na > 0 && nb > 0,
        "both instances of the queue group take requests: {na} and {nb}"
    );
}

fn run_bad(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_start_up_input_exits_2_with_a_clear_error() {
    let s = setup();
    let users = s.dir.join("bad-users.json");
    std::fs::write(&users, r#"{"bob": {"pass": "x", "acount": "APP"}}"#).unwrap();
    let seed = s.issuer.seed();
    let (code, err) = run_bad(&["-issuer.seed", &seed, "-users", users.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad-users.json")
            && err.contains("user \"bob\"")
            && err.contains("\"acount\"")
            && err.contains("did you mean \"account\""),
        "{err}"
    );
    // A user seed where an account seed belongs: named, never echoed.
    let user_seed = Signer::generate(KeyKind::User).seed();
    let (code, err) = run_bad(&[
        "-issuer.seed",
        &user_seed,
        "-users",
        users.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("-issuer.seed") && err.contains("expected account key but got user key"),
        "{err}"
    );
    assert!(!err.contains(&user_seed), "the seed was echoed: {err}");
    let (code, err) = run_bad(&[
        "-issuer.seed",
        "SAnot-a-seed-but-a-secret",
        "-users",
        "x.json",
    ]);
    assert_eq!(code, 2);
    assert!(!err.contains("SAnot-a-seed-but-a-secret"), "{err}");
    let (code, err) = run_bad(&["-isuer.seed", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown flag \"-isuer.seed\""), "{err}");
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("-issuer.seed"));
}
