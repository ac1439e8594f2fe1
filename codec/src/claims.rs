//! The claim types of the callout (`protocol.md §1.5–1.7`), with Go's field order and
//! `omitempty` rules so that what we encode matches what `nats-io/jwt` encodes byte for byte
//! (except `iat`, `jti` and the signature). Decoding goes through [`crate::gojson`], Go's
//! `encoding/json` rules: every field has a default, `null` is the zero value, unknown fields
//! are ignored. Decode with `gojson::from_slice` or `jwt::decode`, not with `serde_json`
//! directly, which is stricter than the server (it refuses `null`).

use serde::{Deserialize, Deserializer, Serialize};

use crate::secret::Secret;

pub(crate) fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}
pub(crate) fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}
pub(crate) fn is_false(v: &bool) -> bool {
    !*v
}

/// The `nats.type` of a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimType {
    /// Server → responder.
    AuthorizationRequest,
    /// Responder → server.
    AuthorizationResponse,
    /// The user JWT inside a response.
    User,
    /// An operator JWT (operator mode, `crate::operator`).
    Operator,
    /// An account JWT (operator mode, `crate::operator`).
    Account,
}

impl ClaimType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimType::AuthorizationRequest => "authorization_request",
            ClaimType::AuthorizationResponse => "authorization_response",
            ClaimType::User => "user",
            ClaimType::Operator => "operator",
            ClaimType::Account => "account",
        }
    }

    /// The issuer key kind the type demands (`protocol.md §1.2`, "Issuer prefix").
    pub fn issuer_kind(self) -> crate::KeyKind {
        match self {
            ClaimType::AuthorizationRequest => crate::KeyKind::Server,
            ClaimType::AuthorizationResponse | ClaimType::User => crate::KeyKind::Account,
            ClaimType::Operator | ClaimType::Account => crate::KeyKind::Operator,
        }
    }
}

/// What every claim type's `nats` object carries, so the JWT layer can stamp type and version.
pub trait NatsPayload: Serialize + for<'de> Deserialize<'de> + Default {
    /// The claim type of this payload.
    const TYPE: ClaimType;
    /// Sets `type` and `version`.
    fn stamp(&mut self, version: i32);
    /// The `type` field as decoded.
    fn claim_type(&self) -> &str;
    /// The `version` field as decoded.
    fn version(&self) -> i32;
}

/// The generic part of every JWT (Go's `ClaimsData`), in Go's field order, with the
/// type-specific part under `nats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims<N> {
    /// Audience.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub aud: String,
    /// Expiry, unix seconds; 0 = none.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub exp: i64,
    /// Hash id (never verified by the server).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    /// Issued at, unix seconds.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub iat: i64,
    /// Issuer public key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iss: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Not before, unix seconds; 0 = none.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub nbf: i64,
    /// Subject.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub: String,
    /// The type-specific part.
    #[serde(
        default = "crate::gojson::zero",
        bound(deserialize = "N: serde::de::DeserializeOwned + Default")
    )]
    pub nats: N,
}

/// The part of [`Claims`] the `jti` hash covers (Go's `ClaimsData` with `jti` empty).
#[derive(Serialize)]
pub(crate) struct ClaimsDataForHash<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    pub aud: &'a str,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub exp: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub iat: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub iss: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub name: &'a str,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub nbf: i64,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub sub: &'a str,
}

/// An authorization request JWT.
pub type AuthRequestClaims = Claims<AuthRequest>;
/// An authorization response JWT.
pub type AuthResponseClaims = Claims<AuthResponse>;
/// A user JWT.
pub type UserClaims = Claims<User>;

/// `nats.server_id` of a request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerId {
    /// Server name.
    #[serde(default)]
    pub name: String,
    /// Server host.
    #[serde(default)]
    pub host: String,
    /// Server public key `N…`; must equal the request `iss`.
    #[serde(default)]
    pub id: String,
    /// Server version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Cluster name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Server tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The server's public xkey, only when the request is sealed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub xkey: String,
}

