//! Generated load: Poisson arrivals, a count, or an explicit list; run times drawn from
//! fixed, exponential, lognormal or uniform distributions.
//!
//! Each generator draws from its own stream, derived from the run seed and the framework's
//! name, so adding a framework never changes another's load.

use super::{Arrival, Workload};
use crate::process::{TaskOutcome, TaskRun};
use crate::proto::TaskRequest;
use crate::resources::Resources;
use crate::rng::Rng;
use crate::time::{Duration, Instant};
use rand::Rng as _;

/// A distribution of task run times.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Fixed(Duration),
    Exponential {
        mean: Duration,
    },
    Lognormal {
        median: Duration,
        sigma: f64,
    },
    Uniform {
        min: Duration,
        max: Duration,
    },
    /// Runs until killed.
    Endless,
}

/// A uniform draw in (0, 1]: never zero, so its logarithm is finite.
fn unit(rng: &mut Rng) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let (u1, u2) = (unit(rng), unit(rng));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl Dist {
    /// A run time; `None` for an endless task.
    pub fn sample(&self, rng: &mut Rng) -> Option<Duration> {
        Some(match *self {
            Dist::Fixed(d) => d,
            Dist::Exponential { mean } => Duration::from_secs_f64(-mean.as_secs_f64() * unit(rng).ln()),
            Dist::Lognormal { median, sigma } => {
                Duration::from_secs_f64(median.as_secs_f64() * (sigma * normal(rng)).exp())
            }
            Dist::Uniform { min, max } => {
                let span = max.as_nanos() - min.as_nanos();
                min + Duration::from_nanos(
                    ((u128::from(rng.next_u64()) * (u128::from(span) + 1)) >> 64) as u64,
                )
            }
            Dist::Endless => return None,
        })
    }
}

/// Tasks of one shape arriving as a Poisson process (or all at once), up to a count.
pub struct Generator {
    rng: Rng,
    rate_per_s: Option<f64>,
    remaining: Option<u64>,
    task: Resources,
    duration: Dist,
    next_at: Instant,
}

impl Generator {
    pub fn new(
        rng: Rng,
        rate_per_s: Option<f64>,
        count: Option<u64>,
        task: Resources,
        duration: Dist,
    ) -> Generator {
        let mut g = Generator {
            rng,
            rate_per_s,
            remaining: count,
            task,
            duration,
            next_at: Instant::ZERO,
        };
        g.next_at = Instant::ZERO + g.gap();
        g
    }

    /// Time to the next arrival: exponential with the rate's mean; zero without a rate.
    fn gap(&mut self) -> Duration {
        match self.rate_per_s {
            Some(rate) => Duration::from_secs_f64(-unit(&mut self.rng).ln() / rate),
            None => Duration::ZERO,
        }
    }

    fn request(&mut self) -> TaskRequest {
        let duration = self.duration.sample(&mut self.rng);
        TaskRequest {
            command: None,
            resources: self.task.clone(),
            run: TaskRun {
                duration,
                outcome: TaskOutcome::Succeed,
            },
            job: None,
            retry_of: None,
        }
    }
}

impl Workload for Generator {
    fn next_arrival(&mut self) -> Option<Arrival> {
        if self.remaining == Some(0) {
            return None;
        }
        let at = self.next_at;
        if self.rate_per_s.is_none() {
            // Everything at once: one submission of `count` tasks.
            let n = self.remaining.take().expect("a count without a rate");
            self.remaining = Some(0);
            let tasks = (0..n).map(|_| self.request()).collect();
            return Some(Arrival { at, tasks });
        }
        if let Some(r) = &mut self.remaining {
            *r -= 1;
        }
        let request = self.request();
        self.next_at = at + self.gap();
        Some(Arrival {
            at,
            tasks: vec![request],
        })
    }
}

/// An explicit list of (time, resources, run time, count) entries, submitted in time order.
pub struct TaskList {
    rng: Rng,
    entries: std::vec::IntoIter<(Instant, Resources, Dist, u32)>,
}

impl TaskList {
    pub fn new(rng: Rng, mut entries: Vec<(Instant, Resources, Dist, u32)>) -> TaskList {
        entries.sort_by_key(|e| e.0); // stable: same-time entries keep file order
        TaskList {
            rng,
            entries: entries.into_iter(),
        }
    }
}

impl Workload for TaskList {
    fn next_arrival(&mut self) -> Option<Arrival> {
        let (at, resources, dist, count) = self.entries.next()?;
        let tasks = (0..count)
            .map(|_| TaskRequest {
                command: None,
                resources: resources.clone(),
                run: TaskRun {
                    duration: dist.sample(&mut self.rng),
                    outcome: TaskOutcome::Succeed,
                },
                job: None,
                retry_of: None,
            })
            .collect();
        Some(Arrival { at, tasks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn mean_secs(dist: &Dist, n: usize) -> f64 {
        let mut rng = stream(1, "test");
        (0..n)
            .map(|_| dist.sample(&mut rng).unwrap().as_secs_f64())
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn distributions_have_their_means_and_medians() {
        let exp = mean_secs(
            &Dist::Exponential {
                mean: Duration::from_secs(60),
            },
            200_000,
        );
        assert!((exp - 60.0).abs() < 0.6, "{exp}");
        let uni = mean_secs(
            &Dist::Uniform {
                min: Duration::from_secs(10),
                max: Duration::from_secs(30),
            },
            200_000,
        );
        assert!((uni - 20.0).abs() < 0.1, "{uni}");
        let mut rng = stream(2, "test");
        let dist = Dist::Lognormal {
            median: Duration::from_secs(90),
            sigma: 1.0,
        };
        let mut draws: Vec<f64> = (0..100_001)
            .map(|_| dist.sample(&mut rng).unwrap().as_secs_f64())
            .collect();
        draws.sort_by(f64::total_cmp);
        let median = draws[50_000];
        assert!((median - 90.0).abs() < 1.5, "{median}");
    }

    #[test]
    fn poisson_arrivals_come_at_their_rate_and_stop_at_the_count() {
        let mut g = Generator::new(
            stream(3, "w"),
            Some(4.0),
            Some(40_000),
            Resources::parse("cpus:1").unwrap(),
            Dist::Endless,
        );
        let mut last = Instant::ZERO;
        let mut n = 0;
        while let Some(a) = g.next_arrival() {
            assert!(a.at >= last);
            last = a.at;
            n += a.tasks.len();
        }
        assert_eq!(n, 40_000);
        let rate = 40_000.0 / last.as_secs_f64();
        assert!((rate - 4.0).abs() < 0.1, "{rate}");
    }

    #[test]
    fn without_a_rate_everything_arrives_at_once() {
        let mut g = Generator::new(
            stream(3, "w"),
            None,
            Some(5),
            Resources::parse("cpus:1").unwrap(),
            Dist::Endless,
        );
        let a = g.next_arrival().unwrap();
        assert_eq!((a.at, a.tasks.len()), (Instant::ZERO, 5));
        assert!(g.next_arrival().is_none());
    }
}
