//! A subscription the client library ends on its own is served again on a fresh connection,
//! also when it happens over and over. async-nats (0.51, and 0.52 still)
//! panics in its reader on an HMSG header value holding a lone CR (nats-io/nats.rs#1612,
//! found by `callout-conformance fuzz`), which ends the subscription; any client allowed to
//! publish on the callout subject can send one. The responder must not stop serving.

mod common;

use std::time::Duration;

use callout_conformance::client::{self, ConnectOptions, ConnectOutcome};
use callout_conformance::injector::Injector;
use callout_conformance::server;
use callout_conformance::wire::{judge, FakeServer, Judged};
use callout_responder::service::{LOST_BACKOFF, MAX_LOST};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Publishes, as a raw client of the responder's account, a request whose header value holds
/// a lone CR (the server forwards header blocks verbatim).
async fn poison(addr: &str) {
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut info = [0u8; 4096];
    let _ = sock.read(&mut info).await.unwrap();
    let hdr = "NATS/1.0\r\nNats-Server-Xkey: a\rb\r\n\r\n";
    let body = "x";
    let cmd = format!(
        "CONNECT {{\"user\":\"auth\",\"pass\":\"auth-pw\",\"headers\":true,\"verbose\":false,\"pedantic\":false}}\r\nHPUB $SYS.REQ.USER.AUTH _INBOX.lost {} {}\r\n{hdr}{body}\r\nPING\r\n",
        hdr.len(),
        hdr.len() + body.len()
    );
    sock.write_all(cmd.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut answer))
        .await
        .expect("the server answers the PING")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(answer.contains("PONG"), "server said: {answer}");
}

fn count(r: &callout_conformance::sut::RunningResponder, needle: &str) -> usize {
    r.stderr_tail(400).matches(needle).count()
}

#[tokio::test]
async fn a_lost_subscription_is_served_again_even_when_it_keeps_happening() {
    // As in the harness's wire mode: a server without auth_callout, so that a client of the
    // responder's account can publish on the callout subject.
    let mut s = setup("lost-sub");
    s.conf.callout = None;
    let mut srv = server::start_process(&s.bin, &s.conf).expect("server");
    let mut r = start_responder(&responder_argv(&s, &srv.url(), true, &[]));
    assert!(
        wait_stderr(&r, "ready", Duration::from_secs(10)),
        "{}",
        r.stderr_tail(20)
    );
    poison(&srv.addr()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while count(&r, "\"ready\"").max(count(&r, " ready")) < 2
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tail = r.stderr_tail(60);
    assert!(
        tail.contains("ended without a signal") && tail.contains("connecting again"),
        "the library no longer ends the subscription on this input (then this test's premise is gone: rewrite it), or the responder did not say so:\n{tail}"
    );
    assert!(r.exited().is_none(), "{tail}");
    // It serves again: a good request, forged and sealed as a server would, is admitted.
    let ConnectOutcome::Admitted(c) = client::connect(
        &srv.addr(),
        &ConnectOptions {
            user: Some("auth".into()),
            pass: Some("auth-pw".into()),
            ..Default::default()
        },
        Duration::from_secs(5),
    )
    .await
    .unwrap() else {
        panic!("the harness cannot connect")
    };
    let fake = FakeServer::new(
        Some(s.xkey.public().clone()),
        s.issuer.public_key().to_string(),
    );
    let mut injector = Injector::new(c, std::time::Duration::from_secs(2));
    let mut admitted = false;
    for _ in 0..50 {
        let (_, answer) = injector.send_forged(&fake.good("alice", "alice-pw")).await;
        if let Judged::Admitted(_) = judge(&answer, &fake) {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        admitted,
        "not serving after the reconnect:\n{}",
        r.stderr_tail(40)
    );
    // Losing it over and over (a flood of such messages) slows reconnecting down but never
    // stops the responder.
    for _ in 0..MAX_LOST + 2 {
        poison(&srv.addr()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let deadline = std::time::Instant::now() + LOST_BACKOFF * 4 + Duration::from_secs(5);
    let mut admitted = false;
    while !admitted && std::time::Instant::now() < deadline {
        let (_, answer) = injector.send_forged(&fake.good("alice", "alice-pw")).await;
        admitted = matches!(judge(&answer, &fake), Judged::Admitted(_));
    }
    assert!(r.exited().is_none(), "{}", r.stderr_tail(40));
    assert!(
        admitted,
        "not serving after a flood:\n{}",
        r.stderr_tail(40)
    );
    srv.stop();
}
