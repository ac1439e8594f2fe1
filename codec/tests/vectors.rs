//! Fixed vectors for the codec: the `protocol.md §1.3` key fixtures, the JWT layout of §1.2,
//! and every decode refusal the Go decoder makes that a responder or harness relies on.
//!
//! The two `GOLDEN_*` tokens were computed outside Rust, by a throwaway Python script using
//! `cryptography` (ed25519) and `hashlib` (SHA-512/256). It wrote the payload JSON by hand in
//! Go's field order with Go's `json.Marshal` escaping, so they are an independent check of
//! field order, omitempty, string escaping, `jti` and signing input.

use callout_codec::claims::NatsPayload;
use callout_codec::jwt::{
    self, b64_encode, compute_jti, decode, encode, encode_at, sign_raw, validate_times,
    MAX_TOKEN_SIZE,
};
use callout_codec::nkey::{self, expect_public, public_kind, seed_kind, KeyError};
use callout_codec::xkv1::{self, SealError};
use callout_codec::{
    AuthRequest, AuthRequestClaims, AuthResponse, AuthResponseClaims, Claims, CurvePublic,
    CurveSecret, JwtError, KeyKind, Permission, ResponsePermission, Signer, TimeRange, User,
    UserClaims, JWT_HEADER,
};
use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use sha2::{Digest, Sha512_256};

// protocol.md §1.3 fixtures (from the server's own callout tests).
const USER: &str = "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON";
const USER_SEED: &str = "SUAP277QP7U4JMFFPVZHLJYEQJ2UHOTYVEIZJYAWRJXQLP4FRSEHYZJJOU";
const ISSUER: &str = "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA";
const ISSUER_SEED: &str = "SAANDLKMXL6CUS3CP52WIXBEDN6YJ545GDKC65U5JZPPV6WH6ESWUA6YAI";
const EXTRA_ACCOUNT_SEED: &str = "SAAE46BB675HKZKSVJEUZAKKWIV6BJJO6XYE46Z3ZHO7TCI647M3V42IJE";
const XKEY: &str = "XAB3NANV3M6N7AHSQP2U5FRWKKUT7EG2ZXXABV4XVXYQRJGM4S2CZGHT";
const XSEED: &str = "SXAAXMRAEP6JWWHNB6IKFL554IE6LZVT6EY5MBRICPILTLOPHAG73I3YX4";

/// base64url of exactly `{"typ":"JWT","alg":"ed25519-nkey"}`.
const HEADER_B64: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ";

/// `NewUserClaims(USER)` issued by ISSUER at iat 1700000000 (independent encoder).
const GOLDEN_DEFAULT_PAYLOAD: &str = r#"{"jti":"YJN6FY6LTAOZ7NK7KGYZFM6Y3EBBABVCTAFDKKWH6QZSXIHHSQ5Q","iat":1700000000,"iss":"ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA","sub":"UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON","nats":{"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2}}"#;
const GOLDEN_DEFAULT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJZSk42Rlk2TFRBT1o3Tks3S0dZWkZNNlkzRUJCQUJWQ1RBRkRLS1dINlFaU1hJSEhTUTVRIiwiaWF0IjoxNzAwMDAwMDAwLCJpc3MiOiJBQkpITE9WTVBBNENJNlI1S0xOR09CNEdTTE5JWTdJT1VQQUpDNFlGTkRMUVZJT0JZUUdVV1ZMQSIsInN1YiI6IlVCTzJNUVY2N1RRVFZJUlYzWEZURVpPQUNNNFdMT0NNQ0RNQVdONVFWTjVQSTJONkpIVFZEUk9OIiwibmF0cyI6eyJwdWIiOnt9LCJzdWIiOnt9LCJzdWJzIjotMSwiZGF0YSI6LTEsInBheWxvYWQiOi0xLCJ0eXBlIjoidXNlciIsInZlcnNpb24iOjJ9fQ.IYX91TyBfcaK1WF2TZarggfq8LaPwF3x1v76uci_v-SrCDXuDAzMW7YS0xwa12k87mOwUPYBeAtmA_N9pVEMAA";

