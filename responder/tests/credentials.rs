//! The users.json credential extensions in-process: an `nkey` user is admitted only with a
//! valid signature over the request's `client_info.nonce` (a forged, missing or other-nonce
//! signature is refused, and the `skip-nonce-check` mutant admits them), and a `token` user
//! only with its exact token.

use callout_codec::nkey::sign_nonce;
use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, Claims, ClientInfo, ConnectOpts, KeyKind, Secret,
    ServerId, Signer, User,
};
use callout_responder::handler::{Fault, Outcome, Policy, Responder, Verdict, INVALID_CREDENTIALS};
use callout_responder::users::UserDirectory;

// The user fixture of nats-server's auth_callout_test.go (protocol.md §1.3).
const NK_PUB: &str = "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON";
const NK_SEED: &str = "SUAP277QP7U4JMFFPVZHLJYEQJ2UHOTYVEIZJYAWRJXQLP4FRSEHYZJJOU";

fn users() -> UserDirectory {
    let json = format!(
        r#"{{"nk": {{"nkey": "{NK_PUB}", "account": "APP"}}, "tk": {{"token": "tok-123", "account": "TOK"}}}}"#
    );
    UserDirectory::parse(&json, "users.json").unwrap()
}

struct Req {
    nkey: &'static str,
    sig: String,
    nonce: &'static str,
    token: &'static str,
    user: &'static str,
}

fn handle<P: Policy>(responder: &Responder<P>, server: &Signer, issuer: &str, r: &Req) -> Verdict {
    let mut c: AuthRequestClaims = Claims {
        aud: "nats-authorization-request".into(),
        exp: callout_codec::unix_now() + 2,
        sub: issuer.into(),
        ..Claims::default()
    };
    c.nats = AuthRequest {
        server_id: ServerId {
            name: "n".into(),
            host: "h".into(),
            id: server.public_key().into(),
            ..Default::default()
        },
        user_nkey: Signer::generate(KeyKind::User).public_key().into(),
        client_info: ClientInfo {
            nonce: r.nonce.into(),
            ..Default::default()
        },
        connect_opts: ConnectOpts {
            nkey: r.nkey.into(),
            sig: r.sig.clone(),
            user: r.user.into(),
            auth_token: Secret::new(r.token),
            protocol: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let token = jwt::encode(&mut c, server);
    let h = responder.handle(token.as_bytes(), None, callout_codec::unix_now());
    if let (Verdict::Admitted { .. }, Outcome::Reply(b)) = (&h.verdict, &h.outcome) {
        let resp =
            jwt::decode::<callout_codec::AuthResponse>(std::str::from_utf8(b).unwrap()).unwrap();
        let user = jwt::decode::<User>(&resp.nats.jwt).unwrap();
        assert_eq!(user.sub, c.nats.user_nkey);
    }
    h.verdict
}

fn cases() -> Vec<(&'static str, Req, bool)> {
    let holder = Signer::from_seed(NK_SEED, KeyKind::User).unwrap();
    let other = Signer::generate(KeyKind::User);
    let nk = |sig: String, nonce| Req {
        nkey: NK_PUB,
        sig,
        nonce,
        token: "",
        user: "",
    };
    vec![
        (
            "valid signature",
            nk(sign_nonce(&holder, "n-1"), "n-1"),
            true,
        ),
        (
            "signed by another key",
            nk(sign_nonce(&other, "n-1"), "n-1"),
            false,
        ),
        ("no signature", nk(String::new(), "n-1"), false),
        (
            "signature over another nonce",
            nk(sign_nonce(&holder, "n-0"), "n-1"),
            false,
        ),
        ("no nonce", nk(sign_nonce(&holder, "n-1"), ""), false),
        ("garbage signature", nk("not-base64!".into(), "n-1"), false),
        (
            "unknown nkey, valid own signature",
            Req {
                nkey: Box::leak(other.public_key().to_string().into_boxed_str()),
                sig: sign_nonce(&other, "n-1"),
                nonce: "n-1",
                token: "",
                user: "",
            },
            false,
        ),
        (
            "right token",
            Req {
                nkey: "",
                sig: String::new(),
                nonce: "",
                token: "tok-123",
                user: "",
            },
            true,
        ),
        (
            "token prefix",
            Req {
                nkey: "",
                sig: String::new(),
                nonce: "",
                token: "tok-12",
                user: "",
            },
            false,
        ),
        (
            "token plus user name",
            Req {
                nkey: "",
                sig: String::new(),
                nonce: "",
                token: "tok-123",
                user: "tk",
            },
            false,
        ),
    ]
}

#[test]
fn nkey_users_need_a_valid_nonce_signature_and_token_users_their_exact_token() {
    let issuer = Signer::generate(KeyKind::Account);
    let issuer_pub = issuer.public_key().to_string();
    let responder = Responder::new(issuer, None, users());
    let server = Signer::generate(KeyKind::Server);
    for (what, req, admitted) in cases() {
        let v = handle(&responder, &server, &issuer_pub, &req);
        if admitted {
            assert!(matches!(v, Verdict::Admitted { .. }), "{what}: {v:?}");
        } else {
            assert_eq!(
                v,
                Verdict::Rejected {
                    reason: INVALID_CREDENTIALS
                },
                "{what}"
            );
        }
    }
}

#[test]
fn the_skip_nonce_check_mutant_admits_a_forged_signature() {
    let issuer = Signer::generate(KeyKind::Account);
    let issuer_pub = issuer.public_key().to_string();
    let responder = Responder::new(issuer, None, users()).with_faults(vec![Fault::SkipNonceCheck]);
    let server = Signer::generate(KeyKind::Server);
    let forged = Req {
        nkey: NK_PUB,
        sig: String::new(),
        nonce: "n-1",
        token: "",
        user: "",
    };
    let v = handle(&responder, &server, &issuer_pub, &forged);
    assert!(matches!(v, Verdict::Admitted { .. }), "{v:?}");
}
