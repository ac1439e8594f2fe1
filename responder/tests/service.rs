//! The responder as a service, against real nats-server processes: it reconnects when the
//! server goes away, instances share the load through the queue group with exactly one answer
//! per request, and bad start-up input exits 2 with an error that names the problem and never
//! echoes a secret.

use std::process::Command;
use std::time::Duration;

mod common;

use callout_codec::{KeyKind, Signer};
use callout_conformance::server;
use callout_conformance::sut::RunningResponder;
use common::*;

fn start(s: &Setup, url: &str) -> RunningResponder {
    start_responder(&responder_argv(s, url, true, &[]))
}

#[tokio::test]
async fn reconnects_after_the_server_restarts() {
    let s = setup("svc");
    let mut srv = server::start_process(&s.bin, &s.conf).expect("server");
    let port = srv.port;
    let mut r = start(&s, &srv.url());
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

/// The server's key, from the INFO it sends a fresh connection.
async fn server_key(addr: &str) -> String {
    use tokio::io::AsyncBufReadExt;
    let sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut line = String::new();
    tokio::io::BufReader::new(sock)
        .read_line(&mut line)
        .await
        .expect("INFO");
    let info: serde_json::Value =
        serde_json::from_str(line.trim().strip_prefix("INFO ").expect("INFO")).expect("JSON");
    info["server_id"].as_str().expect("server_id").to_string()
}

#[tokio::test]
async fn the_connected_servers_key_is_trusted_and_learnt_again_after_a_restart() {
    let s = setup("svc-trust");
    let mut srv = server::start_process(&s.bin, &s.conf).expect("server");
    let port = srv.port;
    let mut r = start(&s, &srv.url());
    assert!(alice_admitted_within(&srv, 10).await);
    let first = server_key(&srv.addr()).await;
    let trusted = |r: &RunningResponder, key: &str| {
        r.stderr_tail(1000).lines().any(|l| {
            l.contains(&format!("server={key}"))
                && l.contains("keep their place in the replay guard")
        })
    };
    assert!(trusted(&r, &first), "{}", r.stderr_tail(20));
    srv.stop();
    let srv2 =
        server::start_process_on(&s.bin, &s.conf, port).expect("server restarts on the same port");
    let second = server_key(&srv2.addr()).await;
    assert_ne!(first, second, "a restarted server has a new key");
    assert!(alice_admitted_within(&srv2, 15).await);
    assert!(
        wait_stderr(&r, &format!("server={second}"), Duration::from_secs(5)),
        "the new server's key is trusted after the reconnect:\n{}",
        r.stderr_tail(20)
    );
    r.stop(Duration::from_secs(5));
}

#[tokio::test]
async fn instances_share_the_load_with_one_answer_per_request() {
    let s = setup("svc");
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let mut a = start(&s, &srv.url());
    let mut b = start(&s, &srv.url());
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
            .filter(|l| l.contains("user=\"alice\"") && l.contains("admitted"))
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
    let s = setup("svc");
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
