//! Wire mode: the harness plays the server. It starts a nats-server *without* `auth_callout`
//! (on a callout server the callout account may not publish to `$SYS.REQ.USER.AUTH`), lets
//! the responder under test connect as usual, and publishes authorization requests it forges
//! itself ([`forge`]) to `$SYS.REQ.USER.AUTH`. Then it judges every byte of the answers, and
//! how the responder treats forged, stale, malformed and hostile requests.
//!
//! The cases live by group, next to their checks: [`response`] and [`seal`] inspect the answer
//! to a good request, [`hostile`] sends requests that must not be admitted, [`robust`] sends
//! unusual requests that must be. This module runs them: one phase per responder
//! configuration (plain, sealed), and after every case a liveness check, so that a responder
//! that crashes or goes silent is blamed on the case that caused it, restarted, and judged
//! afresh on the rest.

pub mod cert;
pub mod forge;
pub mod hostile;
pub mod identity;
pub mod nkey;
pub mod operator;
pub mod output;
pub mod response;
pub mod robust;
pub mod seal;

use callout_codec::{jwt, AuthRequestClaims, AuthResponse, Claims, User};

pub use forge::{
    decode_reply, describe, judge, wire_nkey, wire_users, wire_users_with_nkey, Answer, Decoded,
    FakeServer, Forged, Judged, ALICE_PASS, BOB_PASS,
};

use callout_leaves::verdict::Level;

pub use callout_world::credential::{Identities, Login, WRONG_PASS};
pub use identity::harness_identities;

/// One wire case: what it requires, how binding that is, and how it is checked.
pub struct WireCase {
    /// Stable id, `wire.<group>.<n>`.
    pub id: &'static str,
    /// One-line title.
    pub title: &'static str,
    /// The requirement checked.
    pub requirement: &'static str,
    /// Citation into `docs/protocol.md`.
    pub cite: &'static str,
    /// How binding the requirement is: the verdict when it is broken.
    pub level: Level,
    /// What breaking it allows or breaks, and who can do it.
    pub rationale: &'static str,
    /// The responder configuration the case needs.
    pub config: Config,
    /// What the responder or the run must offer for the case to apply, besides its
    /// configuration.
    pub needs: &'static [Need],
    /// The request and the check.
    pub kind: Kind,
}

impl WireCase {
    /// The phase the case runs in, in operator mode (`operator`) or not, or `None` when it
    /// does not run in that mode. The operator cases run only in operator mode. Every other
    /// plain or sealed case runs in both: in operator mode in the operator phase of the same
    /// sealing, with the operator-mode request (the callout account as `sub`), so that a
    /// responder written only for operator mode is judged on them too; except the checks that
    /// read what only a config-mode answer holds ([`Need::ConfigAnswer`]: the issuer as the
    /// signer, the users.json permissions and limits), which the operator cases check their
    /// own way.
    pub fn phase(&self, operator: bool) -> Option<Config> {
        let both_modes = !self.needs.contains(&Need::ConfigAnswer);
        match (self.config, operator) {
            (c, op) if c.is_operator() => op.then_some(c),
            (c, false) => Some(c),
            (Config::Plain, true) if both_modes => Some(Config::Operator),
            (Config::Sealed, true) if both_modes => Some(Config::OperatorSealed),
            _ => None,
        }
    }
}

/// What a wire case needs beyond its configuration; a run that cannot offer it skips the case
/// with the reason [`not_applicable`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// The entries of the harness's users.json (bob's `resp`, say), not a profile's identities.
    UsersJson,
    /// An unsealed request: a responder with an xkey of its own is always sent sealed ones.
    PlainRequest,
    /// The permissions of the identity the response cases use.
    BobPermissions,
    /// What only a config-mode answer holds (the issuer as the signer, the users.json
    /// permissions and limits, no `issuer_account`): the case runs in config mode only.
    ConfigAnswer,
}

/// The responder's configuration for a phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Config {
    /// Started with an xkey seed: requests are sealed.
    Sealed,
    /// Started without one: requests are plain.
    Plain,
    /// Plain, with an nkey user (the users.json extension) added: a phase of its own, so that
    /// a responder that refuses unknown users.json keys loses only these cases.
    Nkey,
    /// Plain, with a certificate user (the `cert_subject` extension) added, likewise.
    Cert,
    /// Operator mode, plain ([`operator`]; `run --mode operator`).
    Operator,
    /// Operator mode, sealed.
    OperatorSealed,
}

impl Config {
    /// The phase's name in labels and messages.
    pub fn label(self) -> &'static str {
        match self {
            Config::Sealed => "sealed",
            Config::Plain => "plain",
            Config::Nkey => "plain, nkey user",
            Config::Cert => "plain, certificate user",
            Config::Operator => "operator, plain",
            Config::OperatorSealed => "operator, sealed",
        }
    }

    /// True for the operator-mode phases.
    pub fn is_operator(self) -> bool {
        matches!(self, Config::Operator | Config::OperatorSealed)
    }
}

