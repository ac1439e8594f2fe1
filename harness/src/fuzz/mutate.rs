//! The mutations: from a request a real server would send (`wire::forge`), a request it never
//! sends. Two families, as the issue asks:
//! - **bytes**: bit flips, truncations, insertions, repeated chunks up to ~1 MiB, swapped or
//!   dropped JWT segments, random bodies, a missing or garbled `Nats-Server-Xkey` header,
//!   applied either to what is published or (in a sealed phase) to the token before it is
//!   sealed properly, so that the garbage reaches the JWT decoder behind a valid box;
//! - **claims** (valid signature, hostile contents): the claims JSON edited (a value of another
//!   type, a huge string or number, two fields' values swapped, a field deleted, an unknown one
//!   added), then signed with the server key, so only the responder's own checks stand between
//!   the request and an admission.
//!
//! Everything is drawn from one seeded [`StdRng`], so in a plain phase a seed replays the same
//! mutations (the claims' `iat`, `exp` and keys differ from run to run; the shapes do not). In
//! a sealed phase the box's random nonce feeds back into some operators, so a seed replays the
//! same kinds of inputs, not the same sequence. Whether an input
//! may be admitted is not decided here but by [`super::oracle`], from the bytes alone.

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use callout_codec::{jwt, JWT_HEADER};

use crate::wire::{FakeServer, Login, ALICE_PASS};

/// One fuzz input: what is published, and how it was made.
#[derive(Clone, Debug)]
pub struct Input {
    /// The request body as published.
    pub body: Vec<u8>,
    /// The `Nats-Server-Xkey` header, if sent.
    pub header: Option<String>,
    /// The mutation family and operator, e.g. `bytes/bit-flip` or `claims/type-confusion`.
    pub mutation: String,
}

/// The mutation operators, for the report's counts.
pub const OPERATORS: &[&str] = &[
    "bytes/bit-flip",
    "bytes/truncate",
    "bytes/insert",
    "bytes/repeat",
    "bytes/segments",
    "bytes/random",
    "bytes/header",
    "claims/type-confusion",
    "claims/huge-value",
    "claims/field-swap",
    "claims/field-delete",
    "claims/field-add",
    "claims/credentials",
];

/// The largest body a mutation makes: below the wire phase's `max_payload` (4 MiB).
pub const MAX_BODY: usize = 1 << 20;

/// Draws one input from `rng`.
pub fn input(server: &FakeServer, rng: &mut StdRng) -> Input {
    let login = if rng.gen_bool(0.5) {
        server.ids.alice.clone()
    } else {
        server.ids.bob.clone()
    };
    // Claims mutations about half the time: they are the ones that reach the checks.
    if rng.gen_bool(0.45) {
        return claims_input(server, &login, rng);
    }
    let good = server.good_for(&login);
    let inner = server.sealing() && rng.gen_bool(0.5);
    let (op, body) = if inner {
        // Mutate the token, then seal it properly: the box opens, the garbage is inside.
        let token = if server.sealing() {
            server
                .channel()
                .and_then(|ch| ch.open(&good.body).ok())
                .unwrap_or_else(|| good.body.clone())
        } else {
            good.body.clone()
        };
        let (op, t) = bytes(token, rng);
        (op, server.seal(&t))
    } else {
        bytes(good.body.clone(), rng)
    };
    let mut header = good.header.clone();
    let mut mutation = format!("bytes/{op}{}", if inner { " (inside the box)" } else { "" });
    if server.sealing() && rng.gen_ratio(1, 12) {
        header = match rng.gen_range(0..3) {
            0 => None,
            1 => Some(String::from_utf8_lossy(&random_bytes(rng, 56)).into_owned()),
            _ => Some(
                callout_codec::CurveSecret::generate()
                    .public()
                    .as_str()
                    .to_string(),
            ),
        };
        mutation = "bytes/header".into();
    }
    Input {
        body,
        header,
        mutation,
    }
}

