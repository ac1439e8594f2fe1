//! The mutants that judge the judge (issue 25), each against a real nats-server 2.15.1 over
//! real sockets, proving it does what `docs/mutants.md` says:
//!
//! - `-quirk slow-answers=MIN..MAX` holds every answer MIN to MAX ms, and the server (whose
//!   timeout is longer) still admits;
//! - `-quirk no-xkey` never opens a sealed request (no answer, the server times out) and
//!   ignores `-xkey.seed` against a server without an xkey;
//! - `-fault log-secrets` writes every presented password and token to stderr;
//! - `-fault seal-to-header-key` admits a request whose `Nats-Server-Xkey` header was
//!   rewritten and seals the answer to the rewriter's key, `-fault header-key-signed-answer`
//!   admits it but seals to the signed `server_id.xkey`, the reference refuses it;
//! - `-fault accept-v1` admits a request without `nats.version` signed over header.payload,
//!   which the reference drops.
//!
//! The wire cases publish forged requests on `$SYS.REQ.USER.AUTH` themselves, on a server
//! without `auth_callout` (as the harness's wire mode does), so that a client of the callout
//! account may publish there.

mod common;

use std::time::{Duration, Instant};

use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, AuthResponse, Claims, ConnectOpts, CurveSecret, KeyKind,
    Secret, ServerId, Signer,
};
use callout_conformance::client::{connect, ConnectOptions, ConnectOutcome};
use callout_conformance::server::{self, RunningServer};
use callout_conformance::sut::RunningResponder;
use common::*;

const MUTANT: &str = env!("CARGO_BIN_EXE_callout-mutant");

/// The mutant's argv: the reference's, with the mutant binary and `extra` flags.
fn mutant_argv(s: &Setup, url: &str, extra: &[&str]) -> Vec<String> {
    let mut argv = responder_argv(s, url, true, extra);
    argv[0] = MUTANT.into();
    argv
}

/// `argv` without `-xkey.seed` and its value: a responder for a server without an xkey.
fn without_xkey(argv: Vec<String>) -> Vec<String> {
    let at = argv
        .iter()
        .position(|a| a == "-xkey.seed")
        .expect("-xkey.seed");
    argv.into_iter()
        .enumerate()
        .filter(|(i, _)| *i != at && *i != at + 1)
        .map(|(_, a)| a)
        .collect()
}

fn login(user: &str, pass: &str) -> ConnectOptions {
    ConnectOptions {
        user: Some(user.into()),
        pass: Some(pass.into()),
        ..Default::default()
    }
}

/// Waits until the responder says it is ready.
fn ready(r: &RunningResponder) {
    assert!(
        wait_stderr(r, "ready", Duration::from_secs(15)),
        "not ready:\n{}",
        r.stderr_tail(30)
    );
}

/// One connect: its outcome and how long it took.
async fn timed(srv: &RunningServer, opts: &ConnectOptions) -> (ConnectOutcome, Duration) {
    let t = Instant::now();
    let out = connect(&srv.addr(), opts, Duration::from_secs(10))
        .await
        .expect("connect");
    (out, t.elapsed())
}