/// `nats.client_info` of a request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Client address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Client id.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub id: u64,
    /// The raw auth user; may be a token on servers before 2.10.28, hence secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub user: Secret,
    /// Client name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Name tag.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    /// `Client`, `Leafnode`, …
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// `nats`, `websocket`, `mqtt`.
    #[serde(default, skip_serializing_if = "String::is_empty", rename = "type")]
    pub client_type: String,
    /// MQTT client id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mqtt_id: String,
    /// INFO nonce, when the client signed it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nonce: String,
}

/// `nats.connect_opts` of a request: the client's CONNECT fields. Secrets stay [`Secret`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectOpts {
    /// User JWT.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub jwt: Secret,
    /// Nkey.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub nkey: String,
    /// Signed nonce.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sig: String,
    /// Token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub auth_token: Secret,
    /// Username.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Password.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub pass: Secret,
    /// Client name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Client language.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lang: String,
    /// Client version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Protocol; always present on the wire.
    #[serde(default)]
    pub protocol: i32,
}

/// `nats.client_tls` of a request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientTls {
    /// TLS version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Cipher.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cipher: String,
    /// Peer certificates (PEM) when not verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certs: Vec<String>,
    /// Verified chains (PEM).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verified_chains: Vec<Vec<String>>,
    /// SNI server name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_name: String,
}

/// `nats` of an authorization request (`protocol.md §1.5`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthRequest {
    /// The requesting server.
    #[serde(default)]
    pub server_id: ServerId,
    /// The fresh per-connection user key the answer must be for.
    #[serde(default)]
    pub user_nkey: String,
    /// What the server knows of the client.
    #[serde(default)]
    pub client_info: ClientInfo,
    /// The client's CONNECT.
    #[serde(default)]
    pub connect_opts: ConnectOpts,
    /// TLS state, when TLS was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_tls: Option<ClientTls>,
    /// Never set by servers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_nonce: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `authorization_request`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub claim_type: String,
    /// 2.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub version: i32,
}

/// `nats` of an authorization response (`protocol.md §1.6`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthResponse {
    /// The user JWT, on admission.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    /// The reason, on rejection.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// The account a signing key signs for (operator mode).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer_account: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `authorization_response`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub claim_type: String,
    /// 2.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub version: i32,
}

/// A publish or subscribe permission. Go emits it as an object even when empty (`{}`), and
/// omits empty lists: never `"allow":[]` (`protocol.md §1.7`, scoped signing keys).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// Allowed subjects (for `sub`, `"subject queue"` for queue groups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Denied subjects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl Permission {
    /// True when neither list has an entry.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }
}

/// `resp`: how many replies and for how long (`protocol.md §6`). Both keys always emitted;
/// `ttl` in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsePermission {
    /// Replies allowed per request; 0 means 1, negative unlimited.
    #[serde(default)]
    pub max: i64,
    /// Nanoseconds; 0 means 2 minutes, negative unlimited.
    #[serde(default)]
    pub ttl: i64,
}

/// A connect-time window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// `HH:MM:SS`; omitted when empty, as jwt v2's `omitempty` does (`types.go TimeRange`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start: String,
    /// `HH:MM:SS`; omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub end: String,
}

/// `nats` of a user JWT (`protocol.md §1.7`), in Go's field order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Publish permission.
    #[serde(default, rename = "pub")]
    pub publish: Permission,
    /// Subscribe permission.
    #[serde(default, rename = "sub")]
    pub subscribe: Permission,
    /// Response permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resp: Option<ResponsePermission>,
    /// Source CIDRs (not enforced for callout users). Decodes from a list or a comma string.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "cidr_list"
    )]
    pub src: Vec<String>,
    /// Connect windows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<TimeRange>,
    /// Time zone of `times`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub times_location: String,
    /// Max subscriptions; -1 unlimited.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub subs: i64,
    /// Max data; -1 unlimited.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub data: i64,
    /// Max payload; -1 unlimited.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub payload: i64,
    /// Bearer token.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bearer_token: bool,
    /// Proxy required (2.12+).
    #[serde(default, skip_serializing_if = "is_false")]
    pub proxy_required: bool,
    /// Allowed connection types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_connection_types: Vec<String>,
    /// Issuer account (operator mode only; forbidden in config mode).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issuer_account: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `user`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub claim_type: String,
    /// 2.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub version: i32,
}

