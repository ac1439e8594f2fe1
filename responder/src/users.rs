//! The users directory: the NATS by Example `users.json` format, validated at start-up.
//!
//! ```json
//! { "bob": { "pass": "bob", "account": "APP",
//!            "permissions": { "pub": {"allow": ["bob.>"], "deny": []},
//!                             "sub": {"allow": ["bob.>", "bob.q queue"]},
//!                             "resp": {"max": 1, "ttl": 1000000000} } } }
//! ```
//!
//! Compatibility with the Go service: keys match case-insensitively (`Pass`, `ACCOUNT`), as
//! Go's `encoding/json` does. Stricter than the Go service, on purpose: an **unknown key is an
//! error** (Go ignores it, so a typo such as `permisions` silently grants every permission),
//! and subjects, types and accounts are checked before the responder connects. A user without
//! a password (missing or empty `pass`) is loaded with a warning and never admitted.
//!
//! Extensions (not in the Go service's format, which stays the default and loads unchanged):
//! - `"nkey": "U…"`: the user logs in with that nkey, and is admitted only when CONNECT `sig`
//!   is a valid signature by the key over the request's `client_info.nonce`
//!   (`protocol.md` §1.5). Unique across users.
//! - `"token": "…"`: the user logs in with that `auth_token` and no user name; looked up in
//!   O(1) and compared in constant time ([`crate::token_index`]). Unique across users.
//! - `"cert_subject": "CN=alice,O=Acme"`: the user logs in with a client certificate whose
//!   subject, as the responder prints it (RFC 4514, [`crate::cert::verified_subject`]), is
//!   that text. Checked and normalised at start-up ([`normalise_cert_subject`]): attribute
//!   types in any case or spelling (`cn`, `commonName`, `2.5.4.3`) become `CN`; OpenSSL's
//!   `/CN=alice/O=Acme` and spaces around separators (`CN=alice, O=Acme`) are errors that give
//!   the accepted form, since no certificate's subject is printed that way. Unique across
//!   users.
//!
//! An entry holds at most one credential: `pass`, `nkey`, `token` or `cert_subject`.

use std::collections::HashMap;
use std::path::Path;

use callout_codec::{Permission, ResponsePermission, Secret};
use serde_json::{Map, Value};
use thiserror::Error;

use crate::token_index::TokenIndex;

/// A problem in the users file, naming the file, the user, the field and the fix.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{file}: {location}: {problem}. Fix: {fix}")]
pub struct UsersError {
    /// The file.
    pub file: String,
    /// `user "bob", field "permissions.pub.allow[0]"`, or the whole file.
    pub location: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

/// The permissions of one user, as the user JWT will carry them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    /// `pub`.
    pub publish: Permission,
    /// `sub`.
    pub subscribe: Permission,
    /// `resp`.
    pub resp: Option<ResponsePermission>,
}

/// One user.
#[derive(Clone, Debug)]
pub struct UserEntry {
    /// The password; `None` when missing or empty: such a user is never admitted.
    pub pass: Option<Secret>,
    /// Extension: the user's public nkey (`U…`), for nonce-signature logins.
    pub nkey: Option<String>,
    /// Extension: the user's token (`auth_token`).
    pub token: Option<Secret>,
    /// Extension: the subject of the client certificate that logs the user in, as the server
    /// verified it (`client_tls.verified_chains`), in the RFC 4514 form the responder prints a
    /// certificate's subject in (e.g. `CN=alice,O=Acme`); normalised at load.
    pub cert_subject: Option<String>,
    /// The account name the user is placed in (the user JWT `aud`).
    pub account: String,
    /// Permissions.
    pub permissions: Permissions,
}

/// All users, keyed by exact username.
#[derive(Clone, Debug, Default)]
pub struct UserDirectory {
    users: HashMap<String, UserEntry>,
    /// User names by public nkey (the `nkey` extension).
    by_nkey: HashMap<String, String>,
    /// User names by token (the `token` extension).
    tokens: TokenIndex,
    /// User names by certificate subject (the `cert_subject` extension).
    by_cert: HashMap<String, String>,
    /// Users loaded without any credential (start-up warnings).
    pub passwordless: Vec<String>,
}

