//! A log-linear histogram of non-negative values: constant memory whatever the count, and
//! percentiles within 1% of the exact nearest-rank value.
//!
//! Values are bucketed by their binary exponent and the next [`SUB_BITS`] bits of their
//! mantissa, on an integer scale of `1 / UNIT`: a bucket spans at most 1/128 of its lower
//! bound, and a percentile is reported as its bucket's midpoint (exact below 128 units).
//! The mean and the maximum are exact.

/// Mantissa bits kept below the leading one.
const SUB_BITS: u32 = 7;
const SUB: usize = 1 << SUB_BITS;
/// Values are counted in millionths (of a second, for durations; of one, for ratios).
const UNIT: f64 = 1e6;

/// Summary figures of a distribution (summary.json's queue delay, run time, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Quantiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Quantiles {
    /// The exact figures of `sorted` (ascending, finite): nearest-rank percentiles, the
    /// mean summed in order.
    pub fn exact(sorted: &[f64]) -> Quantiles {
        let n = sorted.len();
        if n == 0 {
            return Quantiles::default();
        }
        Quantiles {
            count: n as u64,
            mean: sorted.iter().sum::<f64>() / n as f64,
            p50: nearest_rank(sorted, 0.50),
            p95: nearest_rank(sorted, 0.95),
            p99: nearest_rank(sorted, 0.99),
            max: sorted[n - 1],
        }
    }
}

/// The value at nearest rank `p` (0 < p ≤ 1) of `sorted`, which is ascending and not empty:
/// the smallest value with at least a fraction `p` of the values at or below it.
pub fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> T {
    let n = sorted.len();
    sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1]
}

#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Buckets by (exponent, sub-bucket), grown as larger values arrive.
    counts: Vec<u64>,
    count: u64,
    sum: f64,
    max: f64,
}

/// The bucket of integer value `v`, and back.
fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // ≥ SUB_BITS
    let shift = exp - SUB_BITS;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    ((shift as usize + 1) << SUB_BITS) + sub
}

/// The midpoint of bucket `b`'s integer range.
fn midpoint(b: usize) -> f64 {
    if b < SUB {
        return b as f64;
    }
    let shift = (b >> SUB_BITS) - 1;
    let sub = (b & (SUB - 1)) as u64;
    let low = (SUB as u64 | sub) << shift;
    low as f64 + ((1u64 << shift) as f64 - 1.0) / 2.0
}

impl Histogram {
    /// Counts `v` (negative values count as zero; non-finite ones are ignored).
    pub fn record(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        let v = v.max(0.0);
        let b = bucket((v * UNIT).round() as u64);
        if self.counts.len() <= b {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        self.count += 1;
        self.sum += v;
        self.max = self.max.max(v);
    }

    /// The value at nearest rank `p` (0 < p ≤ 1), as its bucket's midpoint, never above
    /// the maximum.
    pub fn quantile(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((p * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return (midpoint(b) / UNIT).min(self.max);
            }
        }
        self.max
    }

    pub fn quantiles(&self) -> Quantiles {
        if self.count == 0 {
            return Quantiles::default();
        }
        Quantiles {
            count: self.count,
            mean: self.sum / self.count as f64,
            p50: self.quantile(0.50),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut last = 0;
        for v in 0..100_000u64 {
            let b = bucket(v);
            assert!(b == last || b == last + 1, "value {v}: bucket {b} after {last}");
            last = b;
            let mid = midpoint(b);
            assert!(
                (mid - v as f64).abs() <= (v as f64 / 128.0).max(0.5),
                "value {v}, midpoint {mid}"
            );
        }
        assert!(bucket(u64::MAX) < 64 * SUB);
    }

    #[test]
    fn quantiles_are_within_one_percent_of_the_exact_ranks() {
        let mut h = Histogram::default();
        let mut exact: Vec<f64> = (1..=10_000).map(|i| (i as f64).powf(1.7) / 1000.0).collect();
        for &v in &exact {
            h.record(v);
        }
        exact.sort_by(f64::total_cmp);
        let q = h.quantiles();
        assert_eq!(q.count, 10_000);
        for (p, got) in [(0.5, q.p50), (0.95, q.p95), (0.99, q.p99)] {
            let want = exact[(p * 10_000.0) as usize - 1];
            assert!((got - want).abs() <= want * 0.01, "p{p}: {got} vs {want}");
        }
        assert_eq!(q.max, exact[9_999]);
        let mean = exact.iter().sum::<f64>() / 10_000.0;
        assert!((q.mean - mean).abs() < 1e-9 * mean);
    }

    #[test]
    fn exact_figures_take_nearest_ranks() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let q = Quantiles::exact(&values);
        assert_eq!(
            (q.count, q.mean, q.p50, q.p95, q.p99, q.max),
            (20, 10.5, 10.0, 19.0, 20.0, 20.0)
        );
        let one = Quantiles::exact(&[75.5]);
        assert_eq!((one.count, one.p50, one.p99, one.max), (1, 75.5, 75.5, 75.5));
        assert_eq!(Quantiles::exact(&[]), Quantiles::default());
        assert_eq!(nearest_rank(&[1, 2, 3], 0.5), 2);
        assert_eq!(nearest_rank(&[1, 2, 3], 0.01), 1);
    }

    #[test]
    fn empty_and_odd_values() {
        let mut h = Histogram::default();
        assert_eq!(h.quantiles(), Quantiles::default());
        h.record(f64::NAN);
        h.record(-3.0);
        h.record(0.0);
        let q = h.quantiles();
        assert_eq!((q.count, q.max, q.p99), (2, 0.0, 0.0));
    }
}
