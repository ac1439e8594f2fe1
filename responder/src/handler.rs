//! One authorization request in, at most one answer out: the whole decision, with no NATS
//! connection in sight, so that tests and benches drive it directly.
//!
//! Order of checks, and what a failure gets (`protocol.md §1.5`, "What a responder should
//! verify"):
//!
//! | step | failure | answer |
//! |---|---|---|
//! | open a sealed body (sender = `Nats-Server-Xkey` header) | no xkey configured, bad header key, wrong key, wrong version, truncated | **none** |
//! | decode and verify the JWT (header, base64, type, version, signature by `iss`, `iss` an `N` key) | anything | **none** |
//! | `user_nkey` is a `U` key; operator mode: `sub` is our callout account | not | **none** |
//! | `aud == "nats-authorization-request"`, `iss == server_id.id`; times: `exp > 0` and not passed, `exp >= iat`, `iat` at most [`MAX_CLOCK_SKEW_SECS`] ahead, `nbf` (when > 0) not after now; header xkey `== server_id.xkey`, sealed iff an xkey is configured; replay guard (`crate::replay`): not seen before, `exp` at most [`REPLAY_HORIZON_SECS`] ahead, guard not full of unexpired requests from trusted server keys | any | signed error |
//! | CONNECT `nkey` set: a users.json `nkey` user, and `sig` a valid signature by that key over `client_info.nonce` | any | signed error `invalid credentials` |
//! | else no user name and no token: the subject of a certificate the server verified, when there is one, names a `cert_subject` user | unknown subject | signed error `invalid credentials` |
//! | else `auth_token` set and no user name: equal (constant time) to a users.json `token` | any | signed error `invalid credentials` |
//! | else user known, password set, non-empty and equal (constant time) | any | signed error `invalid credentials` |
//!
//! Why silence for the first three rows: until the signature of a server key is verified, there
//! is no one to address an answer to. A signed answer to an unverified request would make the
//! responder a signing oracle for whoever can publish on the callout subject, and the real
//! server never sends such a request, so no client waits on it. Once the signature is
//! verified, every refusal is a signed error addressed to the signer (`aud = iss`) for the
//! request's `user_nkey`, so a real server rejects the client at once instead of waiting for
//! its timeout. Error texts are fixed strings: they never echo the request.
//!
//! The test binary's faults and quirks never appear here: each bends one seam of
//! [`Policy`] (`crate::policy`), and the reference runs with [`Reference`], whose seams are
//! the protocol itself.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use callout_codec::nkey::{self, KeyKind};
use callout_codec::{
    AuthRequestClaims, AuthResponse, Claims, CurvePublic, CurveSecret, SealingChannel, Secret,
    Signer, User,
};

pub use crate::mutant::Fault;
use crate::mutant::Mutant;
use crate::operator::{AccountKey, SigningKeys};
use crate::policy::{Key, Sealing, UserJwt};
pub use crate::policy::{Policy, Reference};
use crate::replay::{ReplayGuard, Sighting};
pub use crate::replay::{REPLAY_GUARD_CAPACITY, REPLAY_HORIZON_SECS};
use crate::users::{Permissions, UserDirectory, UserEntry};

/// The generic reason for every credential failure, so that a rejected client cannot tell an
/// unknown user from a wrong password.
pub const INVALID_CREDENTIALS: &str = "invalid credentials";

/// How far in the future a request's `iat` may be, for clock skew between the server and
/// the responder: [`Responder::handle`] refuses a request issued more than this many seconds
/// ahead of its own clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// What to send back.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Publish these bytes to the request's reply subject.
    Reply(Vec<u8>),
    /// Send nothing.
    Silent,
}

/// How the request was judged, for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Admitted into the account.
    Admitted {
        /// Account name.
        account: String,
    },
    /// Refused with a signed error.
    Rejected {
        /// The error text sent.
        reason: &'static str,
    },
    /// Not answered.
    Dropped {
        /// Why.
        reason: &'static str,
    },
}

/// The result of [`Responder::handle`].
#[derive(Debug)]
pub struct Handled {
    /// What to send.
    pub outcome: Outcome,
    /// The decision.
    pub verdict: Verdict,
    /// The user name (the client's, or the users.json name it was admitted as), quoted and
    /// escaped for a log line by [`crate::log::quoted`]; never the password.
    pub user: String,
}