impl UserDirectory {
    /// Reads and validates a users file.
    pub fn load(path: &Path) -> Result<UserDirectory, UsersError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| UsersError {
            file: file.clone(),
            location: "the file".into(),
            problem: format!("cannot be read ({e})"),
            fix: "pass the path of a readable users.json with -users".into(),
        })?;
        Self::parse(&text, &file)
    }

    /// Parses and validates users JSON; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<UserDirectory, UsersError> {
        let err = |location: String, problem: String, fix: &str| UsersError {
            file: file.to_string(),
            location,
            problem,
            fix: fix.to_string(),
        };
        let mut dup = None;
        let root = strict_json(text, &mut dup).map_err(|e| {
            if let Some(d) = dup.take() {
                return duplicate_error(file, d, &e);
            }
            err(
                format!("line {}, column {}", e.line(), e.column()),
                format!("not valid JSON ({e})"),
                "write the file as one JSON object mapping user names to {\"pass\": ..., \"account\": ...}",
            )
        })?;
        let Value::Object(map) = root else {
            return Err(err("the top level".into(), format!("is {}, not an object", kind(&root)), "make the file one JSON object: {\"alice\": {\"pass\": \"...\", \"account\": \"APP\"}}"));
        };
        let mut dir = UserDirectory::default();
        for (name, entry) in map {
            let at = |field: &str| {
                if field.is_empty() {
                    format!("user {name:?}")
                } else {
                    format!("user {name:?}, field {field:?}")
                }
            };
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(err(
                    at(""),
                    "the user name is empty or contains white space".into(),
                    "use a user name without spaces",
                ));
            }
            let Value::Object(obj) = entry else {
                return Err(err(
                    at(""),
                    format!("is {}, not an object", kind(&entry)),
                    "give the user an object such as {\"pass\": \"...\", \"account\": \"APP\"}",
                ));
            };
            let fields = fold_keys(&obj, &["pass", "account", "permissions", "nkey", "token", "cert_subject"]).map_err(|(k, hint)| {
                err(at(&k), hint, "remove the key or correct its spelling; known keys are pass, account, permissions, and the extensions nkey, token and cert_subject")
            })?;
            let pass = match fields.get("pass") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => Some(Secret::new(s.clone())),
                Some(v) => {
                    return Err(err(
                        at("pass"),
                        format!("is {}, not a string", kind(v)),
                        "write the password as a JSON string",
                    ))
                }
            };
            let nkey = match fields.get("nkey") {
                None | Some(Value::Null) => None,
                Some(Value::String(k))
                    if callout_codec::nkey::is_public(k, callout_codec::KeyKind::User) =>
                {
                    if let Some(other) = dir.by_nkey.get(k) {
                        return Err(err(
                            at("nkey"),
                            format!("is also the nkey of user {other:?}"),
                            "give each user its own nkey",
                        ));
                    }
                    dir.by_nkey.insert(k.clone(), name.clone());
                    Some(k.clone())
                }
                Some(Value::String(_)) => return Err(err(
                    at("nkey"),
                    "is not a public user nkey".into(),
                    "write the user's public key, 56 characters starting with U (never its seed)",
                )),
                Some(v) => {
                    return Err(err(
                        at("nkey"),
                        format!("is {}, not a string", kind(v)),
                        "write the public user nkey as a JSON string, \"U…\"",
                    ))
                }
            };
            let token = match fields.get("token") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) if !t.is_empty() => {
                    let t = Secret::new(t.clone());
                    if let Err(other) = dir.tokens.insert(t.clone(), name.clone()) {
                        return Err(err(
                            at("token"),
                            format!("is also the token of user {other:?}"),
                            "give each user its own token",
                        ));
                    }
                    Some(t)
                }
                Some(Value::String(_)) => {
                    return Err(err(
                        at("token"),
                        "is empty".into(),
                        "write a non-empty token, or remove the key",
                    ))
                }
                Some(v) => {
                    return Err(err(
                        at("token"),
                        format!("is {}, not a string", kind(v)),
                        "write the token as a JSON string",
                    ))
                }
            };
            let cert_subject = match fields.get("cert_subject") {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) if !c.trim().is_empty() => {
                    let c = normalise_cert_subject(c)
                        .map_err(|e| err(at("cert_subject"), e.problem, &e.fix))?;
                    if let Some(other) = dir.by_cert.get(&c) {
                        return Err(err(
                            at("cert_subject"),
                            format!("is also the certificate subject of user {other:?}"),
                            "give each user its own certificate subject",
                        ));
                    }
                    dir.by_cert.insert(c.clone(), name.clone());
                    Some(c)
                }
                Some(Value::String(_)) => {
                    return Err(err(
                        at("cert_subject"),
                        "is empty".into(),
                        "write the certificate's subject as RFC 4514 text, e.g. \"CN=alice\", or remove the key",
                    ))
                }
                Some(v) => {
                    return Err(err(
                        at("cert_subject"),
                        format!("is {}, not a string", kind(v)),
                        "write the certificate's subject as a JSON string, e.g. \"CN=alice\"",
                    ))
                }
            };
            let credentials = usize::from(pass.is_some())
                + usize::from(nkey.is_some())
                + usize::from(token.is_some())
                + usize::from(cert_subject.is_some());
            if credentials > 1 {
                return Err(err(at(""), "has more than one credential (pass, nkey, token, cert_subject)".into(), "keep one of pass, nkey, token and cert_subject per user; give a second credential its own user entry"));
            }
            if credentials == 0 {
                dir.passwordless.push(name.clone());
            }
            let account = match fields.get("account") {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err(err(
                            at("account"),
                            format!("{s:?} is not a valid account name"),
                            "use the account's name as configured in the server, e.g. \"APP\"",
                        ));
                    }
                    s.clone()
                }
                Some(Value::String(_)) | None | Some(Value::Null) => {
                    return Err(err(
                        at("account"),
                        "is missing or empty".into(),
                        "name the account the user is placed in, e.g. \"account\": \"APP\"",
                    ))
                }
                Some(v) => {
                    return Err(err(
                        at("account"),
                        format!("is {}, not a string", kind(v)),
                        "write the account name as a JSON string",
                    ))
                }
            };
            let permissions = match fields.get("permissions") {
                None | Some(Value::Null) => Permissions::default(),
                Some(Value::Object(p)) => parse_permissions(p).map_err(|(f, problem, fix)| err(at(&format!("permissions.{f}")), problem, &fix))?,
                Some(v) => return Err(err(at("permissions"), format!("is {}, not an object", kind(v)), "write permissions as {\"pub\": {\"allow\": [...]}, \"sub\": {...}, \"resp\": {...}}")),
            };
            dir.users.insert(
                name,
                UserEntry {
                    pass,
                    nkey,
                    token,
                    cert_subject,
                    account,
                    permissions,
                },
            );
        }
        Ok(dir)
    }

    /// Every user with its entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &UserEntry)> {
        self.users.iter().map(|(n, e)| (n.as_str(), e))
    }

    /// Looks a user up by exact name.
    pub fn get(&self, name: &str) -> Option<&UserEntry> {
        self.users.get(name)
    }

    /// The user whose `nkey` extension is `key`, with its name.
    pub fn by_nkey(&self, key: &str) -> Option<(&str, &UserEntry)> {
        let name = self.by_nkey.get(key)?;
        Some((name.as_str(), self.users.get(name)?))
    }

    /// The user whose `token` extension equals `token`, with its name: one keyed MAC and one
    /// constant-time comparison, whatever the number of token users ([`TokenIndex::get`]).
    pub fn by_token(&self, token: &str) -> Option<(&str, &UserEntry)> {
        let name = self.tokens.get(token)?;
        self.users.get_key_value(name).map(|(n, e)| (n.as_str(), e))
    }

    /// The user whose `cert_subject` extension is `subject`, with its name.
    pub fn by_cert_subject(&self, subject: &str) -> Option<(&str, &UserEntry)> {
        let name = self.by_cert.get(subject)?;
        Some((name.as_str(), self.users.get(name)?))
    }

    /// The users with the `cert_subject` extension, by name (for the admit-unknown-cert
    /// fault).
    pub fn cert_users(&self) -> Vec<(&str, &UserEntry)> {
        let mut v: Vec<(&str, &UserEntry)> = self
            .by_cert
            .values()
            .filter_map(|n| Some((n.as_str(), self.users.get(n)?)))
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Forgets the `nkey` and `token` extensions, as a reader of the seed format does: those
    /// users keep their entries but no credential, so they are never admitted.
    pub fn drop_extensions(&mut self) {
        self.by_nkey.clear();
        self.tokens.clear();
        self.by_cert.clear();
    }

    /// True when there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Path-free constructor for tests and benches.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, UserEntry)>) -> Self {
        let users: HashMap<String, UserEntry> = entries.into_iter().collect();
        let by_nkey = users
            .iter()
            .filter_map(|(n, e)| Some((e.nkey.clone()?, n.clone())))
            .collect();
        let mut tokens = TokenIndex::default();
        for (n, e) in &users {
            if let Some(t) = &e.token {
                // A token given twice keeps one of its users, as before.
                let _ = tokens.insert(t.clone(), n.clone());
            }
        }
        let by_cert = users
            .iter()
            .filter_map(|(n, e)| Some((e.cert_subject.clone()?, n.clone())))
            .collect();
        UserDirectory {
            users,
            by_nkey,
            tokens,
            by_cert,
            passwordless: Vec::new(),
        }
    }
}

