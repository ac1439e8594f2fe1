//! `wire.hostile.*`: requests a server never sends, forged by anyone who can publish to
//! `$SYS.REQ.USER.AUTH` (the callout account's users, `protocol.md §1.5`). None may be admitted.
//! A signed error is PASS, silence or an unusable answer is INFO (a safe refusal), an admission
//! gets the case's level: MUST where the responder would sign for a request nobody verified,
//! SHOULD where the server's own checks are merely recommended to repeat.

use callout_codec::{jwt, Claims, CurveSecret, KeyKind, Secret, Signer, User};

use super::{Config, FakeServer, Forged, Kind, WireCase, BOB_PASS};
use crate::verdict::Level;

const fn case(
    id: &'static str,
    title: &'static str,
    requirement: &'static str,
    cite: &'static str,
    level: Level,
    rationale: &'static str,
    config: Config,
    forge: fn(&FakeServer) -> Forged,
) -> WireCase {
    WireCase {
        id,
        title,
        requirement,
        cite,
        level,
        rationale,
        config,
        kind: Kind::Hostile(forge),
    }
}

use Config::{Plain, Sealed};
use Level::{Must, Should};

/// The hostile cases.
pub const CASES: &[WireCase] = &[
    case("wire.hostile.1", "bad signature", "verify the request signature by iss", "protocol.md §1.5 (What a responder should verify)", Must,
        "without it the responder signs user JWTs for any forged request: a signing oracle for anyone holding the callout account's credentials", Plain, bad_signature),
    case("wire.hostile.2", "iss differs from server_id.id", "iss is an N key equal to server_id.id", "protocol.md §1.5 (iss)", Should,
        "a request signed by some other server key is not from the server the responder serves; the server's own checks still stop the answer", Plain, issuer_not_server_id),
    case("wire.hostile.3", "wrong aud", "aud == nats-authorization-request", "protocol.md §1.5 (aud)", Should,
        "a token minted for another purpose is taken as an authorization request", Plain, wrong_audience),
    case("wire.hostile.4", "expired request", "exp not passed (replay of an old request)", "protocol.md §1.5 (exp); §1.2 (Times)", Should,
        "a captured request can be replayed after its time", Plain, expired),
    case("wire.hostile.5", "request without exp", "the server always sets exp; a request without one is replayable forever", "protocol.md §1.5 (exp)", Should,
        "a captured request stays valid forever", Plain, no_expiry),
    case("wire.hostile.6", "request not yet valid (nbf in the future)", "nbf > now is not yet valid", "protocol.md §1.2 (Times)", Should,
        "a request prepared for later is honoured now", Plain, not_yet_valid),
    case("wire.hostile.7", "header xkey differs from server_id.xkey", "the Nats-Server-Xkey header equals the signed server_id.xkey", "protocol.md §1.4 (Request)", Should,
        "the reply would be sealed to a key the signer did not name: whoever sealed the request reads it", Sealed, header_xkey_mismatch),
    case("wire.hostile.8", "sealed to the wrong key", "a request the configured xkey cannot open is not admitted", "protocol.md §1.4", Must,
        "a body that does not open carries no verifiable request at all", Sealed, sealed_to_wrong_key),
    case("wire.hostile.9", "wrong xkv1 version prefix", "only xkv1 opens", "protocol.md §1.4 (Sealed bytes)", Must,
        "a body that does not open carries no verifiable request at all", Sealed, wrong_xkv_version),
    case("wire.hostile.10", "truncated sealed request", "open requires len > 28 and a valid box", "protocol.md §1.4", Must,
        "a body that does not open carries no verifiable request at all", Sealed, truncated),
    case("wire.hostile.11", "empty request", "nothing to admit", "protocol.md §1.1 (Body)", Must,
        "an empty body carries no signed request", Plain, empty),
    case("wire.hostile.12", "not a JWT", "the body is a JWT (plain mode)", "protocol.md §1.1 (Body)", Must,
        "text that is not a JWT carries no signed request", Plain, not_a_jwt),
    case("wire.hostile.13", "random bytes", "garbage is not admitted and does not crash the responder", "protocol.md §1.1 (Body)", Must,
        "garbage carries no signed request", Plain, random_bytes),
    case("wire.hostile.14", "token over 1 MiB", "tokens larger than 1 MiB are rejected", "protocol.md §1.2 (Size)", Should,
        "no server sends one; decoding it costs memory and time an attacker chooses", Plain, oversized),
    case("wire.hostile.15", "plaintext request while an xkey is configured", "a server with auth_callout.xkey always seals; a plaintext request is an encryption mismatch", "protocol.md §1.4 (Request, Encryption mismatch)", Should,
        "the server always seals when an xkey is configured: a plaintext request did not come from it", Sealed, plaintext_when_sealed),
    case("wire.hostile.16", "sealed request while no xkey is configured", "a request that cannot be opened is not admitted", "protocol.md §1.4", Must,
        "a body that does not open carries no verifiable request at all", Plain, sealed_when_plain),
    case("wire.hostile.17", "replayed request", "the same request (same user_nkey) twice: the second is not admitted", "protocol.md §1.5 (user_nkey)", Should,
        "a captured request buys a second set of credentials", Plain, replay),
    case("wire.hostile.18", "non-UTF-8 bytes in the request JSON", "malformed JSON is not admitted and does not crash the responder", "protocol.md §1.2", Must,
        "the signature covers bytes that are not JSON: nothing verified can be read from them", Plain, non_utf8),
    case("wire.hostile.19", "64 KiB user name", "a huge user name is rejected without crashing", "protocol.md §1.5 (connect_opts)", Should,
        "a client can send any user name; an unknown one must not get in", Plain, long_user_name),
    case("wire.hostile.20", "request without nats.version (v1 signature trap)", "a v1 claim's signature covers the payload only; a token signed over h.p without version fails verification", "protocol.md §1.2 (Version trap)", Must,
        "the signature does not verify as the claim's version demands: a responder that admits it does not verify signatures", Plain, no_version),
    case("wire.hostile.21", "user_nkey is not a user key", "user_nkey must be a U key; an answer cannot be addressed otherwise", "protocol.md §1.5 (user_nkey); §1.6", Should,
        "no server sends it, and the server refuses any answer for it", Plain, bad_user_nkey),
    case("wire.hostile.22", "request signed by an account key", "authorization_request issuers are N keys", "protocol.md §1.2 (Issuer prefix)", Must,
        "any account key holder could mint requests: the responder signs for requests no server made", Plain, account_issuer),
    case("wire.hostile.23", "a user claim instead of an authorization request", "nats.type must be authorization_request", "protocol.md §1.2 (Claim type)", Should,
        "a token of another type is taken as an authorization request", Plain, wrong_claim_type),
    case("wire.hostile.24", "a known user without connect_opts.pass", "a missing password is never a match (deny by default)", "protocol.md §1.5 (connect_opts)", Must,
        "anyone who knows a user name gets in without a password", Plain, no_password),
    case("wire.hostile.25", "exp = -1", "an exp that is not a positive time is no expiry: refuse it as a request without exp", "protocol.md §1.5 (exp); §1.2 (Times)", Should,
        "Go's jwt treats exp <= 0 as no expiry: the request is replayable forever", Plain, exp_minus_one),
    case("wire.hostile.26", "exp = i64::MIN", "the most negative exp is no expiry, and no arithmetic on it may wrap", "protocol.md §1.5 (exp); §1.2 (Times)", Should,
        "the request is replayable forever, and a check that wraps around admits it", Plain, exp_min),
    case("wire.hostile.27", "a request with a negative exp, sent twice", "the replay guard holds a request without a usable exp too: the second sending is not admitted", "protocol.md §1.5 (user_nkey, exp)", Should,
        "a guard that forgets requests without a positive exp admits every replay of them", Plain, negative_exp_replayed),
    case("wire.hostile.28", "iat a year in the future", "the server stamps iat = now: a request issued in the future was not made by a server", "protocol.md §1.2 (Times)", Should,
        "a request prepared in advance is honoured; a server never sends one", Plain, iat_future),
    case("wire.hostile.29", "exp before iat", "a request that expires before it was issued is not valid", "protocol.md §1.2 (Times)", Should,
        "no server sends one; it is a forged or corrupted request", Plain, exp_before_iat),
];

