//! JSON decoding with the rules of Go's `encoding/json`, which is what nats-server decodes
//! claims with (`protocol.md §8.2`). A payload decodes here exactly when `json.Unmarshal` into
//! nats-io/jwt's structs succeeds, to the same values, so the harness judges a responder's
//! answer as the server would and the responder reads a request as leniently as Go writes it.
//!
//! Go's rules, as applied here:
//! - `null` leaves the zero value: `""`, `0`, `false`, an empty list, a struct of zeros; for a
//!   pointer (`Option`) it means `nil` (`None`). Nested nulls too: `["a", null]` is `["a", ""]`.
//! - A missing key is the zero value; unknown keys are ignored; order and whitespace are free.
//! - A key matches a field exactly, else case-insensitively (Go's `bytes.EqualFold`, so `EXP`
//!   and `Exp` are `exp`). When a field is given twice the last value wins, except that a later
//!   `null` does not erase an earlier scalar or struct, and two objects for one struct merge.
//! - Invalid UTF-8 inside strings becomes U+FFFD instead of failing, except in authorization
//!   requests: only servers write those, Go's encoder never emits invalid UTF-8, and the
//!   responder refuses such a request as forged.
//! - Any other type mismatch (a number where a string is expected, `1.5` for an integer, a
//!   negative number for an unsigned one, a string for a list) is an error, which names the
//!   field path: `nats.resp.ttl: invalid type: string "x", expected i64`.
//!
//! Known differences, none reachable by a real encoder: nesting deeper than 128 levels is
//! refused (Go allows 10 000); numbers beyond f64 range are refused even in unknown fields;
//! `-0` for an integer is refused (Go reads 0; serde_json reads it as the float -0.0);
//! an unpaired UTF-16 surrogate escape is refused (Go substitutes U+FFFD); and when a field is
//! given twice, a type error in the value that lost is not reported (Go reports it).

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;

/// A payload that Go's `encoding/json` would refuse too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// The field path, `nats.resp.ttl` or `nats.pub.allow[2]`; empty when the JSON itself is
    /// malformed.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for JsonError {}

/// Decodes `json` into `T` with Go's rules (see the module documentation).
pub fn from_slice<T: DeserializeOwned>(json: &[u8]) -> Result<T, JsonError> {
    from_node(&parse(json, Utf8::AsGo)?)
}

/// Go's zero value of `T`: what `null` or `{}` decodes to. For [`crate::User`] that is limits
/// of 0, not the -1 of `User::default()` (which is Go's `NewUserClaims`).
pub fn zero<T: DeserializeOwned + Default>() -> T {
    T::deserialize(De::one(&NULL)).unwrap_or_default()
}

/// A parsed JSON document that keeps key order and duplicate keys, as Go's decoder sees them.
#[derive(Debug)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    PosInt(u64),
    NegInt(i64),
    Float(f64),
    Str(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

static NULL: Node = Node::Null;

/// What to do with invalid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Utf8 {
    /// Replace each bad sequence by U+FFFD, as Go does.
    AsGo,
    /// Refuse it. For what only a server writes (requests): Go's encoder never emits invalid
    /// UTF-8, so such a request is forged, and the responder refuses it (`wire.hostile.18`).
    Refuse,
}

/// Parses JSON text.
pub(crate) fn parse(json: &[u8], utf8: Utf8) -> Result<Node, JsonError> {
    let text = match utf8 {
        Utf8::AsGo => String::from_utf8_lossy(json),
        Utf8::Refuse => {
            std::borrow::Cow::Borrowed(std::str::from_utf8(json).map_err(|e| JsonError {
                path: String::new(),
                message: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            })?)
        }
    };
    serde_json::from_str(&text).map_err(|e| JsonError {
        path: String::new(),
        message: e.to_string(),
    })
}

