//! Start-up input the real binary must refuse (exit 2, an error naming the flag or the file,
//! the user, the field and the fix, never a secret) or accept with a warning, and credentials
//! in `-nats.url`, which connect and are never printed.

mod common;

use std::time::Duration;

use callout_conformance::server;
use common::*;

#[test]
fn a_bad_url_exits_2_and_never_prints_its_password() {
    let s = setup("start-url");
    let users = s.dir.join("users.json");
    let seed = s.issuer.seed();
    for url in [
        "nats://auth:PW-s3cret@127.0.0.1:notaport",
        "http://auth:PW-s3cret@127.0.0.1:4222",
        "nats://PW-s3cret@127.0.0.1:4222,",
    ] {
        let (code, err) = run_to_exit(&[
            "-nats.url",
            url,
            "-issuer.seed",
            &seed,
            "-users",
            users.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{url}: {err}");
        assert!(
            err.contains("-nats.url") && err.contains("[REDACTED]@"),
            "{err}"
        );
        assert!(
            !err.contains("PW-s3cret"),
            "the password was printed: {err}"
        );
    }
}

#[tokio::test]
async fn credentials_in_the_url_connect_and_are_never_printed() {
    let s = setup("start-urlcreds");
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let url = format!("nats://auth:auth-pw@127.0.0.1:{}", srv.port);
    let mut r = start_responder(&responder_argv(&s, &url, false, &["-log", "debug"]));
    assert!(
        alice_admitted_within(&srv, 10).await,
        "the URL's credentials were not used:\n{}",
        r.stderr_tail(20)
    );
    r.stop(Duration::from_secs(5));
    let err = r.stderr_tail(100_000);
    assert!(err.contains("connected"), "{err}");
    assert!(!err.contains("auth-pw"), "the password was printed:\n{err}");
}

#[test]
fn a_duplicate_key_in_users_json_exits_2_naming_user_and_field() {
    let s = setup("start-dup");
    let seed = s.issuer.seed();
    for (json, location) in [
        (
            r#"{"bob":{"pass":"first","account":"APP"},"bob":{"pass":"second","account":"SYS"}}"#,
            r#"user "bob":"#,
        ),
        (
            r#"{"bob":{"pass":"first","account":"APP","account":"SYS"}}"#,
            r#"user "bob", field "account""#,
        ),
        (
            r#"{"bob":{"pass":"first","account":"APP","permissions":{"pub":{"allow":["a"],"allow":[">"]}}}}"#,
            r#"user "bob", field "permissions.pub.allow""#,
        ),
    ] {
        let users = s.dir.join("dup-users.json");
        std::fs::write(&users, json).unwrap();
        let (code, err) = run_to_exit(&["-issuer.seed", &seed, "-users", users.to_str().unwrap()]);
        assert_eq!(code, 2, "{json}: {err}");
        assert!(
            err.contains("dup-users.json")
                && err.contains(location)
                && err.contains("appears twice")
                && err.contains("Fix:"),
            "{err}"
        );
        assert!(!err.contains("first") && !err.contains("second"), "{err}");
    }
}

#[test]
fn bad_flags_and_values_exit_2_with_a_clear_error() {
    let s = setup("start-flags");
    let users = s.dir.join("users.json");
    let users = users.to_str().unwrap();
    let seed = s.issuer.seed();
    let base = [
        "-issuer.seed",
        seed.as_str(),
        "-users",
        users,
        "-nats.url",
        "nats://127.0.0.1:1",
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        run_to_exit(&a)
    };
    for (extra, needle) in [
        (
            &["-workers", "2305843009213693952"][..],
            "-workers accepts 1 to 65536",
        ),
        (
            &["-workers", "99999999999999999999"][..],
            "-workers expects a positive number",
        ),
        (
            &["-nats.user", "auth"][..],
            "-nats.user is given without -nats.pass",
        ),
        (
            &["-nats.pass", "pw-s3cret"][..],
            "-nats.pass is given without -nats.user",
        ),
        (
            &["-log", "(((("][..],
            "-log (or $RUST_LOG): \"((((\" is not a log filter",
        ),
        (
            &["-drain.timeout", "soon"][..],
            "-drain.timeout expects a duration",
        ),
    ] {
        let (code, err) = with(extra);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
        assert!(!err.contains("pw-s3cret"), "{err}");
    }
    let bad_resp = s.dir.join("resp-users.json");
    std::fs::write(
        &bad_resp,
        r#"{"bob": {"pass": "x", "account": "APP", "permissions": {"resp": {"max": 1, "ttl": -5}}}}"#,
    )
    .unwrap();
    let (code, err) = run_to_exit(&["-issuer.seed", &seed, "-users", bad_resp.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("resp-users.json")
            && err.contains(r#"user "bob", field "permissions.resp.ttl""#)
            && err.contains("-1 for no limit"),
        "{err}"
    );
}

#[test]
fn an_empty_users_file_starts_with_a_warning() {
    let s = setup("start-empty");
    let users = s.dir.join("empty.json");
    std::fs::write(&users, "{}").unwrap();
    let argv: Vec<String> = [
        BIN,
        "-nats.url",
        "nats://127.0.0.1:1",
        "-issuer.seed",
        &s.issuer.seed(),
        "-users",
        users.to_str().unwrap(),
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    let mut r = start_responder(&argv);
    assert!(
        wait_stderr(&r, "the users file has no users", Duration::from_secs(5)),
        "{}",
        r.stderr_tail(20)
    );
    assert!(r.stderr_tail(100).contains("empty.json"));
    signal(&r, "TERM");
    let exited = wait_exit(&mut r, Duration::from_secs(3));
    assert!(
        matches!(&exited, Some((st, _)) if st.contains("exit status: 0")),
        "{exited:?}\n{}",
        r.stderr_tail(20)
    );
}
