//! The per-request decision in-process: good requests are admitted with exactly the users.json
//! permissions, every refusal rule holds, and no input (random bytes, any single changed byte
//! of a valid request) panics or admits.

use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, AuthResponse, Claims, ConnectOpts, CurveSecret, KeyKind,
    Secret, ServerId, Signer, User,
};
use callout_responder::handler::{Outcome, Responder, Verdict, INVALID_CREDENTIALS};
use callout_responder::users::UserDirectory;
use proptest::prelude::*;

const USERS: &str = r#"{
  "alice": {"pass": "alice-pw", "account": "APP"},
  "bob": {"pass": "bob-pw", "account": "APP", "permissions": {
      "pub": {"allow": ["bob.>"], "deny": ["bob.x"]}, "sub": {"allow": ["q.a workers"]}, "resp": {"max": 1, "ttl": 2000000000}}},
  "nopass": {"account": "APP"}
}"#;

struct World {
    issuer_pub: String,
    responder: Responder,
    server: Signer,
    server_xkey: CurveSecret,
    responder_xkey: CurveSecret,
}

fn world(sealed: bool) -> World {
    let issuer = Signer::generate(KeyKind::Account);
    let issuer_pub = issuer.public_key().to_string();
    let responder_xkey = CurveSecret::generate();
    let users = UserDirectory::parse(USERS, "users.json").unwrap();
    let responder = Responder::new(issuer, sealed.then(|| responder_xkey.clone()), users);
    World {
        issuer_pub,
        responder,
        server: Signer::generate(KeyKind::Server),
        server_xkey: CurveSecret::generate(),
        responder_xkey,
    }
}