impl Handled {
    fn dropped(reason: &'static str) -> Handled {
        Handled {
            outcome: Outcome::Silent,
            verdict: Verdict::Dropped { reason },
            user: String::new(),
        }
    }
}

/// A check of a verified request that failed: answered with a signed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `aud` is not `nats-authorization-request`.
    Audience,
    /// `iss` is not `server_id.id`.
    Issuer,
    /// A time check failed ([`check_times`] says which).
    Times(&'static str),
    /// The unsigned `Nats-Server-Xkey` header differs from the signed `server_id.xkey`.
    HeaderXkey,
    /// A plaintext request, but an xkey is configured.
    Plaintext,
    /// The replay guard saw this `user_nkey` before, and the request has not expired.
    Replayed,
    /// `exp` is beyond [`REPLAY_HORIZON_SECS`].
    BeyondHorizon,
    /// The replay guard is full of unexpired requests from trusted server keys.
    GuardFull,
}

impl Refusal {
    /// Why, for the log line.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Audience => "wrong request audience",
            Refusal::Issuer => "request issuer is not server_id.id",
            Refusal::Times(reason) => reason,
            Refusal::HeaderXkey => "header xkey differs from server_id.xkey",
            Refusal::Plaintext => "plaintext request but an xkey is configured",
            Refusal::Replayed => "replayed request",
            Refusal::BeyondHorizon => "request expiry too far ahead: cannot guard against replay",
            Refusal::GuardFull => "replay guard full: too many unexpired requests",
        }
    }

    /// The error text of the signed refusal.
    pub fn text(self) -> &'static str {
        match self {
            Refusal::Audience => "not an authorization request",
            Refusal::Issuer => "request issuer does not match server id",
            Refusal::HeaderXkey => "request xkey mismatch",
            Refusal::Plaintext => "encryption mismatch: expected a sealed request",
            Refusal::GuardFull => "responder busy: too many unexpired requests",
            Refusal::Times(_) | Refusal::Replayed | Refusal::BeyondHorizon => self.reason(),
        }
    }
}

/// Credentials that do not admit anyone (each refused with [`INVALID_CREDENTIALS`]).
#[derive(Debug)]
pub enum Denial<'a> {
    /// No users.json user has the CONNECT `nkey`.
    UnknownNkey,
    /// The `nkey` user exists, but `sig` is not its signature over `client_info.nonce`.
    BadNonceSignature {
        /// The user's name.
        name: &'a str,
        /// The user's entry.
        entry: &'a UserEntry,
    },
    /// No users.json user has the subject of the verified certificate.
    UnknownCertificate,
    /// No users.json user has the token.
    UnknownToken,
    /// No users.json user has this name (or the name is empty).
    UnknownUser {
        /// The CONNECT user name.
        name: &'a str,
        /// The CONNECT password.
        pass: &'a Secret,
    },
    /// The user exists, but the password is empty, wrong, or the user has none.
    WrongPassword {
        /// The user's name.
        name: &'a str,
        /// The user's entry.
        entry: &'a UserEntry,
        /// The CONNECT password.
        pass: &'a Secret,
    },
}

/// A decision to admit: who, into which account, with which permissions.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    /// The user's name (users.json's, or the CONNECT user name).
    pub name: &'a str,
    /// The account to place the user in.
    pub account: Cow<'a, str>,
    /// The user's permissions.
    pub permissions: Cow<'a, Permissions>,
}

impl<'a> Grant<'a> {
    /// A users.json user's grant.
    pub fn of(name: &'a str, entry: &'a UserEntry) -> Grant<'a> {
        Grant {
            name,
            account: Cow::Borrowed(&entry.account),
            permissions: Cow::Borrowed(&entry.permissions),
        }
    }
}

