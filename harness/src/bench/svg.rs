//! `bench --svg FILE`: one self-contained SVG of three panels (connect latency percentiles,
//! throughput by requests in flight, answer latency by requests in flight), written by hand
//! as text. Every bar and point carries a `<title>` (its exact value on hover), which
//! `plotters`' SVG backend cannot emit; `plotters` (SVG backend only) would build in about 3 s,
//! so the reason to keep this writer is the output, not the build.

use std::fmt::Write as _;

use super::{fmt_us, BenchReport, BenchRun, ConnectResult};

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round axis step for `max / 5`.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

const PALETTE: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
const DASHES: &[&str] = &["", "6,3", "2,2", "8,2,2,2"];

/// Writes the "requests in flight" x axis (tick labels and title) under a panel.
fn in_flight_axis(out: &mut String, p: &Panel, inflights: &[usize], x: impl Fn(usize) -> f64) {
    for k in inflights {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{k}</text>"#,
            x(*k),
            p.y + p.h + 14.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">requests in flight</text>"#,
        p.x + p.w / 2.0,
        p.y + p.h + 28.0
    );
}

/// A plot frame: the panel's plot area and its linear y axis.
struct Panel {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Panel {
    fn frame(
        &self,
        out: &mut String,
        title: &str,
        ymax: f64,
        ylabel: &str,
        fmt: &dyn Fn(f64) -> String,
    ) -> f64 {
        let step = nice_step(ymax);
        let top = (ymax / step).ceil().max(1.0) * step;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-weight="bold">{}</text>"#,
            self.x,
            self.y - 14.0,
            xml(title)
        );
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#999"/>"##,
            self.x, self.y, self.w, self.h
        );
        let mut v = 0.0;
        while v <= top + step / 2.0 {
            let y = self.y + self.h - v / top * self.h;
            let _ = writeln!(
                out,
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10">{}</text>"##,
                self.x,
                self.x + self.w,
                self.x - 4.0,
                y + 3.0,
                fmt(v)
            );
            v += step;
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="10" transform="rotate(-90 {:.1} {:.1})" text-anchor="middle">{}</text>"#,
            self.x - 44.0,
            self.y + self.h / 2.0,
            self.x - 44.0,
            self.y + self.h / 2.0,
            xml(ylabel)
        );
        top
    }

    fn y_of(&self, v: f64, top: f64) -> f64 {
        self.y + self.h - (v / top).clamp(0.0, 1.0) * self.h
    }
}

/// The height of the picture; its width is [`WIDTH`].
const HEIGHT: f64 = 470.0;
/// The width of the picture.
const WIDTH: f64 = 1080.0;

/// Milliseconds from microseconds, for an axis.
fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}", v / 1000.0)
    } else {
        format!("{:.1}", v / 1000.0)
    }
}

/// A hand-written SVG: connect latency percentiles (through the callout and bypassing it),
/// throughput against requests in flight (one line per responder and instance count), and the
/// wire latency percentiles of one instance.
pub fn svg(report: &BenchReport) -> String {
    let mut out = String::new();
    header(&mut out, report);
    connect_panel(&mut out, report);
    let inflights = InFlight::of(report);
    let legend = throughput_panel(&mut out, report, &inflights);
    latency_panel(&mut out, report, &inflights);
    legend_rows(&mut out, report, &legend);
    let _ = writeln!(
        out,
        r##"<text x="70" y="{:.1}" fill="#555" font-size="10">bars: p50 (solid), p90, p99 (lighter); lines: one per responder and instance count</text>"##,
        HEIGHT - 12.0
    );
    out.push_str("</svg>\n");
    out
}

