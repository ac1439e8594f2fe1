//! The terminal table `bench` prints: one block per responder and server, connect latency
//! then the throughput rows. Its columns are a stable interface (the README quotes it).

use std::fmt::Write as _;

use super::BenchReport;

/// Formats microseconds for a table: `87 µs`, `1.42 ms`.
pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// A measured cost, or `-` when there is none (no `/proc`).
fn opt_us(us: Option<f64>) -> String {
    us.map(fmt_us).unwrap_or_else(|| "-".into())
}

/// Memory in MiB, or `-`.
fn opt_kib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "-".into())
}

/// The terminal table.
pub fn terminal(report: &BenchReport) -> String {
    let mut out = String::new();
    for run in &report.runs {
        let _ = writeln!(
            out,
            "\n== {} on nats-server {} ({} cores, {} build, xkey {}) ==",
            run.responder,
            run.server_version,
            run.cores,
            run.build_profile,
            if run.xkey { "on" } else { "off" }
        );
        let _ = writeln!(out, "command: {}", run.command);
        if run.build_profile == "debug" {
            let _ = writeln!(
                out,
                "warning: a debug build; build with --release for numbers that mean something"
            );
        }
        if let Some(c) = &run.connect {
            let _ = writeln!(out, "\nconnect latency ({} sequential connects each)   p50        p90        p99        max", c.callout.n);
            for (label, p) in [
                ("through the callout", &c.callout),
                ("bypass (auth user)", &c.bypass),
            ] {
                let _ = writeln!(
                    out,
                    "  {label:<42} {:>10} {:>10} {:>10} {:>10}",
                    fmt_us(p.p50_us),
                    fmt_us(p.p90_us),
                    fmt_us(p.p99_us),
                    fmt_us(p.max_us)
                );
            }
            let _ = writeln!(
                out,
                "  {:<42} {:>10}",
                "added latency (callout p50 - bypass p50)",
                fmt_us(c.added_p50_us)
            );
            if let Some(m) = &c.mint {
                let _ = writeln!(
                    out,
                    "  {:<42} {:>10} {:>10} {:>10} {:>10}",
                    "cred_cmd before each connect (not timed)",
                    fmt_us(m.p50_us),
                    fmt_us(m.p90_us),
                    fmt_us(m.p99_us),
                    fmt_us(m.max_us)
                );
            }
            let _ = writeln!(
                out,
                "  {:<42} {:>10}   peak RSS {}",
                "responder CPU per connect (user + system)",
                opt_us(c.responder_cpu_us_per_auth),
                opt_kib(c.responder_peak_rss_kib)
            );
        }
        if !run.wire.is_empty() {
            let _ = writeln!(out, "\nthroughput, harness playing the server ({} requests per row, prepared before the clock)", run.wire[0].requests);
            let _ = writeln!(out, "  instances  in flight    auths/s        p50        p90        p99        max  answered  dup  admitted   CPU/auth   peak RSS");
            for p in &run.wire {
                let _ = writeln!(
                    out,
                    "  {:>9}  {:>9}  {:>9.0}  {:>9} {:>10} {:>10} {:>10}  {:>8}  {:>3}  {:>4}/{:<3} {:>9} {:>10}",
                    p.instances,
                    p.inflight,
                    p.auths_per_sec,
                    fmt_us(p.latency.p50_us),
                    fmt_us(p.latency.p90_us),
                    fmt_us(p.latency.p99_us),
                    fmt_us(p.latency.max_us),
                    p.answered,
                    p.duplicate_replies,
                    p.admitted,
                    p.judged,
                    opt_us(p.responder_cpu_us_per_auth),
                    opt_kib(p.responder_peak_rss_kib)
                );
                if let Some(why) = &p.stopped {
                    let _ = writeln!(out, "  {:>9}  ^ {why}", "");
                }
            }
        }
        for e in &run.errors {
            let _ = writeln!(out, "\nerror: {e}");
        }
    }
    out
}