/// The time checks on a request whose signature verified: the reason of the first that
/// fails. `exp` must be set (> 0, the server always sets it) and not passed, and not before
/// `iat`; `iat` no more than [`MAX_CLOCK_SKEW_SECS`] ahead; `nbf`, when set (> 0, as in Go's
/// jwt library), not after now. Saturating arithmetic: any `i64` is safe.
fn check_times(req: &AuthRequestClaims, now: i64) -> Result<(), &'static str> {
    if req.exp <= 0 {
        return Err("request has no expiry");
    }
    if now > req.exp {
        return Err("request expired or not yet valid");
    }
    if req.exp < req.iat {
        return Err("request expires before it was issued");
    }
    if req.iat > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err("request issued in the future");
    }
    if req.nbf > 0 && now < req.nbf {
        return Err("request expired or not yet valid");
    }
    Ok(())
}

/// The sealing state against the configuration (`protocol.md §1.4`, Request and Encryption
/// mismatch): a header naming the signed `server_id.xkey`, or no header and no xkey.
fn check_sealing(
    req: &AuthRequestClaims,
    header_xkey: Option<&str>,
    has_xkey: bool,
) -> Result<(), Refusal> {
    match header_xkey {
        Some(hk) if hk != req.nats.server_id.xkey => Err(Refusal::HeaderXkey),
        None if has_xkey => Err(Refusal::Plaintext),
        _ => Ok(()),
    }
}

/// The responder's state: keys, users, and caches shared by every handler task (the X25519
/// box per server xkey, the parsed key per server `N` key, the replay guard), and the
/// [`Policy`] it runs with: [`Reference`] unless the mutant binary built it.
pub struct Responder<P: Policy = Reference> {
    issuer: Signer,
    xkey: Option<CurveSecret>,
    users: UserDirectory,
    channels: RwLock<HashMap<String, SealingChannel>>,
    server_keys: nkey::KeyCache,
    replays: Mutex<ReplayGuard>,
    /// Operator mode: the target accounts' signing keys (`-signing.keys`).
    signing: Option<SigningKeys>,
    /// Operator mode: the callout account (from the `-nats.creds` JWT): requests for another
    /// account are dropped, and a response signed by a signing key names it in
    /// `issuer_account`.
    callout_account: Option<String>,
    policy: P,
}

impl Responder {
    /// A responder signing with `issuer` (an account key), opening sealed requests with `xkey`.
    pub fn new(issuer: Signer, xkey: Option<CurveSecret>, users: UserDirectory) -> Responder {
        Responder {
            issuer,
            xkey,
            users,
            channels: RwLock::new(HashMap::new()),
            server_keys: nkey::KeyCache::new(),
            replays: Mutex::new(ReplayGuard::new(REPLAY_GUARD_CAPACITY)),
            signing: None,
            callout_account: None,
            policy: Reference,
        }
    }

    /// The same responder with deliberate defects and quirks (the mutant binary and tests
    /// only). Faults and quirks that amount to another configuration are applied here:
    /// `ignore-signing-keys` forgets `-signing.keys`, `-quirk seed-users` the users.json
    /// extensions, `-quirk no-xkey` the xkey.
    pub fn mutant(self, faults: Vec<Fault>, quirks: crate::quirks::Quirks) -> Responder<Mutant> {
        let mutant = Mutant::new(faults, quirks);
        let mut users = self.users;
        if mutant.quirks().seed_users {
            users.drop_extensions();
        }
        Responder {
            issuer: self.issuer,
            xkey: self.xkey.filter(|_| !mutant.quirks().no_xkey),
            users,
            channels: self.channels,
            server_keys: self.server_keys,
            replays: self.replays,
            signing: self
                .signing
                .filter(|_| !mutant.has(Fault::IgnoreSigningKeys)),
            callout_account: self.callout_account,
            policy: mutant,
        }
    }

    /// [`Responder::mutant`] with faults and no quirk.
    pub fn with_faults(self, faults: Vec<Fault>) -> Responder<Mutant> {
        self.mutant(faults, crate::quirks::Quirks::default())
    }
}

impl<P: Policy> Responder<P> {
    /// Sets how many requests the replay guard remembers (default
    /// [`REPLAY_GUARD_CAPACITY`]); tests use a small bound to reach it. Trusted keys are kept.
    pub fn with_replay_capacity(self, capacity: usize) -> Self {
        if let Ok(mut g) = self.replays.lock() {
            let mut fresh = ReplayGuard::new(capacity);
            for key in g.trusted_keys() {
                fresh.trust(key);
            }
            *g = fresh;
        }
        self
    }

