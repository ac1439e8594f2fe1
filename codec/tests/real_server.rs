//! Authorization requests captured from real `nats-server` binaries (2.10.26 and 2.15.1), plain
//! and xkey-sealed, decoded with the codec. The fixtures and how they were made are described
//! in `tests/fixtures/README.md`. The requests' `exp` has long passed, so no test checks it
//! against the clock.

use callout_codec::jwt::{self, compute_jti, decode, validate_times, JwtError};
use callout_codec::nkey::public_kind;
use callout_codec::xkv1::{self, SealError};
use callout_codec::{
    AuthRequest, AuthRequestClaims, CurvePublic, CurveSecret, KeyKind, User, AUTH_CALLOUT_SUBJECT,
    AUTH_REQUEST_AUDIENCE, SERVER_XKEY_HEADER,
};
use data_encoding::{BASE64, BASE64URL_NOPAD};
use serde_json::Value;

/// What the capturing client sent in CONNECT (fake test credentials).
const CLIENT_USER: &str = "alice";
const CLIENT_PASS: &str = "alice-secret";
/// The configured `auth_callout.issuer`, which config mode puts in the request `sub`.
const CALLOUT_ISSUER: &str = "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA";
/// The configured `auth_callout.xkey` (protocol.md §1.3 fixture) and its seed.
const RESPONDER_XKEY: &str = "XAB3NANV3M6N7AHSQP2U5FRWKKUT7EG2ZXXABV4XVXYQRJGM4S2CZGHT";
const RESPONDER_XSEED: &str = "SXAAXMRAEP6JWWHNB6IKFL554IE6LZVT6EY5MBRICPILTLOPHAG73I3YX4";

struct Fixture {
    meta: Value,
    /// The message body exactly as the server published it.
    body: Vec<u8>,
}

impl Fixture {
    fn load(stem: &str) -> Fixture {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let meta_text = std::fs::read_to_string(format!("{dir}/{stem}.json")).unwrap();
        let meta: Value = serde_json::from_str(&meta_text).unwrap();
        let body_text =
            std::fs::read_to_string(format!("{dir}/{}", meta["body_file"].as_str().unwrap()))
                .unwrap();
        let body = match meta["body_encoding"].as_str().unwrap() {
            "base64" => BASE64.decode(body_text.trim().as_bytes()).unwrap(),
            "ascii" => body_text.trim_end_matches('\n').as_bytes().to_vec(),
            other => panic!("unknown encoding {other}"),
        };
        assert_eq!(
            body.len() as u64,
            meta["body_len"].as_u64().unwrap(),
            "{stem} body length"
        );
        Fixture { meta, body }
    }

    fn s(&self, key: &str) -> &str {
        self.meta[key]
            .as_str()
            .unwrap_or_else(|| panic!("fixture field {key}"))
    }

    fn sealed(&self) -> bool {
        self.s("mode") == "sealed"
    }

    /// The request JWT: the body itself, or the body opened with the responder's curve key and
    /// the sender key from the `Nats-Server-Xkey` header.
    fn token(&self) -> String {
        if !self.sealed() {
            return String::from_utf8(self.body.clone()).unwrap();
        }
        let recipient = CurveSecret::from_seed(self.s("responder_curve_seed")).unwrap();
        let sender = CurvePublic::parse(self.s("header_xkey")).unwrap();
        String::from_utf8(xkv1::open(&self.body, &recipient, &sender).unwrap()).unwrap()
    }
}