/// A user JWT with every `jti` field set, wildcard permissions and a name needing Go's HTML
/// escaping (`<`, `>`, `&` become `\u003c`, `\u003e`, `\u0026`), same issuer and iat.
const GOLDEN_FULL_PAYLOAD: &str = r#"{"aud":"APP","exp":1900000000,"jti":"XWZDBASRSPYWFGZRYRT3LY4LLCHMGK2CQ5Z5WBNJ73ISK7M65VRQ","iat":1700000000,"iss":"ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA","name":"Alice \u003cops \u0026 dev\u003e","nbf":1600000000,"sub":"UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON","nats":{"pub":{"allow":["app.\u003e"],"deny":["app.secret"]},"sub":{"allow":["_INBOX.\u003e","work q1"]},"resp":{"max":1,"ttl":5000000000},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2}}"#;
const GOLDEN_FULL: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJhdWQiOiJBUFAiLCJleHAiOjE5MDAwMDAwMDAsImp0aSI6IlhXWkRCQVNSU1BZV0ZHWlJZUlQzTFk0TExDSE1HSzJDUTVaNVdCTko3M0lTSzdNNjVWUlEiLCJpYXQiOjE3MDAwMDAwMDAsImlzcyI6IkFCSkhMT1ZNUEE0Q0k2UjVLTE5HT0I0R1NMTklZN0lPVVBBSkM0WUZORExRVklPQllRR1VXVkxBIiwibmFtZSI6IkFsaWNlIFx1MDAzY29wcyBcdTAwMjYgZGV2XHUwMDNlIiwibmJmIjoxNjAwMDAwMDAwLCJzdWIiOiJVQk8yTVFWNjdUUVRWSVJWM1hGVEVaT0FDTTRXTE9DTUNETUFXTjVRVk41UEkyTjZKSFRWRFJPTiIsIm5hdHMiOnsicHViIjp7ImFsbG93IjpbImFwcC5cdTAwM2UiXSwiZGVueSI6WyJhcHAuc2VjcmV0Il19LCJzdWIiOnsiYWxsb3ciOlsiX0lOQk9YLlx1MDAzZSIsIndvcmsgcTEiXX0sInJlc3AiOnsibWF4IjoxLCJ0dGwiOjUwMDAwMDAwMDB9LCJzdWJzIjotMSwiZGF0YSI6LTEsInBheWxvYWQiOi0xLCJ0eXBlIjoidXNlciIsInZlcnNpb24iOjJ9fQ.OmRTjuhqxUgwxkzutpBSpB8RvX44K8YqkCBgssE6VVyKAxRtTN8m0Iu8sSz2uV4n4qvoPg2cg7umY3WkHC5qBA";

const IAT: i64 = 1_700_000_000;

fn issuer() -> Signer {
    Signer::from_seed(ISSUER_SEED, KeyKind::Account).unwrap()
}

fn user_claims() -> UserClaims {
    Claims {
        sub: USER.to_string(),
        ..Default::default()
    }
}

fn full_user_claims() -> UserClaims {
    Claims {
        aud: "APP".into(),
        exp: 1_900_000_000,
        name: "Alice <ops & dev>".into(),
        nbf: 1_600_000_000,
        sub: USER.into(),
        nats: User {
            publish: Permission {
                allow: vec!["app.>".into()],
                deny: vec!["app.secret".into()],
            },
            subscribe: Permission {
                allow: vec!["_INBOX.>".into(), "work q1".into()],
                deny: vec![],
            },
            resp: Some(ResponsePermission {
                max: 1,
                ttl: 5_000_000_000,
            }),
            ..User::default()
        },
        ..Default::default()
    }
}

/// `h64.p64.sig(h64.p64)`, for parts that `sign_raw` would not produce (padding, alphabet).
fn assemble(h64: &str, p64: &str, signer: &Signer) -> String {
    let input = format!("{h64}.{p64}");
    let sig = signer.sign(input.as_bytes());
    format!("{input}.{}", b64_encode(&sig))
}