    /// How many requests the replay guard remembers now.
    pub fn replay_guard_len(&self) -> usize {
        self.replays.lock().map(|g| g.len()).unwrap_or(0)
    }

    /// Trusts `server_key`, the `server_id` of the server the service is connected to: its
    /// requests are never pushed out of the replay guard by requests signed with other keys
    /// (`crate::replay`). Returns true when the key is new.
    pub fn trust_server_key(&self, server_key: &str) -> bool {
        self.replays
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .trust(server_key)
    }

    /// Operator mode: user JWTs signed by the target account's signing key, with
    /// `issuer_account` (`crate::operator`).
    pub fn with_signing_keys(mut self, keys: Option<SigningKeys>) -> Self {
        self.signing = keys;
        self
    }

    /// Operator mode: the callout account the responder serves (`A…`).
    pub fn with_callout_account(mut self, account: Option<String>) -> Self {
        self.callout_account = account;
        self
    }

    /// The policy: [`Reference`], or the mutant's faults and quirks.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The issuer's public key.
    pub fn issuer_public(&self) -> &str {
        self.issuer.public_key()
    }

    /// The box between our xkey and a server's, computed once per server key.
    fn channel(&self, server_xkey: &str) -> Option<SealingChannel> {
        let ours = self.xkey.as_ref()?;
        if let Some(c) = self.channels.read().ok()?.get(server_xkey) {
            return Some(c.clone());
        }
        let peer = CurvePublic::parse(server_xkey).ok()?;
        let c = ours.channel_to(&peer);
        if let Ok(mut w) = self.channels.write() {
            if w.len() > 1024 {
                w.clear();
            }
            w.insert(server_xkey.to_string(), c.clone());
        }
        Some(c)
    }

    /// Judges one request. `body` is the message payload, `header_xkey` the value of the
    /// `Nats-Server-Xkey` header, `now` unix seconds.
    pub fn handle(&self, body: &[u8], header_xkey: Option<&str>, now: i64) -> Handled {
        let header = self.policy.header(header_xkey);
        let req = match self.open(body, header) {
            Ok(req) => req,
            Err(reason) => return Handled::dropped(reason),
        };
        self.policy.decoded(&req);
        if let Err(refusal) = self.check_request(&req, header, now) {
            let text = refusal.text().to_string();
            return self.reject(&req, header, refusal.reason(), text);
        }
        match self.authenticate(&req) {
            Ok(grant) => self.admit(&req, header, grant),
            Err(text) => self.reject(&req, header, INVALID_CREDENTIALS, text),
        }
    }

