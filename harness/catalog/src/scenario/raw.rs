//! The scenario file as serde reads it: the `Raw*` structs mirror the TOML one to one (unknown
//! keys refused), and `TomlValue` keeps where each `[users.*]` key was written, so the checks can
//! name its line.

use serde::Deserialize;
use toml::Spanned;

use callout_world::spec::{AuthUser, GenerateUsers, Leaf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) min_server: Option<String>,
    #[serde(default)]
    pub(super) responder: Option<String>,
    #[serde(default)]
    pub(super) feature: Option<String>,
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) users: Option<TomlValue>,
    #[serde(default)]
    pub(super) generate_users: Option<GenerateUsers>,
    #[serde(default, rename = "case")]
    pub(super) cases: Vec<Spanned<RawCase>>,
    #[serde(default)]
    pub(super) topology: Option<RawTopology>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopology {
    #[serde(default)]
    pub(super) nodes: Option<usize>,
    #[serde(default)]
    pub(super) responders: Option<usize>,
    #[serde(default)]
    pub(super) responder_on: Option<String>,
    #[serde(default)]
    pub(super) slow_link: bool,
    #[serde(default)]
    pub(super) leaf: Vec<Leaf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    #[serde(default)]
    pub(super) accounts: Vec<String>,
    #[serde(default)]
    pub(super) system_account: Option<String>,
    #[serde(default)]
    pub(super) xkey: bool,
    #[serde(default = "default_timeout")]
    pub(super) timeout: Spanned<f64>,
    #[serde(default)]
    pub(super) allowed_accounts: Vec<String>,
    #[serde(default)]
    pub(super) auth_users: Vec<AuthUser>,
    #[serde(default)]
    pub(super) tls: bool,
    #[serde(default)]
    pub(super) websocket: bool,
    #[serde(default)]
    pub(super) mode: Option<String>,
    #[serde(default)]
    pub(super) scoped: std::collections::BTreeMap<String, RawScope>,
    #[serde(default)]
    pub(super) issuer: Option<String>,
    #[serde(default)]
    pub(super) target_keys: Option<String>,
    #[serde(default)]
    pub(super) default_sentinel: bool,
}

/// `[server.scoped.NAME]`: the template of a scoped signing key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScope {
    #[serde(default, rename = "pub")]
    pub(super) publish: RawAllowDeny,
    #[serde(default, rename = "sub")]
    pub(super) subscribe: RawAllowDeny,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAllowDeny {
    #[serde(default)]
    pub(super) allow: Vec<String>,
    #[serde(default)]
    pub(super) deny: Vec<String>,
}

fn default_timeout() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCase {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) requirement: String,
    pub(super) cite: String,
    #[serde(default)]
    pub(super) severity: Option<String>,
    #[serde(default)]
    pub(super) level: Option<String>,
    #[serde(default)]
    pub(super) rationale: Option<String>,
    #[serde(default)]
    pub(super) min_server: Option<String>,
    #[serde(default)]
    pub(super) before_server: Option<String>,
    pub(super) steps: Vec<Spanned<RawStep>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    // actions
    pub(super) connect: Option<String>,
    pub(super) subscribe: Option<String>,
    pub(super) publish: Option<String>,
    pub(super) reply: Option<String>,
    pub(super) request: Option<String>,
    pub(super) user_info: Option<String>,
    pub(super) burst: Option<usize>,
    pub(super) sleep: Option<f64>,
    pub(super) close: Option<String>,
    pub(super) alive: Option<String>,
    pub(super) expire: Option<String>,
    pub(super) storm: Option<usize>,
    pub(super) restart: Option<String>,
    pub(super) delay_answers: Option<f64>,
    // parameters
    pub(super) sentinel: Option<bool>,
    pub(super) creds: Option<String>,
    pub(super) node: Option<String>,
    pub(super) nodes: Option<Vec<String>>,
    pub(super) kill: Option<usize>,
    pub(super) at: Option<f64>,
    pub(super) user: Option<String>,
    pub(super) pass: Option<String>,
    pub(super) token: Option<String>,
    pub(super) nkey: Option<String>,
    pub(super) sig: Option<String>,
    pub(super) cert: Option<String>,
    pub(super) cert_cn: Option<String>,
    pub(super) tls: Option<bool>,
    pub(super) via: Option<String>,
    pub(super) conn: Option<String>,
    pub(super) queue: Option<String>,
    pub(super) payload: Option<String>,
    pub(super) reply_to: Option<String>,
    pub(super) to: Option<Vec<String>>,
    pub(super) count: Option<usize>,
    pub(super) delivered: Option<usize>,
    pub(super) wait: Option<f64>,
    pub(super) min_secs: Option<f64>,
    pub(super) within: Option<f64>,
    pub(super) account: Option<String>,
    pub(super) pub_allow: Option<Vec<String>>,
    pub(super) pub_deny: Option<Vec<String>>,
    pub(super) sub_allow: Option<Vec<String>>,
    pub(super) sub_deny: Option<Vec<String>>,
    pub(super) pub_deny_includes: Option<Vec<String>>,
    pub(super) expect: Option<String>,
}

/// A TOML value that keeps where each key was written, so that a typo in `[users.*]` is
/// reported with its line when the file loads, not by whichever responder reads users.json.
#[derive(Debug)]
pub(super) enum TomlValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<TomlValue>),
    /// Keys with their byte offsets.
    Table(Vec<(Spanned<String>, TomlValue)>),
}

impl<'de> Deserialize<'de> for TomlValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TomlValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<TomlValue, E> {
                Ok(TomlValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<TomlValue, E> {
                Ok(TomlValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<TomlValue, E> {
                i64::try_from(v)
                    .map(TomlValue::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<TomlValue, E> {
                Ok(TomlValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<TomlValue, E> {
                Ok(TomlValue::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<TomlValue, E> {
                Ok(TomlValue::Str(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<TomlValue, A::Error> {
                let mut out = Vec::new();
                while let Some(n) = a.next_element::<TomlValue>()? {
                    out.push(n);
                }
                Ok(TomlValue::Array(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<TomlValue, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = a.next_key::<Spanned<String>>()? {
                    out.push((k, a.next_value::<TomlValue>()?));
                }
                Ok(TomlValue::Table(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl TomlValue {
    pub(super) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            TomlValue::Str(s) => J::String(s.clone()),
            TomlValue::Int(i) => J::from(*i),
            TomlValue::Float(f) => J::from(*f),
            TomlValue::Bool(b) => J::Bool(*b),
            TomlValue::Array(a) => J::Array(a.iter().map(TomlValue::to_json).collect()),
            TomlValue::Table(t) => J::Object(
                t.iter()
                    .map(|(k, v)| (k.get_ref().clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub(super) fn kind(&self) -> &'static str {
        match self {
            TomlValue::Str(_) => "a string",
            TomlValue::Int(_) => "an integer",
            TomlValue::Float(_) => "a float",
            TomlValue::Bool(_) => "a boolean",
            TomlValue::Array(_) => "an array",
            TomlValue::Table(_) => "a table",
        }
    }
}
