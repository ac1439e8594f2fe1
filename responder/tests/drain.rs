//! SIGTERM and SIGINT against the real binary and a real server: the drain has a deadline,
//! so a responder whose server is gone still exits, and a second signal exits at once.

mod common;

use std::time::Duration;

use callout_conformance::server;
use common::*;

#[tokio::test]
async fn sigterm_while_the_server_is_gone_exits_within_the_drain_deadline() {
    let s = setup("drain-gone");
    let mut srv = server::start_process(&s.bin, &s.conf).expect("server");
    let mut r = start_responder(&responder_argv(&s, &srv.url(), true, &[]));
    assert!(
        alice_admitted_within(&srv, 10).await,
        "{}",
        r.stderr_tail(20)
    );
    srv.stop();
    assert!(
        wait_stderr(&r, "disconnected from NATS", Duration::from_secs(5)),
        "{}",
        r.stderr_tail(20)
    );
    signal(&r, "TERM");
    // The default deadline is 5 s (flags::DEFAULT_DRAIN_TIMEOUT); allow 3 s of margin.
    let exited = wait_exit(&mut r, Duration::from_secs(8));
    let Some((status, took)) = exited else {
        panic!(
            "still running 8 s after SIGTERM with the server gone:\n{}",
            r.stderr_tail(20)
        )
    };
    assert!(
        took >= Duration::from_secs(4),
        "waited only {took:?} for the drain"
    );
    assert!(status.contains("exit status: 1"), "{status}");
    assert!(
        r.stderr_tail(20)
            .contains("the drain did not finish within 5s"),
        "{}",
        r.stderr_tail(20)
    );
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let s = setup("drain-twice");
    let mut srv = server::start_process(&s.bin, &s.conf).expect("server");
    // The default deadline (5 s): the second signal must cut it short.
    let mut r = start_responder(&responder_argv(&s, &srv.url(), true, &[]));
    assert!(
        alice_admitted_within(&srv, 10).await,
        "{}",
        r.stderr_tail(20)
    );
    srv.stop();
    assert!(wait_stderr(
        &r,
        "disconnected from NATS",
        Duration::from_secs(5)
    ));
    signal(&r, "TERM");
    assert!(
        wait_stderr(&r, "draining", Duration::from_secs(5)),
        "{}",
        r.stderr_tail(20)
    );
    assert!(r.exited().is_none(), "the drain waits for its deadline");
    signal(&r, "INT");
    let Some((status, took)) = wait_exit(&mut r, Duration::from_secs(2)) else {
        panic!(
            "still running 2 s after a second signal:\n{}",
            r.stderr_tail(20)
        )
    };
    assert!(status.contains("exit status: 1"), "{status} after {took:?}");
    assert!(
        r.stderr_tail(20).contains("second signal"),
        "{}",
        r.stderr_tail(20)
    );
}

#[tokio::test]
async fn sigterm_with_the_server_up_drains_cleanly_and_quickly() {
    let s = setup("drain-up");
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let mut r = start_responder(&responder_argv(&s, &srv.url(), true, &[]));
    assert!(
        alice_admitted_within(&srv, 10).await,
        "{}",
        r.stderr_tail(20)
    );
    signal(&r, "TERM");
    let Some((status, took)) = wait_exit(&mut r, Duration::from_secs(3)) else {
        panic!("still running 3 s after SIGTERM:\n{}", r.stderr_tail(20))
    };
    assert!(status.contains("exit status: 0"), "{status}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(
        r.stderr_tail(5).contains("drained; bye"),
        "{}",
        r.stderr_tail(5)
    );
}