    /// Opens a sealed body, decodes and verifies the request, and makes sure it is ours to
    /// answer: the reason to drop it otherwise.
    fn open(&self, body: &[u8], header: Option<&str>) -> Result<AuthRequestClaims, &'static str> {
        let opened;
        let token = match header {
            Some(hk) => {
                let Some(ch) = self.channel(hk) else {
                    return Err(if self.xkey.is_none() {
                        "sealed request but no -xkey.seed configured"
                    } else {
                        "bad Nats-Server-Xkey header"
                    });
                };
                opened = ch
                    .open(body)
                    .map_err(|_| "sealed request does not open with our xkey")?;
                &opened[..]
            }
            None => body,
        };
        let Ok(token) = std::str::from_utf8(token) else {
            self.policy.undecodable();
            return Err("request is not UTF-8");
        };
        let Some(req) = self.policy.decode(token, &self.server_keys) else {
            self.policy.undecodable();
            return Err("request is not a valid signed authorization request");
        };
        if !nkey::is_public(&req.nats.user_nkey, KeyKind::User) {
            return Err("request user_nkey is not a user key");
        }
        // Operator mode: the server names its callout account in `sub`; a request for
        // another account is not ours to answer.
        if let Some(acc) = &self.callout_account {
            if req.sub != *acc {
                return Err("request is for another callout account");
            }
        }
        Ok(req)
    }

    /// The checks of the request itself, in order; the replay guard last, because it
    /// records the request.
    fn check_request(
        &self,
        req: &AuthRequestClaims,
        header: Option<&str>,
        now: i64,
    ) -> Result<(), Refusal> {
        let audience = if req.aud == callout_codec::AUTH_REQUEST_AUDIENCE {
            Ok(())
        } else {
            Err(Refusal::Audience)
        };
        let issuer = if req.iss == req.nats.server_id.id {
            Ok(())
        } else {
            Err(Refusal::Issuer)
        };
        for check in [
            audience,
            issuer,
            check_times(req, now).map_err(Refusal::Times),
            check_sealing(req, header, self.xkey.is_some()),
        ] {
            if let Err(refusal) = check {
                if !self.policy.overlooks(refusal) {
                    return Err(refusal);
                }
            }
        }
        // A poisoned lock still holds a consistent guard (no code path panics while holding
        // it); take it rather than admit without a replay check.
        let sighting = self
            .replays
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .sight(&req.nats.user_nkey, req.exp, now, &req.iss);
        let refusal = match sighting {
            Sighting::First => return Ok(()),
            Sighting::Replay => Refusal::Replayed,
            Sighting::BeyondHorizon => Refusal::BeyondHorizon,
            Sighting::Full => Refusal::GuardFull,
        };
        if self.policy.overlooks(refusal) {
            return Ok(());
        }
        Err(refusal)
    }

    /// The client's credentials: admitted, or the error text of the refusal.
    fn authenticate<'a>(&'a self, req: &'a AuthRequestClaims) -> Result<Grant<'a>, String> {
        self.check_credentials(req)
            .or_else(|denial| self.policy.reconsider(&denial, &self.users))
    }

    /// An nkey, else a certificate the server verified (when no user name or token is
    /// given), else a token without a user name, else user and password (`protocol.md §1.8`).
    fn check_credentials<'a>(
        &'a self,
        req: &'a AuthRequestClaims,
    ) -> Result<Grant<'a>, Denial<'a>> {
        let opts = &req.nats.connect_opts;
        if !opts.nkey.is_empty() {
            let (name, entry) = self.users.by_nkey(&opts.nkey).ok_or(Denial::UnknownNkey)?;
            let nonce = &req.nats.client_info.nonce;
            return match nkey::verify_nonce_signature(&opts.nkey, nonce, &opts.sig) {
                Ok(()) => Ok(Grant::of(name, entry)),
                Err(_) => Err(Denial::BadNonceSignature { name, entry }),
            };
        }
        if opts.user.is_empty() && opts.auth_token.is_empty() {
            let tls = req.nats.client_tls.as_ref();
            if let Some(subject) = self.policy.certificate_subject(tls) {
                let (name, entry) = self
                    .users
                    .by_cert_subject(&subject)
                    .ok_or(Denial::UnknownCertificate)?;
                return Ok(Grant::of(name, entry));
            }
        }
        if opts.user.is_empty() && !opts.auth_token.is_empty() {
            let (name, entry) = self
                .users
                .by_token(opts.auth_token.expose())
                .ok_or(Denial::UnknownToken)?;
            return Ok(Grant::of(name, entry));
        }
        let (name, pass) = (opts.user.as_str(), &opts.pass);
        let Some(entry) = Some(name)
            .filter(|n| !n.is_empty())
            .and_then(|n| self.users.get(n))
        else {
            // Spend the same work as a real comparison.
            let _ = Secret::new("x").ct_matches(pass.expose());
            return Err(Denial::UnknownUser { name, pass });
        };
        let matches = entry
            .pass
            .as_ref()
            .is_some_and(|expected| expected.ct_matches(pass.expose()));
        if matches && !pass.is_empty() {
            return Ok(Grant::of(name, entry));
        }
        Err(Denial::WrongPassword { name, entry, pass })
    }

    fn reject(
        &self,
        req: &AuthRequestClaims,
        header: Option<&str>,
        reason: &'static str,
        text: String,
    ) -> Handled {
        Handled {
            outcome: self.respond(req, header, None, Some(text)),
            verdict: Verdict::Rejected { reason },
            user: crate::log::quoted(&req.nats.connect_opts.user),
        }
    }

    fn admit(&self, req: &AuthRequestClaims, header: Option<&str>, grant: Grant) -> Handled {
        let grant = self.policy.decide(grant);
        let key = self.signing.as_ref().and_then(|k| k.get(&grant.account));
        let mut claims = user_claims(req, &grant, key);
        let mut signer = Key::Held(key.map_or(&self.issuer, |k| &k.signer));
        let ctx = UserJwt {
            req,
            grant: &grant,
            key,
            signing: self.signing.as_ref(),
        };
        self.policy.user_jwt(&mut claims, &mut signer, &ctx);
        let user_jwt = self.policy.encode(&mut claims, signer.signer());
        Handled {
            outcome: self.respond(req, header, Some(user_jwt), None),
            verdict: Verdict::Admitted {
                account: grant.account.to_string(),
            },
            user: crate::log::quoted(grant.name),
        }
    }

    /// Builds, signs and (when the request was sealed) seals the response
    /// (`protocol.md §1.6`): addressed to the request's signer, for its `user_nkey`.
    fn respond(
        &self,
        req: &AuthRequestClaims,
        header: Option<&str>,
        user_jwt: Option<String>,
        error: Option<String>,
    ) -> Outcome {
        if self.policy.silenced() {
            return Outcome::Silent;
        }
        let mut resp: Claims<AuthResponse> = Claims {
            aud: req.iss.clone(),
            sub: req.nats.user_nkey.clone(),
            ..Claims::default()
        };
        resp.nats.jwt = user_jwt.unwrap_or_default();
        resp.nats.error = error.unwrap_or_default();
        // Operator mode, signed by a signing key of the callout account: name the account.
        if let Some(acc) = &self.callout_account {
            if self.issuer.public_key() != acc.as_str() {
                resp.nats.issuer_account = acc.clone();
            }
        }
        let mut signer = Key::Held(&self.issuer);
        let callout_account = self.callout_account.as_deref();
        self.policy
            .response(&mut resp, &mut signer, req, callout_account);
        let token = self.policy.encode(&mut resp, signer.signer());
        let token = self
            .policy
            .response_token(token, &mut resp, signer.signer());
        // Sealed to the signed `server_id.xkey`, never to the unsigned header (`§1.4`).
        let reference = match header {
            Some(_) => Sealing::To(&req.nats.server_id.xkey),
            None => Sealing::Plain,
        };
        let channel = match self.policy.sealing(reference, header) {
            Sealing::Plain => return Outcome::Reply(token.into_bytes()),
            Sealing::To(server_xkey) => self.channel(server_xkey),
            Sealing::WithFreshKey(server_xkey) => CurvePublic::parse(server_xkey)
                .ok()
                .map(|p| CurveSecret::generate().channel_to(&p)),
        };
        match channel {
            Some(ch) => Outcome::Reply(ch.seal(token.as_bytes())),
            None => Outcome::Silent,
        }
    }
}

