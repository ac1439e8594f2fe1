//! One request handled by the reference responder in-process (`Responder::handle`), plain and
//! sealed: the whole per-request decision and answer, without NATS. Each iteration gets a
//! fresh request (a new `user_nkey`, so the replay guard admits it), built and sealed outside
//! the measured time. Criterion reports means; `handle_percentiles` also times 2,000 single
//! requests each way and prints their p50/p90/p99, the figure the README's table quotes.

use std::time::{Duration, Instant};

use callout_conformance::bench::{fmt_us, Percentiles};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

fn handle(c: &mut Criterion) {
    let mut g = c.benchmark_group("handle");
    for sealed in [false, true] {
        let forger = callout_benches::Forger::new(sealed);
        let responder = forger.responder();
        let name = if sealed {
            "admit bob (sealed)"
        } else {
            "admit bob (plain)"
        };
        g.bench_function(name, |b| {
            b.iter_batched(
                || forger.body("bob", "bob-pw-3Kd"),
                |(body, header)| {
                    let h = responder.handle(&body, header.as_deref(), callout_codec::unix_now());
                    assert!(
                        matches!(
                            h.verdict,
                            callout_responder::handler::Verdict::Admitted { .. }
                        ),
                        "{:?}",
                        h.verdict
                    );
                    h
                },
                BatchSize::SmallInput,
            )
        });
    }
    let forger = callout_benches::Forger::new(false);
    let responder = forger.responder();
    g.bench_function("reject wrong password (plain)", |b| {
        b.iter_batched(
            || forger.body("bob", "wrong"),
            |(body, header)| responder.handle(&body, header.as_deref(), callout_codec::unix_now()),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Times single requests (no batching): per-request percentiles rather than a mean.
fn handle_percentiles(_: &mut Criterion) {
    for sealed in [false, true] {
        let forger = callout_benches::Forger::new(sealed);
        let responder = forger.responder();
        let bodies: Vec<_> = (0..2200)
            .map(|_| forger.body("bob", "bob-pw-3Kd"))
            .collect();
        let mut times = Vec::with_capacity(bodies.len());
        for (i, (body, header)) in bodies.iter().enumerate() {
            let t0 = Instant::now();
            let h = responder.handle(body, header.as_deref(), callout_codec::unix_now());
            let d = t0.elapsed();
            std::hint::black_box(h);
            if i >= 200 {
                times.push(d);
            }
        }
        let p = Percentiles::of(&mut times);
        println!(
            "handle/admit bob ({}) single requests: n {} p50 {} p90 {} p99 {} max {}",
            if sealed { "sealed" } else { "plain" },
            p.n,
            fmt_us(p.p50_us),
            fmt_us(p.p90_us),
            fmt_us(p.p99_us),
            fmt_us(p.max_us)
        );
    }
}

criterion_group! { name = benches; config = config(); targets = handle, handle_percentiles }
criterion_main!(benches);
