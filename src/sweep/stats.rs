//! Mean and 95% confidence interval of a metric over seeds (Student's t).

/// The 0.975 quantile of Student's t distribution for 1 to 30 degrees of freedom, to six
/// decimals.
const T975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139,
    2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963,
    2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
];

/// The normal distribution's 0.975 quantile, used beyond 30 degrees of freedom.
const Z975: f64 = 1.96;

/// The 0.975 quantile of Student's t with `df` degrees of freedom (`df` ≥ 1): the factor
/// of a two-sided 95% confidence interval.
pub fn t975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df - 1],
        _ => Z975,
    }
}

/// A metric over a set of runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); `None` for one value.
    pub stddev: Option<f64>,
    /// Half the width of the 95% confidence interval of the mean; `None` for one value.
    pub half_width: Option<f64>,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    /// The figures of `values`, summed in the order given; `None` if there are none.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (stddev, half_width) = if n > 1 {
            let ss: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
            let sd = (ss / (n - 1) as f64).sqrt();
            (Some(sd), Some(t975(n - 1) * sd / (n as f64).sqrt()))
        } else {
            (None, None)
        };
        Some(Stats {
            n,
            mean,
            stddev,
            half_width,
            min,
            max,
        })
    }

    /// The interval's ends, when there is one.
    pub fn ci95(&self) -> Option<(f64, f64)> {
        self.half_width.map(|h| (self.mean - h, self.mean + h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, eps: f64) -> bool {
        (a - b).abs() <= eps
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        assert_eq!(t975(1), 12.706205);
        assert!(close(t975(4), 2.776, 5e-4));
        assert!(close(t975(10), 2.228, 5e-4));
        assert!(close(t975(30), 2.042, 5e-4));
        assert_eq!(t975(31), 1.96);
        assert_eq!(t975(1000), 1.96);
        // The quantiles fall towards the normal one.
        assert!(T975.windows(2).all(|w| w[0] > w[1] && w[1] > Z975));
    }

    #[test]
    fn confidence_intervals_by_hand() {
        // 1..=5: mean 3, sample sd sqrt(2.5), half-width 2.776445 * sqrt(2.5) / sqrt(5).
        let s = Stats::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!((s.n, s.mean, s.min, s.max), (5, 3.0, 1.0, 5.0));
        assert!(close(s.stddev.unwrap(), 2.5f64.sqrt(), 1e-12));
        let h = 2.776445 * (0.5f64).sqrt();
        assert!(close(s.half_width.unwrap(), h, 1e-9));
        assert!(close(s.half_width.unwrap(), 1.963, 1e-3));
        let (lo, hi) = s.ci95().unwrap();
        assert!(close(lo, 3.0 - h, 1e-9) && close(hi, 3.0 + h, 1e-9));
        // Two values: t(1) = 12.706; sd = |a - b| / sqrt(2), half-width = 12.706 * |a - b| / 2.
        let s = Stats::of(&[10.0, 12.0]).unwrap();
        assert!(close(s.half_width.unwrap(), 12.706205, 1e-9));
        // One value: no interval.
        let s = Stats::of(&[4.5]).unwrap();
        assert_eq!(
            (s.mean, s.stddev, s.half_width, s.ci95()),
            (4.5, None, None, None)
        );
        assert_eq!(Stats::of(&[]), None);
        // Identical values: a zero-width interval.
        assert_eq!(Stats::of(&[2.0, 2.0, 2.0]).unwrap().half_width, Some(0.0));
    }
}
