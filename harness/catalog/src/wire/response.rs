//! `wire.resp.*`: the answer to a good request, byte by byte. Each case is a good request and a
//! check of what came back; the checks mirror the server's own checks on a response
//! (`protocol.md §2`) and what the user JWT must carry (`protocol.md §1.7`).

use callout_codec::claims::NatsPayload;
use callout_codec::jwt;
use serde_json::json;

use super::{mismatch, Config, Exchange, Finding, Kind, Need, Who, WireCase};
use callout_leaves::text::short;
use callout_leaves::verdict::Level;

/// The response cases.
pub const CASES: &[WireCase] = &[
    WireCase {
        id: "wire.resp.1",
        title: "response JWT header and encoding are what the server decodes",
        requirement: "three unpadded base64url parts; a header whose typ is JWT and alg ed25519-nkey (the server parses the header as JSON: key order and spacing are free)",
        cite: "protocol.md §1.2 (Header, Token layout)",
        level: Level::Must,
        rationale: "the server decodes only three unpadded base64url parts with a typ JWT / alg ed25519-nkey header; anything else denies every client the responder answers (key order and spacing are free, so only the values are judged)",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: encoding },
    },
    WireCase {
        id: "wire.resp.2",
        title: "response signature verifies over header.payload, type authorization_response, version 2",
        requirement: "v2 signature over h.p by iss; nats.type authorization_response; nats.version 2 (without it the server checks a v1 signature and rejects)",
        cite: "protocol.md §1.2 (Signature, Version trap, Claim type)",
        level: Level::Must,
        rationale: "without a v2 signature over h.p, type authorization_response and version 2 the server refuses the response (V1 signature trap): every client is denied",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: type_version },
    },
    WireCase {
        id: "wire.resp.3",
        title: "response is signed by the configured issuer",
        requirement: "response iss = auth_callout.issuer (2.15.1 rejects any other signer in config mode)",
        cite: "protocol.md §1.6 (Who must sign)",
        level: Level::Must,
        rationale: "2.15.1 refuses a response not signed by the configured issuer, so every client is denied there; older servers accept it only because they do not check",
        config: Config::Plain,
        needs: &[Need::ConfigAnswer],
        kind: Kind::Response { who: Who::Bob, verify: issuer },
    },
    WireCase {
        id: "wire.resp.4",
        title: "response sub is the request's user_nkey",
        requirement: "response sub = user_nkey",
        cite: "protocol.md §2 row 5",
        level: Level::Must,
        rationale: "the server refuses a response whose sub is not the user_nkey it generated: the client is denied",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: subject },
    },
    WireCase {
        id: "wire.resp.5",
        title: "response aud is the server id",
        requirement: "response aud = server_id.id",
        cite: "protocol.md §2 row 6",
        level: Level::Must,
        rationale: "the server refuses a response whose aud is not its own id: the client is denied",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: audience },
    },
    WireCase {
        id: "wire.resp.6",
        title: "response carries exactly one of jwt and error",
        requirement: "Error or Jwt is required; Only Error or Jwt can be set",
        cite: "protocol.md §2 row 4; §1.6 (Validate)",
        level: Level::Must,
        rationale: "Validate refuses a response with neither or both of jwt and error: the client is denied",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: jwt_xor_error },
    },
    WireCase {
        id: "wire.resp.7",
        title: "user JWT: sub = user_nkey, iss = issuer, aud = the account, type user, version 2",
        requirement: "user sub = user_nkey; iss = issuer; config-mode aud = placement account name",
        cite: "protocol.md §1.7 (sub, aud, iss); §2 row 12; §2 row 16; §2 row 17",
        level: Level::Must,
        rationale: "the server refuses a user JWT with another sub or issuer, or with an unknown placement account: the client is denied or never placed",
        config: Config::Plain,
        needs: &[Need::ConfigAnswer],
        kind: Kind::Response { who: Who::Bob, verify: user_identity },
    },
    WireCase {
        id: "wire.resp.8",
        title: "user permissions are exactly those of users.json",
        requirement: "pub/sub allow and deny (queue form in sub) and resp copied from users.json, nothing added or dropped",
        cite: "protocol.md §1.7 (pub/sub/resp)",
        level: Level::Must,
        rationale: "the user JWT's lists are the client's permissions: a dropped deny or an added allow gives the client access its operator denied, a dropped allow denies what was granted",
        config: Config::Plain,
        needs: &[Need::BobPermissions, Need::ConfigAnswer],
        kind: Kind::Response { who: Who::Bob, verify: permissions },
    },
    WireCase {
        id: "wire.resp.9",
        title: "resp.ttl is in nanoseconds",
        requirement: "resp ttl is a Go time.Duration: users.json 5000000000 stays 5000000000",
        cite: "protocol.md §6 (JSON shape)",
        level: Level::Must,
        rationale: "resp.ttl is a Go Duration in nanoseconds; a ttl in seconds makes reply permissions expire a billion times too early, breaking every request/reply service",
        config: Config::Plain,
        needs: &[Need::UsersJson, Need::ConfigAnswer],
        kind: Kind::Response { who: Who::Bob, verify: ttl_nanos },
    },
    WireCase {
        id: "wire.resp.10",
        title: "user limits subs, data, payload are -1",
        requirement: "emit -1 (no limit), the default of Go NewUserClaims; 0 means zero to any future enforcement",
        cite: "protocol.md §1.7 (subs / payload / data)",
        level: Level::Should,
        rationale: "the server ignores per-user limits today (protocol.md §1.7), so 0 is tolerated; but 0 means zero to a scoped-signer check and to any future enforcement, which would cut the user off",
        config: Config::Plain,
        needs: &[Need::ConfigAnswer],
        kind: Kind::Response { who: Who::Bob, verify: limits },
    },
    WireCase {
        id: "wire.resp.11",
        title: "no issuer_account in config mode",
        requirement: "a config-mode user JWT with issuer_account is rejected by the server",
        cite: "protocol.md §2 row 15",
        level: Level::Must,
        rationale: "the server refuses issuer_account in a config-mode user JWT: the client is denied",
        config: Config::Plain,
        needs: &[Need::ConfigAnswer],
        kind: Kind::Response { who: Who::Bob, verify: no_issuer_account },
    },
    WireCase {
        id: "wire.resp.12",
        title: "answered well inside the request's exp",
        requirement: "the answer arrives before exp (now + authorization.timeout); later answers are dropped",
        cite: "protocol.md §2.1 (Late responses); §1.5 (exp)",
        level: Level::Must,
        rationale: "an answer after the request's exp (the server's timeout) finds no subscriber: the client has already been denied",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: timely },
    },
    WireCase {
        id: "wire.resp.13",
        title: "exactly one reply per request",
        requirement: "send exactly one response per request",
        cite: "protocol.md §1.1 (Single response); §8.5 (Double replies)",
        level: Level::Must,
        rationale: "a second reply is never needed and, on 2.15.1, can place a user in the callout account without the automatic $SYS.REQ.USER.AUTH deny",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: single_reply },
    },
    WireCase {
        id: "wire.resp.14",
        title: "a rejection does not echo the password",
        requirement: "error texts reach the server log and events; they must not contain the client's password",
        cite: "protocol.md §2.2 (Reason is the error text, Secrets in error texts)",
        level: Level::Must,
        rationale: "the error text goes verbatim to the server log and to $SYS.ACCOUNT.CLIENT.AUTH.ERR in the callout account: an echoed password is disclosed to every log reader and every subscriber there",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::BobWrongPassword, verify: no_secret_echo },
    },
    WireCase {
        id: "wire.resp.15",
        title: "a user without a password is not admitted with an empty one",
        requirement: "deny by default: a users.json entry without pass admits nobody",
        cite: "protocol.md §1.5 (connect_opts)",
        level: Level::Must,
        rationale: "a users.json entry without a password must admit nobody; otherwise anyone who knows the user name gets in with an empty password",
        config: Config::Plain,
        needs: &[Need::ConfigAnswer],
        kind: Kind::Response { who: Who::NoPass, verify: no_empty_password },
    },
    WireCase {
        id: "wire.resp.16",
        title: "a wrong password is not admitted",
        requirement: "a known user with a wrong password is refused",
        cite: "protocol.md §1.5 (connect_opts)",
        level: Level::Must,
        rationale: "admitting a wrong password lets anyone who knows a user name in",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::BobWrongPassword, verify: wrong_secret_refused },
    },
    WireCase {
        id: "wire.resp.17",
        title: "the user JWT carries an exp",
        requirement: "an admission's user JWT has an exp, so that the session ends (a user JWT without one keeps its client connected for as long as the connection lasts)",
        cite: "protocol.md §1.7 (exp); §1.8 (Session lifetime)",
        level: Level::May,
        rationale: "a session without an end outlives the credential that opened it: a token that expires or is revoked keeps its holder connected. A users.json password does not expire, so this is recorded, not judged; a profile whose credential expires declares expires_in, whose case judges it",
        config: Config::Plain,
        needs: &[],
        kind: Kind::Response { who: Who::Bob, verify: user_expiry },
    },
];

