//! Wire mode: the harness plays the server. It starts a nats-server *without* `auth_callout`
//! (on a callout server the callout account may not publish to `$SYS.REQ.USER.AUTH`,
//! `landscape.md` §0), lets the responder under test connect as usual, and publishes
//! authorization requests it forges itself, signed with its own server key and sealed with its
//! own xkey, to `$SYS.REQ.USER.AUTH`. Then it judges every byte of the answers, and how the
//! responder treats forged, stale, malformed and hostile requests.
//!
//! Grading of hostile requests: a signed error is PASS, silence is INFORMATIONAL (a safe
//! choice, but the server then waits for its timeout), an admission is FAIL. After each one a
//! good request must still be answered (the responder did not crash), and no answer may echo a
//! secret from the request.

use std::time::{Duration, Instant};

use callout_codec::claims::NatsPayload;
use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, AuthResponse, Claims, ClientInfo, ConnectOpts,
    CurvePublic, CurveSecret, KeyKind, SealingChannel, Secret, ServerId, Signer, User,
};
use serde_json::{json, Value};

use crate::client::{self, Client, ConnectOptions, ConnectOutcome};
use crate::provision::ServerBinary;
use crate::runner::{self, Fixture, RunOptions, ServerBackend};
use crate::scenario::Scenario;
use crate::sut::{self, ResponderSpec, RunningResponder};
use crate::verdict::{CaseResult, Verdict};

/// The users file of wire mode.
pub fn wire_users() -> Value {
    json!({
        "alice": {"pass": "alice-pw-7Qx", "account": "APP"},
        "bob": {"pass": "bob-pw-3Kd", "account": "APP", "permissions": {
            "pub": {"allow": ["bob.>", "orders.*"], "deny": ["bob.secret"]},
            "sub": {"allow": ["bob.>", "work.jobs workers"], "deny": ["bob.private.>"]},
            "resp": {"max": 2, "ttl": 5000000000i64}
        }},
        "nopass": {"account": "APP"}
    })
}

const ALICE_PASS: &str = "alice-pw-7Qx";
const BOB_PASS: &str = "bob-pw-3Kd";
const HARNESS_USER: &str = "callout-harness";
const LISTEN: Duration = Duration::from_millis(600);

/// The harness's server identity.
pub struct FakeServer {
    /// Server key (`N…`).
    pub key: Signer,
    /// Server curve key.
    pub xkey: CurveSecret,
    /// The responder's configured curve key (public), when sealed.
    pub responder_xkey: Option<CurvePublic>,
    /// Issuer public key the responder should sign with.
    pub issuer: String,
}

/// How a request is built and sent.
#[derive(Clone, Debug)]
pub struct Forged {
    /// The claims before signing.
    pub claims: AuthRequestClaims,
    /// Seal the body.
    pub sealed: bool,
}

impl FakeServer {
    /// A well-formed request for `user`/`pass`.
    pub fn request(&self, user: Option<&str>, pass: Option<&str>) -> AuthRequestClaims {
        let now = callout_codec::unix_now();
        let mut c: AuthRequestClaims = Claims {
            aud: callout_codec::AUTH_REQUEST_AUDIENCE.into(),
            exp: now + 2,
            sub: self.issuer.clone(),
            ..Claims::default()
        };
        c.nats = AuthRequest {
            server_id: ServerId {
                name: "harness".into(),
                host: "127.0.0.1".into(),
                id: self.key.public_key().into(),
                version: "2.15.1".into(),
                xkey: if self.responder_xkey.is_some() {
                    self.xkey.public().as_str().into()
                } else {
                    String::new()
                },
                ..Default::default()
            },
            user_nkey: Signer::generate(KeyKind::User).public_key().into(),
            client_info: ClientInfo {
                host: "127.0.0.1".into(),
                id: 7,
                user: Secret::new(user.unwrap_or_default()),
                kind: "Client".into(),
                client_type: "nats".into(),
                name_tag: String::new(),
                ..Default::default()
            },
            connect_opts: ConnectOpts {
                user: user.unwrap_or_default().into(),
                pass: Secret::new(pass.unwrap_or_default()),
                lang: "go".into(),
                version: "1.37.0".into(),
                protocol: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        c
    }

    /// Signs with the server key (stamping iss/iat/jti/type/version) and returns the token.
    pub fn sign(&self, c: &mut AuthRequestClaims) -> String {
        jwt::encode(c, &self.key)
    }

    /// Seals to the responder's xkey.
    pub fn seal(&self, token: &[u8]) -> Vec<u8> {
        match &self.responder_xkey {
            Some(p) => self.xkey.channel_to(p).seal(token),
            None => token.to_vec(),
        }
    }

    /// The channel to open sealed replies.
    pub fn channel(&self) -> Option<SealingChannel> {
        self.responder_xkey
            .as_ref()
            .map(|p| self.xkey.channel_to(p))
    }
}

/// One answer as received.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Raw bodies received (more than one = several replies).
    pub bodies: Vec<Vec<u8>>,
    /// Seconds to the first reply.
    pub latency: f64,
}

/// A decoded answer.
#[derive(Debug, Clone)]
pub enum Judged {
    /// Nothing came back.
    Silence,
    /// An empty body: an explicit deny without a reason.
    EmptyDeny,
    /// A reply that the server could not decode.
    Garbage(String),
    /// A valid signed error.
    Error(String),
    /// A valid admission.
    Admitted(Box<Claims<User>>),
}

/// The outcome of decoding a reply as the server would.
pub struct Decoded {
    /// The response token (after opening).
    pub token: String,
    /// Was it sealed.
    pub sealed: bool,
    /// The decoded response.
    pub response: Result<Claims<AuthResponse>, String>,
}

/// Opens (if needed) and decodes one reply body as the server does (`protocol.md §2` rows 1–3).
pub fn decode_reply(body: &[u8], server: &FakeServer) -> Decoded {
    let sealed = !body.starts_with(b"eyJ");
    let token = if sealed {
        match server.channel() {
            Some(ch) => match ch.open(body) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => return Decoded { token: String::new(), sealed, response: Err(format!("sealed reply does not open with the server's xkey from the configured xkey: {e}")) },
            },
            None => return Decoded { token: String::new(), sealed, response: Err("reply is not a JWT and the server has no xkey to open it".into()) },
        }
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    let response = jwt::decode::<AuthResponse>(&token).map_err(|e| e.to_string());
    Decoded {
        token,
        sealed,
        response,
    }
}

fn judge(answer: &Answer, server: &FakeServer, req: &AuthRequestClaims) -> Judged {
    let Some(body) = answer.bodies.first() else {
        return Judged::Silence;
    };
    if body.is_empty() {
        return Judged::EmptyDeny;
    }
    let d = decode_reply(body, server);
    let resp = match d.response {
        Ok(r) => r,
        Err(e) => return Judged::Garbage(e),
    };
    if resp.sub != req.nats.user_nkey || resp.aud != req.iss {
        return Judged::Garbage(format!(
            "response addressed to sub {} aud {}",
            short(&resp.sub),
            short(&resp.aud)
        ));
    }
    if !resp.nats.error.is_empty() {
        return Judged::Error(resp.nats.error);
    }
    match jwt::decode::<User>(&resp.nats.jwt) {
        Ok(u) => Judged::Admitted(Box::new(u)),
        Err(e) => Judged::Garbage(format!("user JWT: {e}")),
    }
}

fn short(k: &str) -> String {
    if k.len() > 8 {
        format!("{}…", &k[..8])
    } else {
        k.to_string()
    }
}

/// A connection that publishes forged requests.
pub struct Injector {
    client: Client,
}

impl Injector {
    /// Sends `body` (with the xkey header when `header` is set) and collects replies.
    pub async fn send(&mut self, body: &[u8], header: Option<&str>, listen: Duration) -> Answer {
        let inbox = self.client.new_inbox();
        let sid = self.client.subscribe(&inbox, None).await;
        let t0 = Instant::now();
        match header {
            Some(h) => {
                self.client
                    .publish_with_headers(
                        callout_codec::AUTH_CALLOUT_SUBJECT,
                        Some(&inbox),
                        &[(callout_codec::SERVER_XKEY_HEADER, h)],
                        body,
                    )
                    .await
            }
            None => {
                self.client
                    .publish(callout_codec::AUTH_CALLOUT_SUBJECT, Some(&inbox), body)
                    .await
            }
        }
        let mut bodies = Vec::new();
        let mut latency = 0.0;
        let deadline = t0 + listen;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.client.next_event(left).await {
                Some(client::Event::Msg(m)) if m.sid == sid => {
                    if bodies.is_empty() {
                        latency = t0.elapsed().as_secs_f64();
                    }
                    bodies.push(m.payload);
                    // After the first reply, listen a little longer for a second one.
                    let extra = Instant::now() + Duration::from_millis(150);
                    if extra < deadline {
                        let left = extra.saturating_duration_since(Instant::now());
                        if let Some(client::Event::Msg(m2)) = self.client.next_event(left).await {
                            if m2.sid == sid {
                                bodies.push(m2.payload);
                            }
                        }
                    }
                    break;
                }
                Some(client::Event::Closed) => break,
                Some(_) => {}
                None => break,
            }
        }
        self.client.unsubscribe(sid).await;
        Answer { bodies, latency }
    }