fn request(w: &World, user: &str, pass: &str, sealed: bool) -> AuthRequestClaims {
    let mut c: AuthRequestClaims = Claims {
        aud: "nats-authorization-request".into(),
        exp: callout_codec::unix_now() + 2,
        sub: w.issuer_pub.clone(),
        ..Claims::default()
    };
    c.nats = AuthRequest {
        server_id: ServerId {
            name: "n".into(),
            host: "h".into(),
            id: w.server.public_key().into(),
            xkey: if sealed {
                w.server_xkey.public().as_str().into()
            } else {
                String::new()
            },
            ..Default::default()
        },
        user_nkey: Signer::generate(KeyKind::User).public_key().into(),
        connect_opts: ConnectOpts {
            user: user.into(),
            pass: Secret::new(pass),
            protocol: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    c
}

/// Signs (and seals) a request; returns body and header.
fn wire(w: &World, c: &mut AuthRequestClaims, sealed: bool) -> (Vec<u8>, Option<String>) {
    let token = jwt::encode(c, &w.server);
    if sealed {
        (
            w.server_xkey
                .channel_to(w.responder_xkey.public())
                .seal(token.as_bytes()),
            Some(w.server_xkey.public().as_str().to_string()),
        )
    } else {
        (token.into_bytes(), None)
    }
}

fn response(w: &World, out: &Outcome, sealed: bool) -> Claims<AuthResponse> {
    let Outcome::Reply(bytes) = out else {
        panic!("expected a reply")
    };
    let token = if sealed {
        assert!(
            !bytes.starts_with(b"eyJ"),
            "a sealed request gets a sealed reply"
        );
        w.server_xkey
            .channel_to(w.responder_xkey.public())
            .open(bytes)
            .expect("opens")
    } else {
        bytes.clone()
    };
    jwt::decode::<AuthResponse>(std::str::from_utf8(&token).unwrap()).expect("decodes")
}

#[test]
fn bob_is_admitted_with_his_permissions_plain_and_sealed() {
    for sealed in [false, true] {
        let w = world(sealed);
        let mut req = request(&w, "bob", "bob-pw", sealed);
        let (body, hdr) = wire(&w, &mut req, sealed);
        let h = w
            .responder
            .handle(&body, hdr.as_deref(), callout_codec::unix_now());
        assert_eq!(
            h.verdict,
            Verdict::Admitted {
                account: "APP".into()
            }
        );
        let resp = response(&w, &h.outcome, sealed);
        assert_eq!(
            (resp.iss.as_str(), resp.sub.as_str(), resp.aud.as_str()),
            (
                w.issuer_pub.as_str(),
                req.nats.user_nkey.as_str(),
                w.server.public_key()
            )
        );
        let user = jwt::decode::<User>(&resp.nats.jwt).unwrap();
        assert_eq!(
            (user.sub.as_str(), user.aud.as_str(), user.name.as_str()),
            (req.nats.user_nkey.as_str(), "APP", "bob")
        );
        assert_eq!(user.nats.publish.allow, vec!["bob.>"]);
        assert_eq!(user.nats.publish.deny, vec!["bob.x"]);
        assert_eq!(user.nats.subscribe.allow, vec!["q.a workers"]);
        assert_eq!(
            user.nats.resp.map(|r| (r.max, r.ttl)),
            Some((1, 2_000_000_000))
        );
    }
}

#[test]
fn credential_failures_share_one_generic_signed_error() {
    let w = world(false);
    for (user, pass) in [
        ("alice", "wrong"),
        ("pam", "x"),
        ("alice", ""),
        ("nopass", ""),
        ("", ""),
    ] {
        let mut req = request(&w, user, pass, false);
        let (body, _) = wire(&w, &mut req, false);
        let h = w.responder.handle(&body, None, callout_codec::unix_now());
        assert_eq!(
            h.verdict,
            Verdict::Rejected {
                reason: INVALID_CREDENTIALS
            },
            "{user}/{pass}"
        );
        let resp = response(&w, &h.outcome, false);
        assert_eq!(resp.nats.error, INVALID_CREDENTIALS);
        assert!(resp.nats.jwt.is_empty());
    }
}

#[test]
fn stale_forged_and_mismatched_requests_are_refused() {
    let w = world(false);
    let now = callout_codec::unix_now();
    // Expired, no exp, wrong aud, iss != server_id.id: signed errors.
    let mut expired = request(&w, "alice", "alice-pw", false);
    expired.exp = now - 10;
    let mut no_exp = request(&w, "alice", "alice-pw", false);
    no_exp.exp = 0;
    let mut aud = request(&w, "alice", "alice-pw", false);
    aud.aud = "x".into();
    let mut other_id = request(&w, "alice", "alice-pw", false);
    other_id.nats.server_id.id = Signer::generate(KeyKind::Server).public_key().into();
    for mut c in [expired, no_exp, aud, other_id] {
        let (body, _) = wire(&w, &mut c, false);
        let h = w.responder.handle(&body, None, now);
        assert!(
            matches!(h.verdict, Verdict::Rejected { .. }),
            "{:?}",
            h.verdict
        );
    }
    // A replay of an admitted request is refused.
    let mut c = request(&w, "alice", "alice-pw", false);
    let (body, _) = wire(&w, &mut c, false);
    assert!(matches!(
        w.responder.handle(&body, None, now).verdict,
        Verdict::Admitted { .. }
    ));
    assert!(matches!(
        w.responder.handle(&body, None, now).verdict,
        Verdict::Rejected {
            reason: "replayed request"
        }
    ));
    // Signed by another key than iss: dropped, no answer.
    let mut c = request(&w, "alice", "alice-pw", false);
    let good = jwt::encode(&mut c, &w.server);
    let other = jwt::encode(&mut c.clone(), &Signer::generate(KeyKind::Server));
    let forged = format!(
        "{}.{}",
        &good[..good.rfind('.').unwrap()],
        &other[other.rfind('.').unwrap() + 1..]
    );
    let h = w.responder.handle(forged.as_bytes(), None, now);
    assert_eq!(h.outcome, Outcome::Silent);
}

#[test]
fn sealed_mismatches_are_refused() {
    let w = world(true);
    let now = callout_codec::unix_now();
    // Plaintext while an xkey is configured: signed error.
    let mut c = request(&w, "alice", "alice-pw", false);
    let (body, _) = wire(&w, &mut c, false);
    assert!(matches!(
        w.responder.handle(&body, None, now).verdict,
        Verdict::Rejected { .. }
    ));
    // Header key differs from server_id.xkey: signed error.
    let other = CurveSecret::generate();
    let mut c = request(&w, "alice", "alice-pw", true);
    let token = jwt::encode(&mut c, &w.server);
    let body = other
        .channel_to(w.responder_xkey.public())
        .seal(token.as_bytes());
    let h = w
        .responder
        .handle(&body, Some(other.public().as_str()), now);
    assert!(
        matches!(h.verdict, Verdict::Rejected { .. }),
        "{:?}",
        h.verdict
    );
    // Sealed to someone else: silent.
    let body = w
        .server_xkey
        .channel_to(CurveSecret::generate().public())
        .seal(token.as_bytes());
    assert_eq!(
        w.responder
            .handle(&body, Some(w.server_xkey.public().as_str()), now)
            .outcome,
        Outcome::Silent
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn garbage_never_panics_and_never_gets_an_answer(body in proptest::collection::vec(any::<u8>(), 0..2048), with_header in any::<bool>()) {
        for sealed in [false, true] {
            let w = world(sealed);
            let hdr = with_header.then(|| w.server_xkey.public().as_str().to_string());
            let h = w.responder.handle(&body, hdr.as_deref(), callout_codec::unix_now());
            prop_assert_eq!(h.outcome, Outcome::Silent);
        }
    }

    #[test]
    fn a_changed_byte_never_admits(index in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let w = world(false);
        let mut c = request(&w, "alice", "alice-pw", false);
        let (mut body, _) = wire(&w, &mut c, false);
        let i = index.index(body.len());
        body[i] ^= xor;
        let h = w.responder.handle(&body, None, callout_codec::unix_now());
        prop_assert!(!matches!(h.verdict, Verdict::Admitted { .. }), "byte {} changed, still admitted", i);
    }
}
