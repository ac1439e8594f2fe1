//! The oracle: may the request a fuzz input carries be admitted? It is decided from the bytes
//! alone, decoding them as nats-server's own Go decoder would (the codec's `gojson` rules), and
//! applying the checks a responder must or should make (`protocol.md §1.4`, `§1.5`):
//!
//! | the input | level | as in |
//! |---|---|---|
//! | does not open with the configured xkey (sealed phase) | MUST | `wire.hostile.8`–`10` |
//! | is not a JWT whose signature verifies by its `iss` | MUST | `wire.hostile.1` |
//! | carries credentials that match no user (`connect_opts.user`/`pass`) | MUST | `wire.hostile.19`, `24` |
//! | `iss` differs from `server_id.id` | SHOULD | `wire.hostile.2` |
//! | `aud` is not `nats-authorization-request` | SHOULD | `wire.hostile.3` |
//! | expired, without `exp`, or not yet valid | SHOULD | `wire.hostile.4`–`6` |
//! | the `Nats-Server-Xkey` header is not the server's, or the body is plain | SHOULD | `wire.hostile.7` |
//!
//! An input none of these rules out is a valid request: an admission is right, a refusal is not
//! a fuzz finding (the wire catalog judges refusals of good requests).

use callout_codec::{jwt, AuthRequest};

use crate::verdict::Level;
use crate::wire::forge::looks_sealed as looks_sealed_body;
use crate::wire::FakeServer;

/// Why an input may not be admitted, and how binding that is.
#[derive(Clone, Debug, PartialEq)]
pub struct Inadmissible {
    /// MUST or SHOULD (the level of the rule it breaks).
    pub level: Level,
    /// The rule, in words.
    pub why: String,
}

fn no(level: Level, why: impl Into<String>) -> Option<Inadmissible> {
    Some(Inadmissible {
        level,
        why: why.into(),
    })
}

/// `None` when the input is a request the responder may admit; otherwise the first rule it
/// breaks, MUST rules first.
pub fn judge_input(
    body: &[u8],
    header: Option<&str>,
    server: &FakeServer,
    now: i64,
) -> Option<Inadmissible> {
    let mut should = None;
    let token = if looks_sealed_body(body) {
        let Some(ch) = server.channel() else {
            return no(
                Level::Must,
                "not a JWT, and the responder has no xkey to open it",
            );
        };
        match ch.open(body) {
            Ok(t) => t,
            Err(e) => {
                return no(
                    Level::Must,
                    format!("does not open with the configured xkey: {e}"),
                )
            }
        }
    } else {
        if server.sealing() {
            should = no(
                Level::Should,
                "a plain request to a responder with an xkey (a server always seals)",
            );
        }
        body.to_vec()
    };
    let Ok(token) = String::from_utf8(token) else {
        return no(Level::Must, "the request is not UTF-8");
    };
    let req = match jwt::decode::<AuthRequest>(&token) {
        Ok(r) => r,
        Err(e) => {
            return no(
                Level::Must,
                format!("not a signed authorization request that verifies: {e}"),
            )
        }
    };
    let co = &req.nats.connect_opts;
    // Admissible only with a known login's own secret: a password with its user name, or a
    // token (whatever else the request carries).
    let matches = |l: &crate::wire::Login| match (&l.token, &l.user, &l.pass) {
        (Some(t), _, _) => co.auth_token.expose() == t,
        (None, Some(u), Some(p)) => co.user == *u && co.pass.expose() == p,
        _ => false,
    };
    if !matches(&server.ids.alice) && !matches(&server.ids.bob) {
        return no(
            Level::Must,
            "connect_opts carries no known user's password or token",
        );
    }
    if should.is_some() {
        return should;
    }
    if req.iss != req.nats.server_id.id {
        return no(Level::Should, "iss differs from server_id.id");
    }
    if req.aud != callout_codec::AUTH_REQUEST_AUDIENCE {
        return no(Level::Should, "aud is not nats-authorization-request");
    }
    if req.exp == 0 {
        return no(Level::Should, "no exp (replayable forever)");
    }
    if let Err(e) = jwt::validate_times(&req, now) {
        return no(Level::Should, format!("times: {e}"));
    }
    if server.sealing() && header != Some(server.xkey_header().as_str()) {
        return no(
            Level::Should,
            "the Nats-Server-Xkey header is not the server's xkey",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::tests::server;
    use crate::wire::{ALICE_PASS, BOB_PASS};

    #[test]
    fn good_requests_are_admissible_and_broken_ones_are_not() {
        for sealed in [false, true] {
            let s = server(sealed);
            let now = callout_codec::unix_now();
            let g = s.good("alice", ALICE_PASS);
            assert_eq!(judge_input(&g.body, g.header.as_deref(), &s, now), None);
            let mut flipped = g.body.clone();
            let last = flipped.len() - 3;
            flipped[last] ^= 0x04;
            assert_eq!(
                judge_input(&flipped, g.header.as_deref(), &s, now)
                    .unwrap()
                    .level,
                Level::Must
            );
            let wrong = s.good("alice", BOB_PASS);
            let r = judge_input(&wrong.body, wrong.header.as_deref(), &s, now).unwrap();
            assert!(r.why.contains("no known user"), "{r:?}");
            let old = s.good("bob", BOB_PASS);
            let r = judge_input(&old.body, old.header.as_deref(), &s, now + 60).unwrap();
            assert_eq!(r.level, Level::Should, "{r:?}");
            let aud = s.edited("bob", BOB_PASS, |c| c.aud = "other".into());
            let r = judge_input(&aud.body, aud.header.as_deref(), &s, now).unwrap();
            assert!(r.why.contains("aud"), "{r:?}");
        }
        let s = server(true);
        let g = s.good("alice", ALICE_PASS);
        let r = judge_input(&g.body, None, &s, callout_codec::unix_now()).unwrap();
        assert_eq!(r.level, Level::Should);
    }
}
