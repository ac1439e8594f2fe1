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
//! | `user_nkey` is a `U` key | not | **none** |
//! | `aud == "nats-authorization-request"`, `iss == server_id.id`; times: `exp > 0` and not passed, `exp >= iat`, `iat` at most [`MAX_CLOCK_SKEW_SECS`] ahead, `nbf` (when > 0) not after now; header xkey `== server_id.xkey`, sealed iff an xkey is configured; replay guard: not seen before, `exp` at most [`REPLAY_HORIZON_SECS`] ahead, guard not full of unexpired requests | any | signed error |
//! | CONNECT `nkey` set: a users.json `nkey` user, and `sig` a valid signature by that key over `client_info.nonce` | any | signed error `invalid credentials` |
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

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use callout_codec::nkey::{self, KeyKind};
use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, AuthResponse, Claims, CurvePublic, CurveSecret,
    SealingChannel, Signer, User,
};

use crate::users::UserDirectory;

/// The generic reason for every credential failure, so that a rejected client cannot tell an
/// unknown user from a wrong password.
pub const INVALID_CREDENTIALS: &str = "invalid credentials";

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
    /// The user name the client gave, made safe for a log line (never the password).
    pub user: String,
}

/// Deliberate defects, for proving the conformance suite catches them. Only the
/// `callout-mutant` binary sets any; the reference responder runs with none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Do not verify the request signature.
    SkipSignatureCheck,
    /// Do not check the request `exp`.
    SkipExpCheck,
    /// Response `aud` is not the server id.
    WrongAud,
    /// Response and user `sub` are a fresh key instead of `user_nkey`.
    WrongSub,
    /// Pad the base64 of the response JWT.
    PaddedBase64,
    /// Omit `nats.version` from the response.
    MissingVersion,
    /// Drop deny lists from the user JWT.
    IgnoreDeny,
    /// Drop `resp` from the user JWT.
    IgnoreResp,
    /// Echo the password in the error text.
    PasswordInError,
    /// Admit unknown users into the first account seen.
    AdmitUnknown,
    /// Admit an empty password.
    AdmitEmptyPassword,
    /// Answer sealed requests in plaintext.
    UnsealedReply,
    /// Seal the reply with a fresh key instead of the configured xkey.
    WrongSealKey,
    /// Exit the process on a request that does not decode.
    CrashOnGarbage,
    /// Send two replies to each request.
    DoubleReply,
    /// Do not check `iss == server_id.id`.
    SkipIssuerCheck,
    /// `resp.ttl` in seconds instead of nanoseconds.
    TtlInSeconds,
    /// Leave the user JWT `aud` (the placement account) empty.
    NoAccount,
    /// Sign with a fresh account key instead of the issuer.
    WrongSigner,
    /// Admit a known nkey without verifying `sig` over `client_info.nonce`.
    SkipNonceCheck,
    /// Give user JWTs an `exp` two seconds ahead, so sessions end early.
    ShortExpiry,
    /// Admit a verified client certificate whose subject no user has, as the first
    /// certificate user.
    AdmitUnknownCert,
    /// Place a client by a certificate the server did not verify (`client_tls.certs`).
    TrustUnverifiedCert,
    /// Give every fifth admitted client the account and permissions of the client admitted
    /// before it (decisions mixed up under load), with its own `user_nkey`, so the server
    /// accepts the answer.
    SwapDecisions,
    /// Operator mode: sign with the target account's signing key but leave out
    /// `issuer_account`.
    NoIssuerAccount,
    /// Operator mode: ignore `-signing.keys` and sign every user JWT with the issuer, as in
    /// config mode.
    IgnoreSigningKeys,
    /// Operator mode: give a user signed by a scoped key its users.json permissions.
    ScopedPermissions,
    /// Operator mode: give a user signed by a scoped key Go's `NewUserClaims` limits (-1).
    ScopedLimits,
    /// Operator mode: sign the response with a fresh account key (the user JWT stays right).
    ForeignResponseSigner,
    /// Operator mode: sign the response with a fresh account key and claim
    /// `issuer_account` = the callout account.
    SpoofIssuerAccount,
    /// Operator mode: sign the user JWT with another target account's key, keeping
    /// `issuer_account` = the right account.
    WrongAccountKey,
    /// Operator mode: set the user JWT's `issuer_account` to the callout account instead of the
    /// target account.
    WrongIssuerAccount,
}