/// The user JWT's `exp`, relative to its `iat`.
fn user_expiry(x: &Exchange) -> Finding {
    let u = x.user()?;
    if u.exp > 0 {
        Ok(format!("exp {} s after iat", u.exp - u.iat))
    } else {
        Err(mismatch(
            "a user JWT with an exp",
            "no exp: the session lasts as long as the connection",
        ))
    }
}

fn encoding(x: &Exchange) -> Finding {
    let d = x.decoded()?;
    let parts: Vec<&str> = d.token.split('.').collect();
    if parts.len() != 3 || d.token.contains(['=', '+', '/']) {
        return Err(mismatch(
            "three unpadded base64url parts",
            format!(
                "{} part(s), padding or non-url characters present",
                parts.len()
            ),
        ));
    }
    let header = jwt::b64_decode(parts[0], "header")
        .map_err(|_| mismatch("a base64url header", "the header is not base64url"))?;
    jwt::check_header(&header).map_err(|_| {
        mismatch(
            "a header with typ JWT and alg ed25519-nkey",
            String::from_utf8_lossy(&header).into_owned(),
        )
    })?;
    Ok(if header == jwt::JWT_HEADER.as_bytes() {
        "header {\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}, unpadded base64url".into()
    } else {
        format!(
            "header {} (not Go's bytes, which the server does not require), unpadded base64url",
            String::from_utf8_lossy(&header)
        )
    })
}

