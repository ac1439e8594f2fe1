//! One request handled by the reference responder in-process (`Responder::handle`), plain and
//! sealed: the whole per-request decision and answer, without NATS. Each iteration gets a
//! fresh request (a new `user_nkey`, so the replay guard admits it), built and sealed outside
//! the measured time.

use std::time::Duration;

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

criterion_group! { name = benches; config = config(); targets = handle }
criterion_main!(benches);