impl Fault {
    /// Every fault, with its flag name.
    pub const ALL: &'static [(&'static str, Fault)] = &[
        ("skip-signature-check", Fault::SkipSignatureCheck),
        ("skip-exp-check", Fault::SkipExpCheck),
        ("skip-issuer-check", Fault::SkipIssuerCheck),
        ("wrong-aud", Fault::WrongAud),
        ("wrong-sub", Fault::WrongSub),
        ("padded-base64", Fault::PaddedBase64),
        ("missing-version", Fault::MissingVersion),
        ("ignore-deny", Fault::IgnoreDeny),
        ("ignore-resp", Fault::IgnoreResp),
        ("ttl-in-seconds", Fault::TtlInSeconds),
        ("password-in-error", Fault::PasswordInError),
        ("admit-unknown", Fault::AdmitUnknown),
        ("admit-empty-password", Fault::AdmitEmptyPassword),
        ("unsealed-reply", Fault::UnsealedReply),
        ("wrong-seal-key", Fault::WrongSealKey),
        ("crash-on-garbage", Fault::CrashOnGarbage),
        ("double-reply", Fault::DoubleReply),
        ("no-account", Fault::NoAccount),
        ("wrong-signer", Fault::WrongSigner),
        ("skip-nonce-check", Fault::SkipNonceCheck),
        ("short-expiry", Fault::ShortExpiry),
        ("admit-unknown-cert", Fault::AdmitUnknownCert),
        ("trust-unverified-cert", Fault::TrustUnverifiedCert),
        ("swap-decisions", Fault::SwapDecisions),
        ("no-issuer-account", Fault::NoIssuerAccount),
        ("ignore-signing-keys", Fault::IgnoreSigningKeys),
        ("scoped-permissions", Fault::ScopedPermissions),
        ("scoped-limits", Fault::ScopedLimits),
        ("foreign-response-signer", Fault::ForeignResponseSigner),
        ("spoof-issuer-account", Fault::SpoofIssuerAccount),
        ("wrong-account-key", Fault::WrongAccountKey),
        ("wrong-issuer-account", Fault::WrongIssuerAccount),
    ];

    /// Looks a fault up by flag name.
    pub fn by_name(name: &str) -> Option<Fault> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }
}

/// How far in the future a request's `iat` may be, for clock skew between the server and
/// the responder: [`Responder::handle`] refuses a request issued more than this many seconds
/// ahead of its own clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;

/// How far ahead a request's `exp` may be. The replay guard must remember a request until it
/// expires, so a request valid for longer than this cannot be guarded against replay and is
/// refused. The server sets `exp = now + authorization.timeout`, normally seconds.
pub const REPLAY_HORIZON_SECS: i64 = 600;

/// How many requests the replay guard remembers at most. When it is full of requests that
/// have not expired, new requests are refused (fail closed) until some expire.
pub const REPLAY_GUARD_CAPACITY: usize = 100_000;

/// What the replay guard says about one request.
#[derive(Debug, PartialEq, Eq)]
enum Sighting {
    /// Not seen before (or seen and expired): recorded, go on.
    First,
    /// Seen before and not expired.
    Replay,
    /// `exp` is beyond the horizon: the guard would have to remember it too long.
    BeyondHorizon,
    /// Full of unexpired entries: nothing can be recorded, so nothing is admitted.
    Full,
}

/// Request user keys seen recently, to refuse replays until the request would have expired.
/// Bounded twice: by count (`capacity`) and by time (an entry lives at most
/// [`REPLAY_HORIZON_SECS`] past its insertion, because a request whose `exp` is further
/// ahead is never recorded).
struct ReplayGuard {
    seen: HashMap<String, i64>,
    capacity: usize,
    /// When the expired entries were last dropped: at most once a second, so that a full
    /// guard whose entries are all still valid does not rescan itself on every request.
    swept_at: i64,
}