fn type_version(x: &Exchange) -> Finding {
    let r = x.response()?;
    if r.nats.claim_type() != "authorization_response" || r.nats.version() != 2 {
        return Err(mismatch(
            "type authorization_response version 2",
            format!("type {} version {}", r.nats.claim_type(), r.nats.version()),
        ));
    }
    Ok("response decodes and verifies; type authorization_response, version 2".into())
}

fn issuer(x: &Exchange) -> Finding {
    let r = x.response()?;
    if r.iss == x.server.issuer {
        Ok("response decodes and verifies; iss is the issuer".into())
    } else {
        Err(mismatch(
            "iss = the issuer",
            format!("iss {}", short(&r.iss)),
        ))
    }
}

fn subject(x: &Exchange) -> Finding {
    let r = x.response()?;
    if r.sub == x.request.nats.user_nkey {
        Ok("response decodes and verifies; sub is the user_nkey".into())
    } else {
        Err(mismatch(
            "sub = user_nkey",
            format!("sub {}", short(&r.sub)),
        ))
    }
}

fn audience(x: &Exchange) -> Finding {
    let r = x.response()?;
    if r.aud == x.request.nats.server_id.id {
        Ok("response decodes and verifies; aud is the server id".into())
    } else {
        Err(mismatch(
            "aud = server id",
            format!("aud {}", short(&r.aud)),
        ))
    }
}

fn jwt_xor_error(x: &Exchange) -> Finding {
    let r = x.response()?;
    let (j, e) = (!r.nats.jwt.is_empty(), !r.nats.error.is_empty());
    if j != e {
        Ok(format!(
            "response decodes and verifies; {} only",
            if j { "jwt" } else { "error" }
        ))
    } else {
        Err(mismatch(
            "exactly one of jwt and error",
            format!("jwt {j}, error {e}"),
        ))
    }
}

fn user_identity(x: &Exchange) -> Finding {
    let u = x.user()?;
    let mut bad = Vec::new();
    if u.sub != x.request.nats.user_nkey {
        bad.push("sub != user_nkey".to_string());
    }
    if u.iss != x.server.issuer {
        bad.push("iss != issuer".into());
    }
    let account = &x.server.ids.bob_account;
    if &u.aud != account {
        bad.push(format!("aud {:?} != {account:?}", u.aud));
    }
    if u.nats.claim_type() != "user" || u.nats.version() != 2 {
        bad.push(format!(
            "type {} version {}",
            u.nats.claim_type(),
            u.nats.version()
        ));
    }
    if u.exp != 0 && u.exp < callout_codec::unix_now() {
        bad.push("already expired".into());
    }
    if bad.is_empty() {
        Ok(format!("user sub, iss, aud {account}, type user v2"))
    } else {
        Err(mismatch(
            format!("sub = user_nkey, iss = issuer, aud = {account}, type user v2"),
            bad.join("; "),
        ))
    }
}

/// bob's permissions as [`super::wire_users`] gives them, in the user JWT's JSON shape.
pub fn bob_permissions() -> serde_json::Value {
    json!({
        "pub": {"allow": ["bob.>", "orders.*"], "deny": ["bob.secret"]},
        "sub": {"allow": ["bob.>", "work.jobs workers"], "deny": ["bob.private.>"]},
        "resp": {"max": 2, "ttl": 5000000000i64}
    })
}