fn bob(s: &FakeServer) -> callout_codec::AuthRequestClaims {
    s.request(Some("bob"), Some(BOB_PASS))
}

fn signed(s: &FakeServer, edit: impl FnOnce(&mut callout_codec::AuthRequestClaims)) -> Forged {
    s.edited("bob", BOB_PASS, edit)
}

fn bad_signature(s: &FakeServer) -> Forged {
    // The claims of our server (iss = server_id.id), the signature of another key.
    let mut c = bob(s);
    let good = s.sign(&mut c);
    let mut other_claims = c.clone();
    let other = jwt::encode(&mut other_claims, &Signer::generate(KeyKind::Server));
    let forged = format!(
        "{}.{}",
        &good[..good.rfind('.').unwrap_or(0)],
        &other[other.rfind('.').map(|i| i + 1).unwrap_or(0)..]
    );
    s.package(c, forged.as_bytes())
}

fn issuer_not_server_id(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let tok = jwt::encode(&mut c, &Signer::generate(KeyKind::Server));
    s.package(c, tok.as_bytes())
}

fn wrong_audience(s: &FakeServer) -> Forged {
    signed(s, |c| c.aud = "nats-authorization-response".into())
}

fn expired(s: &FakeServer) -> Forged {
    signed(s, |c| c.exp = callout_codec::unix_now() - 30)
}

fn no_expiry(s: &FakeServer) -> Forged {
    signed(s, |c| c.exp = 0)
}

fn not_yet_valid(s: &FakeServer) -> Forged {
    signed(s, |c| c.nbf = callout_codec::unix_now() + 3600)
}