impl ReplayGuard {
    fn new(capacity: usize) -> ReplayGuard {
        ReplayGuard {
            seen: HashMap::new(),
            capacity,
            swept_at: i64::MIN,
        }
    }

    /// Records `user_nkey` until `exp`, unless it is a replay, `exp` is beyond the horizon or
    /// the guard is full of unexpired entries.
    fn sight(&mut self, user_nkey: &str, exp: i64, now: i64) -> Sighting {
        if exp > now.saturating_add(REPLAY_HORIZON_SECS) {
            return Sighting::BeyondHorizon;
        }
        if let Some(e) = self.seen.get_mut(user_nkey) {
            if *e >= now {
                return Sighting::Replay;
            }
            *e = exp;
            return Sighting::First;
        }
        if self.seen.len() >= self.capacity {
            if now != self.swept_at {
                self.seen.retain(|_, e| *e >= now);
                self.swept_at = now;
            }
            if self.seen.len() >= self.capacity {
                return Sighting::Full;
            }
        }
        self.seen.insert(user_nkey.to_string(), exp);
        Sighting::First
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

/// The responder's state: keys, users, and caches shared by every handler task (the X25519
/// box per server xkey, the parsed key per server `N` key, the replay guard).
pub struct Responder {
    issuer: Signer,
    xkey: Option<CurveSecret>,
    users: UserDirectory,
    channels: RwLock<HashMap<String, SealingChannel>>,
    server_keys: nkey::KeyCache,
    replays: Mutex<ReplayGuard>,
    faults: Vec<Fault>,
    quirks: crate::quirks::Quirks,
    /// Operator mode: the target accounts' signing keys (`-signing.keys`).
    signing: Option<crate::operator::SigningKeys>,
    /// Operator mode: the callout account (from the `-nats.creds` JWT): requests for another
    /// account are dropped, and a response signed by a signing key names it in
    /// `issuer_account`.
    callout_account: Option<String>,
    /// `swap-decisions`: the previous admission's account and permissions, and a counter.
    swapped: Mutex<(u64, Option<(String, crate::users::Permissions)>)>,
}

fn safe_for_log(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
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
            faults: Vec::new(),
            quirks: crate::quirks::Quirks::default(),
            swapped: Mutex::new((0, None)),
            signing: None,
            callout_account: None,
        }
    }

    /// Sets how many requests the replay guard remembers (default
    /// [`REPLAY_GUARD_CAPACITY`]); tests use a small bound to reach it.
    pub fn with_replay_capacity(self, capacity: usize) -> Responder {
        if let Ok(mut g) = self.replays.lock() {
            *g = ReplayGuard::new(capacity);
        }
        self
    }

    /// How many requests the replay guard remembers now.
    pub fn replay_guard_len(&self) -> usize {
        self.replays.lock().map(|g| g.seen.len()).unwrap_or(0)
    }

    /// Operator mode: user JWTs signed by the target account's signing key, with
    /// `issuer_account` (`crate::operator`).
    pub fn with_signing_keys(mut self, keys: Option<crate::operator::SigningKeys>) -> Responder {
        self.signing = keys;
        self
    }

    /// Operator mode: the callout account the responder serves (`A…`).
    pub fn with_callout_account(mut self, account: Option<String>) -> Responder {
        self.callout_account = account;
        self
    }

    /// Sets deliberate defects (mutant builds only).
    pub fn with_faults(mut self, faults: Vec<Fault>) -> Responder {
        self.faults = faults;
        self
    }

    /// Sets quirks (mutant builds only): differences that are not defects.
    pub fn with_quirks(mut self, quirks: crate::quirks::Quirks) -> Responder {
        self.quirks = quirks;
        self
    }

    /// The quirks set, none for the reference.
    pub fn quirks(&self) -> &crate::quirks::Quirks {
        &self.quirks
    }

