//! Fuzz targets for the codec, driven by proptest (bounded: `PROPTEST_CASES`, default 1000 per
//! target, so `cargo test` is their smoke run). cargo-fuzz needs a nightly toolchain that a new
//! machine of this project cannot fetch, so the targets mutate the committed corpus instead:
//! the real server captures in `tests/fixtures/` (plain and sealed requests of nats-server
//! 2.10.26 and 2.15.1). Each target states what must hold for every input:
//! - `jwt_decode`: decoding a mutated request token never panics, and a token that still
//!   verifies is signed by a server key;
//! - `xkv1_open`: opening a mutated sealed body never panics, and only the body the server
//!   sealed opens (xkv1 is authenticated);
//! - `claims_decode`: a validly signed token around mutated claims JSON never panics the
//!   decoder, whatever the JSON says.

use callout_codec::{jwt, xkv1, AuthRequest, CurvePublic, CurveSecret, KeyKind, Signer};
use data_encoding::BASE64;
use proptest::prelude::*;
use serde_json::Value;

/// The corpus: (plain token bytes, or sealed body) with what opens it.
struct Capture {
    body: Vec<u8>,
    sealed: Option<(CurveSecret, CurvePublic)>,
}

fn corpus() -> Vec<Capture> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    [
        "2.10.26-plain",
        "2.10.26-sealed",
        "2.15.1-plain",
        "2.15.1-sealed",
    ]
    .iter()
    .map(|stem| {
        let meta: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/nats-server-{stem}.json")).unwrap(),
        )
        .unwrap();
        let text =
            std::fs::read_to_string(format!("{dir}/{}", meta["body_file"].as_str().unwrap()))
                .unwrap();
        let body = if meta["body_encoding"] == "base64" {
            BASE64.decode(text.trim().as_bytes()).unwrap()
        } else {
            text.trim_end_matches('\n').as_bytes().to_vec()
        };
        let sealed = (meta["mode"] == "sealed").then(|| {
            (
                CurveSecret::from_seed(meta["responder_curve_seed"].as_str().unwrap()).unwrap(),
                CurvePublic::parse(meta["header_xkey"].as_str().unwrap()).unwrap(),
            )
        });
        Capture { body, sealed }
    })
    .collect()
}

/// One mutation of `b`: flip a bit, cut, insert, overwrite a byte, or repeat a slice.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Set(usize, u8),
    Repeat(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), 1usize..64, 1usize..64).prop_map(|(i, l, n)| Mutation::Repeat(i, l, n)),
    ]
}

fn apply(b: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut v = b.to_vec();
    for m in ms {
        let n = v.len().max(1);
        match m {
            Mutation::Flip(i, bit) => {
                if !v.is_empty() {
                    v[i % n] ^= 1 << bit;
                }
            }
            Mutation::Truncate(i) => v.truncate(i % n),
            Mutation::Insert(i, bytes) => {
                let at = i % (v.len() + 1);
                v.splice(at..at, bytes.iter().copied());
            }
            Mutation::Set(i, x) => {
                if !v.is_empty() {
                    v[i % n] = *x;
                }
            }
            Mutation::Repeat(i, len, times) => {
                if !v.is_empty() {
                    let start = i % n;
                    let end = (start + len).min(v.len());
                    let chunk = v[start..end].to_vec();
                    for _ in 0..*times {
                        v.splice(end..end, chunk.iter().copied());
                    }
                }
            }
        }
    }
    v
}

fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1000),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn jwt_decode(pick in 0usize..2, ms in prop::collection::vec(mutation(), 1..4)) {
        let plain: Vec<Capture> = corpus().into_iter().filter(|c| c.sealed.is_none()).collect();
        let bytes = apply(&plain[pick % plain.len()].body, &ms);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(req) = jwt::decode::<AuthRequest>(text) {
                prop_assert!(req.iss.starts_with('N'), "a verified request from {}", req.iss);
            }
            let _ = jwt::decode_unverified::<AuthRequest>(text);
            let _ = jwt::peek_payload(text);
        }
    }

    #[test]
    fn xkv1_open(pick in 0usize..2, ms in prop::collection::vec(mutation(), 1..4)) {
        let sealed: Vec<Capture> = corpus().into_iter().filter(|c| c.sealed.is_some()).collect();
        let c = &sealed[pick % sealed.len()];
        let (ours, server) = c.sealed.as_ref().unwrap();
        let bytes = apply(&c.body, &ms);
        let opened = xkv1::open(&bytes, ours, server);
        if bytes != c.body {
            prop_assert!(opened.is_err(), "a changed sealed body opened");
        }
    }

    #[test]
    fn claims_decode(pick in 0usize..4, ms in prop::collection::vec(mutation(), 1..4)) {
        let corpus = corpus();
        let c = &corpus[pick % corpus.len()];
        let token = match &c.sealed {
            Some((ours, server)) => String::from_utf8(xkv1::open(&c.body, ours, server).unwrap()).unwrap(),
            None => String::from_utf8(c.body.clone()).unwrap(),
        };
        let payload = jwt::b64_decode(token.split('.').nth(1).unwrap(), "payload").unwrap();
        let mutated = apply(&payload, &ms);
        // Signed again, so that the decoder reaches the claims.
        let server = Signer::generate(KeyKind::Server);
        let resigned = jwt::sign_payload(&mutated, &server);
        let _ = jwt::decode::<AuthRequest>(&resigned);
        let _ = jwt::decode::<callout_codec::User>(&resigned);
        let _ = jwt::decode::<callout_codec::AuthResponse>(&resigned);
    }
}
