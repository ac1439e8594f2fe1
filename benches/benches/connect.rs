//! Connect latency on a real nats-server with `auth_callout`: a connect through the callout
//! (answered by the reference responder binary) against a connect by an auth user that
//! bypasses it, on the same server. The difference is the latency the callout adds.
//!
//! Needs the release responder binary next to the bench executable
//! (`cargo build --release -p callout-responder`, or `CALLOUT_RESPONDER_BIN`) and a nats-server
//! (downloaded and cached, or `NATS_SERVER_BIN`); without them it says so and measures nothing.

use std::time::Duration;

use callout_conformance::bench::subject::{admitted, world};
use callout_conformance::bench::{ConnectRig, Route};
use callout_conformance::provision::{self, DEFAULT_SERVER_VERSION};
use callout_conformance::sut::{find_sibling_binary, ResponderSpec};
use criterion::{criterion_group, criterion_main, Criterion};

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

fn connect(c: &mut Criterion) {
    let responder = find_sibling_binary("callout-responder", "CALLOUT_RESPONDER_BIN");
    if !responder.is_file() {
        eprintln!("connect: skipped: no callout-responder binary beside the bench ({}); run `cargo build --release -p callout-responder` first", responder.display());
        return;
    }
    let bin = match provision::resolve(DEFAULT_SERVER_VERSION, None) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("connect: skipped: {e}");
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let login = admitted(None);
    let Ok((fixed, _)) = login.login() else {
        eprintln!("connect: skipped: no bench login");
        return;
    };
    let (reference, spec) = (ResponderSpec::reference(), world(true, None));
    let started = ConnectRig::start(&bin, &reference, &spec, login);
    let rig = match rt.block_on(started) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("connect: skipped: {e}");
            return;
        }
    };
    let mut g = c.benchmark_group(format!("connect (nats-server {}, xkey)", bin.version));
    for (name, route) in [
        ("through the callout", Route::Callout),
        ("bypass (auth user)", Route::Bypass),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(rig.connect(route, &fixed)).expect("admitted"))
        });
    }
    g.finish();
    rig.stop();
}

criterion_group! { name = benches; config = config(); targets = connect }
criterion_main!(benches);
