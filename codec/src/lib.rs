//! The NATS auth-callout wire codec, in one place: nkeys, xkv1 sealing, JWT encoding and the
//! three claim types the callout exchanges (`authorization_request`, `authorization_response`,
//! `user`).
//!
//! Architecture invariant: this crate knows nothing of users, files, NATS connections or
//! verdicts. The reference responder and the conformance harness both build on it, so a
//! codec bug shows up on both sides of a test and is caught by the vectors in `tests/`.
//!
//! The layout mirrors `protocol.md §1`: [`nkey`] is §1.3, [`xkv1`] is §1.4, [`jwt`] is §1.2 and
//! [`claims`] is §1.5–1.7. Operator mode (§3.2) adds [`operator`] (operator and account JWTs)
//! and [`creds`] (the decorated creds file a user connects with).

pub mod claims;
pub mod creds;
pub mod gojson;
pub mod jwt;
pub mod nkey;
pub mod operator;
pub mod secret;
pub mod xkv1;

pub use claims::{
    AuthRequest, AuthRequestClaims, AuthResponse, AuthResponseClaims, ClaimType, Claims,
    ClientInfo, ClientTls, ConnectOpts, Permission, ResponsePermission, ServerId, TimeRange, User,
    UserClaims,
};
pub use jwt::{JwtError, JWT_HEADER};
pub use nkey::{KeyError, KeyKind, Signer};
pub use secret::Secret;
pub use xkv1::{CurvePublic, CurveSecret, SealError, SealingChannel};

/// The subject the server publishes authorization requests on (`protocol.md §1.1`).
pub const AUTH_CALLOUT_SUBJECT: &str = "$SYS.REQ.USER.AUTH";
/// The header carrying the server's public xkey when the request is sealed (`protocol.md §1.1`).
pub const SERVER_XKEY_HEADER: &str = "Nats-Server-Xkey";
/// The constant `aud` of every authorization request (`protocol.md §1.5`).
pub const AUTH_REQUEST_AUDIENCE: &str = "nats-authorization-request";

/// Seconds since the Unix epoch, the unit of `iat`, `exp` and `nbf`.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