/// Why a `cert_subject` value is refused; the caller names the file, the user and the field.
#[derive(Debug, PartialEq, Eq)]
pub struct SubjectError {
    /// What is wrong, quoting the value.
    pub problem: String,
    /// The accepted form, computed from the value when it can be.
    pub fix: String,
}

/// How to see a certificate's subject in the accepted form, for error texts.
const SEE_SUBJECT: &str = "`openssl x509 -noout -subject -nameopt RFC2253 -in CERT` prints it";

/// A `cert_subject` value in the exact form the responder gives a verified certificate's
/// subject ([`crate::cert::verified_subject`]: the server hands over the certificate, and the
/// responder prints its subject as RFC 4514 text, as Go's `pkix.Name.String()` does for the
/// usual attributes): the RDNs from the last to the first, separated by `,` with no space,
/// the attributes of one RDN joined by `+`, each attribute type as its upper-case short name
/// (`CN`, `O`, `OU`, `C`, `L`, `ST`, `DC`, `UID`, …), values escaped as RFC 4514 says.
///
/// Attribute types are case-insensitive in RFC 4514, so `cn`, `commonName` and `2.5.4.3`
/// are accepted and become `CN`, and escapes are rewritten to the printed form (`\2C` becomes
/// `\,`). What cannot be a certificate's subject is refused with the form to write instead:
/// OpenSSL's `/CN=alice/O=Acme` (whose RDNs run in the opposite order), spaces around `,`,
/// `+` or `=` (`CN=alice, O=Acme`, `CN = alice`), unescaped `"`, `;`, `<`, `>`, malformed
/// escapes and unknown attribute types.
pub fn normalise_cert_subject(subject: &str) -> Result<String, SubjectError> {
    use std::str::FromStr;
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::name::{RdnSequence, RelativeDistinguishedName};

    let example = |more: &str| {
        format!(
            "write the subject as RFC 4514 text, as {SEE_SUBJECT}, e.g. \"CN=alice,O=Acme\"{more}"
        )
    };
    if let Some(rest) = subject.strip_prefix('/') {
        let fix = match openssl_slash_to_rfc4514(rest).and_then(|s| normalise_cert_subject(&s).ok()) {
            Some(s) => format!("write {s:?}: RFC 4514 lists the RDNs in the reverse order, separated by commas without spaces, as {SEE_SUBJECT}"),
            None => example(""),
        };
        return Err(SubjectError {
            problem: format!("{subject:?} is OpenSSL's /-separated form, not RFC 4514 text, so no certificate's subject can match it"),
            fix,
        });
    }
    let rdns = split_dn(subject).map_err(|problem| SubjectError {
        problem: format!("{subject:?} is not an RFC 4514 distinguished name: {problem}"),
        fix: example(
            "; escape a special character inside a value with a backslash, e.g. \"O=Acme\\, Inc.\"",
        ),
    })?;
    let spaced =
        |a: &WrittenAttribute| a.kind.trim() != a.kind || a.value.len() != a.value_trimmed().len();
    if rdns.iter().flatten().any(spaced) {
        // `O = Acme, CN = alice`, spaces around '=', is OpenSSL's default print, which lists
        // the RDNs in the certificate's order: RFC 4514 lists them in reverse.
        let openssl = rdns
            .iter()
            .flatten()
            .any(|a| a.kind.ends_with(' ') || a.value.starts_with(' '));
        let mut tight: Vec<String> = rdns
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|a| format!("{}={}", a.kind.trim(), a.value_trimmed()))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        if openssl {
            tight.reverse();
        }
        let order = if openssl {
            "in the reverse of OpenSSL's default print, which lists the certificate's order"
        } else {
            "most specific first"
        };
        let fix = match normalise_cert_subject(&tight.join(",")) {
            Ok(s) => format!("write {s:?}: no spaces around ',', '+' or '=' (a space that starts or ends a value is written \"\\ \"), the RDNs {order}, as {SEE_SUBJECT}"),
            Err(_) => example(", with no spaces around ',', '+' or '='"),
        };
        return Err(SubjectError {
            problem: format!("{subject:?} has spaces around ',', '+' or '=', which a certificate's subject never has in RFC 4514 text"),
            fix,
        });
    }
    let mut seq = Vec::with_capacity(rdns.len());
    for rdn in &rdns {
        let mut atvs = Vec::with_capacity(rdn.len());
        for a in rdn {
            // A type the responder prints by name prints `NAME=…`; others print as a dotted
            // OID with the DER in hex.
            let named = match AttributeTypeAndValue::from_str(&format!("{}=x", a.kind)) {
                Ok(probe) => !probe.to_string().starts_with(|c: char| c.is_ascii_digit()),
                Err(_) => {
                    return Err(SubjectError {
                        problem: format!("{subject:?}: {:?} is not an attribute type the responder knows", a.kind),
                        fix: "use a short name such as CN, O, OU, C, L, ST, DC or UID, or a dotted OID such as 2.5.4.3".into(),
                    })
                }
            };
            let bad_value = || SubjectError {
                problem: format!(
                    "{subject:?}: the value of {} is not one that attribute holds ({})",
                    a.kind,
                    "hex that is not DER, bytes that are not UTF-8, or characters C does not allow"
                ),
                fix: example(""),
            };
            let atv = AttributeTypeAndValue::from_str(&format!("{}={}", a.kind, a.value))
                .map_err(|_| bad_value())?;
            // A named type with a text value printed by OID: the text is not a string of its
            // kind (a C outside PrintableString), which no certificate's subject holds. (A
            // `#hex` value may print so: a certificate's BMPString CN does too.)
            if named
                && !a.value.starts_with('#')
                && atv.to_string().starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(bad_value());
            }
            atvs.push(atv);
        }
        seq.push(
            RelativeDistinguishedName::try_from(atvs).map_err(|_| SubjectError {
                problem: format!("{subject:?}: one RDN names the same attribute twice"),
                fix: example(""),
            })?,
        );
    }
    // The text runs from the last RDN to the first; the sequence from the first.
    seq.reverse();
    Ok(RdnSequence(seq).to_string())
}