    /// Forges, signs, seals (when `sealed`) and sends.
    pub async fn send_claims(
        &mut self,
        server: &FakeServer,
        claims: &mut AuthRequestClaims,
        sealed: bool,
    ) -> Answer {
        let token = server.sign(claims);
        if sealed {
            let body = server.seal(token.as_bytes());
            self.send(&body, Some(server.xkey.public().as_str()), LISTEN)
                .await
        } else {
            self.send(token.as_bytes(), None, LISTEN).await
        }
    }
}

/// One wire case: metadata and the check.
pub struct WireCase {
    /// Id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Requirement.
    pub requirement: &'static str,
    /// Citation.
    pub cite: &'static str,
    /// Which responder configuration it needs.
    pub config: Config,
    /// What it does.
    pub check: Check,
}

/// The responder's configuration for a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Config {
    /// Started with an xkey seed: requests are sealed.
    Sealed,
    /// Started without one: requests are plain.
    Plain,
}

/// The kinds of check.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    /// A good request for bob: inspect the response.
    Response(ResponseCheck),
    /// A hostile request: must not be admitted.
    Hostile(Hostile),
    /// A valid but unusual request that must be admitted.
    Robust(Robust),
}

/// Checks on the answer to a good request.
#[derive(Clone, Copy, Debug)]
pub enum ResponseCheck {
    /// Header bytes and unpadded base64url.
    Encoding,
    /// Signature, type, version.
    SignatureTypeVersion,
    /// `iss` = issuer.
    Issuer,
    /// `sub` = user_nkey.
    Subject,
    /// `aud` = server id.
    Audience,
    /// Exactly one of jwt and error.
    JwtXorError,
    /// User JWT identity fields.
    UserIdentity,
    /// Permissions as the users file says.
    Permissions,
    /// `resp.ttl` in nanoseconds.
    TtlNanos,
    /// Limits -1.
    Limits,
    /// No `issuer_account` in config mode.
    NoIssuerAccount,
    /// Answered inside the request's `exp`.
    Timely,
    /// Exactly one reply.
    SingleReply,
    /// Sealed if and only if the request was.
    SealedIffSealed,
    /// The sealed reply opens with the configured xkey as sender.
    SealedToServer,
    /// Not openable with an all-zero key.
    NotZeroKey,
    /// A rejection's error text does not echo the password.
    NoSecretEcho,
    /// The user without a password is not admitted with an empty password.
    NoEmptyPassword,
}

/// Hostile requests.
#[derive(Clone, Copy, Debug)]
pub enum Hostile {
    /// Signed by a different server key than `iss`.
    BadSignature,
    /// `iss` (another server key that really signed) differs from `server_id.id`.
    IssuerNotServerId,
    /// `aud` is not `nats-authorization-request`.
    WrongAudience,
    /// `exp` in the past.
    Expired,
    /// No `exp` at all.
    NoExpiry,
    /// `nbf` in the future.
    NotYetValid,
    /// Header xkey differs from `server_id.xkey`.
    HeaderXkeyMismatch,
    /// Sealed to a key that is not the responder's.
    SealedToWrongKey,
    /// `xkv2` prefix.
    WrongXkvVersion,
    /// Cut short.
    Truncated,
    /// Zero bytes.
    Empty,
    /// Text that is not a JWT.
    NotAJwt,
    /// Random bytes.
    RandomBytes,
    /// A token over 1 MiB.
    Oversized,
    /// Plaintext while the responder has an xkey.
    PlaintextWhenSealed,
    /// Sealed while the responder has none.
    SealedWhenPlain,
    /// The same request twice (the second must not be admitted).
    Replay,
    /// Raw non-UTF-8 bytes inside the JSON.
    NonUtf8,
    /// A 64 KiB user name.
    LongUserName,
    /// Signed over the payload only, no version (v1 trap).
    NoVersion,
    /// `user_nkey` is not a user key.
    BadUserNkey,
    /// Signed by an account key.
    AccountIssuer,
    /// A user claim instead of an authorization request.
    WrongClaimType,
    /// A known user whose request carries no `connect_opts.pass` at all.
    NoPassword,
}

/// Unusual but valid requests.
#[derive(Clone, Copy, Debug)]
pub enum Robust {
    /// Only the required fields (no name_tag, no client_info.user, …).
    MinimalFields,
    /// Unknown fields everywhere.
    UnknownFields,
}