/// Decodes a parsed document into `T`, tracking the path for the error.
pub(crate) fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, JsonError> {
    serde_path_to_error::deserialize(De::one(node)).map_err(|e| JsonError {
        path: if e.path().iter().next().is_none() {
            String::new()
        } else {
            e.path().to_string()
        },
        message: e.into_inner().0,
    })
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::PosInt(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(if v >= 0 {
                    Node::PosInt(v as u64)
                } else {
                    Node::NegInt(v)
                })
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(n) = seq.next_element()? {
                    items.push(n);
                }
                Ok(Node::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Node>()? {
                    entries.push((k, v));
                }
                Ok(Node::Object(entries))
            }
        }
        d.deserialize_any(NodeVisitor)
    }
}

/// The decoder's error: a message; the path is added by `serde_path_to_error`.
#[derive(Debug)]
pub(crate) struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl de::Error for Message {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Message(msg.to_string())
    }
}

/// One value to decode: usually one node, several when a struct field was given more than
/// once (in document order).
struct De<'a> {
    nodes: Occurrences<'a>,
}

enum Occurrences<'a> {
    One(&'a Node),
    Many(Vec<&'a Node>),
}

impl<'a> De<'a> {
    fn one(node: &'a Node) -> De<'a> {
        De {
            nodes: Occurrences::One(node),
        }
    }

    fn all(&self) -> &[&'a Node] {
        match &self.nodes {
            Occurrences::One(n) => std::slice::from_ref(n),
            Occurrences::Many(v) => v,
        }
    }

    /// The node that decides a scalar: the last one that is not `null` (a `null` leaves what
    /// an earlier value set), or `null`.
    fn scalar(&self) -> &'a Node {
        self.all()
            .iter()
            .rev()
            .find(|n| !matches!(n, Node::Null))
            .copied()
            .unwrap_or(&NULL)
    }

    /// The node that decides a list or map: the last one (a `null` resets it to nil).
    fn last(&self) -> &'a Node {
        self.all().last().copied().unwrap_or(&NULL)
    }
}

/// Hands `node` to the visitor as what it is; the visitor refuses a type it does not take.
fn visit_node<'de, V: Visitor<'de>>(node: &'de Node, visitor: V) -> Result<V::Value, Message> {
    match node {
        Node::Null => visitor.visit_unit(),
        Node::Bool(b) => visitor.visit_bool(*b),
        Node::PosInt(u) => visitor.visit_u64(*u),
        Node::NegInt(i) => visitor.visit_i64(*i),
        Node::Float(f) => visitor.visit_f64(*f),
        Node::Str(s) => visitor.visit_borrowed_str(s),
        Node::Array(items) => visitor.visit_seq(Items { iter: items.iter() }),
        Node::Object(entries) => visitor.visit_map(Entries {
            iter: entries
                .iter()
                .map(|(k, v)| (k.as_str(), De::one(v)))
                .collect::<Vec<_>>()
                .into_iter(),
            value: None,
        }),
    }
}