/// One `type=value` of a subject as written: the value still escaped.
struct WrittenAttribute<'a> {
    kind: &'a str,
    value: &'a str,
    /// Bytes at the value's end that are spaces, not escaped.
    trailing_spaces: usize,
}

impl WrittenAttribute<'_> {
    /// The value without unescaped spaces at either end.
    fn value_trimmed(&self) -> &str {
        self.value[..self.value.len() - self.trailing_spaces].trim_start_matches(' ')
    }
}

/// Splits RFC 4514 text into RDNs of attributes, checking its escapes and refusing the
/// special characters it requires to be escaped.
fn split_dn(s: &str) -> Result<Vec<Vec<WrittenAttribute<'_>>>, String> {
    let b = s.as_bytes();
    let mut rdns = vec![Vec::new()];
    // Where the current attribute starts, where its '=' is, and how many unescaped spaces end
    // it so far.
    let (mut start, mut eq, mut trailing) = (0, None, 0);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if eq.is_none() => return Err("an attribute type contains a backslash".into()),
            b'\\' => {
                let next = b.get(i + 1);
                if next.is_some_and(|c| b" \"#+,;<=>\\".contains(c)) {
                    i += 2;
                } else if b
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                {
                    i += 3;
                } else {
                    return Err(
                        r##"a backslash is not followed by one of ' "#+,;<=>\' or two hex digits"##
                            .into(),
                    );
                }
                trailing = 0;
                continue;
            }
            b'=' if eq.is_none() => eq = Some(i),
            c @ (b',' | b'+') => {
                push_attribute(s, &mut rdns, start..i, eq, trailing)?;
                if c == b',' {
                    rdns.push(Vec::new());
                }
                (start, eq) = (i + 1, None);
            }
            c @ (b'"' | b';' | b'<' | b'>') => {
                return Err(format!(
                    "'{c}' must be escaped as \"\\{c}\" inside a value, and RDNs are separated by ','",
                    c = c as char
                ));
            }
            b' ' if eq.is_some() => {
                trailing += 1;
                i += 1;
                continue;
            }
            _ => {}
        }
        trailing = 0;
        i += 1;
    }
    push_attribute(s, &mut rdns, start..b.len(), eq, trailing)?;
    Ok(rdns)
}

/// Adds `s[at]`, whose '=' is at `eq`, to the last RDN.
fn push_attribute<'s>(
    s: &'s str,
    rdns: &mut [Vec<WrittenAttribute<'s>>],
    at: std::ops::Range<usize>,
    eq: Option<usize>,
    trailing_spaces: usize,
) -> Result<(), String> {
    let piece = &s[at.clone()];
    let Some(eq) = eq else {
        return Err(if piece.trim().is_empty() {
            "it has an empty RDN or attribute (two separators in a row, or one at the start or end)"
                .into()
        } else {
            format!("{piece:?} has no '='")
        });
    };
    if s[at.start..eq].trim().is_empty() {
        return Err(format!("{piece:?} has no attribute type before '='"));
    }
    if let Some(rdn) = rdns.last_mut() {
        rdn.push(WrittenAttribute {
            kind: &s[at.start..eq],
            value: &s[eq + 1..at.end],
            trailing_spaces,
        });
    }
    Ok(())
}

/// OpenSSL's `/C=US/O=Acme/CN=alice` as RFC 4514 text (`CN=alice,O=Acme,C=US`), for an error's
/// fix; `None` when it is not of that shape.
fn openssl_slash_to_rfc4514(rest: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for piece in rest.split('/') {
        match parts.last_mut() {
            // A '/' inside a value: OpenSSL does not escape it.
            Some(last) if !piece.contains('=') => {
                last.push('/');
                last.push_str(piece);
            }
            _ if !piece.contains('=') => return None,
            _ => parts.push(piece.to_string()),
        }
    }
    let escaped: Vec<String> = parts
        .iter()
        .rev()
        .map(|p| {
            let (kind, value) = p.split_once('=').unwrap_or((p, ""));
            let mut v = String::new();
            for (i, c) in value.char_indices() {
                match c {
                    ',' | '\\' | '"' | ';' | '<' | '>' => v.push('\\'),
                    '#' | ' ' if i == 0 => v.push('\\'),
                    ' ' if i + 1 == value.len() => v.push('\\'),
                    _ => {}
                }
                v.push(c);
            }
            format!("{kind}={v}")
        })
        .collect();
    Some(escaped.join(","))
}