    fn has(&self, f: Fault) -> bool {
        !self.faults.is_empty() && self.faults.contains(&f)
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
        let drop = |reason: &'static str| Handled {
            outcome: Outcome::Silent,
            verdict: Verdict::Dropped { reason },
            user: String::new(),
        };
        let sealed = header_xkey.is_some();
        let opened;
        let token_bytes: &[u8] = match header_xkey {
            Some(hk) => {
                let Some(ch) = self.channel(hk) else {
                    return drop(if self.xkey.is_none() {
                        "sealed request but no -xkey.seed configured"
                    } else {
                        "bad Nats-Server-Xkey header"
                    });
                };
                match ch.open(body) {
                    Ok(b) => {
                        opened = b;
                        &opened
                    }
                    Err(_) => return drop("sealed request does not open with our xkey"),
                }
            }
            None => body,
        };
        let Ok(token) = std::str::from_utf8(token_bytes) else {
            if self.has(Fault::CrashOnGarbage) {
                std::process::exit(101);
            }
            return drop("request is not UTF-8");
        };
        let decoded = if self.has(Fault::SkipSignatureCheck) {
            decode_unverified(token)
        } else {
            jwt::decode_cached::<AuthRequest>(token, &self.server_keys).ok()
        };
        let Some(req) = decoded else {
            if self.has(Fault::CrashOnGarbage) {
                std::process::exit(101);
            }
            return drop("request is not a valid signed authorization request");
        };
        if !nkey::is_public(&req.nats.user_nkey, KeyKind::User) {
            return drop("request user_nkey is not a user key");
        }
        // Operator mode: the server names its callout account in `sub`; a request for
        // another account is not ours to answer.
        if let Some(acc) = &self.callout_account {
            if req.sub != *acc {
                return drop("request is for another callout account");
            }
        }
        let user = safe_for_log(&req.nats.connect_opts.user);
        let reject = |reason: &'static str, text: String| {
            let outcome = self.respond(&req, sealed, None, Some(text));
            Handled {
                outcome,
                verdict: Verdict::Rejected { reason },
                user: user.clone(),
            }
        };
        if req.aud != callout_codec::AUTH_REQUEST_AUDIENCE {
            return reject(
                "wrong request audience",
                "not an authorization request".into(),
            );
        }
        if req.iss != req.nats.server_id.id && !self.has(Fault::SkipIssuerCheck) {
            return reject(
                "request issuer is not server_id.id",
                "request issuer does not match server id".into(),
            );
        }
        if !self.has(Fault::SkipExpCheck) {
            if let Err(reason) = check_times(&req, now) {
                return reject(reason, reason.into());
            }
        }
        if let Some(hk) = header_xkey {
            if hk != req.nats.server_id.xkey {
                return reject(
                    "header xkey differs from server_id.xkey",
                    "request xkey mismatch".into(),
                );
            }
        } else if self.xkey.is_some() {
            return reject(
                "plaintext request but an xkey is configured",
                "encryption mismatch: expected a sealed request".into(),
            );
        }
        // A poisoned lock still holds a consistent map (no code path panics while holding
        // it); take it rather than admit without a replay check.
        let sighting = self
            .replays
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sight(&req.nats.user_nkey, req.exp, now);
        match sighting {
            Sighting::First => {}
            Sighting::Replay => return reject("replayed request", "replayed request".into()),
            Sighting::BeyondHorizon => {
                return reject(
                    "request expiry too far ahead: cannot guard against replay",
                    "request expiry too far ahead: cannot guard against replay".into(),
                )
            }
            Sighting::Full => {
                return reject(
                    "replay guard full: too many unexpired requests",
                    "responder busy: too many unexpired requests".into(),
                )
            }
        }
        // Credentials: an nkey, else a token without a user name, else user and password.
        let opts = &req.nats.connect_opts;
        if !opts.nkey.is_empty() {
            let Some((name, entry)) = self.users.by_nkey(&opts.nkey) else {
                return reject(INVALID_CREDENTIALS, INVALID_CREDENTIALS.into());
            };
            let signed = callout_codec::nkey::verify_nonce_signature(
                &opts.nkey,
                &req.nats.client_info.nonce,
                &opts.sig,
            )
            .is_ok();
            if !signed && !self.has(Fault::SkipNonceCheck) {
                return reject(INVALID_CREDENTIALS, INVALID_CREDENTIALS.into());
            }
            let user = safe_for_log(name);
            return self.admit(&req, sealed, name, &entry.account, &entry.permissions, user);
        }
        // A client certificate the server verified, and no other credential: its subject
        // names the user (the `cert_subject` extension).
        if opts.user.is_empty() && opts.auth_token.is_empty() {
            let tls = req.nats.client_tls.as_ref();
            let subject = crate::cert::verified_subject(tls).or_else(|| {
                if self.has(Fault::TrustUnverifiedCert) {
                    crate::cert::unverified_subject(tls)
                } else {
                    None
                }
            });
            if let Some(subject) = subject {
                let found = self.users.by_cert_subject(&subject).or_else(|| {
                    if self.has(Fault::AdmitUnknownCert) {
                        self.users.cert_users().into_iter().next()
                    } else {
                        None
                    }
                });
                let Some((name, entry)) = found else {
                    return reject(INVALID_CREDENTIALS, INVALID_CREDENTIALS.into());
                };
                let user = safe_for_log(name);
                return self.admit(&req, sealed, name, &entry.account, &entry.permissions, user);
            }
        }
        if opts.user.is_empty() && !opts.auth_token.is_empty() {
            let Some((name, entry)) = self.users.by_token(opts.auth_token.expose()) else {
                return reject(INVALID_CREDENTIALS, INVALID_CREDENTIALS.into());
            };
            let user = safe_for_log(name);
            return self.admit(&req, sealed, name, &entry.account, &entry.permissions, user);
        }
        let name = &req.nats.connect_opts.user;
        let pass = &req.nats.connect_opts.pass;
        let entry = if name.is_empty() {
            None
        } else {
            self.users.get(name)
        };
        let bad_creds = |text: String| reject(INVALID_CREDENTIALS, text);
        let leak = |base: &str| {
            if self.has(Fault::PasswordInError) {
                format!("{base}: {} != expected", pass.expose())
            } else {
                base.to_string()
            }
        };
        let entry = match entry {
            Some(e) => e,
            None => {
                // Spend the same work as a real comparison.
                let _ = callout_codec::Secret::new("x").ct_matches(pass.expose());
                if self.has(Fault::AdmitUnknown) && !name.is_empty() {
                    return self.admit(
                        &req,
                        sealed,
                        name,
                        "APP",
                        &crate::users::Permissions::default(),
                        user,
                    );
                }
                return bad_creds(leak(INVALID_CREDENTIALS));
            }
        };
        let ok = match &entry.pass {
            None => false,
            Some(expected) => {
                let matches = expected.ct_matches(pass.expose());
                (matches && !pass.is_empty())
                    || (self.has(Fault::AdmitEmptyPassword) && pass.is_empty())
            }
        };
        if !ok {
            return bad_creds(leak(INVALID_CREDENTIALS));
        }
        self.admit(&req, sealed, name, &entry.account, &entry.permissions, user)
    }

    fn admit(
        &self,
        req: &AuthRequestClaims,
        sealed: bool,
        name: &str,
        account: &str,
        perms: &crate::users::Permissions,
        user: String,
    ) -> Handled {
        let swapped;
        let (account, perms) = if self.has(Fault::SwapDecisions) {
            swapped = self.swap_decision(account, perms);
            (swapped.0.as_str(), &swapped.1)
        } else {
            (account, perms)
        };
        let mut claims: Claims<User> = Claims {
            aud: if self.has(Fault::NoAccount) {
                String::new()
            } else {
                account.to_string()
            },
            name: name.to_string(),
            sub: req.nats.user_nkey.clone(),
            ..Claims::default()
        };
        claims.nats.publish = perms.publish.clone();
        claims.nats.subscribe = perms.subscribe.clone();
        claims.nats.resp = perms.resp;
        if self.has(Fault::IgnoreDeny) {
            claims.nats.publish.deny.clear();
            claims.nats.subscribe.deny.clear();
        }
        if self.has(Fault::IgnoreResp) {
            claims.nats.resp = None;
        }
        if self.has(Fault::TtlInSeconds) {
            if let Some(r) = claims.nats.resp.as_mut() {
                r.ttl /= 1_000_000_000;
            }
        }
        if self.has(Fault::WrongSub) {
            claims.sub = Signer::generate(KeyKind::User).public_key().to_string();
        }
        if self.has(Fault::ShortExpiry) {
            claims.exp = callout_codec::unix_now() + 2;
        }
        // Operator mode: the target account's signing key signs, `issuer_account` names the
        // account, and `aud` is left out (the server places by the issuer account).
        // A scoped key's template sets the permissions: the user JWT carries none, and no
        // limits (absent, not -1), or the server refuses it (`protocol.md §1.7`).
        let account_key = self
            .signing
            .as_ref()
            .filter(|_| !self.has(Fault::IgnoreSigningKeys))
            .and_then(|k| k.get(account));
        if let Some(k) = account_key {
            if !k.is_identity() && !self.has(Fault::NoIssuerAccount) {
                claims.nats.issuer_account = k.account.clone();
            }
            if self.has(Fault::WrongIssuerAccount) {
                claims.nats.issuer_account = req.sub.clone();
            }
            if !self.quirks.operator_extras {
                claims.aud = String::new();
            }
            if k.scoped {
                if !self.has(Fault::ScopedPermissions) {
                    claims.nats.publish = Default::default();
                    claims.nats.subscribe = Default::default();
                    claims.nats.resp = None;
                }
                if !self.has(Fault::ScopedLimits) {
                    claims.nats.subs = 0;
                    claims.nats.data = 0;
                    claims.nats.payload = 0;
                }
            }
        }
        let other_key = account_key
            .filter(|_| self.has(Fault::WrongAccountKey))
            .and_then(|k| self.signing.as_ref()?.other_than(&k.account));
        let user_jwt = if self.has(Fault::WrongSigner) {
            self.quirks
                .encode(&mut claims, &Signer::generate(KeyKind::Account))
        } else if let Some(k) = other_key {
            self.quirks.encode(&mut claims, &k.signer)
        } else if let Some(k) = account_key {
            self.quirks.encode(&mut claims, &k.signer)
        } else {
            self.quirks.encode(&mut claims, &self.issuer)
        };
        let outcome = self.respond(req, sealed, Some(user_jwt), None);
        Handled {
            outcome,
            verdict: Verdict::Admitted {
                account: account.to_string(),
            },
            user,
        }
    }

    /// `swap-decisions`: every fifth admission gets the previous admission's account and
    /// permissions; every admission is remembered for the next.
    fn swap_decision(
        &self,
        account: &str,
        perms: &crate::users::Permissions,
    ) -> (String, crate::users::Permissions) {
        let mut g = self
            .swapped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.0 += 1;
        let previous = g.1.replace((account.to_string(), perms.clone()));
        match previous {
            Some(p) if g.0.is_multiple_of(5) => p,
            _ => (account.to_string(), perms.clone()),
        }
    }

    /// Builds, signs and (when the request was sealed) seals the response.
    fn respond(
        &self,
        req: &AuthRequestClaims,
        sealed: bool,
        user_jwt: Option<String>,
        error: Option<String>,
    ) -> Outcome {
        if self.quirks.silenced() {
            return Outcome::Silent;
        }
        let mut resp: Claims<AuthResponse> = Claims {
            aud: if self.has(Fault::WrongAud) {
                Signer::generate(KeyKind::Server).public_key().to_string()
            } else {
                req.iss.clone()
            },
            sub: if self.has(Fault::WrongSub) {
                Signer::generate(KeyKind::User).public_key().to_string()
            } else {
                req.nats.user_nkey.clone()
            },
            ..Claims::default()
        };
        resp.nats.jwt = user_jwt.unwrap_or_default();
        resp.nats.error = error.unwrap_or_default();
        // Operator mode, signed by a signing key of the callout account: name the account.
        if let Some(acc) = &self.callout_account {
            if self.issuer.public_key() != acc.as_str() || self.quirks.operator_extras {
                resp.nats.issuer_account = acc.clone();
            }
        }
        let signer_storage;
        let signer = if self.has(Fault::WrongSigner)
            || self.has(Fault::ForeignResponseSigner)
            || self.has(Fault::SpoofIssuerAccount)
        {
            if self.has(Fault::SpoofIssuerAccount) {
                resp.nats.issuer_account = req.sub.clone();
            }
            signer_storage = Signer::generate(KeyKind::Account);
            &signer_storage
        } else {
            &self.issuer
        };
        let mut token = self.quirks.encode(&mut resp, signer);
        if self.has(Fault::MissingVersion) {
            resp.nats.version = 0;
            let payload = jwt::to_json(&resp);
            token = jwt::sign_payload(&payload, signer);
        }
        if self.has(Fault::PaddedBase64) {
            token = token.split('.').map(pad_b64).collect::<Vec<_>>().join(".");
        }
        if sealed && !self.has(Fault::UnsealedReply) {
            let server_xkey = &req.nats.server_id.xkey;
            let ch = if self.has(Fault::WrongSealKey) {
                CurvePublic::parse(server_xkey)
                    .ok()
                    .map(|p| CurveSecret::generate().channel_to(&p))
            } else {
                self.channel(server_xkey)
            };
            match ch {
                Some(ch) => return Outcome::Reply(ch.seal(token.as_bytes())),
                None => return Outcome::Silent,
            }
        }
        Outcome::Reply(token.into_bytes())
    }

    /// True when the double-reply fault is set.
    pub fn double_reply(&self) -> bool {
        self.has(Fault::DoubleReply)
    }
}