impl Default for User {
    /// As Go's `NewUserClaims`: limits -1 ("no limit"), everything else empty.
    fn default() -> Self {
        User {
            publish: Permission::default(),
            subscribe: Permission::default(),
            resp: None,
            src: Vec::new(),
            times: Vec::new(),
            times_location: String::new(),
            subs: -1,
            data: -1,
            payload: -1,
            bearer_token: false,
            proxy_required: false,
            allowed_connection_types: Vec::new(),
            issuer_account: String::new(),
            tags: Vec::new(),
            claim_type: String::new(),
            version: 0,
        }
    }
}

macro_rules! payload {
    ($t:ty, $ct:expr) => {
        impl NatsPayload for $t {
            const TYPE: ClaimType = $ct;
            fn stamp(&mut self, version: i32) {
                self.claim_type = $ct.as_str().to_string();
                self.version = version;
            }
            fn claim_type(&self) -> &str {
                &self.claim_type
            }
            fn version(&self) -> i32 {
                self.version
            }
        }
    };
}
pub(crate) use payload;
payload!(AuthRequest, ClaimType::AuthorizationRequest);
payload!(AuthResponse, ClaimType::AuthorizationResponse);
payload!(User, ClaimType::User);

/// Go's `CIDRList.UnmarshalJSON`: a list of strings taken as it is, or one string that is
/// lower-cased, split at commas and trimmed, with empty and repeated entries dropped.
fn cidr_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct ListOrText;
    impl<'de> serde::de::Visitor<'de> for ListOrText {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of CIDRs or a comma-separated string")
        }
        fn visit_unit<E>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
        fn visit_str<E>(self, text: &str) -> Result<Vec<String>, E> {
            let mut out: Vec<String> = Vec::new();
            for part in text.to_lowercase().split(',') {
                let part = part.trim().to_lowercase();
                if !part.is_empty() && !out.contains(&part) {
                    out.push(part);
                }
            }
            Ok(out)
        }
    }
    d.deserialize_any(ListOrText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_user_matches_go_new_user_claims() {
        let mut u = User::default();
        u.stamp(2);
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(
            json,
            r#"{"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2}"#
        );
    }

    #[test]
    fn resp_keeps_both_keys_and_src_accepts_a_string() {
        let u = User {
            resp: Some(ResponsePermission { max: 1, ttl: 0 }),
            ..User::default()
        };
        let json = serde_json::to_string(&u).unwrap();
        assert!(json.contains(r#""resp":{"max":1,"ttl":0}"#), "{json}");
        let back: User = crate::gojson::from_slice(
            br#"{"src":"10.0.0.0/8, 192.168.0.0/16,,10.0.0.0/8, FE80::/10","pub":null}"#,
        )
        .unwrap();
        assert_eq!(back.src, vec!["10.0.0.0/8", "192.168.0.0/16", "fe80::/10"]);
        let list: User = crate::gojson::from_slice(br#"{"src":["A", null]}"#).unwrap();
        assert_eq!(
            list.src,
            vec!["A", ""],
            "a list is taken as it is, null as \"\""
        );
    }

    #[test]
    fn request_without_optional_fields_decodes() {
        let r: AuthRequest = crate::gojson::from_slice(
            br#"{"server_id":{"name":"A","host":"h","id":"N"},"user_nkey":"U","client_info":{},"connect_opts":{"protocol":1},"unknown":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(r.connect_opts.protocol, 1);
        assert!(r.connect_opts.pass.is_empty());
        assert!(r.client_tls.is_none());
    }
}