/// A key that appears twice in one JSON object: where (the keys leading to that object, and
/// `[i]` for array elements) and which key.
struct DuplicateKey {
    path: Vec<String>,
    key: String,
}

fn duplicate_error(file: &str, d: DuplicateKey, e: &serde_json::Error) -> UsersError {
    let at = format!("line {}, column {}", e.line(), e.column());
    let (location, problem, fix) = match d.path.split_first() {
        None => (
            format!("user {:?}", d.key),
            format!("the user appears twice ({at}); JSON would keep only the last entry"),
            "keep one entry per user: merge the two or rename one",
        ),
        Some((user, rest)) => {
            let mut field = String::new();
            for p in rest.iter().chain(std::iter::once(&d.key)) {
                if !field.is_empty() && !p.starts_with('[') {
                    field.push('.');
                }
                field.push_str(p);
            }
            (
                format!("user {user:?}, field {field:?}"),
                format!(
                    "key {:?} appears twice in one object ({at}); JSON would keep only the last",
                    d.key
                ),
                "remove one of the two, so the key appears once",
            )
        }
    };
    UsersError {
        file: file.to_string(),
        location,
        problem,
        fix: fix.to_string(),
    }
}

/// Parses JSON like `serde_json::from_str::<Value>`, except that a key repeated within one
/// object is an error (serde_json's map would silently keep the last), recorded in `dup`.
fn strict_json(text: &str, dup: &mut Option<DuplicateKey>) -> Result<Value, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    let mut path = Vec::new();
    let v = StrictValue {
        path: &mut path,
        dup,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

struct StrictValue<'a> {
    path: &'a mut Vec<String>,
    dup: &'a mut Option<DuplicateKey>,
}

impl<'de> serde::de::DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            self.path.push(format!("[{}]", out.len()));
            let next = seq.next_element_seed(StrictValue {
                path: self.path,
                dup: self.dup,
            });
            self.path.pop();
            match next? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        use serde::de::Error as _;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let err = A::Error::custom(format!("duplicate key {key:?}"));
                *self.dup = Some(DuplicateKey {
                    path: self.path.clone(),
                    key,
                });
                return Err(err);
            }
            self.path.push(key.clone());
            let v = map.next_value_seed(StrictValue {
                path: self.path,
                dup: self.dup,
            });
            self.path.pop();
            out.insert(key, v?);
        }
        Ok(Value::Object(out))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Lower-cases the keys of `obj` against `known`: returns them by their canonical name, or the
/// first unknown or duplicated key with a hint.
fn fold_keys<'a>(
    obj: &'a Map<String, Value>,
    known: &[&'static str],
) -> Result<HashMap<&'static str, &'a Value>, (String, String)> {
    let mut out = HashMap::new();
    for (k, v) in obj {
        let Some(canon) = known.iter().find(|c| c.eq_ignore_ascii_case(k)) else {
            let hint = known
                .iter()
                .find(|c| edit_distance(c, &k.to_ascii_lowercase()) <= 2)
                .map(|c| format!("unknown key {k:?} (did you mean {c:?}?)"))
                .unwrap_or_else(|| format!("unknown key {k:?}"));
            return Err((k.clone(), hint));
        };
        if out.insert(*canon, v).is_some() {
            return Err((
                k.clone(),
                format!("key {canon:?} appears twice (keys match case-insensitively)"),
            ));
        }
    }
    Ok(out)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

type FieldError = (String, String, String);

fn parse_permissions(p: &Map<String, Value>) -> Result<Permissions, FieldError> {
    let fields = fold_keys(p, &["pub", "sub", "resp"])
        .map_err(|(k, hint)| (k, hint, "use pub, sub and resp".to_string()))?;
    let mut out = Permissions::default();
    if let Some(v) = fields.get("pub") {
        out.publish = parse_permission(v, "pub", false)?;
    }
    if let Some(v) = fields.get("sub") {
        out.subscribe = parse_permission(v, "sub", true)?;
    }
    match fields.get("resp") {
        None | Some(Value::Null) => {}
        Some(Value::Object(r)) => {
            let rf = fold_keys(r, &["max", "ttl"])
                .map_err(|(k, hint)| (format!("resp.{k}"), hint, "use max and ttl".to_string()))?;
            let int = |name: &str| -> Result<i64, FieldError> {
                match rf.get(name) {
                    None | Some(Value::Null) => Ok(0),
                    Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v >= -1) => {
                        Ok(n.as_i64().unwrap_or(0))
                    }
                    Some(Value::Number(n)) if n.is_i64() => Err((
                        format!("resp.{name}"),
                        format!("is {n}, a negative number other than -1"),
                        if name == "ttl" {
                            "write ttl as whole nanoseconds (0 for the server's default of 2 minutes, -1 for no limit)".into()
                        } else {
                            "write max as a whole number of replies (0 for the server's default of 1, -1 for no limit)".into()
                        },
                    )),
                    Some(v) => Err((
                        format!("resp.{name}"),
                        format!("is {}, not a whole number", kind(v)),
                        if name == "ttl" {
                            "write ttl as whole nanoseconds, e.g. 1000000000 for one second".into()
                        } else {
                            "write max as a whole number of replies".into()
                        },
                    )),
                }
            };
            out.resp = Some(ResponsePermission {
                max: int("max")?,
                ttl: int("ttl")?,
            });
        }
        Some(v) => {
            return Err((
                "resp".into(),
                format!("is {}, not an object", kind(v)),
                "write resp as {\"max\": 1, \"ttl\": 0}".into(),
            ))
        }
    }
    Ok(out)
}