/// The user JWT's claims (`protocol.md §1.7`): the grant's account in `aud`, its permissions,
/// `sub` = the request's `user_nkey`. Operator mode: the target account's signing key signs,
/// `issuer_account` names the account, and `aud` is left out (the server places by the issuer
/// account). A scoped key's template sets the permissions: the user JWT carries none, and no
/// limits (absent, not -1), or the server refuses it.
fn user_claims(req: &AuthRequestClaims, grant: &Grant, key: Option<&AccountKey>) -> Claims<User> {
    let mut claims: Claims<User> = Claims {
        aud: grant.account.to_string(),
        name: grant.name.to_string(),
        sub: req.nats.user_nkey.clone(),
        ..Claims::default()
    };
    claims.nats.publish = grant.permissions.publish.clone();
    claims.nats.subscribe = grant.permissions.subscribe.clone();
    claims.nats.resp = grant.permissions.resp;
    if let Some(k) = key {
        if !k.is_identity() {
            claims.nats.issuer_account = k.account.clone();
        }
        claims.aud = String::new();
        if k.scoped {
            claims.nats.publish = Default::default();
            claims.nats.subscribe = Default::default();
            claims.nats.resp = None;
            claims.nats.subs = 0;
            claims.nats.data = 0;
            claims.nats.payload = 0;
        }
    }
    claims
}