/// Checks the user JWT's permissions against bob's (in users.json, or declared by a profile).
/// The order of the subjects in a list does not matter to the server, so it does not matter
/// here; `resp` is compared when the expectation has one.
pub fn permissions(x: &Exchange) -> Finding {
    let u = x.user()?;
    let Some(want) = x.server.ids.bob_permissions.clone() else {
        return Ok("no permissions declared; not compared".into());
    };
    let mut got = json!({"pub": u.nats.publish, "sub": u.nats.subscribe});
    if want.get("resp").is_some() {
        got["resp"] = json!(u.nats.resp);
    }
    if sorted_lists(&got) == sorted_lists(&want) {
        Ok(format!("permissions {got}"))
    } else {
        Err(mismatch(want.to_string(), got.to_string()))
    }
}

/// `v` with every `allow` and `deny` list sorted and empty ones removed, as the server reads
/// them.
fn sorted_lists(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    for side in ["pub", "sub"] {
        let Some(obj) = v.get_mut(side).and_then(|p| p.as_object_mut()) else {
            continue;
        };
        for key in ["allow", "deny"] {
            match obj.get_mut(key).and_then(|l| l.as_array_mut()) {
                Some(list) if !list.is_empty() => {
                    list.sort_by_key(|s| s.to_string());
                }
                _ => {
                    obj.remove(key);
                }
            }
        }
    }
    v
}

fn ttl_nanos(x: &Exchange) -> Finding {
    match x.user()?.nats.resp {
        Some(r) if r.ttl == 5_000_000_000 => Ok("resp.ttl 5000000000".into()),
        other => Err(mismatch("resp.ttl 5000000000", format!("{other:?}"))),
    }
}

fn limits(x: &Exchange) -> Finding {
    let u = x.user()?;
    if (u.nats.subs, u.nats.data, u.nats.payload) == (-1, -1, -1) {
        Ok("subs, data, payload -1".into())
    } else {
        Err(mismatch(
            "subs, data, payload -1",
            format!("{} {} {}", u.nats.subs, u.nats.data, u.nats.payload),
        ))
    }
}

fn no_issuer_account(x: &Exchange) -> Finding {
    if x.user()?.nats.issuer_account.is_empty() {
        Ok("no issuer_account".into())
    } else {
        Err(mismatch("no issuer_account", "issuer_account set"))
    }
}

fn timely(x: &Exchange) -> Finding {
    // exp = iat + 2 s here; a reply must come well inside it.
    if x.answer.latency < 1.0 {
        Ok("answered inside the request's exp".into())
    } else {
        Err(mismatch(
            "a reply within 1 s of a request whose exp is 2 s away",
            format!("{:.2} s", x.answer.latency),
        ))
    }
}

fn single_reply(x: &Exchange) -> Finding {
    match x.answer.bodies.len() {
        1 => Ok("one reply".into()),
        n => Err(mismatch("exactly one reply", format!("{n} replies"))),
    }
}

fn pass_appears(text: &str, pass: &str) -> bool {
    !pass.is_empty() && text.contains(pass)
}

/// Only the echo is judged here: an empty body, an answer the server cannot decode and an
/// admission echo nothing (admitting a wrong password is `wire.resp.16`).
fn no_secret_echo(x: &Exchange) -> Finding {
    let body = x.body()?;
    if body.is_empty() {
        return Ok("an empty body: nothing echoed".into());
    }
    let d = x.decoded()?;
    if pass_appears(&d.token, x.pass) || pass_appears(&String::from_utf8_lossy(body), x.pass) {
        return Err(mismatch(
            "an answer without the password",
            "the answer contains the password",
        ));
    }
    let Ok(r) = d.response else {
        return Ok("an answer the server cannot decode, without the password".into());
    };
    if pass_appears(&r.nats.error, x.pass) {
        return Err(mismatch(
            "an error text without the password",
            "the error text contains the password",
        ));
    }
    if !r.nats.jwt.is_empty() {
        return Ok(
            "admitted, without echoing the password (wire.resp.16 judges the admission)".into(),
        );
    }
    Ok(format!(
        "rejected: {:?}",
        r.nats.error.replace(x.pass, "[PASSWORD]")
    ))
}

fn wrong_secret_refused(x: &Exchange) -> Finding {
    let r = x.response()?;
    if !r.nats.jwt.is_empty() {
        return Err(mismatch("a rejection", "admitted with a wrong password"));
    }
    Ok("rejected".into())
}

fn no_empty_password(x: &Exchange) -> Finding {
    let r = x.response()?;
    if !r.nats.jwt.is_empty() {
        return Err(mismatch("a rejection", "admitted with an empty password"));
    }
    Ok(format!("rejected: {:?}", r.nats.error))
}