fn check(stem: &str, version: &str, sealed: bool) -> AuthRequestClaims {
    let f = Fixture::load(stem);
    assert_eq!(f.s("server_version"), version);
    assert_eq!(f.sealed(), sealed);
    assert_eq!(f.s("subject"), AUTH_CALLOUT_SUBJECT);
    assert_eq!(f.s("client_user"), CLIENT_USER);
    assert_eq!(f.s("client_pass"), CLIENT_PASS);

    // protocol.md §1.1: a plain body is the JWT itself; a sealed one is xkv1 with the header.
    if sealed {
        assert_eq!(&f.body[..4], b"xkv1");
        assert_eq!(f.s("responder_curve_seed"), RESPONDER_XSEED);
        assert_eq!(f.s("responder_xkey"), RESPONDER_XKEY);
        assert_eq!(
            f.s("header_block"),
            format!(
                "NATS/1.0\r\n{SERVER_XKEY_HEADER}: {}\r\n\r\n",
                f.s("header_xkey")
            )
        );
        assert_eq!(public_kind(f.s("header_xkey")), Ok(KeyKind::Curve));
    } else {
        assert_eq!(&f.body[..3], b"eyJ");
        assert_eq!(f.s("header_block"), "");
        assert_eq!(f.s("header_xkey"), "");
    }

    let token = f.token();
    let c = decode::<AuthRequest>(&token).unwrap_or_else(|e| panic!("{stem}: {e}"));
    let n = &c.nats;

    // The issuer is the server's own N key, the one in server_id and in the client INFO.
    assert_eq!(c.iss, n.server_id.id);
    assert_eq!(public_kind(&c.iss), Ok(KeyKind::Server));
    assert_eq!(c.iss, f.s("info_server_id"));
    assert_eq!(c.aud, AUTH_REQUEST_AUDIENCE);
    assert_eq!(
        c.sub, CALLOUT_ISSUER,
        "config mode: sub is auth_callout.issuer"
    );
    assert_eq!(n.claim_type, "authorization_request");
    assert_eq!(n.version, 2);

    assert_eq!(public_kind(&n.user_nkey), Ok(KeyKind::User));
    assert_ne!(n.user_nkey, c.iss);

    assert_eq!(n.connect_opts.user, CLIENT_USER);
    assert_eq!(n.connect_opts.pass.expose(), CLIENT_PASS);
    assert_eq!(n.connect_opts.name, f.s("client_name"));
    assert_eq!(n.connect_opts.protocol, 1);
    assert_eq!(n.client_info.user.expose(), CLIENT_USER);
    assert_eq!(n.client_info.name, f.s("client_name"));
    assert_eq!(n.client_info.kind, "Client");
    assert_eq!(n.client_info.client_type, "nats");
    assert_eq!(n.client_info.host, "127.0.0.1");
    assert!(n.client_tls.is_none());

    assert_eq!(n.server_id.version, version);
    assert_eq!(n.server_id.version, f.s("info_version"));
    assert_eq!(n.server_id.host, "127.0.0.1");
    if sealed {
        assert_eq!(
            n.server_id.xkey,
            f.s("header_xkey"),
            "signed xkey equals the header"
        );
        assert_eq!(n.server_id.xkey, f.s("info_xkey"));
    } else {
        assert_eq!(n.server_id.xkey, "", "no xkey in a plain request");
    }

    // Go computed this jti; the codec's hash must agree (a Go-made vector for compute_jti).
    assert_eq!(compute_jti(&c), c.jti);
    // exp = now + authorization timeout (1s); valid at its own issue time.
    assert!(
        (1..=2).contains(&(c.exp - c.iat)),
        "exp {} iat {}",
        c.exp,
        c.iat
    );
    assert_eq!(validate_times(&c, c.iat), Ok(()));

    // Byte for byte, the codec writes the payload the server wrote: same field order,
    // omitempty and escaping (the client name holds `<`, `>` and `&`, which Go escapes).
    let payload = BASE64URL_NOPAD
        .decode(token.split('.').nth(1).unwrap().as_bytes())
        .unwrap();
    assert!(
        String::from_utf8_lossy(&payload)
            .contains(r"codec-fixture \u003ccapture\u003e \u0026 test"),
        "the fixture should carry Go's HTML escaping"
    );
    assert_eq!(
        String::from_utf8(jwt::to_json(&c)).unwrap(),
        String::from_utf8(payload).unwrap()
    );

    // The decoded request never prints the client's password.
    assert!(!format!("{c:?}").contains(CLIENT_PASS));
    // And the same token is not a user claim.
    assert!(matches!(
        decode::<User>(&token),
        Err(JwtError::WrongType { .. })
    ));
    c
}

#[test]
fn server_2_10_26_plain_request() {
    check("nats-server-2.10.26-plain", "2.10.26", false);
}

#[test]
fn server_2_10_26_sealed_request() {
    check("nats-server-2.10.26-sealed", "2.10.26", true);
}

#[test]
fn server_2_15_1_plain_request() {
    check("nats-server-2.15.1-plain", "2.15.1", false);
}

#[test]
fn server_2_15_1_sealed_request() {
    check("nats-server-2.15.1-sealed", "2.15.1", true);
}

#[test]
fn sealed_requests_open_only_with_the_right_keys() {
    for stem in ["nats-server-2.10.26-sealed", "nats-server-2.15.1-sealed"] {
        let f = Fixture::load(stem);
        let responder = CurveSecret::from_seed(RESPONDER_XSEED).unwrap();
        let server = CurvePublic::parse(f.s("header_xkey")).unwrap();
        let stranger = CurveSecret::generate();
        // Right recipient, wrong sender; wrong recipient, right sender.
        assert_eq!(
            xkv1::open(&f.body, &responder, stranger.public()),
            Err(SealError::Decrypt)
        );
        assert_eq!(
            xkv1::open(&f.body, &stranger, &server),
            Err(SealError::Decrypt)
        );
        // A precomputed channel opens it as the one-off function does.
        let channel = responder.channel_to(&server);
        let opened = channel.open(&f.body).unwrap();
        assert_eq!(opened, f.token().as_bytes());
        // One flipped ciphertext byte and it no longer opens.
        let mut bad = f.body.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        assert_eq!(channel.open(&bad), Err(SealError::Decrypt));
        // The nkeys crate agrees with the codec on the real server's box.
        let nk_responder = nkeys::XKey::from_seed(RESPONDER_XSEED).unwrap();
        let nk_server = nkeys::XKey::from_public_key(f.s("header_xkey")).unwrap();
        assert_eq!(nk_responder.open(&f.body, &nk_server).unwrap(), opened);
    }
}

#[test]
fn a_sealed_request_body_is_not_a_jwt() {
    // A responder that skips opening gets a decode error, not a request.
    let f = Fixture::load("nats-server-2.15.1-sealed");
    let as_text = String::from_utf8_lossy(&f.body).into_owned();
    assert!(decode::<AuthRequest>(&as_text).is_err());
}

#[test]
fn every_capture_is_a_distinct_server_and_connection() {
    let stems = [
        "nats-server-2.10.26-plain",
        "nats-server-2.10.26-sealed",
        "nats-server-2.15.1-plain",
        "nats-server-2.15.1-sealed",
    ];
    let reqs: Vec<AuthRequestClaims> = stems
        .iter()
        .map(|s| decode::<AuthRequest>(&Fixture::load(s).token()).unwrap())
        .collect();
    for (i, a) in reqs.iter().enumerate() {
        for b in &reqs[i + 1..] {
            assert_ne!(a.iss, b.iss, "each server start has its own key");
            assert_ne!(
                a.nats.user_nkey, b.nats.user_nkey,
                "user_nkey is fresh per connection"
            );
            assert_ne!(a.jti, b.jti);
        }
    }
}
