//! Latency percentiles of a set of samples (nearest-rank p50, p90, p99, max and the mean), the
//! one summary every table row, JSON object and plot of the bench is made of.
//!
//! Written by hand on purpose: the rigs keep every sample anyway (at most 1,000,000 per point),
//! so sorting them gives exact nearest-rank values. `hdrhistogram` would add little build time
//! (about 1.3 s) but report each percentile as its bucket's highest equivalent value (3
//! significant digits), a different definition of the published numbers, to save memory the
//! bench does not need.

use std::time::Duration;

use serde::Serialize;

/// Latency percentiles of a set of samples, in microseconds (nearest-rank).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest sample.
    pub max_us: f64,
    /// Mean.
    pub mean_us: f64,
}

impl Percentiles {
    /// Computes the percentiles of `samples` (sorted in place).
    pub fn of(samples: &mut [Duration]) -> Percentiles {
        samples.sort_unstable();
        let n = samples.len();
        if n == 0 {
            return Percentiles::default();
        }
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let rank = |p: f64| us(samples[((p * n as f64).ceil() as usize).clamp(1, n) - 1]);
        Percentiles {
            n,
            p50_us: rank(0.50),
            p90_us: rank(0.90),
            p99_us: rank(0.99),
            max_us: us(samples[n - 1]),
            mean_us: samples.iter().map(|d| us(*d)).sum::<f64>() / n as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!(
            (p.n, p.p50_us, p.p90_us, p.p99_us, p.max_us),
            (100, 50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
        let mut one = vec![Duration::from_micros(7)];
        assert_eq!(Percentiles::of(&mut one).p99_us, 7.0);
    }
}