/// Who a response case's good request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// bob with his password (permissions in [`wire_users`]).
    Bob,
    /// bob with a wrong password.
    BobWrongPassword,
    /// the users.json entry without a password, with an empty one.
    NoPass,
    /// alice with her password.
    Alice,
    /// carol with her password (operator mode: placed by a scoped key).
    Carol,
}

impl Who {
    pub fn login(self, ids: &Identities) -> Login {
        match self {
            Who::Bob => ids.bob.clone(),
            Who::BobWrongPassword => ids.bob.with_wrong_secret(),
            Who::NoPass => Login::password("nopass", ""),
            Who::Alice => ids.alice.clone(),
            Who::Carol => Login::password("carol", operator::CAROL_PASS),
        }
    }
}

/// A check's conclusion: what it verified, or what it expected and got instead.
pub type Finding = Result<String, Mismatch>;

/// Expected versus actual, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// What the requirement asks for.
    pub expected: String,
    /// What came back.
    pub actual: String,
}

/// A [`Mismatch`].
pub fn mismatch(expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
    Mismatch {
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// The request a case sends and the check of its answer.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A good request for `who`, whose answer `verify` inspects.
    Response {
        /// Whose credentials the request carries.
        who: Who,
        /// The check of the answer.
        verify: fn(&Exchange) -> Finding,
    },
    /// A forged request that must not be admitted.
    Hostile(fn(&FakeServer) -> Forged),
    /// A valid but unusual request for alice that must be admitted.
    Robust(fn(&FakeServer) -> Forged),
    /// A forged request whose answer, whatever it decides, must be readable by the server
    /// alone: no key the harness handed to an attacker opens it.
    Leak(fn(&FakeServer) -> Forged),
    /// No request: the responder's output (stderr) during the phase's earlier cases.
    Output,
}

/// One good request and its answer, as a response check sees them.
pub struct Exchange<'a> {
    /// The harness's server identity.
    pub server: &'a FakeServer,
    /// The request as sent.
    pub request: &'a AuthRequestClaims,
    /// What came back.
    pub answer: &'a Answer,
    /// The secret (password or token) the request carried.
    pub pass: &'a str,
}

impl Exchange<'_> {
    /// The first reply's body.
    pub fn body(&self) -> Result<&[u8], Mismatch> {
        self.answer
            .bodies
            .first()
            .map(Vec::as_slice)
            .ok_or_else(|| mismatch("a reply", "no reply"))
    }

    /// The first reply, opened and decoded as the server does.
    pub fn decoded(&self) -> Result<Decoded, Mismatch> {
        Ok(decode_reply(self.body()?, self.server))
    }

    /// The decoded response claims.
    pub fn response(&self) -> Result<Claims<AuthResponse>, Mismatch> {
        self.decoded()?
            .response
            .map_err(|e| mismatch("a response the server decodes", e))
    }

    /// The user JWT of an admission.
    pub fn user(&self) -> Result<Claims<User>, Mismatch> {
        let resp = self.response()?;
        if resp.nats.jwt.is_empty() {
            return Err(mismatch(
                "an admission (a user JWT)",
                format!("no user JWT (error {:?})", resp.nats.error),
            ));
        }
        jwt::decode::<User>(&resp.nats.jwt).map_err(|e| mismatch("a valid user JWT", e.to_string()))
    }
}

/// The wire catalog, in report order.
pub fn catalog() -> impl Iterator<Item = &'static WireCase> {
    response::CASES
        .iter()
        .chain(seal::CASES)
        .chain(hostile::CASES)
        .chain(nkey::CASES)
        .chain(cert::CASES)
        .chain(robust::CASES)
        .chain(output::CASES)
        .chain(operator::CASES)
}

/// Why `case` does not apply to a responder judged through a profile's identities rather than
/// the harness's users.json, or `None` when it applies.
pub fn not_applicable(case: &WireCase, ids: &Identities) -> Option<String> {
    if ids.users_json {
        return None;
    }
    if let Some(why) = &ids.unusable {
        return Some(why.clone());
    }
    let users_json_only = matches!(case.config, Config::Nkey | Config::Cert)
        || matches!(
            case.kind,
            Kind::Response {
                who: Who::NoPass,
                ..
            }
        )
        || case.needs.contains(&Need::UsersJson);
    if users_json_only {
        return Some(
            "needs the harness's users.json (a profile declares its own identities)".into(),
        );
    }
    if ids.always_sealed() && case.needs.contains(&Need::PlainRequest) {
        return Some("the responder brings its own xkey, so every request to it is sealed; the case needs a plain one".into());
    }
    if case.needs.contains(&Need::BobPermissions) && ids.bob_permissions.is_none() {
        return Some(
            "the profile declares no permissions for the identity the response cases use".into(),
        );
    }
    None
}
