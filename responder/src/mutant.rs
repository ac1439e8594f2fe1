//! The `callout-mutant` binary's policy: deliberate defects ([`Fault`], `-fault NAME`) and
//! harmless quirks (`crate::quirks`, `-quirk NAME`), each bending one seam of
//! [`crate::policy::Policy`]. It exists only to prove that the conformance suite catches
//! every defect and tolerates every quirk; see `docs/mutants.md`.

use std::borrow::Cow;
use std::sync::Mutex;
use std::time::Duration;

use callout_codec::claims::NatsPayload;
use callout_codec::nkey::{KeyCache, KeyKind};
use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, AuthResponse, Claims, ClientTls, JwtError, Signer, User,
};

use crate::handler::{Denial, Grant, Refusal, INVALID_CREDENTIALS};
use crate::operator::AccountKey;
use crate::policy::{Key, Policy, Sealing, UserJwt};
use crate::quirks::Quirks;
use crate::users::{Permissions, UserDirectory};

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
    /// Take the unsigned `Nats-Server-Xkey` header over the signed `server_id.xkey`: admit a
    /// request whose header differs and seal the answer to the header key, so whoever rewrote
    /// the header reads the user JWT (credential theft).
    SealToHeaderKey,
    /// Admit a request whose `Nats-Server-Xkey` header differs from the signed
    /// `server_id.xkey` (opened with the header key, as every responder must), but seal the
    /// answer to the signed key: trusts the header for the decision, leaks nothing.
    HeaderKeySignedAnswer,
    /// Verify a request without `nats.version` (a v1 claim, signed over the payload alone) as
    /// if it were v2, over `header.payload`, as a library that picks the scheme from the
    /// header's `alg` does (`protocol.md §1.2`, Version trap).
    AcceptV1,
    /// Log every password and token a client presents, at info level.
    LogSecrets,
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
        ("seal-to-header-key", Fault::SealToHeaderKey),
        ("header-key-signed-answer", Fault::HeaderKeySignedAnswer),
        ("accept-v1", Fault::AcceptV1),
        ("log-secrets", Fault::LogSecrets),
    ];

    /// Looks a fault up by flag name.
    pub fn by_name(name: &str) -> Option<Fault> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }
}

/// The previous admission, for `swap-decisions`: how many there were, and the last one's
/// account and permissions.
type Swapped = (u64, Option<(String, Permissions)>);

/// The faults and quirks a `callout-mutant` runs with. With none it behaves as the reference.
pub struct Mutant {
    faults: Vec<Fault>,
    quirks: Quirks,
    swapped: Mutex<Swapped>,
}

impl Mutant {
    /// A mutant with these faults and quirks.
    pub fn new(faults: Vec<Fault>, quirks: Quirks) -> Mutant {
        Mutant {
            faults,
            quirks,
            swapped: Mutex::new((0, None)),
        }
    }

    /// True when `fault` is set.
    pub fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// The quirks set.
    pub fn quirks(&self) -> &Quirks {
        &self.quirks
    }

    /// Operator mode: the faults that bend the user JWT of an account with a signing key.
    fn operator_user_jwt<'a>(
        &self,
        claims: &mut Claims<User>,
        key: &mut Key<'a>,
        account_key: &AccountKey,
        ctx: &UserJwt<'a>,
    ) {
        if self.quirks.operator_extras {
            claims.aud = ctx.grant.account.to_string();
        }
        if self.has(Fault::NoIssuerAccount) {
            claims.nats.issuer_account.clear();
        }
        if self.has(Fault::WrongIssuerAccount) {
            claims.nats.issuer_account = ctx.req.sub.clone();
        }
        if account_key.scoped && self.has(Fault::ScopedPermissions) {
            claims.nats.publish = ctx.grant.permissions.publish.clone();
            claims.nats.subscribe = ctx.grant.permissions.subscribe.clone();
            claims.nats.resp = ctx.grant.permissions.resp;
        }
        if account_key.scoped && self.has(Fault::ScopedLimits) {
            let go = User::default();
            (claims.nats.subs, claims.nats.data, claims.nats.payload) =
                (go.subs, go.data, go.payload);
        }
        if self.has(Fault::WrongAccountKey) {
            if let Some(other) = ctx.signing.and_then(|s| s.other_than(&account_key.account)) {
                *key = Key::Held(&other.signer);
            }
        }
    }
}