use Config::*;

/// The wire catalog.
pub const CATALOG: &[WireCase] = &[
    WireCase { id: "wire.resp.1", title: "response JWT has the exact header and unpadded base64url parts", requirement: "header {\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}; parts base64url without padding (the server's decoder refuses padding)", cite: "protocol.md §1.2 (Header, Token layout)", config: Plain, check: Check::Response(ResponseCheck::Encoding) },
    WireCase { id: "wire.resp.2", title: "response signature verifies over header.payload, type authorization_response, version 2", requirement: "v2 signature over h.p by iss; nats.type authorization_response; nats.version 2 (without it the server checks a v1 signature and rejects)", cite: "protocol.md §1.2 (Signature, Version trap, Claim type)", config: Plain, check: Check::Response(ResponseCheck::SignatureTypeVersion) },
    WireCase { id: "wire.resp.3", title: "response is signed by the configured issuer", requirement: "response iss = auth_callout.issuer (2.15.1 rejects any other signer in config mode)", cite: "protocol.md §1.6 (Who must sign)", config: Plain, check: Check::Response(ResponseCheck::Issuer) },
    WireCase { id: "wire.resp.4", title: "response sub is the request's user_nkey", requirement: "response sub = user_nkey", cite: "protocol.md §2 row 5", config: Plain, check: Check::Response(ResponseCheck::Subject) },
    WireCase { id: "wire.resp.5", title: "response aud is the server id", requirement: "response aud = server_id.id", cite: "protocol.md §2 row 6", config: Plain, check: Check::Response(ResponseCheck::Audience) },
    WireCase { id: "wire.resp.6", title: "response carries exactly one of jwt and error", requirement: "Error or Jwt is required; Only Error or Jwt can be set", cite: "protocol.md §2 row 4", config: Plain, check: Check::Response(ResponseCheck::JwtXorError) },
    WireCase { id: "wire.resp.7", title: "user JWT: sub = user_nkey, iss = issuer, aud = the account, type user, version 2", requirement: "user sub = user_nkey; iss = issuer; config-mode aud = placement account name", cite: "protocol.md §1.7 (sub, aud, iss); §2 rows 12, 16, 17", config: Plain, check: Check::Response(ResponseCheck::UserIdentity) },
    WireCase { id: "wire.resp.8", title: "user permissions are exactly those of users.json", requirement: "pub/sub allow and deny (queue form in sub) and resp copied from users.json, nothing added or dropped", cite: "protocol.md §1.7 (pub/sub/resp)", config: Plain, check: Check::Response(ResponseCheck::Permissions) },
    WireCase { id: "wire.resp.9", title: "resp.ttl is in nanoseconds", requirement: "resp ttl is a Go time.Duration: users.json 5000000000 stays 5000000000", cite: "protocol.md §6 (JSON shape)", config: Plain, check: Check::Response(ResponseCheck::TtlNanos) },
    WireCase { id: "wire.resp.10", title: "user limits subs, data, payload are -1", requirement: "emit -1 (no limit), the default of Go NewUserClaims; 0 means zero to any future enforcement", cite: "protocol.md §1.7 (subs / payload / data)", config: Plain, check: Check::Response(ResponseCheck::Limits) },
    WireCase { id: "wire.resp.11", title: "no issuer_account in config mode", requirement: "a config-mode user JWT with issuer_account is rejected by the server", cite: "protocol.md §2 row 15", config: Plain, check: Check::Response(ResponseCheck::NoIssuerAccount) },
    WireCase { id: "wire.resp.12", title: "answered well inside the request's exp", requirement: "the answer arrives before exp (now + authorization.timeout); later answers are dropped", cite: "protocol.md §2.1 (Late responses); §1.5 exp", config: Plain, check: Check::Response(ResponseCheck::Timely) },
    WireCase { id: "wire.resp.13", title: "exactly one reply per request", requirement: "send exactly one response per request", cite: "protocol.md §1.1 (Single response)", config: Plain, check: Check::Response(ResponseCheck::SingleReply) },
    WireCase { id: "wire.resp.14", title: "a rejection does not echo the password", requirement: "error texts reach the server log and events; they must not contain the client's password", cite: "protocol.md §2.2 (reason is the error text); landscape.md §2.3", config: Plain, check: Check::Response(ResponseCheck::NoSecretEcho) },
    WireCase { id: "wire.resp.15", title: "a user without a password is not admitted with an empty one", requirement: "deny by default: a users.json entry without pass admits nobody", cite: "protocol.md §1.5 connect_opts", config: Plain, check: Check::Response(ResponseCheck::NoEmptyPassword) },
    WireCase { id: "wire.seal.1", title: "a sealed request gets a sealed reply", requirement: "sealed if and only if the request was: a plaintext reply exposes the user JWT on the wire", cite: "protocol.md §1.4 (Response)", config: Sealed, check: Check::Response(ResponseCheck::SealedIffSealed) },
    WireCase { id: "wire.seal.2", title: "the sealed reply opens with the configured xkey as sender, to the server's xkey", requirement: "seal with the configured xkey's private key to server_id.xkey; otherwise 'nkeys: could not decrypt input'", cite: "protocol.md §1.4 (Response); §2 row 2", config: Sealed, check: Check::Response(ResponseCheck::SealedToServer) },
    WireCase { id: "wire.seal.3", title: "the sealed reply is not openable with an all-zero key", requirement: "no all-zero sealing key (CVE-2023-46129)", cite: "landscape.md §0 (Security history)", config: Sealed, check: Check::Response(ResponseCheck::NotZeroKey) },
    WireCase { id: "wire.seal.4", title: "a sealed request is admitted with the right permissions", requirement: "open with sender = Nats-Server-Xkey header, verify, admit", cite: "protocol.md §1.4 (Request)", config: Sealed, check: Check::Response(ResponseCheck::Permissions) },
    WireCase { id: "wire.hostile.1", title: "bad signature", requirement: "verify the request signature by iss", cite: "protocol.md §1.5 (What a responder should verify)", config: Plain, check: Check::Hostile(Hostile::BadSignature) },
    WireCase { id: "wire.hostile.2", title: "iss differs from server_id.id", requirement: "iss is an N key equal to server_id.id", cite: "protocol.md §1.5 (iss)", config: Plain, check: Check::Hostile(Hostile::IssuerNotServerId) },
    WireCase { id: "wire.hostile.3", title: "wrong aud", requirement: "aud == nats-authorization-request", cite: "protocol.md §1.5 (aud)", config: Plain, check: Check::Hostile(Hostile::WrongAudience) },
    WireCase { id: "wire.hostile.4", title: "expired request", requirement: "exp not passed (replay of an old request)", cite: "protocol.md §1.5 (exp); §1.2 (Times)", config: Plain, check: Check::Hostile(Hostile::Expired) },
    WireCase { id: "wire.hostile.5", title: "request without exp", requirement: "the server always sets exp; a request without one is replayable forever", cite: "protocol.md §1.5 (exp)", config: Plain, check: Check::Hostile(Hostile::NoExpiry) },
    WireCase { id: "wire.hostile.6", title: "request not yet valid (nbf in the future)", requirement: "nbf > now is not yet valid", cite: "protocol.md §1.2 (Times)", config: Plain, check: Check::Hostile(Hostile::NotYetValid) },
    WireCase { id: "wire.hostile.7", title: "header xkey differs from server_id.xkey", requirement: "the Nats-Server-Xkey header equals the signed server_id.xkey", cite: "protocol.md §1.4 (Request); landscape.md §2.5", config: Sealed, check: Check::Hostile(Hostile::HeaderXkeyMismatch) },
    WireCase { id: "wire.hostile.8", title: "sealed to the wrong key", requirement: "a request the configured xkey cannot open is not admitted", cite: "protocol.md §1.4", config: Sealed, check: Check::Hostile(Hostile::SealedToWrongKey) },
    WireCase { id: "wire.hostile.9", title: "wrong xkv1 version prefix", requirement: "only xkv1 opens", cite: "protocol.md §1.4 (Sealed bytes)", config: Sealed, check: Check::Hostile(Hostile::WrongXkvVersion) },
    WireCase { id: "wire.hostile.10", title: "truncated sealed request", requirement: "open requires len > 28 and a valid box", cite: "protocol.md §1.4", config: Sealed, check: Check::Hostile(Hostile::Truncated) },
    WireCase { id: "wire.hostile.11", title: "empty request", requirement: "nothing to admit", cite: "protocol.md §1.1 (Body)", config: Plain, check: Check::Hostile(Hostile::Empty) },
    WireCase { id: "wire.hostile.12", title: "not a JWT", requirement: "the body is a JWT (plain mode)", cite: "protocol.md §1.1 (Body)", config: Plain, check: Check::Hostile(Hostile::NotAJwt) },
    WireCase { id: "wire.hostile.13", title: "random bytes", requirement: "garbage is not admitted and does not crash the responder", cite: "protocol.md §1.1 (Body)", config: Plain, check: Check::Hostile(Hostile::RandomBytes) },
    WireCase { id: "wire.hostile.14", title: "token over 1 MiB", requirement: "tokens larger than 1 MiB are rejected", cite: "protocol.md §1.2 (Size)", config: Plain, check: Check::Hostile(Hostile::Oversized) },
    WireCase { id: "wire.hostile.15", title: "plaintext request while an xkey is configured", requirement: "a server with auth_callout.xkey always seals; a plaintext request is an encryption mismatch", cite: "protocol.md §1.4 (Request); landscape.md §1 (Encryption-mismatch detection)", config: Sealed, check: Check::Hostile(Hostile::PlaintextWhenSealed) },
    WireCase { id: "wire.hostile.16", title: "sealed request while no xkey is configured", requirement: "a request that cannot be opened is not admitted", cite: "protocol.md §1.4", config: Plain, check: Check::Hostile(Hostile::SealedWhenPlain) },
    WireCase { id: "wire.hostile.17", title: "replayed request", requirement: "the same request (same user_nkey) twice: the second is not admitted", cite: "protocol.md §1.5 (user_nkey: fresh per connection, anti-replay)", config: Plain, check: Check::Hostile(Hostile::Replay) },
    WireCase { id: "wire.hostile.18", title: "non-UTF-8 bytes in the request JSON", requirement: "malformed JSON is not admitted and does not crash the responder", cite: "protocol.md §1.2", config: Plain, check: Check::Hostile(Hostile::NonUtf8) },
    WireCase { id: "wire.hostile.19", title: "64 KiB user name", requirement: "a huge user name is rejected without crashing", cite: "protocol.md §1.5 (connect_opts)", config: Plain, check: Check::Hostile(Hostile::LongUserName) },
    WireCase { id: "wire.hostile.20", title: "request without nats.version (v1 signature trap)", requirement: "a v1 claim's signature covers the payload only; a token signed over h.p without version fails verification", cite: "protocol.md §1.2 (Version trap)", config: Plain, check: Check::Hostile(Hostile::NoVersion) },
    WireCase { id: "wire.hostile.21", title: "user_nkey is not a user key", requirement: "user_nkey must be a U key; an answer cannot be addressed otherwise", cite: "protocol.md §1.5 (user_nkey); §1.6", config: Plain, check: Check::Hostile(Hostile::BadUserNkey) },
    WireCase { id: "wire.hostile.22", title: "request signed by an account key", requirement: "authorization_request issuers are N keys", cite: "protocol.md §1.2 (Issuer prefix)", config: Plain, check: Check::Hostile(Hostile::AccountIssuer) },
    WireCase { id: "wire.hostile.23", title: "a user claim instead of an authorization request", requirement: "nats.type must be authorization_request", cite: "protocol.md §1.2 (Claim type)", config: Plain, check: Check::Hostile(Hostile::WrongClaimType) },
    WireCase { id: "wire.hostile.24", title: "a known user without connect_opts.pass", requirement: "a missing password is never a match (deny by default)", cite: "protocol.md §1.5 (connect_opts fields are omitempty)", config: Plain, check: Check::Hostile(Hostile::NoPassword) },
    WireCase { id: "wire.robust.1", title: "a request with only the required fields is admitted", requirement: "no name_tag, client_info.user or tags: optional fields are optional (a strict decoder fails on a real plain user/password request)", cite: "protocol.md §1.5; landscape.md §2.8 (missing field name_tag)", config: Plain, check: Check::Robust(Robust::MinimalFields) },
    WireCase { id: "wire.robust.2", title: "a request with unknown fields is admitted", requirement: "newer servers add fields: decoding ignores unknown ones", cite: "protocol.md §1.5 (client_tls.server_name arrived later)", config: Plain, check: Check::Robust(Robust::UnknownFields) },
];