fn parse_permission(v: &Value, which: &str, queue_allowed: bool) -> Result<Permission, FieldError> {
    let Value::Object(m) = v else {
        if v.is_null() {
            return Ok(Permission::default());
        }
        return Err((
            which.into(),
            format!("is {}, not an object", kind(v)),
            format!("write {which} as {{\"allow\": [...], \"deny\": [...]}}"),
        ));
    };
    let f = fold_keys(m, &["allow", "deny"]).map_err(|(k, hint)| {
        (
            format!("{which}.{k}"),
            hint,
            "use allow and deny".to_string(),
        )
    })?;
    let list = |name: &str| -> Result<Vec<String>, FieldError> {
        match f.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    let at = format!("{which}.{name}[{i}]");
                    let Value::String(s) = it else {
                        return Err((
                            at,
                            format!("is {}, not a string", kind(it)),
                            "write each subject as a JSON string".into(),
                        ));
                    };
                    check_subject(s, queue_allowed)
                        .map_err(|why| (at, format!("{s:?} {why}"), subject_fix(queue_allowed)))?;
                    Ok(s.clone())
                })
                .collect(),
            Some(v) => Err((
                format!("{which}.{name}"),
                format!("is {}, not a list", kind(v)),
                "write a list of subjects, e.g. [\"orders.>\"]".into(),
            )),
        }
    };
    Ok(Permission {
        allow: list("allow")?,
        deny: list("deny")?,
    })
}

fn subject_fix(queue_allowed: bool) -> String {
    if queue_allowed {
        "write a subject such as \"orders.*\" or \"orders.>\", or \"subject queue\" for a queue group".into()
    } else {
        "write a subject such as \"orders.*\" or \"orders.>\"; tokens are separated by dots, '*' and '>' stand alone, '>' only last".into()
    }
}

