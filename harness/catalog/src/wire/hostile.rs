//! `wire.hostile.*`: requests a server never sends, forged by whoever can put a message on
//! `$SYS.REQ.USER.AUTH` (`protocol.md §1.5`, Who can publish a request). None may be admitted.
//! A signed error is PASS, silence or an unusable answer is INFO (a safe refusal), an admission
//! gets the case's level: MUST where the responder would sign for a request nobody verified,
//! SHOULD where the server's own checks are merely recommended to repeat.

use callout_codec::{jwt, Claims, CurveSecret, KeyKind, Secret, Signer, User};

use super::{Config, FakeServer, Forged, Kind, Need, WireCase};
use callout_leaves::verdict::Level;

use Config::{Plain, Sealed};
use Level::{May, Must, Should};

/// The hostile cases.
pub const CASES: &[WireCase] = &[
    WireCase {
        id: "wire.hostile.1",
        title: "bad signature",
        requirement: "verify the request signature by iss",
        cite: "protocol.md §1.5 (What a responder should verify); §1.2 (Signature)",
        level: Must,
        rationale: "admitting a request whose signature does not verify means the responder never checks signatures: a signing and password oracle for whoever can publish on $SYS.REQ.USER.AUTH in the callout account (protocol.md §1.5 Who can publish a request)",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(bad_signature),
    },
    WireCase {
        id: "wire.hostile.2",
        title: "iss differs from server_id.id",
        requirement: "iss is an N key equal to server_id.id",
        cite: "protocol.md §1.5 (iss, What a responder should verify)",
        level: Should,
        rationale: "a request self-signed by another N key passes every check of the request itself; only a responder that pins its server's key refuses it, and the protocol gives it no key list, so this is best practice, not a requirement (protocol.md §1.5)",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(issuer_not_server_id),
    },
    WireCase {
        id: "wire.hostile.3",
        title: "wrong aud",
        requirement: "aud == nats-authorization-request",
        cite: "protocol.md §1.5 (aud)",
        level: Should,
        rationale: "a server-signed token minted for another purpose is taken as an authorization request; the server does not check requests, the responder is recommended to",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(wrong_audience),
    },
    WireCase {
        id: "wire.hostile.4",
        title: "expired request",
        requirement: "exp not passed (replay of an old request)",
        cite: "protocol.md §1.5 (exp); §1.2 (Times)",
        level: Should,
        rationale: "anyone who captured a request (a callout-account subscriber) can replay it after its time and get a fresh answer",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(expired),
    },
    WireCase {
        id: "wire.hostile.5",
        title: "request without exp",
        requirement: "the server always sets exp; a request without one is replayable forever",
        cite: "protocol.md §1.5 (exp); §1.2 (Times)",
        level: Should,
        rationale: "the server always sets exp; a request without one stays replayable forever by anyone who captured it",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(no_expiry),
    },
    WireCase {
        id: "wire.hostile.6",
        title: "request not yet valid (nbf in the future)",
        requirement: "nbf > now is not yet valid",
        cite: "protocol.md §1.2 (Times)",
        level: Should,
        rationale: "the server never sets nbf; a request prepared for later and honoured now is not one a server made",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(not_yet_valid),
    },
    WireCase {
        id: "wire.hostile.7",
        title: "header xkey differs from server_id.xkey",
        requirement: "the Nats-Server-Xkey header equals the signed server_id.xkey",
        cite: "protocol.md §1.4 (Request)",
        level: Should,
        rationale: "the header is not signed: a request whose header differs from the signed server_id.xkey was altered on its way; admitting it with the answer sealed to the signed key gives the rewriter nothing (only the server opens it), so refusing it is best practice; sealing to the header key is wire.hostile.30",
        config: Sealed,
        needs: &[],
        kind: Kind::Hostile(header_xkey_mismatch),
    },
    WireCase {
        id: "wire.hostile.8",
        title: "sealed to the wrong key",
        requirement: "a request the configured xkey cannot open is not admitted",
        cite: "protocol.md §1.4 (Request, Sealed bytes)",
        level: Must,
        rationale: "a body the configured xkey cannot open carries no verifiable request; admitting it means nothing was verified: a signing and password oracle for whoever can publish on $SYS.REQ.USER.AUTH in the callout account (protocol.md §1.5 Who can publish a request)",
        config: Sealed,
        needs: &[],
        kind: Kind::Hostile(sealed_to_wrong_key),
    },
    WireCase {
        id: "wire.hostile.9",
        title: "wrong xkv1 version prefix",
        requirement: "only xkv1 opens",
        cite: "protocol.md §1.4 (Sealed bytes)",
        level: Must,
        rationale: "only xkv1 opens; admitting another version means nothing was opened or verified: a signing and password oracle for whoever can publish on $SYS.REQ.USER.AUTH in the callout account (protocol.md §1.5 Who can publish a request)",
        config: Sealed,
        needs: &[],
        kind: Kind::Hostile(wrong_xkv_version),
    },
    WireCase {
        id: "wire.hostile.10",
        title: "truncated sealed request",
        requirement: "open requires len > 28 and a valid box",
        cite: "protocol.md §1.4 (Sealed bytes)",
        level: Must,
        rationale: "a truncated box does not open; admitting it means nothing was verified: a signing and password oracle for whoever can publish on $SYS.REQ.USER.AUTH in the callout account (protocol.md §1.5 Who can publish a request)",
        config: Sealed,
        needs: &[],
        kind: Kind::Hostile(truncated),
    },
    WireCase {
        id: "wire.hostile.11",
        title: "empty request",
        requirement: "nothing to admit",
        cite: "protocol.md §1.1 (Body)",
        level: Must,
        rationale: "an empty body carries no signed request; admitting it admits anyone",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(empty),
    },
    WireCase {
        id: "wire.hostile.12",
        title: "not a JWT",
        requirement: "the body is a JWT (plain mode)",
        cite: "protocol.md §1.1 (Body); §1.2 (Token layout)",
        level: Must,
        rationale: "text that is not a JWT carries no signature; admitting it admits anyone",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(not_a_jwt),
    },
    WireCase {
        id: "wire.hostile.13",
        title: "random bytes",
        requirement: "garbage is not admitted and does not crash the responder",
        cite: "protocol.md §1.1 (Body)",
        level: Must,
        rationale: "garbage carries no signature; admitting it admits anyone (a crash is judged by the follow-up good request)",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(random_bytes),
    },
    WireCase {
        id: "wire.hostile.14",
        title: "token over 1 MiB",
        requirement: "tokens larger than 1 MiB are rejected",
        cite: "protocol.md §1.2 (Size)",
        level: Should,
        rationale: "no server sends a token over 1 MiB (jwt refuses them); decoding one costs memory and time the sender chooses",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(oversized),
    },
    WireCase {
        id: "wire.hostile.15",
        title: "plaintext request while an xkey is configured",
        requirement: "a server with auth_callout.xkey always seals; a plaintext request is an encryption mismatch",
        cite: "protocol.md §1.4 (Request, Encryption mismatch)",
        level: Should,
        rationale: "a server with the responder's xkey seals every request; a plaintext one did not come from it, though it may still carry a valid server signature",
        config: Sealed,
        needs: &[],
        kind: Kind::Hostile(plaintext_when_sealed),
    },
    WireCase {
        id: "wire.hostile.16",
        title: "sealed request while no xkey is configured",
        requirement: "a request that cannot be opened is not admitted",
        cite: "protocol.md §1.4 (Encryption mismatch)",
        level: Must,
        rationale: "a responder without an xkey cannot open a sealed body; admitting it means nothing was verified: a signing and password oracle for whoever can publish on $SYS.REQ.USER.AUTH in the callout account (protocol.md §1.5 Who can publish a request)",
        config: Plain,
        needs: &[Need::PlainRequest],
        kind: Kind::Hostile(sealed_when_plain),
    },
    WireCase {
        id: "wire.hostile.17",
        title: "replayed request",
        requirement: "the same request (same user_nkey) twice: the second is not admitted",
        cite: "protocol.md §1.5 (user_nkey)",
        level: Should,
        rationale: "the server's anti-replay is the fresh user_nkey checked on the answer; a responder that answers the same request twice hands a captured request a second answer",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(replay),
    },
    WireCase {
        id: "wire.hostile.18",
        title: "non-UTF-8 bytes in the request JSON",
        requirement: "malformed JSON is not admitted and does not crash the responder",
        cite: "protocol.md §8.2 (Invalid UTF-8)",
        level: Should,
        rationale: "Go decodes invalid UTF-8 as U+FFFD, so the request is a validly signed one with a mangled user name; it must not match a real user nor crash the responder (the crash is judged by the follow-up request)",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(non_utf8),
    },
    WireCase {
        id: "wire.hostile.19",
        title: "64 KiB user name",
        requirement: "a huge user name is rejected without crashing",
        cite: "protocol.md §1.5 (connect_opts)",
        level: Should,
        rationale: "any client can send a huge user name; it must be refused as unknown without cost or crash",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(long_user_name),
    },
    WireCase {
        id: "wire.hostile.20",
        title: "request without nats.version (v1 signature trap)",
        requirement: "a v1 claim's signature covers the payload only; a token signed over h.p without version fails verification",
        cite: "protocol.md §1.2 (Version trap)",
        level: Should,
        rationale: "a request without nats.version is a v1 claim to Go, and jwt verifies a v1 signature over the payload alone, so Go refuses this one (signed over header.payload); but making it needs a signature by the issuer's own key, which a forger makes with an N key of its own exactly as in wire.hostile.2: admitting it gives no oracle beyond that one, so refusing it is best practice (protocol.md §1.2 Version trap, §1.5 Who can publish a request)",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(no_version),
    },
    WireCase {
        id: "wire.hostile.21",
        title: "user_nkey is not a user key",
        requirement: "user_nkey must be a U key; an answer cannot be addressed otherwise",
        cite: "protocol.md §1.5 (user_nkey); §1.6 (Validate)",
        level: Should,
        rationale: "no server sends a non-U user_nkey (jwt's request Validate refuses it) and the server refuses any answer for it, so no one is admitted; answering is still answering a forgery",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(bad_user_nkey),
    },
    WireCase {
        id: "wire.hostile.22",
        title: "request signed by an account key",
        requirement: "authorization_request issuers are N keys",
        cite: "protocol.md §1.2 (Issuer prefix)",
        level: Should,
        rationale: "requests are issued by the server's N key; an account key in iss (server_id.id untouched) is a forgery any key holder can make, the same capability as a self-signed N key in wire.hostile.2, so refusing it is best practice (protocol.md §1.5 What a responder should verify, Who can publish a request)",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(account_issuer),
    },
    WireCase {
        id: "wire.hostile.23",
        title: "a user claim instead of an authorization request",
        requirement: "nats.type must be authorization_request",
        cite: "protocol.md §1.2 (Claim type)",
        level: Should,
        rationale: "a server-signed token of another claim type is taken as an authorization request; jwt's typed decoder refuses it",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(wrong_claim_type),
    },
    WireCase {
        id: "wire.hostile.24",
        title: "a known user without connect_opts.pass",
        requirement: "a missing password is never a match (deny by default)",
        cite: "protocol.md §1.5 (connect_opts)",
        level: Must,
        rationale: "a missing password is never a match; otherwise anyone who knows a user name gets in",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(no_password),
    },
    WireCase {
        id: "wire.hostile.25",
        title: "exp = -1",
        requirement: "an exp that is not a positive time is no expiry: refuse it as a request without exp",
        cite: "protocol.md §1.5 (exp); §1.2 (Times)",
        level: Should,
        rationale: "Go's jwt treats exp <= 0 as no expiry, so the request is valid to Go but replayable forever; the server always sets a positive exp",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(exp_minus_one),
    },
    WireCase {
        id: "wire.hostile.26",
        title: "exp = i64::MIN",
        requirement: "the most negative exp is no expiry, and no arithmetic on it may wrap",
        cite: "protocol.md §1.5 (exp); §1.2 (Times)",
        level: Should,
        rationale: "as exp = -1 (no expiry, replayable forever); arithmetic on i64::MIN that wraps can turn it into a far-future exp (a crash is judged by the follow-up request)",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(exp_min),
    },
    WireCase {
        id: "wire.hostile.27",
        title: "a request with a negative exp, sent twice",
        requirement: "the replay guard holds a request without a usable exp too: the second sending is not admitted",
        cite: "protocol.md §1.5 (user_nkey, exp); §1.2 (Times)",
        level: Should,
        rationale: "a replay guard keyed on exp forgets requests without a positive exp, so every replay of one is admitted",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(negative_exp_replayed),
    },
    WireCase {
        id: "wire.hostile.28",
        title: "iat a year in the future",
        requirement: "the server stamps iat = now: a request issued in the future was not made by a server",
        cite: "protocol.md §1.2 (Times)",
        level: Should,
        rationale: "the server stamps iat = now and exp = now + timeout; this request's exp is a year away, so a captured copy replays for a year (iat alone is not checked by Go)",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(iat_future),
    },
    WireCase {
        id: "wire.hostile.29",
        title: "exp before iat",
        requirement: "a request that expires before it was issued is not valid",
        cite: "protocol.md §1.2 (Times)",
        level: May,
        rationale: "Go's jwt never reads iat, and exp still bounds the replay window; refusing exp < iat is a sanity check, admitting it is what Go does",
        config: Plain,
        needs: &[],
        kind: Kind::Hostile(exp_before_iat),
    },
    WireCase {
        id: "wire.hostile.30",
        title: "answer sealed to the unsigned header key",
        requirement: "the answer is sealed to the signed server_id.xkey, never to the Nats-Server-Xkey header when they differ",
        cite: "protocol.md §1.4 (Request)",
        level: Must,
        rationale: "the header is not signed: whoever can rewrite it (anyone who can publish on $SYS.REQ.USER.AUTH in the callout account, protocol.md §1.5 Who can publish a request) and receives an answer sealed to it opens the user JWT: credential theft",
        config: Sealed,
        needs: &[],
        kind: Kind::Leak(header_xkey_mismatch),
    },
];

