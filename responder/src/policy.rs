//! The seams where a test responder may bend the protocol. Each method is one point of
//! [`crate::handler::Responder::handle`] (or of the service around it) at which a deliberate
//! defect or a harmless quirk can change what the reference does; its default *is* what the
//! reference does. The reference responder runs with [`Reference`], which keeps every default,
//! so the compiler inlines the seams away; [`crate::mutant::Mutant`] (the `callout-mutant`
//! binary's `-fault` and `-quirk`) is the only other implementation.
//!
//! The seams, in the order a request meets them: the request as received (`header`), decoding
//! (`decode`, `undecodable`, `decoded`), the request checks (`overlooks`), the credentials
//! (`certificate_subject`, `reconsider`), the decision (`decide`), the user JWT before signing
//! (`user_jwt`), the response before signing and sealing (`response`, `encode`,
//! `response_token`), the sealing key (`sealing`), and sending (`silenced`, `hold`,
//! `double_reply`, `before_connecting`).

use std::time::Duration;

use callout_codec::claims::NatsPayload;
use callout_codec::nkey::KeyCache;
use callout_codec::{
    jwt, AuthRequest, AuthRequestClaims, AuthResponse, Claims, ClientTls, Signer, User,
};

use crate::handler::{Denial, Grant, Refusal, INVALID_CREDENTIALS};
use crate::operator::{AccountKey, SigningKeys};
use crate::users::UserDirectory;

/// A signing key: one the responder holds, or one made up for a single token.
pub enum Key<'a> {
    /// The issuer, or a target account's signing key.
    Held(&'a Signer),
    /// A key nobody configured (a mutant's wrong signer).
    Fresh(Box<Signer>),
}

impl Key<'_> {
    /// The key pair that signs.
    pub fn signer(&self) -> &Signer {
        match self {
            Key::Held(s) => s,
            Key::Fresh(s) => s,
        }
    }
}

/// How the response leaves (`protocol.md §1.4`, Response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing<'a> {
    /// In plaintext.
    Plain,
    /// Sealed with the configured xkey to this server xkey.
    To(&'a str),
    /// Sealed with a fresh xkey (one the server cannot know) to this server xkey.
    WithFreshKey(&'a str),
}

/// What the user JWT is made from, for [`Policy::user_jwt`].
pub struct UserJwt<'a> {
    /// The request.
    pub req: &'a AuthRequestClaims,
    /// The decision, after [`Policy::decide`].
    pub grant: &'a Grant<'a>,
    /// Operator mode: the placement account's signing key.
    pub key: Option<&'a AccountKey>,
    /// Operator mode: every target account's signing key.
    pub signing: Option<&'a SigningKeys>,
}

/// The seams; see the module documentation. Every default is the reference behaviour.
pub trait Policy: Send + Sync + 'static {
    /// The `Nats-Server-Xkey` header the handler goes by.
    fn header<'h>(&self, header: Option<&'h str>) -> Option<&'h str> {
        header
    }

    /// Decodes and verifies the request token (`protocol.md §1.2`).
    fn decode(&self, token: &str, keys: &KeyCache) -> Option<AuthRequestClaims> {
        jwt::decode_cached::<AuthRequest>(token, keys).ok()
    }

    /// Called when a request is not UTF-8 or does not decode, before it is dropped.
    fn undecodable(&self) {}

    /// Called with every request that decoded, before it is checked.
    fn decoded(&self, _req: &AuthRequestClaims) {}

    /// True when a failed check of the request is to be let through.
    fn overlooks(&self, _refusal: Refusal) -> bool {
        false
    }

    /// The certificate subject that names the user: the one the server verified.
    fn certificate_subject(&self, tls: Option<&ClientTls>) -> Option<String> {
        crate::cert::verified_subject(tls)
    }

    /// Credentials that failed: admitted after all, or the error text of the refusal.
    fn reconsider<'a>(
        &self,
        _denial: &Denial<'a>,
        _users: &'a UserDirectory,
    ) -> Result<Grant<'a>, String> {
        Err(INVALID_CREDENTIALS.into())
    }

    /// The decision: the account and permissions a client is admitted with.
    fn decide<'a>(&self, grant: Grant<'a>) -> Grant<'a> {
        grant
    }

    /// The user JWT's claims and signing key, before it is signed.
    fn user_jwt<'a>(&self, _claims: &mut Claims<User>, _key: &mut Key<'a>, _ctx: &UserJwt<'a>) {}

    /// The response's claims and signing key, before it is signed. `callout_account` is the
    /// operator-mode callout account.
    fn response<'a>(
        &self,
        _resp: &mut Claims<AuthResponse>,
        _key: &mut Key<'a>,
        _req: &AuthRequestClaims,
        _callout_account: Option<&str>,
    ) {
    }

    /// Signs and encodes a JWT (both the user JWT and the response).
    fn encode<N: NatsPayload>(&self, claims: &mut Claims<N>, signer: &Signer) -> String {
        jwt::encode(claims, signer)
    }

    /// The signed response token, before it is sealed.
    fn response_token(
        &self,
        token: String,
        _resp: &mut Claims<AuthResponse>,
        _signer: &Signer,
    ) -> String {
        token
    }

    /// How the response leaves; `reference` is what the protocol says, `header` the
    /// request's `Nats-Server-Xkey` header.
    fn sealing<'a>(&self, reference: Sealing<'a>, _header: Option<&'a str>) -> Sealing<'a> {
        reference
    }

    /// Counts an answer about to be made; true to make none.
    fn silenced(&self) -> bool {
        false
    }

    /// How long to hold an answer before publishing it.
    fn hold(&self) -> Option<Duration> {
        None
    }

    /// True to publish every answer twice.
    fn double_reply(&self) -> bool {
        false
    }

    /// Called once before the service connects to NATS.
    fn before_connecting(&self) {}
}

/// The reference responder: the protocol, with no seam bent.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reference;

impl Policy for Reference {}