fn header_xkey_mismatch(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let tok = s.sign(&mut c);
    let other = CurveSecret::generate();
    let body = other
        .channel_to(s.responder_xkey.as_ref().unwrap_or(s.xkey.public()))
        .seal(tok.as_bytes());
    Forged {
        claims: c,
        body,
        header: Some(other.public().as_str().to_string()),
        replayed: false,
    }
}

/// Sealed to a key nobody holds: in a sealed phase the responder's key is the wrong one; in a
/// plain phase the responder has no key at all.
fn sealed_to_nobody(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let tok = s.sign(&mut c);
    let body = s
        .xkey
        .channel_to(CurveSecret::generate().public())
        .seal(tok.as_bytes());
    Forged {
        claims: c,
        body,
        header: Some(s.xkey_header()),
        replayed: false,
    }
}

fn sealed_to_wrong_key(s: &FakeServer) -> Forged {
    sealed_to_nobody(s)
}

fn sealed_when_plain(s: &FakeServer) -> Forged {
    sealed_to_nobody(s)
}

fn wrong_xkv_version(s: &FakeServer) -> Forged {
    let mut f = s.good("bob", BOB_PASS);
    f.body[3] = b'2';
    f
}

fn truncated(s: &FakeServer) -> Forged {
    let mut f = s.good("bob", BOB_PASS);
    f.body.truncate(20);
    f
}

fn empty(s: &FakeServer) -> Forged {
    s.package(bob(s), b"")
}

fn not_a_jwt(s: &FakeServer) -> Forged {
    s.package(bob(s), b"hello, this is not a JWT")
}

fn random_bytes(s: &FakeServer) -> Forged {
    let seed = Signer::generate(KeyKind::User).sign(b"random");
    let mut v = Vec::new();
    for i in 0..8u8 {
        v.extend(seed.iter().map(|b| b.wrapping_mul(i + 3)));
    }
    s.package(bob(s), &v)
}

fn oversized(s: &FakeServer) -> Forged {
    signed(s, |c| c.nats.client_info.name = "x".repeat(1_100_000))
}

fn plaintext_when_sealed(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let tok = s.sign(&mut c);
    Forged {
        claims: c,
        body: tok.into_bytes(),
        header: None,
        replayed: false,
    }
}

fn replay(s: &FakeServer) -> Forged {
    let mut f = s.good("bob", BOB_PASS);
    f.replayed = true;
    f
}

fn non_utf8(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let tok = s.sign(&mut c);
    let mut p = jwt::b64_decode(tok.split('.').nth(1).unwrap_or(""), "payload").unwrap_or_default();
    if let Some(i) = p.windows(5).position(|w| w == b"\"bob\"") {
        p[i + 1] = 0xff;
        p[i + 2] = 0xfe;
    }
    s.package(c, jwt::sign_payload(&p, &s.key).as_bytes())
}

fn long_user_name(s: &FakeServer) -> Forged {
    signed(s, |c| {
        let long = "u".repeat(64 * 1024);
        c.nats.connect_opts.user = long.clone();
        c.nats.client_info.user = Secret::new(long);
    })
}

fn no_version(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    c.iss = s.key.public_key().into();
    c.iat = callout_codec::unix_now();
    c.nats.claim_type = "authorization_request".into();
    c.nats.version = 0;
    let tok = jwt::sign_payload(&jwt::to_json(&c), &s.key);
    s.package(c, tok.as_bytes())
}

fn bad_user_nkey(s: &FakeServer) -> Forged {
    signed(s, |c| {
        c.nats.user_nkey = Signer::generate(KeyKind::Account).public_key().into()
    })
}

fn account_issuer(s: &FakeServer) -> Forged {
    let acct = Signer::generate(KeyKind::Account);
    let mut c = bob(s);
    c.nats.server_id.id = acct.public_key().into();
    let tok = jwt::encode(&mut c, &acct);
    s.package(c, tok.as_bytes())
}

fn wrong_claim_type(s: &FakeServer) -> Forged {
    let c = bob(s);
    let mut u: Claims<User> = Claims {
        sub: c.nats.user_nkey.clone(),
        aud: "APP".into(),
        ..Claims::default()
    };
    let tok = jwt::encode(&mut u, &s.key);
    s.package(c, tok.as_bytes())
}

fn no_password(s: &FakeServer) -> Forged {
    signed(s, |c| c.nats.connect_opts.pass = Secret::default())
}

fn exp_minus_one(s: &FakeServer) -> Forged {
    signed(s, |c| c.exp = -1)
}

fn exp_min(s: &FakeServer) -> Forged {
    signed(s, |c| c.exp = i64::MIN)
}

fn negative_exp_replayed(s: &FakeServer) -> Forged {
    let mut f = signed(s, |c| c.exp = -1);
    f.replayed = true;
    f
}

fn iat_future(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let later = callout_codec::unix_now() + 365 * 24 * 3600;
    c.exp = later + 2;
    let tok = jwt::encode_at(&mut c, &s.key, later);
    s.package(c, tok.as_bytes())
}

fn exp_before_iat(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let now = callout_codec::unix_now();
    c.exp = now + 60;
    let tok = jwt::encode_at(&mut c, &s.key, now + 120);
    s.package(c, tok.as_bytes())
}