/// The `<svg>` element, the white background, the title and the subtitle (the first run's
/// server, cores, build and xkey).
fn header(out: &mut String, report: &BenchReport) {
    let (width, height) = (WIDTH, HEIGHT);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let subtitle = report
        .runs
        .first()
        .map(|r| {
            format!(
                "nats-server {}, {} cores, {} build, xkey {}",
                r.server_version,
                r.cores,
                r.build_profile,
                if r.xkey { "on" } else { "off" }
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        r##"<text x="20" y="22" font-size="15" font-weight="bold">NATS auth callout: responder latency and throughput</text><text x="20" y="40" fill="#555">{}</text>"##,
        xml(&subtitle)
    );
}

/// Panel 1: connect latency, a pair of bar groups (callout, bypass) per responder.
fn connect_panel(out: &mut String, report: &BenchReport) {
    let p1 = Panel {
        x: 70.0,
        y: 80.0,
        w: 270.0,
        h: 280.0,
    };
    let connects: Vec<(usize, &BenchRun, &ConnectResult)> = report
        .runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.connect.as_ref().map(|c| (i, r, c)))
        .collect();
    let ymax = connects
        .iter()
        .map(|(_, _, c)| c.callout.p99_us.max(c.bypass.p99_us))
        .fold(1.0, f64::max);
    let top = p1.frame(
        out,
        "connect latency (ms): p50 / p90 / p99",
        ymax,
        "ms",
        &ms,
    );
    let groups = (connects.len() * 2).max(1) as f64;
    let gw = p1.w / groups;
    for (gi, (ri, run, c)) in connects.iter().enumerate() {
        let color = PALETTE[ri % PALETTE.len()];
        for (si, (label, p)) in [("callout", &c.callout), ("bypass", &c.bypass)]
            .iter()
            .enumerate()
        {
            let gx = p1.x + (gi * 2 + si) as f64 * gw;
            let bw = (gw - 12.0) / 3.0;
            for (bi, (v, op)) in [(p.p50_us, 1.0), (p.p90_us, 0.6), (p.p99_us, 0.3)]
                .iter()
                .enumerate()
            {
                let y = p1.y_of(*v, top);
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{y:.1}" width="{bw:.1}" height="{:.1}" fill="{color}" fill-opacity="{op}"><title>{} {label} p{}: {}</title></rect>"#,
                    gx + 6.0 + bi as f64 * bw,
                    p1.y + p1.h - y,
                    xml(&run.responder),
                    [50, 90, 99][bi],
                    fmt_us(*v)
                );
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{label}</text>"#,
                gx + gw / 2.0,
                p1.y + p1.h + 14.0
            );
        }
        // The responder's name under its pair of groups, cut to fit.
        let name: String = run
            .responder
            .chars()
            .take((2.0 * gw / 6.0) as usize)
            .collect();
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="{color}">{}</text>"#,
            p1.x + (gi * 2 + 1) as f64 * gw,
            p1.y + p1.h + 28.0,
            xml(&name)
        );
    }
}

/// The requests-in-flight values of every run, the x axis of panels 2 and 3.
struct InFlight(Vec<usize>);

impl InFlight {
    fn of(report: &BenchReport) -> InFlight {
        let mut v: Vec<usize> = report
            .runs
            .iter()
            .flat_map(|r| r.wire.iter().map(|p| p.inflight))
            .collect();
        v.sort_unstable();
        v.dedup();
        InFlight(v)
    }

    /// The x of `k` requests in flight in panel `p`.
    fn x(&self, k: usize, p: &Panel) -> f64 {
        let i = self.0.iter().position(|x| *x == k).unwrap_or(0) as f64;
        p.x + 20.0 + i * (p.w - 40.0) / (self.0.len().max(2) - 1) as f64
    }
}

/// A legend entry: colour, dash pattern and label.
type LegendEntry = (String, String, String);