/// Runs the wire catalog against one responder.
pub async fn run_wire(
    backend: &dyn ServerBackend,
    bin: &ServerBinary,
    responder: &ResponderSpec,
    opts: &RunOptions,
    progress: &mut (dyn FnMut(&CaseResult) + Send),
) -> runner::ScenarioOutcome {
    let selected: Vec<&WireCase> = CATALOG.iter().filter(|c| opts.selects_id(c.id)).collect();
    let mut out = runner::ScenarioOutcome {
        results: vec![],
        stderr: String::new(),
        setup_error: None,
    };
    for config in [Plain, Sealed] {
        let cases: Vec<&&WireCase> = selected.iter().filter(|c| c.config == config).collect();
        if cases.is_empty() {
            continue;
        }
        match Phase::start(backend, bin, responder, config).await {
            Ok(mut phase) => {
                for case in cases {
                    let started = Instant::now();
                    let (verdict, expected, actual, transcript) = phase.run(case).await;
                    let mut r = CaseResult {
                        id: case.id.into(),
                        title: case.title.into(),
                        requirement: case.requirement.into(),
                        cite: case.cite.into(),
                        verdict: verdict.strictly(opts.strict),
                        expected,
                        actual,
                        transcript,
                        duration_ms: started.elapsed().as_millis() as u64,
                    };
                    if let Some(st) = phase.proc.exited() {
                        r.transcript.push(format!("responder exited ({st})"));
                    }
                    progress(&r);
                    out.results.push(r);
                }
                phase.proc.stop(Duration::from_secs(5));
                out.stderr = phase.proc.stderr_tail(40);
            }
            Err(PhaseError::Unimplemented(why)) => {
                for case in cases {
                    let r = CaseResult {
                        id: case.id.into(),
                        title: case.title.into(),
                        requirement: case.requirement.into(),
                        cite: case.cite.into(),
                        verdict: Verdict::Unimplemented,
                        expected: String::new(),
                        actual: why.clone(),
                        transcript: vec![],
                        duration_ms: 0,
                    };
                    progress(&r);
                    out.results.push(r);
                }
            }
            Err(PhaseError::Setup(e, stderr)) => {
                out.setup_error = Some(format!("wire mode ({config:?}): {e}"));
                out.stderr = stderr;
                return out;
            }
        }
    }
    out
}