fn bob(s: &FakeServer) -> callout_codec::AuthRequestClaims {
    s.request_for(&s.ids.bob)
}

fn signed(s: &FakeServer, edit: impl FnOnce(&mut callout_codec::AuthRequestClaims)) -> Forged {
    s.edited_for(&s.ids.bob, edit)
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
    let other = s.attacker_xkey();
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
    let mut f = s.good_for(&s.ids.bob);
    f.body[3] = b'2';
    f
}

fn truncated(s: &FakeServer) -> Forged {
    let mut f = s.good_for(&s.ids.bob);
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
    let mut f = s.good_for(&s.ids.bob);
    f.replayed = true;
    f
}

/// The credential the responder authenticates with (`connect_opts.user`, else
/// `connect_opts.auth_token`) gets two invalid UTF-8 bytes in front; nothing else changes.
fn non_utf8(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let tok = s.sign(&mut c);
    let mut p = jwt::b64_decode(tok.split('.').nth(1).unwrap_or(""), "payload").unwrap_or_default();
    let field = if c.nats.connect_opts.user.is_empty() {
        "auth_token"
    } else {
        "user"
    };
    match mangle_connect_opt(&mut p, field) {
        Ok(()) => {}
        Err(why) => s.mutation_failed(format!("non-UTF-8 connect_opts.{field}: {why}")),
    }
    s.package(c, jwt::sign_payload(&p, &s.key).as_bytes())
}

