//! The decision log against client text (issue 23 item 3): a user name is one quoted,
//! escaped field, so that it can neither forge another field (`verdict="admitted"`), nor
//! start a new line, nor reorder what a terminal shows (U+202E), and no password reaches the
//! log. Real nats-server, real responder process, its real stderr.

mod common;

use std::time::Duration;

use callout_conformance::client::{connect, ConnectOptions, ConnectOutcome};
use callout_conformance::server;
use common::*;

#[tokio::test]
async fn client_text_cannot_forge_a_decision_log_line() {
    let s = setup("log-lines");
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let mut r = start_responder(&responder_argv(&s, &srv.url(), true, &[]));
    assert!(
        alice_admitted_within(&srv, 10).await,
        "{}",
        r.stderr_tail(20)
    );
    let forgeries = [
        (
            "eve verdict=\"admitted\" account=\"SYS\"\u{202e}nimda",
            "pw-eve-51",
            r#"user="eve verdict=\"admitted\" account=\"SYS\"\u{202e}nimda""#,
        ),
        (
            "mallory\nINFO decision user=bob verdict=\"admitted\"\\",
            "pw-mallory-52",
            r#"user="mallory\u{000a}INFO decision user=bob verdict=\"admitted\"\\""#,
        ),
    ];
    for (user, pass, _) in &forgeries {
        let opts = ConnectOptions {
            user: Some(user.to_string()),
            pass: Some(pass.to_string()),
            ..Default::default()
        };
        match connect(&srv.addr(), &opts, Duration::from_secs(5)).await {
            Ok(ConnectOutcome::Rejected(e)) => assert_eq!(e, "Authorization Violation"),
            other => panic!("{user:?}: {other:?}"),
        }
    }
    assert!(wait_stderr(&r, "mallory", Duration::from_secs(5)));
    r.stop(Duration::from_secs(5));
    let log = r.stderr_tail(10_000);
    for (user, pass, field) in &forgeries {
        let line = log
            .lines()
            .find(|l| l.contains(field))
            .unwrap_or_else(|| panic!("no decision line with {field}:\n{log}"));
        assert!(
            line.contains("verdict=\"rejected\""),
            "{user:?}: the real verdict is there: {line}"
        );
        assert_eq!(
            line.matches("verdict=\"").count(),
            1,
            "{user:?}: exactly one verdict field, the real one: {line}"
        );
        assert!(!log.contains(pass), "a password reached the log:\n{log}");
    }
    assert!(!log.contains('\u{202e}'), "a raw bidi override:\n{log}");
    assert!(
        !log.contains("verdict=\"admitted\" account=\"SYS\""),
        "a forged field:\n{log}"
    );
    assert!(
        log.lines().all(|l| !l.starts_with("INFO decision")),
        "a forged line:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&s.dir);
}