fn parts(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

fn payload_text(token: &str) -> String {
    String::from_utf8(BASE64URL_NOPAD.decode(parts(token)[1].as_bytes()).unwrap()).unwrap()
}

/// CRC-16/XMODEM, written from the spec (poly 0x1021, init 0), independent of the codec.
fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Checks the §1.3 layout of a public key and returns its prefix byte and raw 32 bytes.
fn public_layout(key: &str) -> (u8, Vec<u8>) {
    let raw = BASE32_NOPAD.decode(key.as_bytes()).unwrap();
    assert_eq!(raw.len(), 35, "{key}");
    let crc = crc16(&raw[..33]).to_le_bytes();
    assert_eq!(&raw[33..], &crc, "crc of {key}");
    (raw[0], raw[1..33].to_vec())
}

/// Checks the §1.3 layout of a seed and returns the public prefix byte it encodes.
fn seed_layout(seed: &str) -> u8 {
    let raw = BASE32_NOPAD.decode(seed.as_bytes()).unwrap();
    assert_eq!(raw.len(), 36, "seed length");
    assert_eq!(&raw[34..], &crc16(&raw[..34]).to_le_bytes(), "seed crc");
    assert_eq!(raw[0] >> 3, 18, "seed marker");
    ((raw[0] & 7) << 5) | (raw[1] >> 3)
}

// ---------------------------------------------------------------------------------------------
// §1.3 nkeys and xkeys
// ---------------------------------------------------------------------------------------------

#[test]
fn fixture_seeds_derive_the_fixture_public_keys() {
    let user = Signer::from_seed(USER_SEED, KeyKind::User).unwrap();
    assert_eq!(user.public_key(), USER);
    assert_eq!(user.kind(), KeyKind::User);
    assert_eq!(user.seed(), USER_SEED);

    let acc = issuer();
    assert_eq!(acc.public_key(), ISSUER);
    assert_eq!(acc.seed(), ISSUER_SEED);

    let extra = Signer::from_seed(EXTRA_ACCOUNT_SEED, KeyKind::Account).unwrap();
    assert_eq!(extra.seed(), EXTRA_ACCOUNT_SEED);
    assert!(extra.public_key().starts_with('A'));
    assert_ne!(extra.public_key(), ISSUER);
    assert_eq!(public_kind(extra.public_key()), Ok(KeyKind::Account));
    // The extra account is an independent key: its signatures do not verify as the issuer's.
    let sig = extra.sign(b"m");
    assert_eq!(
        nkey::verify(ISSUER, b"m", &sig),
        Err(KeyError::BadSignature)
    );
    assert!(nkey::verify(extra.public_key(), b"m", &sig).is_ok());

    let curve = CurveSecret::from_seed(XSEED).unwrap();
    assert_eq!(curve.public().as_str(), XKEY);
    assert_eq!(curve.seed(), XSEED);
    assert_eq!(CurvePublic::parse(XKEY).unwrap().as_str(), XKEY);
}

#[test]
fn fixture_keys_have_the_spec_layout() {
    assert_eq!(public_layout(USER).0, 20 << 3);
    assert_eq!(public_layout(ISSUER).0, 0);
    assert_eq!(public_layout(XKEY).0, 23 << 3);
    assert_eq!(seed_layout(USER_SEED), 20 << 3);
    assert_eq!(seed_layout(ISSUER_SEED), 0);
    assert_eq!(seed_layout(EXTRA_ACCOUNT_SEED), 0);
    assert_eq!(seed_layout(XSEED), 23 << 3);
}

#[test]
fn codec_encoded_curve_keys_have_the_spec_layout() {
    // CurveSecret encodes X keys and SX seeds itself (not through the nkeys crate).
    for _ in 0..8 {
        let k = CurveSecret::generate();
        let (prefix, raw) = public_layout(k.public().as_str());
        assert_eq!(prefix, 23 << 3);
        assert_eq!(seed_layout(&k.seed()), 23 << 3);
        assert!(k.seed().starts_with("SX"));
        // The nkeys crate reads our seed and derives the same public key bytes.
        let theirs = nkeys::XKey::from_seed(&k.seed()).unwrap();
        assert_eq!(theirs.public_key(), k.public().as_str());
        assert_eq!(
            CurveSecret::from_seed(&k.seed()).unwrap().public().as_str(),
            k.public().as_str()
        );
        assert_eq!(raw.len(), 32);
    }
}

#[test]
fn key_kinds_are_told_apart() {
    assert_eq!(public_kind(USER), Ok(KeyKind::User));
    assert_eq!(public_kind(ISSUER), Ok(KeyKind::Account));
    assert_eq!(public_kind(XKEY), Ok(KeyKind::Curve));
    assert_eq!(seed_kind(USER_SEED), Ok(KeyKind::User));
    assert_eq!(seed_kind(ISSUER_SEED), Ok(KeyKind::Account));
    assert_eq!(seed_kind(XSEED), Ok(KeyKind::Curve));
    assert_eq!(public_kind(ISSUER_SEED), Err(KeyError::MalformedPublic));
    assert_eq!(seed_kind(ISSUER), Err(KeyError::MalformedSeed));
    assert_eq!(
        expect_public(USER, KeyKind::Server),
        Err(KeyError::WrongKind {
            expected: "server",
            got: "user"
        })
    );
    assert!(expect_public(ISSUER, KeyKind::Account).is_ok());
    assert!(matches!(
        Signer::from_seed(XSEED, KeyKind::Account),
        Err(KeyError::WrongKind { .. })
    ));
    assert!(matches!(
        Signer::from_seed(XSEED, KeyKind::Curve),
        Err(KeyError::WrongKind { .. })
    ));
    assert!(matches!(
        CurveSecret::from_seed(ISSUER_SEED),
        Err(KeyError::WrongKind { .. })
    ));
    assert!(matches!(
        CurvePublic::parse(ISSUER),
        Err(KeyError::WrongKind { .. })
    ));
}

#[test]
fn fixture_curve_key_interoperates_with_the_nkeys_crate() {
    let responder = CurveSecret::from_seed(XSEED).unwrap();
    let server = nkeys::XKey::new();
    let server_pub = CurvePublic::parse(&server.public_key()).unwrap();
    let responder_nk = nkeys::XKey::from_public_key(XKEY).unwrap();
    // The "server" seals to the fixture xkey with the nkeys crate; the codec opens it.
    let sealed = server.seal(b"eyJrequest", &responder_nk).unwrap();
    assert_eq!(
        xkv1::open(&sealed, &responder, &server_pub).unwrap(),
        b"eyJrequest"
    );
    // Opening with the wrong sender fails.
    let other = CurveSecret::generate();
    assert_eq!(
        xkv1::open(&sealed, &responder, other.public()),
        Err(SealError::Decrypt)
    );
}

// ---------------------------------------------------------------------------------------------
// §1.2 JWT layout
// ---------------------------------------------------------------------------------------------

#[test]
fn header_bytes_are_exactly_the_go_header() {
    assert_eq!(JWT_HEADER, r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let token = encode(&mut user_claims(), &issuer());
    assert_eq!(parts(&token)[0], HEADER_B64);
    assert_eq!(
        BASE64URL_NOPAD.decode(HEADER_B64.as_bytes()).unwrap(),
        JWT_HEADER.as_bytes()
    );
}

#[test]
fn token_parts_are_unpadded_base64url_and_signed_over_header_dot_payload() {
    let signer = issuer();
    // Names of every length mod 3 give every padding case of the payload.
    for n in 0..9 {
        let mut c = user_claims();
        c.name = "x".repeat(n);
        let token = encode(&mut c, &signer);
        let p = parts(&token);
        assert_eq!(p.len(), 3);
        for part in &p {
            assert!(
                part.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "not base64url: {part}"
            );
        }
        let payload = BASE64URL_NOPAD.decode(p[1].as_bytes()).unwrap();
        assert_eq!(
            p[1].len(),
            (payload.len() * 4).div_ceil(3),
            "payload part is padded"
        );
        let sig = BASE64URL_NOPAD.decode(p[2].as_bytes()).unwrap();
        assert_eq!(sig.len(), 64);
        assert_eq!(p[2].len(), 86);
        let signed = format!("{}.{}", p[0], p[1]);
        assert!(nkey::verify(ISSUER, signed.as_bytes(), &sig).is_ok());
        assert_eq!(
            nkey::verify(ISSUER, p[1].as_bytes(), &sig),
            Err(KeyError::BadSignature)
        );
    }
}

#[test]
fn default_user_jwt_has_the_go_new_user_claims_shape() {
    let mut c = user_claims();
    let token = encode_at(&mut c, &issuer(), IAT);
    assert_eq!(payload_text(&token), GOLDEN_DEFAULT_PAYLOAD);
    // ed25519 is deterministic, so the whole token matches the independent encoder.
    assert_eq!(token, GOLDEN_DEFAULT);
    // encode_at set what Go's doEncode sets.
    assert_eq!(c.iss, ISSUER);
    assert_eq!(c.iat, IAT);
    assert_eq!(
        c.jti,
        "YJN6FY6LTAOZ7NK7KGYZFM6Y3EBBABVCTAFDKKWH6QZSXIHHSQ5Q"
    );
    assert_eq!(c.nats.claim_type, "user");
    assert_eq!(c.nats.version, 2);
}

#[test]
fn full_user_jwt_matches_the_independent_encoder_byte_for_byte() {
    let token = encode_at(&mut full_user_claims(), &issuer(), IAT);
    assert_eq!(payload_text(&token), GOLDEN_FULL_PAYLOAD);
    assert_eq!(token, GOLDEN_FULL);
}

#[test]
fn golden_tokens_decode_to_their_claims() {
    let d = decode::<User>(GOLDEN_DEFAULT).unwrap();
    assert_eq!(d.sub, USER);
    assert_eq!(d.iss, ISSUER);
    assert_eq!((d.nats.subs, d.nats.data, d.nats.payload), (-1, -1, -1));
    assert!(d.nats.publish.is_empty() && d.nats.subscribe.is_empty() && d.nats.resp.is_none());

    let f = decode::<User>(GOLDEN_FULL).unwrap();
    let mut want = full_user_claims();
    encode_at(&mut want, &issuer(), IAT);
    assert_eq!(f, want);
    assert_eq!(f.name, "Alice <ops & dev>");
    assert_eq!(f.nats.publish.allow, vec!["app.>"]);
}

#[test]
fn claim_payloads_have_go_field_names_order_and_omitempty() {
    // Every user field set, in the order of Go's User struct (protocol.md §1.7).
    let mut u = User {
        publish: Permission {
            allow: vec!["a".into()],
            deny: vec!["b".into()],
        },
        subscribe: Permission {
            allow: vec!["c q".into()],
            deny: vec!["d".into()],
        },
        resp: Some(ResponsePermission { max: -1, ttl: 0 }),
        src: vec!["10.0.0.0/8".into()],
        times: vec![TimeRange {
            start: "08:00:00".into(),
            end: "17:00:00".into(),
        }],
        times_location: "Europe/Paris".into(),
        subs: 5,
        data: 6,
        payload: 7,
        bearer_token: true,
        proxy_required: true,
        allowed_connection_types: vec!["STANDARD".into(), "WEBSOCKET".into()],
        issuer_account: ISSUER.into(),
        tags: vec!["t".into()],
        ..User::default()
    };
    u.stamp(2);
    assert_eq!(
        String::from_utf8(jwt::to_json(&u)).unwrap(),
        format!(
            r#"{{"pub":{{"allow":["a"],"deny":["b"]}},"sub":{{"allow":["c q"],"deny":["d"]}},"resp":{{"max":-1,"ttl":0}},"src":["10.0.0.0/8"],"times":[{{"start":"08:00:00","end":"17:00:00"}}],"times_location":"Europe/Paris","subs":5,"data":6,"payload":7,"bearer_token":true,"proxy_required":true,"allowed_connection_types":["STANDARD","WEBSOCKET"],"issuer_account":"{ISSUER}","tags":["t"],"type":"user","version":2}}"#
        )
    );
    // What a scoped signing key needs (§1.7): no limits at all, so no subs/data/payload keys.
    let mut scoped = User {
        subs: 0,
        data: 0,
        payload: 0,
        ..User::default()
    };
    scoped.stamp(2);
    assert_eq!(
        String::from_utf8(jwt::to_json(&scoped)).unwrap(),
        r#"{"pub":{},"sub":{},"type":"user","version":2}"#
    );

    // Responses (§1.6): jwt, error, issuer_account, tags, type, version.
    let mut ok = AuthResponse {
        jwt: "eyJ.x.y".into(),
        issuer_account: ISSUER.into(),
        ..Default::default()
    };
    ok.stamp(2);
    assert_eq!(
        String::from_utf8(jwt::to_json(&ok)).unwrap(),
        format!(
            r#"{{"jwt":"eyJ.x.y","issuer_account":"{ISSUER}","type":"authorization_response","version":2}}"#
        )
    );
    let mut denied = AuthResponse {
        error: "nope".into(),
        ..Default::default()
    };
    denied.stamp(2);
    assert_eq!(
        String::from_utf8(jwt::to_json(&denied)).unwrap(),
        r#"{"error":"nope","type":"authorization_response","version":2}"#
    );
}

// ---------------------------------------------------------------------------------------------
// §1.2 decoder acceptance and refusals
// ---------------------------------------------------------------------------------------------

fn user_payload_v2() -> String {
    format!(r#"{{"iss":"{ISSUER}","sub":"{USER}","nats":{{"type":"user","version":2}}}}"#)
}

#[test]
fn decode_accepts_legacy_alg_and_any_case_typ() {
    let payload = user_payload_v2();
    for header in [
        r#"{"typ":"JWT","alg":"ed25519-nkey"}"#,
        r#"{"typ":"JWT","alg":"ed25519"}"#,
        r#"{"typ":"jwt","alg":"ed25519-nkey"}"#,
        r#"{"typ":"jWt","alg":"ED25519"}"#,
        r#"{"alg":"Ed25519-NKey","typ":"JWT","kid":"ignored"}"#,
    ] {
        let token = sign_raw(header.as_bytes(), payload.as_bytes(), &issuer());
        let d = decode::<User>(&token).unwrap_or_else(|e| panic!("{header}: {e}"));
        assert_eq!(d.sub, USER);
    }
}

#[test]
fn decode_refuses_other_headers() {
    let payload = user_payload_v2();
    for header in [
        r#"{"typ":"JWS","alg":"ed25519-nkey"}"#,
        r#"{"alg":"ed25519-nkey"}"#,
        r#"{"typ":"JWT","alg":"HS256"}"#,
        r#"{"typ":"JWT","alg":"ed25519-nkeys"}"#,
        r#"{"typ":"JWT","alg":"ed25519 "}"#,
        r#"{"typ":"JWT"}"#,
        "not json",
    ] {
        let token = sign_raw(header.as_bytes(), payload.as_bytes(), &issuer());
        assert!(
            matches!(decode::<User>(&token), Err(JwtError::Header(_))),
            "{header} accepted or refused for another reason: {:?}",
            decode::<User>(&token)
        );
    }
}

#[test]
fn v1_signature_trap_payload_without_version_is_checked_over_payload_only() {
    // The trap of protocol.md §1.2, on the response: loadAuthorizationResponse takes any
    // version, and version 0 or absent means a v1 signature.
    let signer = issuer();
    let h64 = b64_encode(JWT_HEADER.as_bytes());
    let no_version = format!(
        r#"{{"iss":"{ISSUER}","sub":"{USER}","nats":{{"type":"authorization_response"}}}}"#
    );
    let p64 = b64_encode(no_version.as_bytes());

    // Signed the v2 way (over h.p) but without nats.version: the decoder takes it for v1.
    let trap = sign_raw(JWT_HEADER.as_bytes(), no_version.as_bytes(), &signer);
    assert_eq!(decode::<AuthResponse>(&trap), Err(JwtError::Signature(1)));
    // Version 0 is the same as absent.
    let zero = format!(
        r#"{{"iss":"{ISSUER}","sub":"{USER}","nats":{{"type":"authorization_response","version":0}}}}"#
    );
    let trap0 = sign_raw(JWT_HEADER.as_bytes(), zero.as_bytes(), &signer);
    assert_eq!(decode::<AuthResponse>(&trap0), Err(JwtError::Signature(1)));

    // The same payload signed over p alone is what v1 verification checks, and passes.
    let v1_sig = signer.sign(p64.as_bytes());
    let v1 = format!("{h64}.{p64}.{}", b64_encode(&v1_sig));
    assert_eq!(decode::<AuthResponse>(&v1).unwrap().sub, USER);

    // A user claim is stricter: Go's loadUser takes version 1 or 2 only, so a user JWT
    // without nats.version is refused before any signature check, however it is signed.
    let user0 = format!(r#"{{"iss":"{ISSUER}","sub":"{USER}","nats":{{"type":"user"}}}}"#);
    let u64 = b64_encode(user0.as_bytes());
    let over_p = format!("{h64}.{u64}.{}", b64_encode(&signer.sign(u64.as_bytes())));
    assert_eq!(
        decode::<User>(&over_p),
        Err(JwtError::UnsupportedVersion(0))
    );
    let over_hp = sign_raw(JWT_HEADER.as_bytes(), user0.as_bytes(), &signer);
    assert_eq!(
        decode::<User>(&over_hp),
        Err(JwtError::UnsupportedVersion(0))
    );

    // With version 2 the h.p signature passes and a p-only signature fails as V2.
    let v2 = user_payload_v2();
    assert!(decode::<User>(&sign_raw(JWT_HEADER.as_bytes(), v2.as_bytes(), &signer)).is_ok());
    let p64v2 = b64_encode(v2.as_bytes());
    let wrong = format!(
        "{h64}.{p64v2}.{}",
        b64_encode(&signer.sign(p64v2.as_bytes()))
    );
    assert_eq!(decode::<User>(&wrong), Err(JwtError::Signature(2)));
}

#[test]
fn a_top_level_type_means_version_1() {
    // Go's identifier: a top-level "type" makes the token v1 whatever nats.version says.
    let signer = issuer();
    let payload =
        format!(r#"{{"iss":"{ISSUER}","sub":"{USER}","type":"user","nats":{{"version":2}}}}"#);
    let hp_signed = sign_raw(JWT_HEADER.as_bytes(), payload.as_bytes(), &signer);
    assert_eq!(decode::<User>(&hp_signed), Err(JwtError::Signature(1)));
}

#[test]
fn decode_refuses_a_newer_version() {
    for v in [3, 4, 1000] {
        let payload = format!(
            r#"{{"iss":"{ISSUER}","sub":"{USER}","nats":{{"type":"user","version":{v}}}}}"#
        );
        let token = sign_raw(JWT_HEADER.as_bytes(), payload.as_bytes(), &issuer());
        assert_eq!(
            decode::<User>(&token),
            Err(JwtError::NewerVersion),
            "version {v}"
        );
    }
}

#[test]
fn decode_refuses_a_claim_of_another_type() {
    let token = encode(&mut user_claims(), &issuer());
    assert_eq!(
        decode::<AuthResponse>(&token),
        Err(JwtError::WrongType {
            expected: "authorization_response",
            got: "user".into()
        })
    );
    assert_eq!(
        decode::<AuthRequest>(&token),
        Err(JwtError::WrongType {
            expected: "authorization_request",
            got: "user".into()
        })
    );
    let mut resp = AuthResponseClaims {
        aud: Signer::generate(KeyKind::Server).public_key().into(),
        sub: USER.into(),
        nats: AuthResponse {
            error: "no".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let rt = encode(&mut resp, &issuer());
    assert_eq!(
        decode::<User>(&rt),
        Err(JwtError::WrongType {
            expected: "user",
            got: "authorization_response".into()
        })
    );
    assert_eq!(decode::<AuthResponse>(&rt).unwrap().nats.error, "no");
}

#[test]
fn decode_refuses_padded_or_standard_alphabet_base64() {
    let signer = issuer();
    // The 34-byte header is 46 chars unpadded, so padding would add "==".
    let h64 = b64_encode(JWT_HEADER.as_bytes());
    assert_eq!(h64.len() % 4, 2);
    // Pick a payload whose base64 needs padding (a length that is not a multiple of 3).
    let mut payload = user_payload_v2();
    let remainder = payload.len() % 3;
    if remainder == 0 {
        payload.push(' ');
    }
    assert_ne!(b64_encode(payload.as_bytes()).len() % 4, 0);
    let p64 = b64_encode(payload.as_bytes());
    let pad = |s: &str| format!("{s}{}", "=".repeat((4 - s.len() % 4) % 4));

    // Control: the unpadded token is fine.
    assert!(decode::<User>(&assemble(&h64, &p64, &signer)).is_ok());

    // Each token is correctly signed over what it contains; only the encoding is wrong.
    let padded_payload = assemble(&h64, &pad(&p64), &signer);
    assert_eq!(
        decode::<User>(&padded_payload),
        Err(JwtError::Base64("payload"))
    );
    let padded_header = assemble(&pad(&h64), &p64, &signer);
    assert_eq!(
        decode::<User>(&padded_header),
        Err(JwtError::Base64("header"))
    );
    let good = assemble(&h64, &p64, &signer);
    let padded_sig = format!("{}==", good);
    assert_eq!(
        decode::<User>(&padded_sig),
        Err(JwtError::Base64("signature"))
    );

    // Standard alphabet: a payload whose base64url has '-' or '_' re-spelt with '+' '/'.
    let mut claims = user_claims();
    claims.name = "~~~???".into(); // base64 "fn5+Pz8/": both '+' and '/'
    let t = encode(&mut claims, &signer);
    let p = parts(&t);
    assert!(p[1].contains('-') && p[1].contains('_'));
    let std_payload = p[1].replace('-', "+").replace('_', "/");
    let std_token = assemble(p[0], &std_payload, &signer);
    assert_eq!(decode::<User>(&std_token), Err(JwtError::Base64("payload")));
}

#[test]
fn decode_refuses_a_request_not_signed_by_a_server_key() {
    let server = Signer::generate(KeyKind::Server);
    let request = || AuthRequestClaims {
        aud: "nats-authorization-request".into(),
        sub: ISSUER.into(),
        nats: AuthRequest {
            user_nkey: USER.into(),
            ..Default::default()
        },
        ..Default::default()
    };
    // Control: a server-signed request decodes.
    let ok = encode(&mut request(), &server);
    assert_eq!(decode::<AuthRequest>(&ok).unwrap().iss, server.public_key());
    // Signed by an account (A…) key: a valid signature, but the wrong issuer kind.
    let a_signed = encode(&mut request(), &issuer());
    assert_eq!(
        decode::<AuthRequest>(&a_signed),
        Err(JwtError::IssuerPrefix("server"))
    );
    let u_signed = encode(
        &mut request(),
        &Signer::from_seed(USER_SEED, KeyKind::User).unwrap(),
    );
    assert_eq!(
        decode::<AuthRequest>(&u_signed),
        Err(JwtError::IssuerPrefix("server"))
    );
}

#[test]
fn decode_refuses_user_and_response_claims_not_signed_by_an_account() {
    let server = Signer::generate(KeyKind::Server);
    let user_by_server = encode(&mut user_claims(), &server);
    assert_eq!(
        decode::<User>(&user_by_server),
        Err(JwtError::IssuerPrefix("account"))
    );
    let mut resp = AuthResponseClaims {
        sub: USER.into(),
        nats: AuthResponse {
            error: "x".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let op = Signer::generate(KeyKind::Operator);
    let resp_by_operator = encode(&mut resp, &op);
    assert_eq!(
        decode::<AuthResponse>(&resp_by_operator),
        Err(JwtError::IssuerPrefix("account"))
    );
}

#[test]
fn decode_refuses_a_bad_signature_or_a_foreign_issuer() {
    let token = encode(&mut user_claims(), &issuer());
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mut raw = BASE64URL_NOPAD.decode(sig.as_bytes()).unwrap();
    raw[10] ^= 1;
    let tampered = format!("{head}.{}", b64_encode(&raw));
    assert_eq!(decode::<User>(&tampered), Err(JwtError::Signature(2)));
    // Claiming to be ISSUER but signed by another account.
    let extra = Signer::from_seed(EXTRA_ACCOUNT_SEED, KeyKind::Account).unwrap();
    let payload = user_payload_v2();
    let forged = sign_raw(JWT_HEADER.as_bytes(), payload.as_bytes(), &extra);
    assert_eq!(decode::<User>(&forged), Err(JwtError::Signature(2)));
}

#[test]
fn decode_refuses_wrong_chunk_counts() {
    let token = encode(&mut user_claims(), &issuer());
    let p = parts(&token);
    assert_eq!(
        decode::<User>(&format!("{}.{}", p[0], p[1])),
        Err(JwtError::Chunks)
    );
    assert_eq!(decode::<User>(&format!("{token}.")), Err(JwtError::Chunks));
    assert_eq!(decode::<User>(""), Err(JwtError::Chunks));
}

/// A validly signed user token of exactly `len` bytes (padding the `name`; the legacy header
/// spelling `{"typ":"JWT","alg":"ed25519"}` plus spaces adjusts the length mod 4).
fn token_of_len(len: usize) -> String {
    let signer = issuer();
    let b64len = |n: usize| (n * 4).div_ceil(3);
    for spaces in 0..3 {
        let header = format!(r#"{{"typ":"JWT",{}"alg":"ed25519"}}"#, " ".repeat(spaces));
        let fixed = b64len(header.len()) + 2 + 86;
        let skeleton = |name_len: usize| {
            format!(
                r#"{{"iss":"{ISSUER}","name":"{}","sub":"{USER}","nats":{{"type":"user","version":2}}}}"#,
                "n".repeat(name_len)
            )
        };
        let base = skeleton(0).len();
        let Some(want_payload) = len.checked_sub(fixed) else {
            continue;
        };
        let name_len = (want_payload * 3 / 4).saturating_sub(base);
        for n in name_len.saturating_sub(3)..name_len + 4 {
            if fixed + b64len(base + n) == len {
                let token = sign_raw(header.as_bytes(), skeleton(n).as_bytes(), &signer);
                assert_eq!(token.len(), len);
                return token;
            }
        }
    }
    panic!("no token of length {len}");
}

#[test]
fn tokens_over_one_mebibyte_are_refused_and_one_mebibyte_is_not() {
    let at_limit = token_of_len(MAX_TOKEN_SIZE);
    let d = decode::<User>(&at_limit).unwrap();
    assert_eq!(d.sub, USER);
    let over = token_of_len(MAX_TOKEN_SIZE + 1);
    assert_eq!(
        decode::<User>(&over),
        Err(JwtError::TooLarge(MAX_TOKEN_SIZE + 1))
    );
    // The size check comes first: even garbage over the limit reports the size.
    let junk = "a".repeat(MAX_TOKEN_SIZE + 10);
    assert_eq!(
        decode::<User>(&junk),
        Err(JwtError::TooLarge(MAX_TOKEN_SIZE + 10))
    );
}

#[test]
fn validate_times_follows_go_claims_data_validate() {
    let now = 1_800_000_000;
    let at = |exp: i64, nbf: i64| UserClaims {
        exp,
        nbf,
        ..user_claims()
    };
    assert_eq!(validate_times(&at(0, 0), now), Ok(()));
    assert_eq!(validate_times(&at(now - 1, 0), now), Err(JwtError::Expired));
    assert_eq!(
        validate_times(&at(now, 0), now),
        Ok(()),
        "expiry is `now > exp`"
    );
    assert_eq!(validate_times(&at(now + 1, 0), now), Ok(()));
    assert_eq!(
        validate_times(&at(0, now + 1), now),
        Err(JwtError::NotYetValid)
    );
    assert_eq!(
        validate_times(&at(0, now), now),
        Ok(()),
        "nbf is `nbf > now`"
    );
    assert_eq!(validate_times(&at(0, now - 1), now), Ok(()));
    assert_eq!(validate_times(&at(1, 0), now), Err(JwtError::Expired));
    // Survives an encode/decode (the times are read from the token, not only the struct).
    let mut expired = at(now - 60, 0);
    let token = encode(&mut expired, &issuer());
    assert_eq!(
        validate_times(&decode::<User>(&token).unwrap(), now),
        Err(JwtError::Expired)
    );
}

// ---------------------------------------------------------------------------------------------
// jti
// ---------------------------------------------------------------------------------------------

/// The `jti` computed from the spec, independently: base32-nopad(SHA-512/256(JSON of aud, exp,
/// iat, iss, name, nbf, sub in that order, zero values omitted)). Only plain strings are used.
fn spec_jti(aud: &str, exp: i64, iat: i64, iss: &str, name: &str, nbf: i64, sub: &str) -> String {
    let mut fields = Vec::new();
    if !aud.is_empty() {
        fields.push(format!(r#""aud":"{aud}""#));
    }
    if exp != 0 {
        fields.push(format!(r#""exp":{exp}"#));
    }
    if iat != 0 {
        fields.push(format!(r#""iat":{iat}"#));
    }
    if !iss.is_empty() {
        fields.push(format!(r#""iss":"{iss}""#));
    }
    if !name.is_empty() {
        fields.push(format!(r#""name":"{name}""#));
    }
    if nbf != 0 {
        fields.push(format!(r#""nbf":{nbf}"#));
    }
    if !sub.is_empty() {
        fields.push(format!(r#""sub":"{sub}""#));
    }
    let json = format!("{{{}}}", fields.join(","));
    BASE32_NOPAD.encode(&Sha512_256::digest(json.as_bytes()))
}

#[test]
fn jti_is_the_hash_of_the_generic_fields() {
    let cases: [(&str, i64, &str, i64); 5] = [
        ("", 0, "", 0),
        ("APP", 0, "", 0),
        ("", 1_900_000_000, "bob", 0),
        ("$G", 1_900_000_000, "carol", 1_600_000_000),
        ("", 0, "", -5),
    ];
    for (aud, exp, name, nbf) in cases {
        let mut c = UserClaims {
            aud: aud.into(),
            exp,
            name: name.into(),
            nbf,
            ..user_claims()
        };
        let token = encode_at(&mut c, &issuer(), IAT);
        let want = spec_jti(aud, exp, IAT, ISSUER, name, nbf, USER);
        assert_eq!(c.jti, want, "{aud} {exp} {name} {nbf}");
        assert_eq!(compute_jti(&c), want);
        assert_eq!(decode::<User>(&token).unwrap().jti, want);
        assert_eq!(want.len(), 52, "32 bytes in unpadded base32");
    }
}

#[test]
fn jti_ignores_the_nats_part_and_a_stale_jti() {
    let mut a = user_claims();
    a.iss = ISSUER.into();
    a.iat = IAT;
    let mut b = a.clone();
    b.nats.publish.allow = vec!["x".into()];
    b.jti = "STALE".into();
    assert_eq!(compute_jti(&a), compute_jti(&b));
    assert_eq!(compute_jti(&a), spec_jti("", 0, IAT, ISSUER, "", 0, USER));
    b.name = "n".into();
    assert_ne!(compute_jti(&a), compute_jti(&b));
}

#[test]
fn to_json_escapes_like_go_json_marshal() {
    // Go's encoding/json: HTML escaping of < > &, and U+2028/U+2029 always escaped; the
    // control characters as Go >= 1.22 writes them.
    let s = "a<b>&c\u{2028}\u{2029}\"\\\n\t\u{1}é";
    let got = String::from_utf8(jwt::to_json(&s)).unwrap();
    assert_eq!(got, r#""a\u003cb\u003e\u0026c\u2028\u2029\"\\\n\t\u0001é""#);
    // And it is still JSON that decodes to the same string.
    assert_eq!(serde_json::from_str::<String>(&got).unwrap(), s);
}

/// jwt v2 `types.go TimeRange`: `start` and `end` are `omitempty`, so an empty one is left out
/// (the server's `Validate` then reports the missing bound, as for a Go-written JWT).
#[test]
fn an_empty_time_range_bound_is_omitted_as_go_omits_it() {
    let half = TimeRange {
        start: "08:00:00".into(),
        end: String::new(),
    };
    assert_eq!(
        serde_json::to_string(&half).unwrap(),
        r#"{"start":"08:00:00"}"#
    );
    assert_eq!(serde_json::to_string(&TimeRange::default()).unwrap(), "{}");
    let back: TimeRange = serde_json::from_str(r#"{"start":"08:00:00"}"#).unwrap();
    assert_eq!(back, half);
}
