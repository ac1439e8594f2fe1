//! Shared set-up for the benchmarks in `benches/`: a forged server that builds, signs and seals
//! authorization requests with the codec (the harness's `FakeServer`), and the reference
//! responder configured to answer them. The connect benchmark uses the harness's `bench`
//! module instead, which drives real processes.

use callout_codec::{AuthRequestClaims, CurveSecret, KeyKind, SealingChannel, Signer};
use callout_conformance::wire::{wire_users, FakeServer};
use callout_responder::handler::Responder;
use callout_responder::users::{Permissions, UserDirectory};

/// A server identity that forges requests, and the keys of the responder that answers them.
pub struct Forger {
    /// The forged server.
    pub server: FakeServer,
    issuer_seed: String,
    responder_xkey: Option<CurveSecret>,
    channel: Option<SealingChannel>,
}

impl Forger {
    /// A forger whose requests are sealed when `sealed`.
    pub fn new(sealed: bool) -> Forger {
        let issuer = Signer::generate(KeyKind::Account);
        let responder_xkey = sealed.then(CurveSecret::generate);
        let server = FakeServer::new(
            responder_xkey.as_ref().map(|x| x.public().clone()),
            issuer.public_key().to_string(),
        );
        let channel = server.channel();
        Forger {
            server,
            issuer_seed: issuer.seed(),
            responder_xkey,
            channel,
        }
    }

    /// A request for `user`/`pass` with a fresh `user_nkey`, valid for 5 s. Like the server's
    /// (`exp` = now + authorization.timeout), it is short: the responder's replay guard holds
    /// at most 100,000 unexpired requests and refuses new ones when full, and a benchmark
    /// admitting tens of thousands a second with a long `exp` would fill it.
    pub fn claims(&self, user: &str, pass: &str) -> AuthRequestClaims {
        let mut c = self.server.request(Some(user), Some(pass));
        c.exp = callout_codec::unix_now() + 5;
        c
    }

    /// The signed request token.
    pub fn token(&self, user: &str, pass: &str) -> String {
        self.server.sign(&mut self.claims(user, pass))
    }

    /// The message body and `Nats-Server-Xkey` header value, as the server would send it.
    pub fn body(&self, user: &str, pass: &str) -> (Vec<u8>, Option<String>) {
        let token = self.token(user, pass);
        match &self.channel {
            Some(ch) => (
                ch.seal(token.as_bytes()),
                Some(self.server.xkey.public().as_str().to_string()),
            ),
            None => (token.into_bytes(), None),
        }
    }

    /// The reference responder with this forger's issuer and xkey and the wire-mode users.
    pub fn responder(&self) -> Responder {
        let issuer = Signer::from_seed(&self.issuer_seed, KeyKind::Account)
            .expect("a generated account seed");
        Responder::new(issuer, self.responder_xkey.clone(), users())
    }
}

/// The wire-mode users directory (alice, bob with permissions, a user without a password).
pub fn users() -> UserDirectory {
    UserDirectory::parse(&wire_users().to_string(), "wire users").expect("the wire users parse")
}

/// Bob's permissions, as the user JWT carries them.
pub fn bob_permissions() -> Permissions {
    users()
        .get("bob")
        .map(|e| e.permissions.clone())
        .unwrap_or_default()
}
