use std::hint::black_box;
use std::time::Duration;
use callout_codec::{jwt, AuthRequest, Claims};
use criterion::{criterion_group, criterion_main, Criterion};
fn config() -> Criterion { Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(20) }
fn scratch(c: &mut Criterion) {
    let forger = callout_benches::Forger::new(true);
    let token = forger.token("bob", "bob-pw-3Kd");
    let parts: Vec<&str> = token.split('.').collect();
    let payload = jwt::b64_decode(parts[1], "p").unwrap();
    let sig = jwt::b64_decode(parts[2], "s").unwrap();
    let req = jwt::decode::<AuthRequest>(&token).unwrap();
    let signed = &token[..parts[0].len() + 1 + parts[1].len()];
    println!("token {} bytes payload {}", token.len(), payload.len());
    c.bench_function("json value+from_value", |b| b.iter(|| { let v: serde_json::Value = serde_json::from_slice(black_box(&payload)).unwrap(); let c: Claims<AuthRequest> = serde_json::from_value(v).unwrap(); c }));
    c.bench_function("json from_slice", |b| b.iter(|| { let c: Claims<AuthRequest> = serde_json::from_slice(black_box(&payload)).unwrap(); c }));
    c.bench_function("b64 payload", |b| b.iter(|| jwt::b64_decode(black_box(parts[1]), "p").unwrap()));
    c.bench_function("verify (parse key + verify)", |b| b.iter(|| callout_codec::nkey::verify(&req.iss, black_box(signed.as_bytes()), &sig).unwrap()));
    c.bench_function("parse key", |b| b.iter(|| nkeys::KeyPair::from_public_key(black_box(&req.iss)).unwrap()));
    c.bench_function("is_public", |b| b.iter(|| callout_codec::nkey::is_public(black_box(&req.iss), callout_codec::KeyKind::Server)));
}
criterion_group! { name = benches; config = config(); targets = scratch }
criterion_main!(benches);