macro_rules! scalar {
    ($($method:ident => $zero:ident($value:expr)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
                match self.scalar() {
                    Node::Null => visitor.$zero($value),
                    node => visit_node(node, visitor),
                }
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for De<'de> {
    type Error = Message;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        visit_node(self.last(), visitor)
    }

    scalar! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(0),
        deserialize_i16 => visit_i64(0),
        deserialize_i32 => visit_i64(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u64(0),
        deserialize_u16 => visit_u64(0),
        deserialize_u32 => visit_u64(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f64(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_str(""),
        deserialize_str => visit_str(""),
        deserialize_string => visit_str(""),
        deserialize_bytes => visit_bytes(b""),
        deserialize_byte_buf => visit_bytes(b""),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        // A Go pointer: `null` sets it to nil; objects after the last `null` decode into it.
        let all = self.all();
        let from = all
            .iter()
            .rposition(|n| matches!(n, Node::Null))
            .map_or(0, |i| i + 1);
        match &all[from..] {
            [] => visitor.visit_none(),
            [one] => visitor.visit_some(De::one(one)),
            more => visitor.visit_some(De {
                nodes: Occurrences::Many(more.to_vec()),
            }),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.scalar() {
            Node::Null => visitor.visit_unit(),
            node => visit_node(node, visitor),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Message> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Message> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.last() {
            Node::Null => visitor.visit_seq(Items { iter: [].iter() }),
            node => visit_node(node, visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Message> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Message> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        match self.last() {
            Node::Null => visitor.visit_map(Entries {
                iter: Vec::new().into_iter(),
                value: None,
            }),
            node => visit_node(node, visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Message> {
        // Every object given for this struct decodes into the same value, in order, as Go
        // does; `null` leaves it as it is. Each key goes to the field it names exactly, else
        // to the one it names case-insensitively; unknown keys are dropped here.
        let mut found: Vec<Vec<&'de Node>> = vec![Vec::new(); fields.len()];
        for node in self.all() {
            match node {
                Node::Null => {}
                Node::Object(entries) => {
                    for (key, value) in entries {
                        let field = fields
                            .iter()
                            .position(|f| f == key)
                            .or_else(|| fields.iter().position(|f| go_equal_fold(f, key)));
                        if let Some(i) = field {
                            found[i].push(value);
                        }
                    }
                }
                other => return visit_node(other, visitor),
            }
        }
        let entries: Vec<(&'de str, De<'de>)> = fields
            .iter()
            .zip(found)
            .filter(|(_, nodes)| !nodes.is_empty())
            .map(|(f, mut nodes)| {
                let de = if nodes.len() == 1 {
                    De::one(nodes.remove(0))
                } else {
                    De {
                        nodes: Occurrences::Many(nodes),
                    }
                };
                (*f, de)
            })
            .collect();
        visitor.visit_map(Entries {
            iter: entries.into_iter(),
            value: None,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Message> {
        match self.scalar() {
            Node::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            node => visit_node(node, visitor),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        self.deserialize_any(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Message> {
        visitor.visit_unit()
    }
}

/// Go's `bytes.EqualFold` between a field name (ASCII) and a key: ASCII letters in either
/// case, and the two non-ASCII letters whose simple fold is ASCII, KELVIN SIGN (`k`) and LATIN
/// SMALL LETTER LONG S (`s`).
fn go_equal_fold(field: &str, key: &str) -> bool {
    let mut k = key.chars();
    for f in field.chars() {
        let Some(c) = k.next() else { return false };
        let same = c.eq_ignore_ascii_case(&f)
            || (f.eq_ignore_ascii_case(&'k') && c == '\u{212A}')
            || (f.eq_ignore_ascii_case(&'s') && c == '\u{17F}');
        if !same {
            return false;
        }
    }
    k.next().is_none()
}

struct Items<'a> {
    iter: std::slice::Iter<'a, Node>,
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Message;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Message> {
        match self.iter.next() {
            None => Ok(None),
            Some(n) => seed.deserialize(De::one(n)).map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Entries<'a> {
    iter: std::vec::IntoIter<(&'a str, De<'a>)>,
    value: Option<De<'a>>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Message;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Message> {
        match self.iter.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Message> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom("value requested before key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_fold_is_go_s() {
        assert!(go_equal_fold("exp", "EXP"));
        assert!(go_equal_fold("exp", "eXp"));
        assert!(go_equal_fold("subs", "\u{17F}ubs"));
        assert!(go_equal_fold("nkey", "n\u{212A}ey"));
        assert!(!go_equal_fold("exp", "ex"));
        assert!(!go_equal_fold("exp", "expx"));
        assert!(!go_equal_fold("user_nkey", "usernkey"));
    }

    #[test]
    fn numbers_follow_go_s_integer_parsing() {
        #[derive(serde::Deserialize)]
        struct N {
            #[serde(default)]
            n: i64,
            #[serde(default)]
            u: u64,
        }
        let n: N =
            from_slice(br#"{"n": -9223372036854775808, "u": 18446744073709551615}"#).unwrap();
        assert_eq!((n.n, n.u), (i64::MIN, u64::MAX));
        // The one known difference: serde_json reads `-0` as a float, Go as the integer 0.
        assert!(from_slice::<N>(br#"{"n": -0}"#).is_err());
        for bad in [
            r#"{"n": 1.0}"#,
            r#"{"n": 9223372036854775808}"#,
            r#"{"u": -1}"#,
        ] {
            assert!(from_slice::<N>(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