#[tokio::test]
async fn slow_answers_holds_each_answer_within_its_range_and_the_server_still_admits() {
    let mut s = setup("slow-answers");
    s.conf.callout.as_mut().unwrap().xkey = None;
    s.conf.auth_timeout_secs = 3.0;
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let argv = mutant_argv(&s, &srv.url(), &["-quirk", "slow-answers=300..900"]);
    let mut r = start_responder(&without_xkey(argv));
    ready(&r);
    let mut took = Vec::new();
    for i in 0..8 {
        let (out, t) = timed(&srv, &login("alice", "alice-pw")).await;
        match out {
            ConnectOutcome::Admitted(c) => c.close().await,
            other => panic!("login {i}: {other:?} after {t:?}\n{}", r.stderr_tail(20)),
        }
        took.push(t);
    }
    // A refusal is held too.
    let (out, t) = timed(&srv, &login("alice", "wrong")).await;
    assert!(
        matches!(&out, ConnectOutcome::Rejected(e) if e == "Authorization Violation"),
        "{out:?}"
    );
    took.push(t);
    let (min, max) = (took.iter().min().unwrap(), took.iter().max().unwrap());
    assert!(*min >= Duration::from_millis(300), "{took:?}");
    assert!(*max < Duration::from_millis(3000), "{took:?}");
    assert!(
        *max - *min >= Duration::from_millis(20),
        "the hold varies (jitter): {took:?}"
    );
    r.stop(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[tokio::test]
async fn no_xkey_never_opens_a_sealed_request_and_ignores_the_xkey_seed() {
    // A server that seals: nobody is admitted, the server times out (no answer).
    let mut s = setup("no-xkey");
    s.conf.auth_timeout_secs = 1.0;
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let mut r = start_responder(&mutant_argv(&s, &srv.url(), &["-quirk", "no-xkey"]));
    ready(&r);
    let (out, t) = timed(&srv, &login("alice", "alice-pw")).await;
    assert!(
        matches!(&out, ConnectOutcome::Rejected(_) | ConnectOutcome::Closed),
        "{out:?}"
    );
    assert!(
        t >= Duration::from_millis(900),
        "refused after {t:?}: not a timeout"
    );
    assert!(
        wait_stderr(&r, "dropped", Duration::from_secs(5)),
        "{}",
        r.stderr_tail(20)
    );
    r.stop(Duration::from_secs(5));
    drop(srv);
    // A server without an xkey: the same command line admits (the reference, given an xkey
    // seed, would refuse the plaintext request).
    s.conf.callout.as_mut().unwrap().xkey = None;
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let mut r = start_responder(&mutant_argv(&s, &srv.url(), &["-quirk", "no-xkey"]));
    ready(&r);
    assert!(
        alice_admitted_within(&srv, 10).await,
        "{}",
        r.stderr_tail(20)
    );
    r.stop(Duration::from_secs(5));
    let mut reference = start_responder(&responder_argv(&s, &srv.url(), true, &[]));
    ready(&reference);
    let (out, _) = timed(&srv, &login("alice", "alice-pw")).await;
    assert!(
        matches!(&out, ConnectOutcome::Rejected(e) if e == "Authorization Violation"),
        "the reference with an xkey refuses a plaintext request: {out:?}"
    );
    reference.stop(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[tokio::test]
async fn log_secrets_writes_every_presented_password_and_token_to_stderr() {
    const PASSWORD: &str = "alice-pw-Zq81";
    const TOKEN: &str = "tok-secret-Yr27";
    const WRONG: &str = "pam-guess-Xw93";
    let mut s = setup("log-secrets");
    s.conf.callout.as_mut().unwrap().xkey = None;
    std::fs::write(
        s.dir.join("users.json"),
        format!(
            r#"{{"alice": {{"pass": "{PASSWORD}", "account": "APP"}},
                "robot": {{"token": "{TOKEN}", "account": "APP"}}}}"#
        ),
    )
    .unwrap();
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let token = ConnectOptions {
        token: Some(TOKEN.into()),
        ..Default::default()
    };
    let mut stderr = Vec::new();
    for fault in [&["-fault", "log-secrets"][..], &[]] {
        let mut r = start_responder(&without_xkey(mutant_argv(&s, &srv.url(), fault)));
        ready(&r);
        for (opts, admitted) in [
            (login("alice", PASSWORD), true),
            (token.clone(), true),
            (login("pam", WRONG), false),
        ] {
            let (out, _) = timed(&srv, &opts).await;
            match out {
                ConnectOutcome::Admitted(c) if admitted => c.close().await,
                ConnectOutcome::Rejected(_) if !admitted => {}
                other => panic!("{opts:?}: {other:?}\n{}", r.stderr_tail(20)),
            }
        }
        assert!(wait_stderr(&r, "user=\"pam\"", Duration::from_secs(5)));
        r.stop(Duration::from_secs(5));
        stderr.push(r.stderr_tail(10_000));
    }
    for secret in [PASSWORD, TOKEN, WRONG] {
        assert!(
            stderr[0].contains(secret),
            "log-secrets logs {secret}:\n{}",
            stderr[0]
        );
        assert!(
            !stderr[1].contains(secret),
            "without the fault, {secret} is never logged:\n{}",
            stderr[1]
        );
    }
    let _ = std::fs::remove_dir_all(&s.dir);
}

/// A server as the harness plays it: its keys, and the responder's.
struct Forger {
    server: Signer,
    server_xkey: CurveSecret,
    responder_xkey: CurveSecret,
    issuer: String,
}

impl Forger {
    fn new(s: &Setup) -> Forger {
        Forger {
            server: Signer::generate(KeyKind::Server),
            server_xkey: CurveSecret::generate(),
            responder_xkey: s.xkey.clone(),
            issuer: s.issuer.public_key().into(),
        }
    }

    /// alice's request, as the server builds it (not yet signed).
    fn request(&self) -> AuthRequestClaims {
        let mut c: AuthRequestClaims = Claims {
            aud: "nats-authorization-request".into(),
            exp: callout_codec::unix_now() + 5,
            sub: self.issuer.clone(),
            ..Claims::default()
        };
        c.nats = AuthRequest {
            server_id: ServerId {
                name: "forged".into(),
                host: "127.0.0.1".into(),
                id: self.server.public_key().into(),
                xkey: self.server_xkey.public().as_str().into(),
                ..Default::default()
            },
            user_nkey: Signer::generate(KeyKind::User).public_key().into(),
            connect_opts: ConnectOpts {
                user: "alice".into(),
                pass: Secret::new("alice-pw"),
                protocol: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        c
    }

    /// `token` sealed by `sender` to the responder, and the header naming `sender`.
    fn sealed_by(&self, sender: &CurveSecret, token: &str) -> (Vec<u8>, String) {
        let body = sender
            .channel_to(self.responder_xkey.public())
            .seal(token.as_bytes());
        (body, sender.public().as_str().to_string())
    }

    /// The answer opened by `reader` (a server xkey), if it opens, decoded.
    fn open_as(&self, reader: &CurveSecret, answer: &[u8]) -> Option<Claims<AuthResponse>> {
        let token = reader
            .channel_to(self.responder_xkey.public())
            .open(answer)
            .ok()?;
        jwt::decode::<AuthResponse>(std::str::from_utf8(&token).ok()?).ok()
    }
}

/// A wire-mode rig: a server without auth_callout, a client of the callout account that
/// publishes requests, and the responder's keys.
struct Wire {
    s: Setup,
    srv: RunningServer,
    client: async_nats::Client,
}

async fn wire(tag: &str) -> Wire {
    let mut s = setup(tag);
    s.conf.callout = None;
    let srv = server::start_process(&s.bin, &s.conf).expect("server");
    let client =
        async_nats::ConnectOptions::with_user_and_password("auth".into(), "auth-pw".into())
            .request_timeout(Some(Duration::from_millis(1500)))
            .connect(srv.url())
            .await
            .expect("the requester connects");
    Wire { s, srv, client }
}

impl Wire {
    /// Publishes a request and waits for the answer (none within 1.5 s: `None`).
    async fn ask(&self, body: Vec<u8>, header: &str) -> Option<Vec<u8>> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(callout_codec::SERVER_XKEY_HEADER, header);
        self.client
            .request_with_headers(callout_codec::AUTH_CALLOUT_SUBJECT, headers, body.into())
            .await
            .ok()
            .map(|m| m.payload.to_vec())
    }

    fn start(&self, faults: &[&str]) -> RunningResponder {
        let argv = if faults.is_empty() {
            responder_argv(&self.s, &self.srv.url(), true, &[])
        } else {
            mutant_argv(&self.s, &self.srv.url(), &["-fault", &faults.join(",")])
        };
        let r = start_responder(&argv);
        ready(&r);
        r
    }
}

#[tokio::test]
async fn a_rewritten_xkey_header_is_refused_by_the_reference_and_trusted_by_the_two_mutants() {
    let w = wire("header-key").await;
    let f = Forger::new(&w.s);
    // The attacker rewrote the header to its own key and sealed the server-signed request
    // with it (the responder opens with the header key, as it must).
    let attacker = CurveSecret::generate();
    let forged = || {
        let token = jwt::encode(&mut f.request(), &f.server);
        f.sealed_by(&attacker, &token)
    };
    let admitted = |r: &Claims<AuthResponse>| !r.nats.jwt.is_empty() && r.nats.error.is_empty();

    let mut reference = w.start(&[]);
    let (body, header) = forged();
    let answer = w.ask(body, &header).await.expect("a signed refusal");
    let resp = f
        .open_as(&f.server_xkey, &answer)
        .expect("sealed to server_id.xkey");
    assert_eq!(resp.nats.error, "request xkey mismatch");
    assert!(f.open_as(&attacker, &answer).is_none());
    reference.stop(Duration::from_secs(5));

    let mut thief = w.start(&["seal-to-header-key"]);
    let (body, header) = forged();
    let answer = w.ask(body, &header).await.expect("an answer");
    let resp = f
        .open_as(&attacker, &answer)
        .expect("the attacker opens the answer: sealed to the unsigned header key");
    assert!(admitted(&resp), "{resp:?}");
    assert!(f.open_as(&f.server_xkey, &answer).is_none());
    thief.stop(Duration::from_secs(5));

    let mut trusting = w.start(&["header-key-signed-answer"]);
    let (body, header) = forged();
    let answer = w.ask(body, &header).await.expect("an answer");
    let resp = f
        .open_as(&f.server_xkey, &answer)
        .expect("sealed to the signed server_id.xkey");
    assert!(admitted(&resp), "admitted despite the header: {resp:?}");
    assert!(f.open_as(&attacker, &answer).is_none());
    // A request whose header is right gets the same answer as from the reference.
    let token = jwt::encode(&mut f.request(), &f.server);
    let (body, header) = f.sealed_by(&f.server_xkey, &token);
    let answer = w.ask(body, &header).await.expect("an answer");
    assert!(admitted(&f.open_as(&f.server_xkey, &answer).unwrap()));
    trusting.stop(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&w.s.dir);
}

#[tokio::test]
async fn accept_v1_admits_a_v1_trap_request_that_the_reference_drops() {
    let w = wire("accept-v1").await;
    let f = Forger::new(&w.s);
    // No nats.version (a v1 claim, whose signature covers the payload alone), signed over
    // header.payload by the server key (`protocol.md §1.2`, Version trap).
    let v1_trap = || {
        let mut c = f.request();
        c.iss = f.server.public_key().into();
        c.iat = callout_codec::unix_now();
        c.nats.claim_type = "authorization_request".into();
        c.nats.version = 0;
        let token = jwt::sign_payload(&jwt::to_json(&c), &f.server);
        assert!(
            jwt::decode::<AuthRequest>(&token).is_err(),
            "the codec refuses it"
        );
        f.sealed_by(&f.server_xkey, &token)
    };
    let good = || {
        let token = jwt::encode(&mut f.request(), &f.server);
        f.sealed_by(&f.server_xkey, &token)
    };
    for (faults, v1_admitted) in [(&[][..], false), (&["accept-v1"][..], true)] {
        let mut r = w.start(faults);
        let (body, header) = good();
        let answer = w.ask(body, &header).await.expect("an answer");
        assert!(!f
            .open_as(&f.server_xkey, &answer)
            .unwrap()
            .nats
            .jwt
            .is_empty());
        let (body, header) = v1_trap();
        let answer = w.ask(body, &header).await;
        match (answer, v1_admitted) {
            (None, false) => {}
            (Some(a), true) => {
                let resp = f.open_as(&f.server_xkey, &a).expect("sealed to the server");
                assert!(!resp.nats.jwt.is_empty(), "admitted: {resp:?}");
            }
            (a, _) => panic!(
                "{faults:?}: got {a:?}, expected an admission: {v1_admitted}\n{}",
                r.stderr_tail(20)
            ),
        }
        r.stop(Duration::from_secs(5));
    }
    let _ = std::fs::remove_dir_all(&w.s.dir);
}