/// Panel 2: throughput against requests in flight, a line per responder and instance count;
/// returns their legend entries.
fn throughput_panel(
    out: &mut String,
    report: &BenchReport,
    inflights: &InFlight,
) -> Vec<LegendEntry> {
    let p2 = Panel {
        x: 430.0,
        y: 80.0,
        w: 270.0,
        h: 280.0,
    };
    let ymax = report
        .runs
        .iter()
        .flat_map(|r| r.wire.iter().map(|p| p.auths_per_sec))
        .fold(1.0, f64::max);
    let top = p2.frame(
        out,
        "throughput (auths/s) by requests in flight",
        ymax,
        "auths/s",
        &|v| format!("{v:.0}"),
    );
    let mut legend: Vec<LegendEntry> = Vec::new();
    for (ri, run) in report.runs.iter().enumerate() {
        let color = PALETTE[ri % PALETTE.len()];
        let mut instances: Vec<usize> = run.wire.iter().map(|p| p.instances).collect();
        instances.dedup();
        for (ii, m) in instances.iter().enumerate() {
            let dash = DASHES[ii % DASHES.len()];
            let pts: Vec<String> = run
                .wire
                .iter()
                .filter(|p| p.instances == *m)
                .map(|p| {
                    format!(
                        "{:.1},{:.1}",
                        inflights.x(p.inflight, &p2),
                        p2.y_of(p.auths_per_sec, top)
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
                pts.join(" ")
            );
            for p in run.wire.iter().filter(|p| p.instances == *m) {
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"><title>{} x{m}, {} in flight: {:.0} auths/s</title></circle>"#,
                    inflights.x(p.inflight, &p2),
                    p2.y_of(p.auths_per_sec, top),
                    xml(&run.responder),
                    p.inflight,
                    p.auths_per_sec
                );
            }
            legend.push((
                color.to_string(),
                dash.to_string(),
                format!("{} x{m}", run.responder),
            ));
        }
    }
    in_flight_axis(out, &p2, &inflights.0, |k| inflights.x(k, &p2));
    legend
}

/// Panel 3: wire latency of the first instance count, p50 solid and p99 dashed.
fn latency_panel(out: &mut String, report: &BenchReport, inflights: &InFlight) {
    let p3 = Panel {
        x: 790.0,
        y: 80.0,
        w: 270.0,
        h: 280.0,
    };
    let first_m = report
        .runs
        .iter()
        .flat_map(|r| r.wire.first().map(|p| p.instances))
        .next()
        .unwrap_or(1);
    let ymax = report
        .runs
        .iter()
        .flat_map(|r| {
            r.wire
                .iter()
                .filter(|p| p.instances == first_m)
                .map(|p| p.latency.p99_us)
        })
        .fold(1.0, f64::max);
    let top = p3.frame(
        out,
        &format!("answer latency (ms), {first_m} instance(s)"),
        ymax,
        "ms (solid p50, dashed p99)",
        &ms,
    );
    for (ri, run) in report.runs.iter().enumerate() {
        let color = PALETTE[ri % PALETTE.len()];
        for (dash, pick) in [("", 0), ("6,3", 1)] {
            let pts: Vec<String> = run
                .wire
                .iter()
                .filter(|p| p.instances == first_m)
                .map(|p| {
                    let v = if pick == 0 {
                        p.latency.p50_us
                    } else {
                        p.latency.p99_us
                    };
                    format!("{:.1},{:.1}", inflights.x(p.inflight, &p3), p3.y_of(v, top))
                })
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
                pts.join(" ")
            );
        }
    }
    in_flight_axis(out, &p3, &inflights.0, |k| inflights.x(k, &p3));
}

/// The legend under the panels: the lines of panel 2, wrapped; without any, a colour swatch
/// per responder.
fn legend_rows(out: &mut String, report: &BenchReport, legend: &[LegendEntry]) {
    let mut y = 410.0;
    let mut x = 70.0;
    for (color, dash, label) in legend {
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{:.1}" y="{y:.1}">{}</text>"#,
            y - 4.0,
            x + 24.0,
            y - 4.0,
            x + 30.0,
            xml(label)
        );
        x += (40.0 + 7.0 * label.chars().count() as f64).max(150.0);
        if x > WIDTH - 250.0 {
            x = 70.0;
            y += 18.0;
        }
    }
    if legend.is_empty() {
        for (ri, run) in report.runs.iter().enumerate() {
            let _ = writeln!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="14" height="10" fill="{}"/><text x="{:.1}" y="{y:.1}">{}</text>"#,
                y - 10.0,
                PALETTE[ri % PALETTE.len()],
                x + 20.0,
                xml(&run.responder)
            );
            x += 190.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{Percentiles, WirePoint};

    #[test]
    fn svg_is_well_formed_enough() {
        let run = BenchRun {
            responder: "a<b".into(),
            connect: Some(ConnectResult {
                callout: Percentiles {
                    n: 1,
                    p50_us: 900.0,
                    p90_us: 1000.0,
                    p99_us: 1500.0,
                    max_us: 2000.0,
                    mean_us: 950.0,
                },
                ..Default::default()
            }),
            wire: vec![
                WirePoint {
                    instances: 1,
                    inflight: 1,
                    auths_per_sec: 3000.0,
                    ..Default::default()
                },
                WirePoint {
                    instances: 1,
                    inflight: 8,
                    auths_per_sec: 9000.0,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let out = svg(&BenchReport {
            tool_version: "0".into(),
            runs: vec![run],
        });
        assert!(out.starts_with("<svg") && out.trim_end().ends_with("</svg>"));
        assert!(out.contains("a&lt;b x1") && !out.contains("a<b"));
        assert!(out.contains("<polyline"));
    }
}
