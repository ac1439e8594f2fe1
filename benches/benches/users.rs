//! users.json at scale: what start-up (reading and checking the file) and a token login's
//! lookup cost with 10,000 and 100,000 token users, and start-up with as many password users
//! for comparison. A token lookup should cost the same at both sizes: one keyed MAC of the
//! candidate and one constant-time comparison (`token_index`), so a 3,900-character token
//! costs only the hashing of its length. Sample sizes are small: one 100k start-up takes
//! about a second.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use callout_responder::users::UserDirectory;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const SIZES: [usize; 2] = [10_000, 100_000];

fn token(i: usize) -> String {
    format!(
        "tok-{i:08}-{:016x}",
        (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    )
}

/// A users.json of `n` users with a `token` (or a `pass`), written once to a scratch file.
fn users_file(n: usize, field: &str) -> PathBuf {
    let mut json = String::from("{");
    for i in 0..n {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            r#""u{i}":{{"{field}":"{}","account":"APP"}}"#,
            token(i)
        ));
    }
    json.push('}');
    let path = std::env::temp_dir().join(format!(
        "callout-bench-users-{}-{n}-{field}.json",
        std::process::id()
    ));
    std::fs::write(&path, json).expect("write the scratch users.json");
    path
}

fn start_up(c: &mut Criterion) {
    let mut g = c.benchmark_group("users.json start-up");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(8));
    for n in SIZES {
        for field in ["token", "pass"] {
            let path = users_file(n, field);
            g.bench_with_input(
                BenchmarkId::new(format!("{field} users"), n),
                &path,
                |b, p| b.iter(|| UserDirectory::load(p).expect("loads")),
            );
            let _ = std::fs::remove_file(&path);
        }
    }
    g.finish();
}

fn token_lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("token lookup");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    let long = "x".repeat(3_900);
    for n in SIZES {
        let path = users_file(n, "token");
        let users = UserDirectory::load(&path).expect("loads");
        let _ = std::fs::remove_file(&path);
        let known = token(n / 2);
        assert!(users.by_token(&known).is_some());
        for (name, candidate) in [
            ("known", known.as_str()),
            ("unknown short", "unknown-token-0123456789abcdef"),
            ("unknown 3,900 chars", long.as_str()),
        ] {
            g.bench_with_input(BenchmarkId::new(name, n), candidate, |b, t| {
                b.iter(|| users.by_token(black_box(t)).is_some())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, start_up, token_lookup);
criterion_main!(benches);