/// Puts 0xff 0xfe at the start of the string value of `connect_opts.FIELD` in the JSON
/// `payload`, and checks that the field, read as Go reads invalid UTF-8, changed and nothing
/// else did.
fn mangle_connect_opt(payload: &mut Vec<u8>, field: &str) -> Result<(), String> {
    let before: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    let opts = find(payload, b"\"connect_opts\":{", 0).ok_or("no connect_opts object")?;
    let key = format!("\"{field}\":\"");
    let at = find(payload, key.as_bytes(), opts).ok_or_else(|| format!("no {field} string"))?;
    let value = at + key.len();
    payload.splice(value..value, [0xff, 0xfe]);
    let lossy = String::from_utf8_lossy(payload).into_owned();
    let after: serde_json::Value = serde_json::from_str(&lossy)
        .map_err(|e| format!("the mangled payload is not JSON: {e}"))?;
    let was = &before["nats"]["connect_opts"][field];
    let now = &after["nats"]["connect_opts"][field];
    if was == now {
        return Err("the value did not change".into());
    }
    let mut rest = after.clone();
    rest["nats"]["connect_opts"][field] = was.clone();
    if rest != before {
        return Err("another field changed too".into());
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn long_user_name(s: &FakeServer) -> Forged {
    let long = "u".repeat(64 * 1024);
    if s.ids.bob.user.is_none() {
        // A token login: the 64 KiB value is the token.
        let login = super::Login::token(&long);
        return s.edited_for(&login, |_| {});
    }
    signed(s, |c| {
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

/// One change: the account key signs (and so is `iss`); `server_id` stays the server's.
fn account_issuer(s: &FakeServer) -> Forged {
    let acct = Signer::generate(KeyKind::Account);
    let mut c = bob(s);
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
    s.good_for(&s.ids.bob.without_secret())
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

/// One change: iat moves a minute past the request's own exp.
fn exp_before_iat(s: &FakeServer) -> Forged {
    let mut c = bob(s);
    let iat = c.exp + 60;
    let tok = jwt::encode_at(&mut c, &s.key, iat);
    s.package(c, tok.as_bytes())
}