/// Verifies a request that carries no `nats.version` as if it were v2: the signature over
/// `header.payload` by an `N` issuer (`accept-v1`).
fn decode_v1_as_v2(token: &str, keys: &KeyCache) -> Option<AuthRequestClaims> {
    let claims = jwt::decode_unverified::<AuthRequest>(token).ok()?;
    let raw = jwt::RawToken::split(token).ok()?;
    jwt::check_header(&jwt::b64_decode(raw.header, "header").ok()?).ok()?;
    let sig = jwt::b64_decode(raw.signature, "signature").ok()?;
    let issuer = keys.get(&claims.iss).ok()?;
    if issuer.kind() != Some(KeyKind::Server) {
        return None;
    }
    issuer
        .verify(raw.signing_input(token).as_bytes(), &sig)
        .ok()?;
    Some(claims)
}

fn pad_b64(part: &str) -> String {
    let mut s = part.to_string();
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

impl Policy for Mutant {
    fn header<'h>(&self, header: Option<&'h str>) -> Option<&'h str> {
        header.filter(|_| !self.quirks.no_xkey)
    }

    fn decode(&self, token: &str, keys: &KeyCache) -> Option<AuthRequestClaims> {
        if self.has(Fault::SkipSignatureCheck) {
            return jwt::decode_unverified::<AuthRequest>(token).ok();
        }
        match jwt::decode_cached::<AuthRequest>(token, keys) {
            Ok(req) => Some(req),
            Err(JwtError::Signature(1)) if self.has(Fault::AcceptV1) => {
                decode_v1_as_v2(token, keys)
            }
            Err(_) => None,
        }
    }

    fn undecodable(&self) {
        if self.has(Fault::CrashOnGarbage) {
            std::process::exit(101);
        }
    }

    fn decoded(&self, req: &AuthRequestClaims) {
        if self.has(Fault::LogSecrets) {
            let opts = &req.nats.connect_opts;
            tracing::info!(
                user = %crate::log::quoted(&opts.user),
                password = %opts.pass.expose(),
                token = %opts.auth_token.expose(),
                "fault log-secrets: the credentials presented"
            );
        }
    }

    fn overlooks(&self, refusal: Refusal) -> bool {
        match refusal {
            Refusal::Issuer => self.has(Fault::SkipIssuerCheck),
            Refusal::Times(_) => self.has(Fault::SkipExpCheck),
            Refusal::HeaderXkey => {
                self.has(Fault::SealToHeaderKey) || self.has(Fault::HeaderKeySignedAnswer)
            }
            _ => false,
        }
    }

    fn certificate_subject(&self, tls: Option<&ClientTls>) -> Option<String> {
        crate::cert::verified_subject(tls).or_else(|| {
            if self.has(Fault::TrustUnverifiedCert) {
                crate::cert::unverified_subject(tls)
            } else {
                None
            }
        })
    }

    fn reconsider<'a>(
        &self,
        denial: &Denial<'a>,
        users: &'a UserDirectory,
    ) -> Result<Grant<'a>, String> {
        let admitted = match denial {
            Denial::BadNonceSignature { name, entry } if self.has(Fault::SkipNonceCheck) => {
                Some(Grant::of(name, entry))
            }
            Denial::UnknownCertificate if self.has(Fault::AdmitUnknownCert) => users
                .cert_users()
                .into_iter()
                .next()
                .map(|(name, entry)| Grant::of(name, entry)),
            Denial::UnknownUser { name, .. }
                if self.has(Fault::AdmitUnknown) && !name.is_empty() =>
            {
                Some(Grant {
                    name,
                    account: Cow::Borrowed("APP"),
                    permissions: Cow::Owned(Permissions::default()),
                })
            }
            Denial::WrongPassword { name, entry, pass }
                if self.has(Fault::AdmitEmptyPassword)
                    && entry.pass.is_some()
                    && pass.is_empty() =>
            {
                Some(Grant::of(name, entry))
            }
            _ => None,
        };
        if let Some(grant) = admitted {
            return Ok(grant);
        }
        match denial {
            Denial::UnknownUser { pass, .. } | Denial::WrongPassword { pass, .. }
                if self.has(Fault::PasswordInError) =>
            {
                Err(format!(
                    "{INVALID_CREDENTIALS}: {} != expected",
                    pass.expose()
                ))
            }
            _ => Err(INVALID_CREDENTIALS.into()),
        }
    }

    /// `swap-decisions`: every fifth admission gets the previous admission's account and
    /// permissions; every admission is remembered for the next.
    fn decide<'a>(&self, grant: Grant<'a>) -> Grant<'a> {
        if !self.has(Fault::SwapDecisions) {
            return grant;
        }
        let mut g = self
            .swapped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.0 += 1;
        let current = (
            grant.account.to_string(),
            grant.permissions.clone().into_owned(),
        );
        match g.1.replace(current) {
            Some((account, permissions)) if g.0.is_multiple_of(5) => Grant {
                name: grant.name,
                account: Cow::Owned(account),
                permissions: Cow::Owned(permissions),
            },
            _ => grant,
        }
    }

    fn user_jwt<'a>(&self, claims: &mut Claims<User>, key: &mut Key<'a>, ctx: &UserJwt<'a>) {
        if let Some(account_key) = ctx.key {
            self.operator_user_jwt(claims, key, account_key, ctx);
        }
        if self.has(Fault::NoAccount) {
            claims.aud.clear();
        }
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
        if self.has(Fault::WrongSigner) {
            *key = Key::Fresh(Box::new(Signer::generate(KeyKind::Account)));
        }
    }

    fn response<'a>(
        &self,
        resp: &mut Claims<AuthResponse>,
        key: &mut Key<'a>,
        req: &AuthRequestClaims,
        callout_account: Option<&str>,
    ) {
        if let Some(acc) = callout_account.filter(|_| self.quirks.operator_extras) {
            resp.nats.issuer_account = acc.to_string();
        }
        if self.has(Fault::WrongAud) {
            resp.aud = Signer::generate(KeyKind::Server).public_key().to_string();
        }
        if self.has(Fault::WrongSub) {
            resp.sub = Signer::generate(KeyKind::User).public_key().to_string();
        }
        if self.has(Fault::SpoofIssuerAccount) {
            resp.nats.issuer_account = req.sub.clone();
        }
        if self.has(Fault::WrongSigner)
            || self.has(Fault::ForeignResponseSigner)
            || self.has(Fault::SpoofIssuerAccount)
        {
            *key = Key::Fresh(Box::new(Signer::generate(KeyKind::Account)));
        }
    }

    fn encode<N: NatsPayload>(&self, claims: &mut Claims<N>, signer: &Signer) -> String {
        self.quirks.encode(claims, signer)
    }

    fn response_token(
        &self,
        mut token: String,
        resp: &mut Claims<AuthResponse>,
        signer: &Signer,
    ) -> String {
        if self.has(Fault::MissingVersion) {
            resp.nats.version = 0;
            token = jwt::sign_payload(&jwt::to_json(resp), signer);
        }
        if self.has(Fault::PaddedBase64) {
            token = token.split('.').map(pad_b64).collect::<Vec<_>>().join(".");
        }
        token
    }

    fn sealing<'a>(&self, reference: Sealing<'a>, header: Option<&'a str>) -> Sealing<'a> {
        let Sealing::To(server_xkey) = reference else {
            return reference;
        };
        if self.has(Fault::UnsealedReply) {
            Sealing::Plain
        } else if self.has(Fault::WrongSealKey) {
            Sealing::WithFreshKey(server_xkey)
        } else if self.has(Fault::SealToHeaderKey) {
            Sealing::To(header.unwrap_or(server_xkey))
        } else {
            reference
        }
    }

    fn silenced(&self) -> bool {
        self.quirks.silenced()
    }

    fn hold(&self) -> Option<Duration> {
        self.quirks.hold()
    }

    fn double_reply(&self) -> bool {
        self.has(Fault::DoubleReply)
    }

    fn before_connecting(&self) {
        self.quirks.wait_before_connecting();
    }
}
