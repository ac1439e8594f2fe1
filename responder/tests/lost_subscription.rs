//! A lost subscription is an error exit, not a clean one. async-nats 0.51's reader panics on
//! an HMSG header value holding a lone CR (nats-io/nats.rs#1612, found by
//! `callout-conformance fuzz`), which ends the subscription; the responder must then exit
//! non-zero so that whatever supervises it restarts it, instead of exiting 0 as if asked to.

mod common;

use std::time::Duration;

use callout_conformance::server;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_subscription_ended_by_the_client_library_exits_non_zero() {
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
    // A raw publisher in the responder's account sends a request whose header value holds a
    // lone CR; the server forwards header blocks verbatim.
    let mut sock = tokio::net::TcpStream::connect(srv.addr()).await.unwrap();
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
    let exited = wait_exit(&mut r, Duration::from_secs(15));
    let Some((status, _)) = exited else {
        panic!(
            "the responder kept running after its subscription ended (or the library no longer panics: then this test's premise is gone, rewrite it):\n{}",
            r.stderr_tail(30)
        )
    };
    assert!(
        !status.contains("exit status: 0"),
        "a lost subscription exited 0: {status}\n{}",
        r.stderr_tail(30)
    );
    assert!(
        r.stderr_tail(30).contains("ended without a signal"),
        "{}",
        r.stderr_tail(30)
    );
    srv.stop();
}