fn pad_b64(part: &str) -> String {
    let mut s = part.to_string();
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// Decodes a request without verifying its signature (the skip-signature-check fault only).
fn decode_unverified(token: &str) -> Option<AuthRequestClaims> {
    jwt::decode_unverified::<AuthRequest>(token).ok()
}

#[cfg(test)]
mod tests {
    use super::{ReplayGuard, Sighting, REPLAY_GUARD_CAPACITY, REPLAY_HORIZON_SECS};

    #[test]
    fn a_full_replay_guard_refuses_replays_and_fresh_keys_until_entries_expire() {
        let mut g = ReplayGuard::new(REPLAY_GUARD_CAPACITY);
        for i in 0..REPLAY_GUARD_CAPACITY {
            assert_eq!(g.sight(&format!("U{i}"), 110, 100), Sighting::First);
        }
        assert_eq!(
            g.sight("U7", 110, 100),
            Sighting::Replay,
            "a replay while full"
        );
        assert_eq!(g.sight("Ufresh", 110, 100), Sighting::Full, "fail closed");
        assert_eq!(g.sight("Ufresh", 110, 101), Sighting::Full, "still full");
        assert_eq!(g.seen.len(), REPLAY_GUARD_CAPACITY);
        // Once they expire, the sweep drops them and the keys may come back.
        assert_eq!(g.sight("Ufresh", 130, 111), Sighting::First);
        assert!(g.seen.len() < 10, "{}", g.seen.len());
        assert_eq!(g.sight("U7", 130, 111), Sighting::First);
    }

    #[test]
    fn the_replay_guard_never_records_an_expiry_beyond_its_horizon() {
        let mut g = ReplayGuard::new(10);
        let now = 1_700_000_000;
        for exp in [now + REPLAY_HORIZON_SECS + 1, now + 315_360_000, i64::MAX] {
            assert_eq!(g.sight("Ufar", exp, now), Sighting::BeyondHorizon);
        }
        assert!(g.seen.is_empty());
        assert_eq!(
            g.sight("Unear", now + REPLAY_HORIZON_SECS, now),
            Sighting::First
        );
        // Extreme clocks do not overflow.
        assert_eq!(g.sight("Umax", i64::MAX, i64::MAX), Sighting::First);
        assert_eq!(g.sight("Umin", i64::MIN, i64::MIN), Sighting::First);
    }
}
