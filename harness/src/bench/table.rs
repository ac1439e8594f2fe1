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
        }
        if !run.wire.is_empty() {
            let _ = writeln!(out, "\nthroughput, harness playing the server ({} requests per row, prepared before the clock)", run.wire[0].requests);
            let _ = writeln!(out, "  instances  in flight    auths/s        p50        p90        p99        max  answered  dup  admitted");
            for p in &run.wire {
                let _ = writeln!(
                    out,
                    "  {:>9}  {:>9}  {:>9.0}  {:>9} {:>10} {:>10} {:>10}  {:>8}  {:>3}  {:>4}/{}",
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
                    p.judged
                );
            }
        }
        for e in &run.errors {
            let _ = writeln!(out, "\nerror: {e}");
        }
    }
    out
}
