//! Every hostile request differs from its valid twin (a good request for the same identity) in
//! exactly what its case names, and nothing else: a forged request that changes two things
//! fails a responder for the wrong reason or passes one that checks only the other, and a
//! mutation that silently does nothing sends a valid request. The twin and the forgery are
//! decoded as a responder would decode them, and their differences are compared with the
//! table below.

use std::collections::{BTreeMap, BTreeSet};

use callout_catalog::wire::{catalog, harness_identities, Config, FakeServer, Forged, Kind, Login};
use callout_codec::{jwt, CurveSecret, KeyKind, Signer};
use serde_json::Value;

/// What each hostile (and leak) case changes, by case id.
fn expected() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("wire.hostile.1", &["signature"][..]),
        ("wire.hostile.2", &["iss"]),
        ("wire.hostile.3", &["aud"]),
        ("wire.hostile.4", &["exp"]),
        ("wire.hostile.5", &["exp"]),
        ("wire.hostile.6", &["nbf"]),
        ("wire.hostile.7", &["header xkey and its sender"]),
        ("wire.hostile.8", &["sealing"]),
        ("wire.hostile.9", &["sealing"]),
        ("wire.hostile.10", &["sealing"]),
        ("wire.hostile.11", &["body"]),
        ("wire.hostile.12", &["body"]),
        ("wire.hostile.13", &["body"]),
        ("wire.hostile.14", &["nats.client_info.name"]),
        ("wire.hostile.15", &["sealing"]),
        ("wire.hostile.16", &["sealing"]),
        ("wire.hostile.17", &["sent twice"]),
        ("wire.hostile.18", &["nats.connect_opts.user"]),
        // The server copies a client's user name into both fields: one change of the client.
        (
            "wire.hostile.19",
            &["nats.client_info.user", "nats.connect_opts.user"],
        ),
        ("wire.hostile.20", &["nats.version"]),
        ("wire.hostile.21", &["nats.user_nkey kind"]),
        ("wire.hostile.22", &["iss"]),
        ("wire.hostile.23", &["claim type"]),
        ("wire.hostile.24", &["nats.connect_opts.pass"]),
        ("wire.hostile.25", &["exp"]),
        ("wire.hostile.26", &["exp"]),
        ("wire.hostile.27", &["exp", "sent twice"]),
        // The request's time window moved a year ahead: iat and exp together.
        ("wire.hostile.28", &["exp", "iat"]),
        ("wire.hostile.29", &["iat"]),
        ("wire.hostile.30", &["header xkey and its sender"]),
    ])
}

/// A harness server whose responder secret the test holds, sealed or plain.
fn server(sealed: bool) -> (FakeServer, Option<CurveSecret>) {
    let responder = sealed.then(CurveSecret::generate);
    let issuer = Signer::generate(KeyKind::Account).public_key().to_string();
    let s = FakeServer::new(responder.as_ref().map(|r| r.public().clone()), issuer);
    (s, responder)
}

/// The request as a responder reads it: opened with the signed server key as sender (as the
/// header says on a genuine request), split, verified, decoded leniently as Go reads bytes.
struct Read {
    header: Option<String>,
    opened: Result<Vec<u8>, ()>,
    parts: Option<(Value, Value, bool)>,
}

fn read(f: &Forged, s: &FakeServer, responder: Option<&CurveSecret>) -> Read {
    let opened = match responder {
        Some(r) if f.body.starts_with(b"xkv1") => {
            r.channel_to(s.xkey.public()).open(&f.body).map_err(|_| ())
        }
        Some(_) => Err(()),
        None => Ok(f.body.clone()),
    };
    let parts = opened.as_ref().ok().and_then(|b| {
        let text = std::str::from_utf8(b).ok()?;
        let p: Vec<&str> = text.split('.').collect();
        if p.len() != 3 {
            return None;
        }
        let header: Value = serde_json::from_slice(&jwt::b64_decode(p[0], "h").ok()?).ok()?;
        let raw = jwt::b64_decode(p[1], "p").ok()?;
        let payload: Value = serde_json::from_str(&String::from_utf8_lossy(&raw)).ok()?;
        let verified = verifies_v2(text, payload["iss"].as_str().unwrap_or(""));
        Some((header, payload, verified))
    });
    Read {
        header: f.header.clone(),
        opened,
        parts,
    }
}

/// The v2 rule: an ed25519 signature by `iss` over `header.payload`.
fn verifies_v2(token: &str, iss: &str) -> bool {
    let Some(dot) = token.rfind('.') else {
        return false;
    };
    let Ok(sig) = jwt::b64_decode(&token[dot + 1..], "s") else {
        return false;
    };
    callout_codec::nkey::verify(iss, &token.as_bytes()[..dot], &sig).is_ok()
}

