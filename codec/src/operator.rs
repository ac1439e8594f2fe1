//! The claims of operator (decentralized) mode that the server loads besides the callout's
//! three (`protocol.md §3.2`): the operator JWT and the account JWT, in nats-io/jwt v2's field
//! order with Go's `omitempty`, so that what we encode is what `nsc` would write (except `iat`,
//! `jti` and the signature). User JWTs are [`crate::User`], with `issuer_account` set when an
//! account signing key signs them.
//!
//! Who signs what (`jwt v2`, `validateTrustedOperators` and `strict_signing_key_usage` in the
//! server): the operator JWT is self-signed by the operator identity key; account JWTs by the
//! operator or one of its `signing_keys`; user JWTs by the account or one of the account's
//! `signing_keys` (then `issuer_account` names the account). Limits are explicit: an account
//! JWT whose `limits.conn` is absent (0) lets nobody connect (§8.4), so [`AccountLimits`]
//! defaults to Go's `NewAccountClaims` values (unlimited, `-1`).

use serde::{Deserialize, Serialize};

use crate::claims::{
    is_false, is_zero_i32, is_zero_i64, payload, ClaimType, Claims, NatsPayload, Permission,
    ResponsePermission,
};

/// `nats` of an operator JWT (jwt v2 `Operator`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    /// Operator signing keys (`O…`), which may sign account JWTs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<String>,
    /// Account server URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account_server_url: String,
    /// Operator service URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operator_service_urls: Vec<String>,
    /// The system account's public key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system_account: String,
    /// Minimum server version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub assert_server_version: String,
    /// Accounts must be signed by a signing key, users by an account signing key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_signing_key_usage: bool,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `operator`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub claim_type: String,
    /// 2.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub version: i32,
}

/// `limits` of an account JWT: jwt v2 `OperatorLimits` flattened (`NatsLimits`,
/// `AccountLimits`, `JetStreamLimits`), in that order. The default is Go's
/// `NewAccountClaims`: everything unlimited (`-1`), wildcard exports allowed, no JetStream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountLimits {
    /// Subscriptions.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub subs: i64,
    /// Bytes.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub data: i64,
    /// Largest message.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub payload: i64,
    /// Imports.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub imports: i64,
    /// Exports.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub exports: i64,
    /// Wildcard exports allowed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub wildcards: bool,
    /// Users may not be bearer tokens.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disallow_bearer: bool,
    /// Client connections; absent (0) means none.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub conn: i64,
    /// Leaf-node connections.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub leaf: i64,
    /// JetStream memory.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub mem_storage: i64,
    /// JetStream disk.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub disk_storage: i64,
    /// Streams.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub streams: i64,
    /// Consumers.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub consumer: i64,
}

impl Default for AccountLimits {
    fn default() -> Self {
        AccountLimits {
            subs: -1,
            data: -1,
            payload: -1,
            imports: -1,
            exports: -1,
            wildcards: true,
            disallow_bearer: false,
            conn: -1,
            leaf: -1,
            mem_storage: 0,
            disk_storage: 0,
            streams: 0,
            consumer: 0,
        }
    }
}

/// What a scoped signing key stamps on every user it signs (jwt v2 `UserPermissionLimits`,
/// the part this suite uses).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserTemplate {
    /// Publish permission.
    #[serde(default, rename = "pub")]
    pub publish: Permission,
    /// Subscribe permission.
    #[serde(default, rename = "sub")]
    pub subscribe: Permission,
    /// Response permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resp: Option<ResponsePermission>,
    /// Subscriptions (-1 unlimited).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub subs: i64,
    /// Bytes (-1 unlimited).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub data: i64,
    /// Largest message (-1 unlimited).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub payload: i64,
    /// Bearer token users.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bearer_token: bool,
}

/// One entry of an account's `signing_keys`: a plain key, encoded as a string, or a scoped
/// key (`kind: "user_scope"`), encoded as an object whose template the server applies to
/// every user the key signs; such a user must carry no permissions or limits of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SigningKey {
    /// A plain signing key `A…`.
    Plain(String),
    /// A scoped signing key (boxed: it is much larger than a plain key).
    Scoped(Box<ScopedKey>),
}

/// A scoped signing key (jwt v2 `UserScope`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScopedKey {
    /// `user_scope`.
    pub kind: String,
    /// The key `A…`.
    pub key: String,
    /// A name for the role.
    pub role: String,
    /// What the server applies to every user the key signs.
    pub template: UserTemplate,
    /// Description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl SigningKey {
    /// The key, plain or scoped.
    pub fn key(&self) -> &str {
        match self {
            SigningKey::Plain(k) => k,
            SigningKey::Scoped(s) => &s.key,
        }
    }

    /// A scoped key with `template`.
    pub fn scoped(key: &str, role: &str, template: UserTemplate) -> SigningKey {
        SigningKey::Scoped(Box::new(ScopedKey {
            kind: "user_scope".into(),
            key: key.into(),
            role: role.into(),
            template,
            description: String::new(),
        }))
    }
}

/// `authorization` of an account JWT (jwt v2 `ExternalAuthorization`): the account's auth
/// callout. Non-empty `auth_users` switches it on; `allowed_accounts` may be `["*"]` alone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExternalAuthorization {
    /// Users of this account that bypass the callout (the responder's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_users: Vec<String>,
    /// Accounts the responder may place users in (`*`: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_accounts: Vec<String>,
    /// The curve key requests are sealed to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub xkey: String,
}

impl ExternalAuthorization {
    /// True when nothing is set (encoded as absent).
    pub fn is_empty(&self) -> bool {
        self.auth_users.is_empty() && self.allowed_accounts.is_empty() && self.xkey.is_empty()
    }
}

/// `nats` of an account JWT (jwt v2 `Account`, the fields operator-mode callout uses; imports,
/// exports, revocations and mappings are not modelled).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Limits.
    #[serde(default)]
    pub limits: AccountLimits,
    /// Signing keys, plain or scoped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_keys: Vec<SigningKey>,
    /// The auth callout.
    #[serde(default, skip_serializing_if = "ExternalAuthorization::is_empty")]
    pub authorization: ExternalAuthorization,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `account`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub claim_type: String,
    /// 2.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub version: i32,
}

impl Account {
    /// True when `key` is this account's signing key (plain or scoped).
    pub fn has_signing_key(&self, key: &str) -> bool {
        self.signing_keys.iter().any(|k| k.key() == key)
    }
}

payload!(Operator, ClaimType::Operator);
payload!(Account, ClaimType::Account);

/// An operator JWT.
pub type OperatorClaims = Claims<Operator>;
/// An account JWT.
pub type AccountClaims = Claims<Account>;