/// A byte-level operator applied to `b`.
fn bytes(mut b: Vec<u8>, rng: &mut StdRng) -> (&'static str, Vec<u8>) {
    match rng.gen_range(0..6) {
        0 => {
            let n = 1 + rng.gen_range(0..8);
            for _ in 0..n {
                if b.is_empty() {
                    break;
                }
                let i = rng.gen_range(0..b.len());
                b[i] ^= 1 << rng.gen_range(0..8);
            }
            ("bit-flip", b)
        }
        1 => {
            let at = rng.gen_range(0..=b.len());
            b.truncate(at);
            ("truncate", b)
        }
        2 => {
            let at = rng.gen_range(0..=b.len());
            let n = rng.gen_range(1..64);
            let ins = random_bytes(rng, n);
            b.splice(at..at, ins);
            ("insert", b)
        }
        3 => {
            if b.is_empty() {
                return ("repeat", b);
            }
            let start = rng.gen_range(0..b.len());
            let end = (start + rng.gen_range(1..64)).min(b.len());
            let chunk = b[start..end].to_vec();
            let times = if rng.gen_ratio(1, 20) {
                MAX_BODY / chunk.len().max(1) / 2
            } else {
                rng.gen_range(2..200)
            };
            let mut rep = Vec::with_capacity(chunk.len() * times);
            for _ in 0..times {
                rep.extend_from_slice(&chunk);
            }
            b.splice(end..end, rep);
            b.truncate(MAX_BODY);
            ("repeat", b)
        }
        4 => {
            let text = String::from_utf8_lossy(&b).into_owned();
            let mut parts: Vec<&str> = text.split('.').collect();
            match rng.gen_range(0..4) {
                0 if parts.len() > 1 => {
                    let (i, j) = (rng.gen_range(0..parts.len()), rng.gen_range(0..parts.len()));
                    parts.swap(i, j);
                }
                1 if !parts.is_empty() => {
                    parts.remove(rng.gen_range(0..parts.len()));
                }
                2 => parts.push("eyJhbGciOiJub25lIn0"),
                _ => parts.insert(0, ""),
            }
            ("segments", parts.join(".").into_bytes())
        }
        _ => {
            let n = rng.gen_range(0..512);
            ("random", random_bytes(rng, n))
        }
    }
}

fn random_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.gen()).collect()
}

/// A claims mutation, signed with the server key and packed for the phase.
fn claims_input(server: &FakeServer, login: &Login, rng: &mut StdRng) -> Input {
    let mut c = server.request_for(login);
    // Sign once to stamp iss, iat, jti, type and version as the server does; then edit.
    let token = server.sign(&mut c);
    let mut v = jwt::peek_payload(&token).unwrap_or_else(|| json!({}));
    let op = edit(&mut v, rng);
    let payload = serde_json::to_vec(&v).unwrap_or_default();
    let token = jwt::sign_raw(JWT_HEADER.as_bytes(), &payload, &server.key);
    let packed = server.package(c, token.as_bytes());
    Input {
        body: packed.body,
        header: packed.header,
        mutation: format!("claims/{op}"),
    }
}

/// Every JSON pointer in `v` below the root.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, &p, out);
            }
        }
        _ => {}
    }
}

/// A value of another JSON type than `v`.
fn confused(v: &Value, rng: &mut StdRng) -> Value {
    let candidates = [
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("0"),
        json!([]),
        json!({}),
        json!([v.clone()]),
        json!({"": v.clone()}),
    ];
    loop {
        let c = candidates[rng.gen_range(0..candidates.len())].clone();
        if std::mem::discriminant(&c) != std::mem::discriminant(v) || rng.gen_ratio(1, 8) {
            return c;
        }
    }
}

fn huge(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..8) {
        0 => json!("A".repeat(rng.gen_range(4096..65536))),
        1 => json!(u64::MAX),
        2 => json!(i64::MIN),
        3 => json!(1e308),
        4 => json!(-1e308),
        5 => json!("\u{0}\u{feff}\u{202e}\u{fffd}"),
        6 => {
            let mut v = json!("deep");
            for _ in 0..rng.gen_range(8..48) {
                v = json!([v]);
            }
            v
        }
        _ => Value::Array((0..rng.gen_range(100..5000)).map(|i| json!(i)).collect()),
    }
}

