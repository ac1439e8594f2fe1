//! The `cert_subject` extension in-process: a client is placed by the subject of the leaf of
//! the chain the server verified (`client_tls.verified_chains[0][0]`), never by certificates
//! it presented unverified (`client_tls.certs`); an unknown subject, or a certificate next to
//! a user name or token, is handled as the README says; the two certificate mutants admit
//! what they are built to.

use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, AuthResponse, Claims, ClientTls, ConnectOpts, KeyKind,
    Secret, ServerId, Signer, User,
};
use callout_conformance::tls::TestCa;
use callout_responder::handler::{Fault, Outcome, Policy, Responder, Verdict, INVALID_CREDENTIALS};
use callout_responder::users::UserDirectory;

fn users() -> UserDirectory {
    UserDirectory::parse(
        r#"{"alice": {"cert_subject": "CN=alice", "account": "APP"},
            "robot": {"cert_subject": "CN=robot", "account": "OPS"},
            "bob": {"pass": "bob-pw", "account": "APP"}}"#,
        "users.json",
    )
    .unwrap()
}

/// A request whose client presented `tls`, and `user`/`pass`/`token` in CONNECT; the verdict
/// and, when admitted, the user JWT's account.
fn handle<P: Policy>(
    responder: &Responder<P>,
    tls: Option<ClientTls>,
    user: &str,
    pass: &str,
    token: &str,
) -> (Verdict, Option<String>) {
    let server = Signer::generate(KeyKind::Server);
    let mut c: AuthRequestClaims = Claims {
        aud: "nats-authorization-request".into(),
        exp: callout_codec::unix_now() + 2,
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
        connect_opts: ConnectOpts {
            user: user.into(),
            pass: Secret::new(pass),
            auth_token: Secret::new(token),
            protocol: 1,
            ..Default::default()
        },
        client_tls: tls,
        ..Default::default()
    };
    let t = jwt::encode(&mut c, &server);
    let h = responder.handle(t.as_bytes(), None, callout_codec::unix_now());
    let account = match (&h.verdict, &h.outcome) {
        (Verdict::Admitted { .. }, Outcome::Reply(b)) => {
            let resp = jwt::decode::<AuthResponse>(std::str::from_utf8(b).unwrap()).unwrap();
            Some(jwt::decode::<User>(&resp.nats.jwt).unwrap().aud)
        }
        _ => None,
    };
    (h.verdict, account)
}

fn verified(ca: &TestCa, cn: &str) -> Option<ClientTls> {
    Some(ClientTls {
        version: "1.3".into(),
        verified_chains: vec![vec![ca.client(cn).unwrap().cert_pem, ca.cert_pem.clone()]],
        ..Default::default()
    })
}

fn unverified(ca: &TestCa, cn: &str) -> Option<ClientTls> {
    Some(ClientTls {
        version: "1.3".into(),
        certs: vec![ca.client(cn).unwrap().cert_pem],
        ..Default::default()
    })
}

fn responder() -> Responder {
    Responder::new(Signer::generate(KeyKind::Account), None, users())
}

#[test]
fn a_verified_certificate_places_its_subject_and_nothing_else_does() {
    let ca = TestCa::generate().unwrap();
    let r = responder();
    let refused = Verdict::Rejected {
        reason: INVALID_CREDENTIALS,
    };
    assert_eq!(
        handle(&r, verified(&ca, "alice"), "", "", "").1.as_deref(),
        Some("APP")
    );
    assert_eq!(
        handle(&r, verified(&ca, "robot"), "", "", "").1.as_deref(),
        Some("OPS")
    );
    assert_eq!(handle(&r, verified(&ca, "stranger"), "", "", "").0, refused);
    assert_eq!(handle(&r, unverified(&ca, "alice"), "", "", "").0, refused);
    // A name or a token in CONNECT is that credential's login, not the certificate's.
    assert_eq!(
        handle(&r, verified(&ca, "alice"), "bob", "wrong", "").0,
        refused
    );
    assert_eq!(
        handle(&r, verified(&ca, "alice"), "bob", "bob-pw", "")
            .1
            .as_deref(),
        Some("APP")
    );
    assert_eq!(handle(&r, verified(&ca, "alice"), "", "", "tok").0, refused);
    // A chain whose leaf is not a certificate names nobody.
    let garbage = Some(ClientTls {
        verified_chains: vec![vec![
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into(),
        ]],
        ..Default::default()
    });
    assert_eq!(handle(&r, garbage, "", "", "").0, refused);
}

#[test]
fn the_certificate_mutants_admit_what_they_are_built_to() {
    let ca = TestCa::generate().unwrap();
    let unknown = responder().with_faults(vec![Fault::AdmitUnknownCert]);
    assert_eq!(
        handle(&unknown, verified(&ca, "stranger"), "", "", "")
            .1
            .as_deref(),
        Some("APP")
    );
    let trusting = responder().with_faults(vec![Fault::TrustUnverifiedCert]);
    assert_eq!(
        handle(&trusting, unverified(&ca, "robot"), "", "", "")
            .1
            .as_deref(),
        Some("OPS")
    );
}

#[test]
fn cert_subject_is_checked_when_users_json_loads() {
    for (json, want) in [
        (
            r#"{"a": {"cert_subject": "", "account": "APP"}}"#,
            "is empty",
        ),
        (
            r#"{"a": {"cert_subject": 7, "account": "APP"}}"#,
            "not a string",
        ),
        (
            r#"{"a": {"cert_subject": "CN=a", "pass": "p", "account": "APP"}}"#,
            "more than one credential",
        ),
        (
            r#"{"a": {"cert_subject": "CN=x", "account": "APP"}, "b": {"cert_subject": "CN=x", "account": "APP"}}"#,
            "also the certificate subject",
        ),
        (
            r#"{"a": {"cert_subjekt": "CN=x", "account": "APP"}}"#,
            "cert_subject",
        ),
    ] {
        let e = UserDirectory::parse(json, "users.json").unwrap_err();
        assert!(e.to_string().contains(want), "{json}: {e}");
    }
}
