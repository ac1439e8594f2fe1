//! The wire codec alone: what one callout costs in decoding, signing and sealing, without a
//! socket. Request decode + verify is what a responder does first; user + response encode +
//! sign is what it does to admit; xkv1 seal and open use a cached `SealingChannel`, as a
//! responder does after the first request from a server.

use std::hint::black_box;
use std::time::Duration;

use callout_codec::{jwt, AuthRequest, AuthResponse, Claims, CurveSecret, KeyKind, Signer, User};
use criterion::{criterion_group, criterion_main, Criterion};

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

fn codec(c: &mut Criterion) {
    let forger = callout_benches::Forger::new(true);
    let token = forger.token("bob", "bob-pw-3Kd");
    let mut g = c.benchmark_group("codec");
    g.bench_function("request decode+verify", |b| {
        b.iter(|| jwt::decode::<AuthRequest>(black_box(&token)).expect("decodes"))
    });

    let issuer = Signer::generate(KeyKind::Account);
    let req = jwt::decode::<AuthRequest>(&token).expect("decodes");
    let perms = callout_benches::bob_permissions();
    g.bench_function("user+response encode+sign", |b| {
        b.iter(|| {
            let mut user: Claims<User> = Claims {
                aud: "APP".into(),
                name: "bob".into(),
                sub: req.nats.user_nkey.clone(),
                ..Claims::default()
            };
            user.nats.publish = perms.publish.clone();
            user.nats.subscribe = perms.subscribe.clone();
            user.nats.resp = perms.resp;
            let user_jwt = jwt::encode(&mut user, &issuer);
            let mut resp: Claims<AuthResponse> = Claims {
                aud: req.iss.clone(),
                sub: req.nats.user_nkey.clone(),
                ..Claims::default()
            };
            resp.nats.jwt = user_jwt;
            jwt::encode(&mut resp, &issuer)
        })
    });

    let ours = CurveSecret::generate();
    let theirs = CurveSecret::generate();
    let to_them = ours.channel_to(theirs.public());
    let from_us = theirs.channel_to(ours.public());
    let sealed = to_them.seal(token.as_bytes());
    g.bench_function("xkv1 seal (cached channel)", |b| {
        b.iter(|| to_them.seal(black_box(token.as_bytes())))
    });
    g.bench_function("xkv1 open (cached channel)", |b| {
        b.iter(|| from_us.open(black_box(&sealed)).expect("opens"))
    });
    g.bench_function("xkv1 channel (X25519, once per server key)", |b| {
        b.iter(|| ours.channel_to(black_box(theirs.public())))
    });
    g.finish();
}

criterion_group! { name = benches; config = config(); targets = codec }
criterion_main!(benches);