/// Edits `v` in place with one claims operator; returns its name.
fn edit(v: &mut Value, rng: &mut StdRng) -> &'static str {
    let mut ps = Vec::new();
    pointers(v, "", &mut ps);
    if ps.is_empty() {
        *v = huge(rng);
        return "huge-value";
    }
    let pick = |rng: &mut StdRng| ps[rng.gen_range(0..ps.len())].clone();
    match rng.gen_range(0..6) {
        0 => {
            let p = pick(rng);
            if let Some(x) = v.pointer_mut(&p) {
                *x = confused(x, rng);
            }
            "type-confusion"
        }
        1 => {
            let p = pick(rng);
            let h = huge(rng);
            if let Some(x) = v.pointer_mut(&p) {
                *x = h;
            }
            "huge-value"
        }
        2 => {
            let (a, b) = (pick(rng), pick(rng));
            let (va, vb) = (v.pointer(&a).cloned(), v.pointer(&b).cloned());
            if let (Some(va), Some(vb)) = (va, vb) {
                // One may contain the other; swapping then just rewrites values, still hostile.
                if let Some(x) = v.pointer_mut(&a) {
                    *x = vb;
                }
                if let Some(x) = v.pointer_mut(&b) {
                    *x = va;
                }
            }
            "field-swap"
        }
        3 => {
            let p = pick(rng);
            if let Some((parent, key)) = p.rsplit_once('/') {
                let parent = if parent.is_empty() {
                    Some(&mut *v)
                } else {
                    v.pointer_mut(parent)
                };
                match parent {
                    Some(Value::Object(m)) => {
                        m.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(i) = key.parse::<usize>() {
                            if i < a.len() {
                                a.remove(i);
                            }
                        }
                    }
                    _ => {}
                }
            }
            "field-delete"
        }
        4 => {
            let p = pick(rng);
            let h = huge(rng);
            if let Some(Value::Object(m)) = v.pointer_mut(&p) {
                m.insert("x-fuzz".into(), h);
            } else if let Value::Object(m) = v {
                m.insert("x-fuzz".into(), h);
            }
            "field-add"
        }
        _ => {
            // The credentials themselves: the fields an admission depends on.
            let fields = [
                "/nats/connect_opts/user",
                "/nats/connect_opts/pass",
                "/nats/client_info/user",
            ];
            let f = fields[rng.gen_range(0..fields.len())];
            let new = match rng.gen_range(0..5) {
                0 => json!(""),
                1 => Value::Null,
                2 => json!(format!(
                    "{}\u{0}",
                    v.pointer(f).and_then(Value::as_str).unwrap_or("")
                )),
                3 => json!(v
                    .pointer(f)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_uppercase()),
                _ => json!(ALICE_PASS),
            };
            if let Some(x) = v.pointer_mut(f) {
                *x = new;
            }
            "credentials"
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn a_seed_replays_the_same_shapes_and_every_operator_occurs() {
        // Plain: a sealed body's random bytes change what `segments` splits, so only a plain
        // phase replays exactly.
        let server = crate::fuzz::tests::server(false);
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..600)
                .map(|_| {
                    let i = input(&server, &mut rng);
                    (i.mutation, i.body.len().min(1 << 16) / 64)
                })
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(
            a.iter().map(|x| &x.0).collect::<Vec<_>>(),
            draw(7).iter().map(|x| &x.0).collect::<Vec<_>>()
        );
        let sealed = crate::fuzz::tests::server(true);
        let mut rng = StdRng::seed_from_u64(7);
        let b: Vec<String> = (0..600)
            .map(|_| input(&sealed, &mut rng).mutation)
            .collect();
        for op in OPERATORS {
            assert!(
                b.iter().any(|m| m.starts_with(op)),
                "sealed: {op} never drawn"
            );
            assert!(
                *op == "bytes/header" || a.iter().any(|(m, _)| m.starts_with(op)),
                "{op} never drawn in 600 inputs"
            );
        }
        assert!(a.iter().all(|(_, len)| *len * 64 <= MAX_BODY));
    }
}