/// Checks a permission subject: dot-separated non-empty tokens, `*` and `>` as whole tokens,
/// `>` only last, no white space; with `queue_allowed`, an optional `" queue"` suffix.
pub fn check_subject(s: &str, queue_allowed: bool) -> Result<(), &'static str> {
    let (subject, queue) = match s.split_once(' ') {
        Some((a, b)) if queue_allowed => (a, Some(b)),
        Some(_) => {
            return Err("contains a space (queue groups are allowed only in sub permissions)")
        }
        None => (s, None),
    };
    if let Some(q) = queue {
        if q.is_empty() || q.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("has an empty or malformed queue name");
        }
    }
    if subject.is_empty() {
        return Err("is empty");
    }
    if subject.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains white space");
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, t) in tokens.iter().enumerate() {
        if t.is_empty() {
            return Err("has an empty token (two dots in a row, or a leading or trailing dot)");
        }
        if t.len() > 1 && (t.contains('>') || t.contains('*')) {
            return Err("uses a wildcard inside a token ('*' and '>' must stand alone)");
        }
        if *t == ">" && i != tokens.len() - 1 {
            return Err("has '>' before the last token");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_USERS: &str = r#"{
      "sys":   { "pass": "sys",   "account": "SYS" },
      "alice": { "pass": "alice", "account": "APP" },
      "bob": { "pass": "bob", "account": "APP",
        "permissions": { "pub": { "allow": ["bob.>"] }, "sub": { "allow": ["bob.>"] }, "resp": { "max": 1 } } }
    }"#;

    fn parse(t: &str) -> Result<UserDirectory, UsersError> {
        UserDirectory::parse(t, "users.json")
    }

    #[test]
    fn the_seed_users_file_loads() {
        let d = parse(SEED_USERS).unwrap();
        assert_eq!(d.len(), 3);
        let bob = d.get("bob").unwrap();
        assert_eq!(bob.account, "APP");
        assert_eq!(bob.permissions.publish.allow, vec!["bob.>"]);
        assert_eq!(
            bob.permissions.resp,
            Some(ResponsePermission { max: 1, ttl: 0 })
        );
        assert!(d.get("Bob").is_none(), "user names are exact");
    }

    #[test]
    fn keys_match_case_insensitively_like_go() {
        let d = parse(
            r#"{"a": {"Pass": "x", "ACCOUNT": "APP", "Permissions": {"PUB": {"Allow": ["a"]}}}}"#,
        )
        .unwrap();
        assert_eq!(d.get("a").unwrap().permissions.publish.allow, vec!["a"]);
    }

    #[test]
    fn a_typo_is_an_error_not_a_grant() {
        let e = parse(
            r#"{"a": {"pass": "x", "account": "APP", "permisions": {"pub": {"allow": ["a"]}}}}"#,
        )
        .unwrap_err();
        assert_eq!(e.location, r#"user "a", field "permisions""#);
        assert!(e.problem.contains("did you mean \"permissions\""), "{e}");
        let e = parse(
            r#"{"a": {"pass": "x", "account": "APP", "permissions": {"pub": {"alow": ["a"]}}}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("pub.alow"), "{e}");
    }

    #[test]
    fn errors_name_user_field_and_fix() {
        let e = parse(r#"{"bob": {"pass": "x"}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"users.json: user "bob", field "account": is missing or empty. Fix: name the account the user is placed in, e.g. "account": "APP""#
        );
        let e = parse(r#"{"bob": {"pass": 5, "account": "APP"}}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains(r#"field "pass": is a number, not a string"#),
            "{e}"
        );
        let e = parse(r#"{"bob": {"pass": "x", "account": "APP", "permissions": {"sub": {"deny": ["a..b"]}}}}"#).unwrap_err();
        assert!(
            e.to_string().contains("permissions.sub.deny[0]")
                && e.to_string().contains("empty token"),
            "{e}"
        );
        let e = parse(
            r#"{"bob": {"pass": "x", "account": "APP", "permissions": {"resp": {"ttl": "1s"}}}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("nanoseconds"), "{e}");
        let e = parse("{\"bob\": ").unwrap_err();
        assert!(e.location.starts_with("line 1"), "{e}");
        assert!(parse("[]").is_err());
        assert!(parse(r#"{"a": null}"#).is_err());
    }

    #[test]
    fn subjects_are_checked() {
        assert!(check_subject("a.*.c", false).is_ok());
        assert!(check_subject("a.>", false).is_ok());
        assert!(check_subject("a.b q1", true).is_ok());
        assert!(check_subject("a.b q1", false).is_err());
        assert!(check_subject(">.a", false).is_err());
        assert!(check_subject("a*", false).is_err());
        assert!(check_subject("", false).is_err());
        assert!(check_subject("a.", false).is_err());
    }

    #[test]
    fn resp_values_below_minus_one_are_errors() {
        let resp = |r: &str| {
            parse(&format!(
                r#"{{"bob": {{"pass": "x", "account": "APP", "permissions": {{"resp": {r}}}}}}}"#
            ))
        };
        let e = resp(r#"{"max": -2}"#).unwrap_err();
        assert_eq!(e.location, r#"user "bob", field "permissions.resp.max""#);
        assert!(e.fix.contains("-1 for no limit"), "{e}");
        let e = resp(r#"{"ttl": -9223372036854775808}"#).unwrap_err();
        assert_eq!(e.location, r#"user "bob", field "permissions.resp.ttl""#);
        assert!(e.fix.contains("nanoseconds"), "{e}");
        // -1 is the server's "no limit" (protocol.md §6), and 0 its default.
        let d = resp(r#"{"max": -1, "ttl": -1}"#).unwrap();
        let r = d.get("bob").unwrap().permissions.resp.unwrap();
        assert_eq!((r.max, r.ttl), (-1, -1));
        assert!(resp(r#"{"max": 0, "ttl": 0}"#).is_ok());
    }

    #[test]
    fn a_duplicate_key_is_an_error_not_last_wins() {
        let e = parse(
            r#"{"bob":{"pass":"first","account":"APP"},"bob":{"pass":"second","account":"SYS"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.location, r#"user "bob""#, "{e}");
        assert!(
            e.problem.contains("appears twice") && e.problem.contains("line 1"),
            "{e}"
        );
        assert!(e.fix.contains("one entry per user"), "{e}");
        assert!(!e.to_string().contains("second"), "no password echoed: {e}");
        let e = parse(r#"{"bob":{"pass":"x","account":"APP","account":"SYS"}}"#).unwrap_err();
        assert_eq!(e.location, r#"user "bob", field "account""#, "{e}");
        assert_eq!(e.file, "users.json");
        assert!(e.fix.contains("remove one"), "{e}");
        let e = parse(r#"{"bob":{"pass":"x","pass":"y","account":"APP"}}"#).unwrap_err();
        assert_eq!(e.location, r#"user "bob", field "pass""#, "{e}");
        assert!(!e.to_string().contains("\"y\""), "no password echoed: {e}");
        for (json, field) in [
            (
                r#"{"bob":{"pass":"x","account":"APP","permissions":{"pub":{"allow":["a"]},"pub":{"allow":[">"]}}}}"#,
                "permissions.pub",
            ),
            (
                r#"{"bob":{"pass":"x","account":"APP","permissions":{"sub":{"deny":["a"],"deny":[]}}}}"#,
                "permissions.sub.deny",
            ),
            (
                r#"{"bob":{"pass":"x","account":"APP","permissions":{"resp":{"max":1,"max":-1}}}}"#,
                "permissions.resp.max",
            ),
        ] {
            let e = parse(json).unwrap_err();
            assert_eq!(e.location, format!("user \"bob\", field {field:?}"), "{e}");
        }
        // Case-folded duplicates stay an error too, and distinct users still load.
        assert!(parse(r#"{"bob":{"pass":"x","Pass":"y","account":"APP"}}"#).is_err());
        assert_eq!(
            parse(r#"{"bob":{"pass":"x","account":"APP"},"Bob":{"pass":"y","account":"APP"}}"#)
                .unwrap()
                .len(),
            2
        );
    }

    const NK: &str = "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON";

    #[test]
    fn the_nkey_and_token_extensions_load_and_look_up() {
        let d = parse(&format!(
            r#"{{"nk": {{"nkey": "{NK}", "account": "APP"}}, "tk": {{"Token": "s3cret-token", "account": "APP"}},
                "pw": {{"pass": "x", "account": "APP"}}}}"#
        ))
        .unwrap();
        assert_eq!(d.by_nkey(NK).map(|(n, _)| n), Some("nk"));
        assert_eq!(d.by_token("s3cret-token").map(|(n, _)| n), Some("tk"));
        assert!(d.by_token("s3cret-toke").is_none());
        assert!(d.by_token("").is_none());
        assert!(d.by_nkey("UNKNOWN").is_none());
        assert!(d.passwordless.is_empty(), "{:?}", d.passwordless);
        assert!(d.get("nk").unwrap().pass.is_none());
        let fromd = UserDirectory::from_entries([("nk".to_string(), d.get("nk").unwrap().clone())]);
        assert_eq!(fromd.by_nkey(NK).map(|(n, _)| n), Some("nk"));
    }

    /// The work of token logins, counted (never timed): loading compares no token with
    /// another, and a lookup makes one constant-time comparison, found or not, however many
    /// token users there are. Linear scans made 2,000 per lookup and ~2 million at load.
    #[test]
    fn token_logins_cost_one_comparison_whatever_the_number_of_token_users() {
        use crate::token_index::counter::comparisons_in;
        const N: usize = 2_000;
        let json: Vec<String> = (0..N)
            .map(|i| format!(r#""u{i}": {{"token": "token-{i}", "account": "APP"}}"#))
            .collect();
        let (d, at_load) = comparisons_in(|| parse(&format!("{{{}}}", json.join(","))).unwrap());
        assert_eq!(at_load, 0, "comparisons while loading {N} token users");
        for (token, user) in [
            ("token-1999", Some("u1999")),
            ("token-0", Some("u0")),
            ("token-2000", None),
            ("", None),
        ] {
            let (found, n) = comparisons_in(|| d.by_token(token).map(|(name, _)| name));
            assert_eq!((found, n), (user, 1), "{token:?}");
        }
    }

    #[test]
    fn the_extensions_are_checked() {
        let e = parse(r#"{"a": {"nkey": "SUAP277QP7U4JMFFPVZHLJYEQJ2UHOTYVEIZJYAWRJXQLP4FRSEHYZJJOU", "account": "APP"}}"#).unwrap_err();
        assert_eq!(e.location, r#"user "a", field "nkey""#);
        assert!(e.fix.contains("never its seed"), "{e}");
        assert!(!e.to_string().contains("SUAP"), "no seed echoed: {e}");
        let e = parse(&format!(r#"{{"a": {{"nkey": "{NK}", "account": "APP"}}, "b": {{"nkey": "{NK}", "account": "APP"}}}}"#)).unwrap_err();
        assert!(e.problem.contains("also the nkey"), "{e}");
        let e = parse(
            r#"{"a": {"token": "t", "account": "APP"}, "b": {"token": "t", "account": "APP"}}"#,
        )
        .unwrap_err();
        assert!(
            e.problem.contains("also the token") && !e.to_string().contains("\"t\""),
            "{e}"
        );
        let e = parse(r#"{"a": {"token": "", "account": "APP"}}"#).unwrap_err();
        assert_eq!(e.location, r#"user "a", field "token""#);
        let e = parse(r#"{"a": {"token": "t", "pass": "p", "account": "APP"}}"#).unwrap_err();
        assert!(e.problem.contains("more than one credential"), "{e}");
        let e = parse(r#"{"a": {"tokn": "t", "account": "APP"}}"#).unwrap_err();
        assert!(e.problem.contains("did you mean \"token\""), "{e}");
    }

    #[test]
    fn cert_subjects_are_normalised_to_the_printed_form() {
        for (written, printed) in [
            ("CN=alice", "CN=alice"),
            ("cn=alice", "CN=alice"),
            ("commonName=alice,o=Acme", "CN=alice,O=Acme"),
            ("2.5.4.3=alice", "CN=alice"),
            ("CN=alice,O=Acme\\2C Inc.", "CN=alice,O=Acme\\, Inc."),
            ("CN=\\ alice\\ ", "CN=\\ alice\\ "),
            // One RDN's attributes in the certificate's (DER) order, whatever order OpenSSL shows.
            ("UID=alice7+OU=Dev,C=US", "OU=Dev+UID=alice7,C=US"),
            ("CN=", "CN="),
            // A BMPString CN ("al") prints by OID, as the responder prints such a certificate.
            ("CN=#1E040061006C", "2.5.4.3=#1e040061006c"),
        ] {
            assert_eq!(
                normalise_cert_subject(written).as_deref(),
                Ok(printed),
                "{written}"
            );
        }
        let d = parse(r#"{"a": {"cert_subject": "cn=alice,o=Acme", "account": "APP"}}"#).unwrap();
        assert_eq!(
            d.by_cert_subject("CN=alice,O=Acme").map(|(n, _)| n),
            Some("a")
        );
        assert_eq!(
            d.get("a").unwrap().cert_subject.as_deref(),
            Some("CN=alice,O=Acme")
        );
        // Two spellings of one subject are one subject.
        let e = parse(r#"{"a": {"cert_subject": "CN=alice", "account": "APP"}, "b": {"cert_subject": "cn=alice", "account": "APP"}}"#).unwrap_err();
        assert!(e.problem.contains("also the certificate subject"), "{e}");
    }

    #[test]
    fn cert_subjects_that_can_never_match_are_refused_with_the_form_to_write() {
        let refused = |subject: &str| {
            let e = parse(&format!(
                r#"{{"alice": {{"cert_subject": {subject:?}, "account": "APP"}}}}"#
            ))
            .unwrap_err();
            assert_eq!(e.location, r#"user "alice", field "cert_subject""#, "{e}");
            assert_eq!(e.file, "users.json");
            e
        };
        let e = refused("/CN=alice/O=Acme");
        assert!(e.problem.contains("OpenSSL's /-separated form"), "{e}");
        assert!(e.fix.starts_with(r#"write "O=Acme,CN=alice""#), "{e}");
        let e = refused("/C=US/O=Acme, Inc./CN=alice");
        assert!(
            e.fix.starts_with(r#"write "CN=alice,O=Acme\\, Inc.,C=US""#),
            "{e}"
        );
        let e = refused("CN=alice, O=Acme");
        assert!(e.problem.contains("spaces around"), "{e}");
        assert!(e.fix.starts_with(r#"write "CN=alice,O=Acme""#), "{e}");
        // OpenSSL's default print: the certificate's order, so the fix reverses it.
        let e = refused("O = Acme, CN = alice");
        assert!(e.fix.starts_with(r#"write "CN=alice,O=Acme""#), "{e}");
        assert!(e.fix.contains("-nameopt RFC2253"), "{e}");
        for (subject, says) in [
            ("CN=alice ", "spaces around"),
            ("CN=alice;O=Acme", "';' must be escaped"),
            ("O=\"Acme, Inc.\",CN=alice", "'\"' must be escaped"),
            ("CN=alice\\", "backslash"),
            ("CN=a\\xyb", "backslash"),
            ("CN=alice,", "empty RDN"),
            ("CN=alice,,O=Acme", "empty RDN"),
            ("alice", "no '='"),
            ("=alice", "no attribute type"),
            ("Colour=blue,CN=alice", "not an attribute type"),
            ("C=Ünited", "not one that attribute holds"),
            ("CN=#zz", "not one that attribute holds"),
        ] {
            let e = refused(subject);
            assert!(e.problem.contains(says), "{subject}: {e}");
            assert!(
                e.fix.contains("\"CN=alice") || e.fix.contains("short name"),
                "{subject}: {e}"
            );
            eprintln!("{e}");
        }
    }

    #[test]
    fn a_user_without_password_is_kept_but_marked() {
        let d = parse(r#"{"nopass": {"account": "APP"}, "empty": {"pass": "", "account": "APP"}}"#)
            .unwrap();
        assert!(d.get("nopass").unwrap().pass.is_none());
        assert!(d.get("empty").unwrap().pass.is_none());
        assert_eq!(d.passwordless.len(), 2);
    }
}