enum PhaseError {
    Setup(String, String),
    Unimplemented(String),
}

struct Phase {
    server: FakeServer,
    injector: Injector,
    proc: RunningResponder,
    _fixture: Fixture,
    _nats: crate::server::RunningServer,
}

impl Phase {
    async fn start(
        backend: &dyn ServerBackend,
        bin: &ServerBinary,
        responder: &ResponderSpec,
        config: Config,
    ) -> Result<Phase, PhaseError> {
        let scn = Scenario {
            path: "wire".into(),
            title: "wire".into(),
            min_server: None,
            responder_present: true,
            feature: None,
            accounts: vec!["APP".into()],
            system_account: None,
            xkey: config == Sealed,
            timeout: 2.0,
            allowed_accounts: vec![],
            auth_users: vec![],
            users_json: wire_users(),
            generate_users: None,
            cases: vec![],
        };
        let setup = |e: String| PhaseError::Setup(e, String::new());
        let mut fixture = Fixture::new(&scn).map_err(|e| setup(e.to_string()))?;
        let harness_pass = fixture.probe_pass.clone();
        fixture.conf.callout = None;
        fixture.conf.max_payload = Some(4 * 1024 * 1024);
        if let Some(a) = fixture
            .conf
            .accounts
            .iter_mut()
            .find(|a| a.name == runner::CALLOUT_ACCOUNT)
        {
            a.users.push((HARNESS_USER.into(), harness_pass.clone()));
        }
        let nats = backend
            .start(bin, &fixture.conf)
            .await
            .map_err(|e| setup(e.to_string()))?;
        let ph = fixture
            .placeholders(&nats.url())
            .map_err(|e| setup(e.to_string()))?;
        let argv = sut::render(&responder.template, &ph).map_err(setup)?;
        let proc = RunningResponder::start(&argv, ph.secrets()).map_err(setup)?;
        let opts = ConnectOptions {
            user: Some(HARNESS_USER.into()),
            pass: Some(harness_pass),
            ..Default::default()
        };
        let client = match client::connect(&nats.addr(), &opts, Duration::from_secs(5)).await {
            Ok(ConnectOutcome::Admitted(c)) => c,
            other => {
                return Err(setup(format!(
                    "the harness could not connect to its own server: {other:?}"
                )))
            }
        };
        let server = FakeServer {
            key: Signer::generate(KeyKind::Server),
            xkey: CurveSecret::generate(),
            responder_xkey: fixture.xkey.as_ref().map(|x| x.public().clone()),
            issuer: fixture.issuer.public_key().to_string(),
        };
        let mut phase = Phase {
            server,
            injector: Injector { client },
            proc,
            _fixture: fixture,
            _nats: nats,
        };
        // Ready when a good request gets any answer (the cases judge the answers).
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = phase.proc.exited() {
                return Err(PhaseError::Setup(
                    format!("the responder exited ({st})"),
                    phase.proc.stderr_tail(30),
                ));
            }
            let (_, j) = phase.good("alice", ALICE_PASS).await;
            if !matches!(j, Judged::Silence) {
                return Ok(phase);
            }
            if Instant::now() > deadline {
                let why = format!(
                    "a good {} request for alice was never answered (last: {})",
                    if config == Sealed { "sealed" } else { "plain" },
                    describe(&j)
                );
                phase.proc.stop(Duration::from_secs(3));
                if config == Sealed {
                    return Err(PhaseError::Unimplemented(why));
                }
                return Err(PhaseError::Setup(why, phase.proc.stderr_tail(30)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn sealed(&self) -> bool {
        self.server.responder_xkey.is_some()
    }

    async fn good(&mut self, user: &str, pass: &str) -> (AuthRequestClaims, Judged) {
        let mut req = self.server.request(Some(user), Some(pass));
        let sealed = self.sealed();
        let ans = self
            .injector
            .send_claims(&self.server, &mut req, sealed)
            .await;
        let j = judge(&ans, &self.server, &req);
        (req, j)
    }

    async fn run(&mut self, case: &WireCase) -> (Verdict, String, String, Vec<String>) {
        match case.check {
            Check::Response(rc) => self.response(rc).await,
            Check::Hostile(h) => self.hostile(h).await,
            Check::Robust(r) => self.robust(r).await,
        }
    }

    async fn response(&mut self, rc: ResponseCheck) -> (Verdict, String, String, Vec<String>) {
        use ResponseCheck as R;
        let sealed = self.sealed();
        let (user, pass) = match rc {
            R::NoSecretEcho => ("bob", "not-bobs-Secret-9Zq"),
            R::NoEmptyPassword => ("nopass", ""),
            _ => ("bob", BOB_PASS),
        };
        let mut req = self.server.request(Some(user), Some(pass));
        let ans = self
            .injector
            .send_claims(&self.server, &mut req, sealed)
            .await;
        let mut t = vec![format!(
            "{} request for {user} -> {} repl{}",
            if sealed { "sealed" } else { "plain" },
            ans.bodies.len(),
            if ans.bodies.len() == 1 { "y" } else { "ies" }
        )];
        let pass_v = |t: Vec<String>| (Verdict::Pass, String::new(), String::new(), t);
        let fail = |exp: &str, act: String, mut t: Vec<String>| {
            t.push(format!("expected {exp}; got {act}"));
            (Verdict::Fail, exp.to_string(), act, t)
        };
        let Some(body) = ans.bodies.first().cloned() else {
            return fail("a reply", "no reply".into(), t);
        };
        if matches!(rc, R::SingleReply) {
            return if ans.bodies.len() == 1 {
                pass_v(t)
            } else {
                fail(
                    "exactly one reply",
                    format!("{} replies", ans.bodies.len()),
                    t,
                )
            };
        }
        if matches!(rc, R::Timely) {
            // exp = iat + 2 s here; a reply must come well inside it.
            return if ans.latency < 1.0 {
                t.push("answered inside the request's exp".into());
                pass_v(t)
            } else {
                fail(
                    "a reply within 1 s of a request whose exp is 2 s away",
                    format!("{:.2} s", ans.latency),
                    t,
                )
            };
        }
        let is_sealed = !body.starts_with(b"eyJ");
        match rc {
            R::SealedIffSealed => {
                return if is_sealed == sealed {
                    t.push(format!(
                        "reply is {}",
                        if is_sealed { "sealed" } else { "plaintext" }
                    ));
                    pass_v(t)
                } else {
                    let mut r = fail(
                        if sealed {
                            "a sealed reply"
                        } else {
                            "a plaintext reply"
                        },
                        if is_sealed {
                            "a sealed reply".into()
                        } else {
                            "a plaintext reply".into()
                        },
                        t,
                    );
                    r.0 = Verdict::NonStrict;
                    r
                };
            }
            R::SealedToServer => {
                if !is_sealed {
                    return fail("a sealed reply", "plaintext".into(), t);
                }
                return match self.server.channel().map(|c| c.open(&body)) {
                    Some(Ok(_)) => {
                        t.push("opens with server xkey and configured xkey as sender".into());
                        pass_v(t)
                    }
                    _ => fail(
                        "a reply sealed by the configured xkey to server_id.xkey",
                        "it does not open (wrong sender or recipient)".into(),
                        t,
                    ),
                };
            }
            R::NotZeroKey => {
                if !is_sealed {
                    return fail("a sealed reply", "plaintext".into(), t);
                }
                let zero = SealingChannel::all_zero_secret_to(self.server.xkey.public());
                let zero2 = self
                    .server
                    .responder_xkey
                    .as_ref()
                    .map(SealingChannel::all_zero_secret_to);
                return if zero.open(&body).is_ok() || zero2.is_some_and(|z| z.open(&body).is_ok()) {
                    fail(
                        "a reply not openable with an all-zero key",
                        "it opens with an all-zero key".into(),
                        t,
                    )
                } else {
                    t.push("not openable with an all-zero key".into());
                    pass_v(t)
                };
            }
            _ => {}
        }
        let d = decode_reply(&body, &self.server);
        if matches!(rc, R::Encoding) {
            let parts: Vec<&str> = d.token.split('.').collect();
            let header = parts
                .first()
                .and_then(|h| jwt::b64_decode(h, "header").ok());
            if parts.len() != 3
                || d.token.contains('=')
                || d.token.contains('+')
                || d.token.contains('/')
            {
                return fail(
                    "three unpadded base64url parts",
                    format!(
                        "{} part(s), padding or non-url characters present",
                        parts.len()
                    ),
                    t,
                );
            }
            return match header {
                Some(h) if h == jwt::JWT_HEADER.as_bytes() => {
                    t.push(
                        "header {\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}, unpadded base64url"
                            .into(),
                    );
                    pass_v(t)
                }
                Some(h) => fail(jwt::JWT_HEADER, String::from_utf8_lossy(&h).into_owned(), t),
                None => fail(jwt::JWT_HEADER, "header is not base64url".into(), t),
            };
        }
        let resp = match d.response {
            Ok(r) => r,
            Err(e) => {
                if matches!(rc, R::NoSecretEcho) && pass_appears(&d.token, pass) {
                    return fail(
                        "no password in the answer",
                        "the answer contains the password".into(),
                        t,
                    );
                }
                return fail("a response the server decodes", e, t);
            }
        };
        t.push("response decodes and verifies".into());
        match rc {
            R::SignatureTypeVersion => {
                if resp.nats.claim_type() != "authorization_response" || resp.nats.version() != 2 {
                    return fail(
                        "type authorization_response version 2",
                        format!(
                            "type {} version {}",
                            resp.nats.claim_type(),
                            resp.nats.version()
                        ),
                        t,
                    );
                }
                pass_v(t)
            }
            R::Issuer => {
                if resp.iss == self.server.issuer {
                    t.push("iss is the issuer".into());
                    pass_v(t)
                } else {
                    fail("iss = the issuer", format!("iss {}", short(&resp.iss)), t)
                }
            }
            R::Subject => {
                if resp.sub == req.nats.user_nkey {
                    t.push("sub is the user_nkey".into());
                    pass_v(t)
                } else {
                    fail("sub = user_nkey", format!("sub {}", short(&resp.sub)), t)
                }
            }
            R::Audience => {
                if resp.aud == req.nats.server_id.id {
                    t.push("aud is the server id".into());
                    pass_v(t)
                } else {
                    fail("aud = server id", format!("aud {}", short(&resp.aud)), t)
                }
            }
            R::JwtXorError => {
                let (j, e) = (!resp.nats.jwt.is_empty(), !resp.nats.error.is_empty());
                if j != e {
                    t.push(format!("{} only", if j { "jwt" } else { "error" }));
                    pass_v(t)
                } else {
                    fail(
                        "exactly one of jwt and error",
                        format!("jwt {j}, error {e}"),
                        t,
                    )
                }
            }
            R::NoSecretEcho | R::NoEmptyPassword => {
                if !resp.nats.jwt.is_empty() {
                    return fail("a rejection", "admitted".into(), t);
                }
                if matches!(rc, R::NoSecretEcho)
                    && (pass_appears(&resp.nats.error, pass) || pass_appears(&d.token, pass))
                {
                    return fail(
                        "an error text without the password",
                        "the error text contains the password".into(),
                        t,
                    );
                }
                t.push(format!("rejected: {:?}", redact(&resp.nats.error, pass)));
                pass_v(t)
            }
            _ => {
                let user = match jwt::decode::<User>(&resp.nats.jwt) {
                    Ok(u) => u,
                    Err(e) => return fail("a valid user JWT", e.to_string(), t),
                };
                self.check_user(rc, &req, &user, t)
            }
        }
    }

    fn check_user(
        &self,
        rc: ResponseCheck,
        req: &AuthRequestClaims,
        u: &Claims<User>,
        t: Vec<String>,
    ) -> (Verdict, String, String, Vec<String>) {
        use ResponseCheck as R;
        let pass_v = |mut t: Vec<String>, line: String| {
            t.push(line);
            (Verdict::Pass, String::new(), String::new(), t)
        };
        let fail = |exp: String, act: String, mut t: Vec<String>| {
            t.push(format!("expected {exp}; got {act}"));
            (Verdict::Fail, exp, act, t)
        };
        match rc {
            R::UserIdentity => {
                let mut bad = Vec::new();
                if u.sub != req.nats.user_nkey {
                    bad.push("sub != user_nkey".to_string());
                }
                if u.iss != self.server.issuer {
                    bad.push("iss != issuer".into());
                }
                if u.aud != "APP" {
                    bad.push(format!("aud {:?} != \"APP\"", u.aud));
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
                    pass_v(t, "user sub, iss, aud APP, type user v2".into())
                } else {
                    fail(
                        "sub = user_nkey, iss = issuer, aud = APP, type user v2".into(),
                        bad.join("; "),
                        t,
                    )
                }
            }
            R::Permissions => {
                let want = json!({
                    "pub": {"allow": ["bob.>", "orders.*"], "deny": ["bob.secret"]},
                    "sub": {"allow": ["bob.>", "work.jobs workers"], "deny": ["bob.private.>"]},
                    "resp": {"max": 2, "ttl": 5000000000i64}
                });
                let got =
                    json!({"pub": u.nats.publish, "sub": u.nats.subscribe, "resp": u.nats.resp});
                if got == want {
                    pass_v(t, format!("permissions {got}"))
                } else {
                    fail(want.to_string(), got.to_string(), t)
                }
            }
            R::TtlNanos => match u.nats.resp {
                Some(r) if r.ttl == 5_000_000_000 => pass_v(t, "resp.ttl 5000000000".into()),
                other => fail("resp.ttl 5000000000".into(), format!("{other:?}"), t),
            },
            R::Limits => {
                if (u.nats.subs, u.nats.data, u.nats.payload) == (-1, -1, -1) {
                    pass_v(t, "subs, data, payload -1".into())
                } else {
                    let mut r = fail(
                        "subs, data, payload -1".into(),
                        format!("{} {} {}", u.nats.subs, u.nats.data, u.nats.payload),
                        t,
                    );
                    r.0 = Verdict::NonStrict;
                    r
                }
            }
            R::NoIssuerAccount => {
                if u.nats.issuer_account.is_empty() {
                    pass_v(t, "no issuer_account".into())
                } else {
                    fail("no issuer_account".into(), "issuer_account set".into(), t)
                }
            }
            _ => pass_v(t, "ok".into()),
        }
    }

    async fn hostile(&mut self, h: Hostile) -> (Verdict, String, String, Vec<String>) {
        use Hostile as H;
        let s = &self.server;
        let sealed = self.sealed();
        let pass = BOB_PASS;
        let mut req = s.request(Some("bob"), Some(pass));
        let mut t = Vec::new();
        let header = s.xkey.public().as_str().to_string();
        let (body, hdr): (Vec<u8>, Option<String>) = match h {
            H::BadSignature => {
                req.iss = s.key.public_key().into();
                let other = Signer::generate(KeyKind::Server);
                let mut c = req.clone();
                let tok = jwt::encode(&mut c, &other);
                // Keep the claims (iss = our server) but the signature of another key.
                let mut c2 = req.clone();
                let good = jwt::encode(&mut c2, &s.key);
                let forged = format!(
                    "{}.{}",
                    &good[..good.rfind('.').unwrap_or(0)],
                    &tok[tok.rfind('.').map(|i| i + 1).unwrap_or(0)..]
                );
                req = c2;
                (forged.into_bytes(), None)
            }
            H::IssuerNotServerId => {
                let other = Signer::generate(KeyKind::Server);
                let tok = jwt::encode(&mut req, &other);
                (tok.into_bytes(), None)
            }
            H::WrongAudience => {
                req.aud = "nats-authorization-response".into();
                (s.sign(&mut req).into_bytes(), None)
            }
            H::Expired => {
                req.exp = callout_codec::unix_now() - 30;
                (s.sign(&mut req).into_bytes(), None)
            }
            H::NoExpiry => {
                req.exp = 0;
                (s.sign(&mut req).into_bytes(), None)
            }
            H::NotYetValid => {
                req.nbf = callout_codec::unix_now() + 3600;
                (s.sign(&mut req).into_bytes(), None)
            }
            H::HeaderXkeyMismatch => {
                let other = CurveSecret::generate();
                let tok = s.sign(&mut req);
                let body = other
                    .channel_to(s.responder_xkey.as_ref().unwrap_or(s.xkey.public()))
                    .seal(tok.as_bytes());
                (body, Some(other.public().as_str().to_string()))
            }
            // Sealed to a key nobody holds: in a sealed phase the responder's key is the wrong
            // one; in a plain phase the responder has no key at all.
            H::SealedToWrongKey | H::SealedWhenPlain => {
                let tok = s.sign(&mut req);
                let body = s
                    .xkey
                    .channel_to(CurveSecret::generate().public())
                    .seal(tok.as_bytes());
                (body, Some(header.clone()))
            }
            H::WrongXkvVersion => {
                let tok = s.sign(&mut req);
                let mut body = s.seal(tok.as_bytes());
                body[3] = b'2';
                (body, Some(header.clone()))
            }
            H::Truncated => {
                let tok = s.sign(&mut req);
                let mut body = s.seal(tok.as_bytes());
                body.truncate(20);
                (body, Some(header.clone()))
            }
            H::Empty => (Vec::new(), None),
            H::NotAJwt => (b"hello, this is not a JWT".to_vec(), None),
            H::RandomBytes => {
                let seed = Signer::generate(KeyKind::User).sign(b"random");
                let mut v = Vec::new();
                for i in 0..8 {
                    v.extend(seed.iter().map(|b| b.wrapping_mul(i as u8 + 3)));
                }
                (v, None)
            }
            H::Oversized => {
                req.nats.client_info.name = "x".repeat(1_100_000);
                (s.sign(&mut req).into_bytes(), None)
            }
            H::PlaintextWhenSealed => (s.sign(&mut req).into_bytes(), None),
            H::Replay => {
                let tok = s.sign(&mut req);
                let first = self.injector.send(tok.as_bytes(), None, LISTEN).await;
                t.push(format!(
                    "first sending -> {}",
                    describe(&judge(&first, &self.server, &req))
                ));
                (tok.into_bytes(), None)
            }
            H::NonUtf8 => {
                let tok = s.sign(&mut req);
                let payload = jwt::b64_decode(tok.split('.').nth(1).unwrap_or(""), "payload")
                    .unwrap_or_default();
                let mut p = payload.clone();
                if let Some(i) = p.windows(5).position(|w| w == b"\"bob\"") {
                    p[i + 1] = 0xff;
                    p[i + 2] = 0xfe;
                }
                (jwt::sign_payload(&p, &s.key).into_bytes(), None)
            }
            H::LongUserName => {
                let long = "u".repeat(64 * 1024);
                req.nats.connect_opts.user = long.clone();
                req.nats.client_info.user = Secret::new(long);
                (s.sign(&mut req).into_bytes(), None)
            }
            H::NoVersion => {
                req.iss = s.key.public_key().into();
                req.iat = callout_codec::unix_now();
                req.nats.claim_type = "authorization_request".into();
                req.nats.version = 0;
                (
                    jwt::sign_payload(&jwt::to_json(&req), &s.key).into_bytes(),
                    None,
                )
            }
            H::BadUserNkey => {
                req.nats.user_nkey = Signer::generate(KeyKind::Account).public_key().into();
                (s.sign(&mut req).into_bytes(), None)
            }
            H::AccountIssuer => {
                let acct = Signer::generate(KeyKind::Account);
                req.nats.server_id.id = acct.public_key().into();
                (jwt::encode(&mut req, &acct).into_bytes(), None)
            }
            H::NoPassword => {
                req.nats.connect_opts.pass = Secret::default();
                (s.sign(&mut req).into_bytes(), None)
            }
            H::WrongClaimType => {
                let mut u: Claims<User> = Claims {
                    sub: req.nats.user_nkey.clone(),
                    aud: "APP".into(),
                    ..Claims::default()
                };
                (jwt::encode(&mut u, &s.key).into_bytes(), None)
            }
        };
        // Seal plain-built bodies when the phase is sealed and the case did not choose.
        let (body, hdr) = match (hdr, sealed, h) {
            (None, true, H::PlaintextWhenSealed) => (body, None),
            (None, true, _) => {
                let b = s.seal(&body);
                (b, Some(header.clone()))
            }
            (hdr, _, _) => (hdr.map(|h| (body.clone(), Some(h))).unwrap_or((body, None))).clone(),
        };
        let ans = self.injector.send(&body, hdr.as_deref(), LISTEN).await;
        let j = judge(&ans, &self.server, &req);
        t.push(format!("{:?} -> {}", h, describe_redacted(&j, pass)));
        let (mut verdict, mut expected, mut actual) = match &j {
            Judged::Admitted(_) => (
                Verdict::Fail,
                "not admitted (a signed error, or silence)".to_string(),
                "admitted".to_string(),
            ),
            Judged::Error(e) if pass_appears(e, pass) => (
                Verdict::Fail,
                "an error text without the password".into(),
                "the error text contains the password".into(),
            ),
            Judged::Error(_) => (Verdict::Pass, String::new(), String::new()),
            Judged::Silence => (
                Verdict::Informational,
                "a signed error".into(),
                "no answer (the server would wait for its timeout)".into(),
            ),
            Judged::EmptyDeny => (
                Verdict::Informational,
                "a signed error".into(),
                "an empty body (deny without reason)".into(),
            ),
            Judged::Garbage(g) => (
                Verdict::NonStrict,
                "a signed error or silence".into(),
                format!("an answer the server cannot use: {g}"),
            ),
        };
        if ans.bodies.len() > 1 && verdict == Verdict::Pass {
            verdict = Verdict::Fail;
            expected = "one answer".into();
            actual = format!("{} answers", ans.bodies.len());
        }
        // Still alive?
        let (_, after) = self.good("alice", ALICE_PASS).await;
        if !matches!(after, Judged::Admitted(_)) {
            t.push(format!("a good request afterwards -> {}", describe(&after)));
            verdict = Verdict::Fail;
            expected = "the responder still answers good requests".into();
            actual = format!("after this request: {}", describe(&after));
        } else {
            t.push("a good request afterwards -> admitted".into());
        }
        (verdict, expected, actual, t)
    }

    async fn robust(&mut self, r: Robust) -> (Verdict, String, String, Vec<String>) {
        let s = &self.server;
        let sealed = self.sealed();
        let mut req = s.request(Some("alice"), Some(ALICE_PASS));
        let token = match r {
            Robust::MinimalFields => {
                req.iss = s.key.public_key().into();
                req.iat = callout_codec::unix_now();
                req.nats.stamp(2);
                let v = json!({
                    "aud": req.aud, "exp": req.exp, "iat": req.iat, "iss": req.iss, "sub": req.sub,
                    "nats": {"server_id": {"name": "harness", "host": "127.0.0.1", "id": req.nats.server_id.id, "xkey": req.nats.server_id.xkey},
                             "user_nkey": req.nats.user_nkey, "client_info": {}, "connect_opts": {"user": "alice", "pass": ALICE_PASS, "protocol": 1},
                             "type": "authorization_request", "version": 2}
                });
                jwt::sign_payload(v.to_string().as_bytes(), &s.key)
            }
            Robust::UnknownFields => {
                req.iss = s.key.public_key().into();
                req.iat = callout_codec::unix_now();
                req.nats.stamp(2);
                let mut v = serde_json::to_value(&req).unwrap_or_default();
                v["x_future"] = json!({"a": [1, 2]});
                v["nats"]["x_future"] = json!("y");
                v["nats"]["client_info"]["x_future"] = json!(3);
                v["nats"]["server_id"]["x_future"] = json!(null);
                v["nats"]["connect_opts"]["x_future"] = json!(true);
                jwt::sign_payload(v.to_string().as_bytes(), &s.key)
            }
        };
        let ans = if sealed {
            self.injector
                .send(
                    &s.seal(token.as_bytes()),
                    Some(s.xkey.public().as_str()),
                    LISTEN,
                )
                .await
        } else {
            self.injector.send(token.as_bytes(), None, LISTEN).await
        };
        let j = judge(&ans, &self.server, &req);
        let t = vec![format!("{r:?} request for alice -> {}", describe(&j))];
        match j {
            Judged::Admitted(_) => (Verdict::Pass, String::new(), String::new(), t),
            other => (Verdict::Fail, "admitted".into(), describe(&other), t),
        }
    }
}

fn pass_appears(text: &str, pass: &str) -> bool {
    !pass.is_empty() && text.contains(pass)
}

fn redact(text: &str, pass: &str) -> String {
    if pass.is_empty() {
        text.to_string()
    } else {
        text.replace(pass, "[PASSWORD]")
    }
}

fn describe(j: &Judged) -> String {
    match j {
        Judged::Silence => "no answer".into(),
        Judged::EmptyDeny => "empty body".into(),
        Judged::Garbage(g) => format!("unusable answer ({g})"),
        Judged::Error(e) => format!("signed error {:?}", e.chars().take(80).collect::<String>()),
        Judged::Admitted(u) => format!("admitted into {:?}", u.aud),
    }
}

fn describe_redacted(j: &Judged, pass: &str) -> String {
    redact(&describe(j), pass)
}
