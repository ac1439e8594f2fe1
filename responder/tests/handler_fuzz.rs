//! Fuzz target for the reference responder's request handler, driven by proptest (bounded:
//! `PROPTEST_CASES`, default 1000, so `cargo test` is its smoke run; see
//! `codec/tests/fuzz_targets.rs` for why not cargo-fuzz). Inputs are good requests, plain and
//! sealed, forged as a server would (the harness's `FakeServer`), then mutated. What must hold
//! for every input: `handle` never panics, and it admits only a body that still opens, still
//! verifies as the server's signed request, and still carries the user's own password.

use callout_codec::{jwt, AuthRequest, CurveSecret, KeyKind, Signer};
use callout_conformance::wire::FakeServer;
use callout_responder::handler::{Outcome, Responder, Verdict};
use callout_responder::users::UserDirectory;
use proptest::prelude::*;

fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1000),
        ..ProptestConfig::default()
    }
}

fn flip(bytes: &mut Vec<u8>, ops: &[(u8, usize, u8)]) {
    for &(op, at, x) in ops {
        let n = bytes.len().max(1);
        match op % 4 {
            0 if !bytes.is_empty() => bytes[at % n] ^= 1 << (x % 8),
            1 => bytes.truncate(at % n),
            2 => {
                let at = at % (bytes.len() + 1);
                bytes.insert(at, x);
            }
            _ if !bytes.is_empty() => bytes[at % n] = x,
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn handle(sealed in any::<bool>(), ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..5)) {
        let issuer = Signer::generate(KeyKind::Account);
        let xkey = CurveSecret::generate();
        let server = FakeServer::new(sealed.then(|| xkey.public().clone()), issuer.public_key());
        let users = UserDirectory::parse(r#"{"alice": {"pass": "alice-pw", "account": "APP"}}"#, "users.json").unwrap();
        let responder = Responder::new(issuer, sealed.then_some(xkey), users);
        let good = server.good("alice", "alice-pw");
        let mut body = good.body.clone();
        flip(&mut body, &ops);
        let h = responder.handle(&body, good.header.as_deref(), callout_codec::unix_now());
        if let (Verdict::Admitted { .. }, Outcome::Reply(_)) = (&h.verdict, &h.outcome) {
            let token = match server.channel() {
                Some(ch) => ch.open(&body).ok().and_then(|b| String::from_utf8(b).ok()),
                None => String::from_utf8(body.clone()).ok(),
            };
            let req = token.as_deref().and_then(|t| jwt::decode::<AuthRequest>(t).ok());
            prop_assert!(req.is_some(), "admitted a body that does not verify");
            let req = req.unwrap();
            prop_assert_eq!(&req.nats.connect_opts.user, "alice");
            prop_assert_eq!(req.nats.connect_opts.pass.expose(), "alice-pw");
        }
    }
}
