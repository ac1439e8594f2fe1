//! One request in, at most one answer out: the whole decision of the example, with no socket.
//! Everything that crosses the wire goes through `callout-codec`; what this file adds is the
//! policy: a valid token admits its holder into the token's account with the token's
//! permissions, until the token's own expiry.

use std::collections::HashMap;
use std::sync::Mutex;

use callout_codec::{
    jwt, nkey, AuthRequest, AuthRequestClaims, AuthResponse, Claims, CurvePublic, CurveSecret,
    KeyKind, Permission, Signer, User,
};

use crate::token::TokenKey;

/// How far ahead of our clock a request's `iat` may be.
const MAX_CLOCK_SKEW_SECS: i64 = 60;
/// The replay guard keeps at most this many unexpired requests; a request whose `exp` is
/// further ahead than [`REPLAY_HORIZON_SECS`] is refused, so the guard never grows unbounded.
const REPLAY_CAPACITY: usize = 100_000;
const REPLAY_HORIZON_SECS: i64 = 600;

/// What happened to one request, for the log line.
pub struct Decision {
    /// The bytes to publish as the answer, if any.
    pub reply: Option<Vec<u8>>,
    /// `admitted ACCOUNT`, or why not.
    pub summary: String,
}

/// The responder's keys and state.
pub struct Decider {
    issuer: Signer,
    xkey: Option<CurveSecret>,
    tokens: TokenKey,
    ignore_expiry: bool,
    seen: Mutex<HashMap<String, i64>>,
}

impl Decider {
    /// `ignore_expiry` is the deliberate defect of the broken variant.
    pub fn new(
        issuer: Signer,
        xkey: Option<CurveSecret>,
        tokens: TokenKey,
        ignore_expiry: bool,
    ) -> Decider {
        Decider {
            issuer,
            xkey,
            tokens,
            ignore_expiry,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Judges one request: `body` as received, `header_xkey` the `Nats-Server-Xkey` header.
    pub fn handle(&self, body: &[u8], header_xkey: Option<&str>, now: i64) -> Decision {
        let silent = |why: &str| Decision {
            reply: None,
            summary: format!("dropped: {why}"),
        };
        // Open a sealed request with our xkey; a request we cannot read gets no answer.
        let opened;
        let token: &[u8] = match (header_xkey, &self.xkey) {
            (Some(h), Some(ours)) => match CurvePublic::parse(h)
                .ok()
                .and_then(|p| ours.channel_to(&p).open(body).ok())
            {
                Some(b) => {
                    opened = b;
                    &opened
                }
                None => return silent("sealed request does not open"),
            },
            (Some(_), None) => return silent("sealed request, but no xkey configured"),
            (None, _) => body,
        };
        let Some(req) = std::str::from_utf8(token)
            .ok()
            .and_then(|t| jwt::decode::<AuthRequest>(t).ok())
        else {
            return silent("not a signed authorization request");
        };
        if !nkey::is_public(&req.nats.user_nkey, KeyKind::User) {
            return silent("user_nkey is not a user key");
        }
        let sealed = header_xkey.is_some();
        if let Err(why) = self.check_request(&req, header_xkey, now) {
            return self.answer(&req, sealed, Err(why));
        }
        let token = req.nats.connect_opts.auth_token.expose();
        if token.is_empty() {
            return self.answer(&req, sealed, Err("no token"));
        }
        match self.tokens.verify(token, now, self.ignore_expiry) {
            Ok(t) => {
                let mut user: Claims<User> = Claims {
                    aud: t.account.clone(),
                    name: t.name.clone(),
                    sub: req.nats.user_nkey.clone(),
                    // The session ends when the token does.
                    exp: if self.ignore_expiry { 0 } else { t.exp },
                    ..Claims::default()
                };
                let allow = |l: Option<Vec<String>>| Permission {
                    allow: l.unwrap_or_default(),
                    deny: vec![],
                };
                user.nats.publish = allow(t.publish);
                user.nats.subscribe = allow(t.subscribe);
                let user_jwt = jwt::encode(&mut user, &self.issuer);
                self.answer(&req, sealed, Ok((user_jwt, t.account)))
            }
            Err(refusal) => self.answer(&req, sealed, Err(refusal.reason())),
        }
    }

    /// The request checks the server leaves to the responder (`docs/protocol.md` §1.5):
    /// issuer, audience, times, the xkey header, sealing, replays.
    fn check_request(
        &self,
        req: &AuthRequestClaims,
        header_xkey: Option<&str>,
        now: i64,
    ) -> Result<(), &'static str> {
        if req.aud != callout_codec::AUTH_REQUEST_AUDIENCE {
            return Err("not an authorization request");
        }
        if req.iss != req.nats.server_id.id {
            return Err("request issuer does not match server id");
        }
        if req.exp <= 0 || now > req.exp || req.exp < req.iat {
            return Err("request expired or without expiry");
        }
        if req.iat > now.saturating_add(MAX_CLOCK_SKEW_SECS) || (req.nbf > 0 && now < req.nbf) {
            return Err("request not yet valid");
        }
        match header_xkey {
            Some(h) if h != req.nats.server_id.xkey => return Err("request xkey mismatch"),
            None if self.xkey.is_some() => return Err("expected a sealed request"),
            _ => {}
        }
        if req.exp > now.saturating_add(REPLAY_HORIZON_SECS) {
            return Err("request expiry too far ahead");
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= REPLAY_CAPACITY {
            seen.retain(|_, exp| *exp >= now);
        }
        if seen.len() >= REPLAY_CAPACITY {
            return Err("busy: too many requests in flight");
        }
        if seen.insert(req.nats.user_nkey.clone(), req.exp).is_some() {
            return Err("replayed request");
        }
        Ok(())
    }

    /// The signed response: the user JWT, or an error; sealed when the request was.
    fn answer(
        &self,
        req: &AuthRequestClaims,
        sealed: bool,
        outcome: Result<(String, String), &'static str>,
    ) -> Decision {
        let mut resp: Claims<AuthResponse> = Claims {
            aud: req.iss.clone(),
            sub: req.nats.user_nkey.clone(),
            ..Claims::default()
        };
        let summary = match outcome {
            Ok((user_jwt, account)) => {
                resp.nats.jwt = user_jwt;
                format!("admitted into {account}")
            }
            Err(why) => {
                resp.nats.error = why.to_string();
                format!("rejected: {why}")
            }
        };
        let token = jwt::encode(&mut resp, &self.issuer);
        let reply = match (&self.xkey, sealed) {
            (Some(ours), true) => CurvePublic::parse(&req.nats.server_id.xkey)
                .ok()
                .map(|p| ours.channel_to(&p).seal(token.as_bytes())),
            _ => Some(token.into_bytes()),
        };
        Decision { reply, summary }
    }
}