/// The payload fields that differ, as dotted paths; per-request values (jti, user_nkey, and
/// times within a few seconds) are not differences.
fn diff(a: &Value, b: &Value, path: &str, out: &mut BTreeSet<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &p,
                    out,
                );
            }
        }
        _ if path == "jti" => {}
        _ if path == "nats.user_nkey" => {
            let kind = |v: &Value| v.as_str().and_then(|s| s.chars().next());
            if kind(a) != kind(b) {
                out.insert("nats.user_nkey kind".into());
            }
        }
        (Value::Number(x), Value::Number(y)) if matches!(path, "iat" | "exp" | "nbf") => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            if (x - y).abs() > 5.0 {
                out.insert(path.into());
            }
        }
        _ if a != b => {
            out.insert(path.into());
        }
        _ => {}
    }
}

fn changes(twin: &Read, forged: &Read, f: &Forged) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if f.replayed {
        out.insert("sent twice".to_string());
    }
    if twin.header != forged.header {
        // A header naming another key, whose body that key sealed: one change of the sender.
        if forged.header.is_some() && twin.header.is_some() {
            out.insert("header xkey and its sender".into());
            return out;
        }
        out.insert("sealing".into());
        return out;
    }
    let Ok(body) = &forged.opened else {
        out.insert("sealing".into());
        return out;
    };
    let (Some((th, tp, _)), Some((fh, fp, fv))) = (&twin.parts, &forged.parts) else {
        let _ = body;
        out.insert("body".into());
        return out;
    };
    if th != fh {
        out.insert("jwt header".into());
    }
    if tp["nats"]["type"] != fp["nats"]["type"] {
        out.insert("claim type".into());
        return out;
    }
    diff(tp, fp, "", &mut out);
    if !fv {
        out.insert("signature".into());
    }
    out
}

#[test]
fn every_hostile_request_differs_from_its_twin_in_exactly_what_its_case_names() {
    let want = expected();
    let mut problems = Vec::new();
    let mut seen = 0;
    for case in catalog() {
        let forge = match case.kind {
            // The nkey and certificate cases forge whole logins of another kind; their
            // twins are those logins, checked in their own tests.
            Kind::Hostile(f) | Kind::Leak(f)
                if matches!(case.config, Config::Plain | Config::Sealed) =>
            {
                f
            }
            _ => continue,
        };
        seen += 1;
        let sealed = case.config == Config::Sealed;
        let (s, responder) = server(sealed);
        let twin_f = s.good_for(&s.ids.bob);
        let forged_f = forge(&s);
        assert!(
            s.take_forge_errors().is_empty(),
            "{}: the mutation failed",
            case.id
        );
        let twin = read(&twin_f, &s, responder.as_ref());
        let forged = read(&forged_f, &s, responder.as_ref());
        let got = changes(&twin, &forged, &forged_f);
        let Some(w) = want.get(case.id) else {
            problems.push(format!("{}: not in the table; it changes {got:?}", case.id));
            continue;
        };
        let w: BTreeSet<String> = w.iter().map(|x| x.to_string()).collect();
        if got != w {
            problems.push(format!(
                "{}: changes {got:?}, the case names {w:?}",
                case.id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        seen,
        want.len(),
        "every case of the table is in the catalog"
    );
}

/// The non-UTF-8 case mangles the credential the responder authenticates with, for a user
/// name and for a token holding characters JSON escapes.
#[test]
fn the_non_utf8_mutation_reaches_connect_opts_for_names_and_escaped_tokens() {
    let case = catalog().find(|c| c.id == "wire.hostile.18").unwrap();
    let Kind::Hostile(forge) = case.kind else {
        panic!("wire.hostile.18 is a hostile case")
    };
    for login in [
        Login::password("bob", "pw"),
        Login::token("tok\"with\\quotes\u{202e}and/slashes"),
    ] {
        let (mut s, _) = server(false);
        let mut ids = harness_identities();
        ids.bob = login.clone();
        s.ids = std::sync::Arc::new(ids);
        let twin = read(&s.good_for(&login), &s, None);
        let f = forge(&s);
        assert!(s.take_forge_errors().is_empty(), "{login:?}");
        let forged = read(&f, &s, None);
        let field = if login.user.is_some() {
            "nats.connect_opts.user"
        } else {
            "nats.connect_opts.auth_token"
        };
        let got = changes(&twin, &forged, &f);
        assert_eq!(got, BTreeSet::from([field.to_string()]), "{login:?}");
    }
}
