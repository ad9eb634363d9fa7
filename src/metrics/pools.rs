//! Allocation bookkeeping at every level the reports show: the cluster, each machine class
//! and each agent ([`Pool`]: what it has, what is allocated, what is used, integrated over
//! time), and each role and framework ([`Holder`]: what it holds, as a dominant share of
//! the cluster, integrated over time).
//!
//! "Allocated" is offered plus used, as Mesos's allocator counts it: an outstanding offer
//! is as unavailable to others as a running task.

use smallvec::SmallVec;
use smol_str::SmolStr;

use crate::resources::{Resources, WELL_KNOWN};
use crate::time::Instant;

/// Scalar resource names as dense indices: cpus, mem, disk and gpus are 0 to 3 (as
/// [`WELL_KNOWN`]); other names get the next index when first seen.
#[derive(Default)]
pub struct ResNames {
    others: Vec<SmolStr>,
    /// Whether any agent ever had some of it (only those are reported).
    present: SmallVec<[bool; 4]>,
}

impl ResNames {
    /// How many indices are in use (never zero: the well-known four always are).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        WELL_KNOWN.len() + self.others.len()
    }

    pub fn name(&self, i: usize) -> &str {
        WELL_KNOWN
            .get(i)
            .copied()
            .unwrap_or_else(|| &self.others[i - WELL_KNOWN.len()])
    }

    /// Calls `f(index, millis)` for every scalar of `r`, reserved or not.
    pub fn each(&mut self, r: &Resources, mut f: impl FnMut(usize, u64)) {
        for (known, name, _, amount) in r.scalars_indexed() {
            let i = match known {
                Some(i) => i,
                None => match self.others.iter().position(|n| n == name) {
                    Some(j) => WELL_KNOWN.len() + j,
                    None => {
                        self.others.push(SmolStr::new(name));
                        self.len() - 1
                    }
                },
            };
            f(i, amount.millis());
        }
    }

    pub fn mark_present(&mut self, i: usize) {
        if self.present.len() <= i {
            self.present.resize(i + 1, false);
        }
        self.present[i] = true;
    }

    /// Indices of the resources agents had, in name order.
    pub fn reported(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.present.len()).filter(|&i| self.present[i]).collect();
        v.sort_by(|&a, &b| self.name(a).cmp(self.name(b)));
        v
    }
}

/// Amounts in thousandths per resource index, grown on demand.
#[derive(Clone, Debug, Default)]
pub struct Amounts(SmallVec<[u64; 4]>);

impl Amounts {
    pub fn get(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }

    pub fn change(&mut self, i: usize, v: u64, up: bool) {
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        let slot = &mut self.0[i];
        *slot = if up {
            slot.saturating_add(v)
        } else {
            slot.saturating_sub(v)
        };
    }

    /// One past the highest index set so far.
    pub fn width(&self) -> usize {
        self.0.len()
    }

    /// The largest fraction `(self[i] + plus[i]) / of[i]` over resources `of` has.
    pub fn dominant_share_with(&self, plus: &Amounts, of: &Amounts) -> f64 {
        let mut share = 0.0f64;
        for i in 0..self.width().max(plus.width()) {
            let (have, total) = (self.get(i) + plus.get(i), of.get(i));
            if have > 0 && total > 0 {
                share = share.max(have as f64 / total as f64);
            }
        }
        share
    }

    /// The largest fraction `self[i] / of[i]` over resources `of` has.
    pub fn dominant_share(&self, of: &Amounts) -> f64 {
        let mut share = 0.0f64;
        for (i, &have) in self.0.iter().enumerate() {
            let total = of.get(i);
            if have > 0 && total > 0 {
                share = share.max(have as f64 / total as f64);
            }
        }
        share
    }
}

/// Integrals over time (value × seconds) of one pool's figures, per resource index.
#[derive(Clone, Debug, Default)]
pub struct Areas {
    /// ∫ total, ∫ allocated, ∫ used: in units (cpus, MB) × s.
    pub total: SmallVec<[f64; 4]>,
    pub allocated: SmallVec<[f64; 4]>,
    pub used: SmallVec<[f64; 4]>,
    /// ∫ allocated ÷ total and ∫ used ÷ total, over the time the total is positive.
    pub allocated_frac: SmallVec<[f64; 4]>,
    pub used_frac: SmallVec<[f64; 4]>,
    /// ∫ the busiest resource's allocated fraction.
    pub busiest: f64,
    /// Seconds with some capacity.
    pub covered: f64,
}

impl Areas {
    fn grow(&mut self, n: usize) {
        for v in [
            &mut self.total,
            &mut self.allocated,
            &mut self.used,
            &mut self.allocated_frac,
            &mut self.used_frac,
        ] {
            if v.len() < n {
                v.resize(n, 0.0);
            }
        }
    }

    pub fn get(v: &SmallVec<[f64; 4]>, i: usize) -> f64 {
        v.get(i).copied().unwrap_or(0.0)
    }
}

/// The cluster, a machine class or an agent: capacity, allocation and use.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    pub total: Amounts,
    pub allocated: Amounts,
    pub used: Amounts,
    /// Integrated up to `last`.
    pub areas: Areas,
    pub last: Instant,
}

impl Pool {
    /// Integrates from the last change to `now`.
    pub fn advance(&mut self, now: Instant) {
        if now <= self.last {
            return;
        }
        let dt = (now - self.last).as_secs_f64();
        self.last = now;
        let n = self.total.width();
        if n == 0 {
            return;
        }
        self.areas.grow(n);
        let a = &mut self.areas;
        let mut busiest = 0.0f64;
        let mut covered = false;
        for i in 0..n {
            let total = self.total.get(i);
            if total == 0 {
                continue;
            }
            let (alloc, used) = (self.allocated.get(i), self.used.get(i));
            a.total[i] += total as f64 / 1000.0 * dt;
            a.allocated[i] += alloc as f64 / 1000.0 * dt;
            a.used[i] += used as f64 / 1000.0 * dt;
            let f = alloc as f64 / total as f64;
            a.allocated_frac[i] += f * dt;
            a.used_frac[i] += used as f64 / total as f64 * dt;
            busiest = busiest.max(f);
            covered = true;
        }
        a.busiest += busiest * dt;
        if covered {
            a.covered += dt;
        }
    }

    /// The busiest resource's allocated fraction now.
    pub fn busiest(&self) -> f64 {
        self.allocated.dominant_share(&self.total)
    }
}

/// A role or a framework: what it holds (offered and used), and its dominant share of the
/// cluster integrated over time.
#[derive(Clone, Debug, Default)]
pub struct Holder {
    pub allocated: Amounts,
    /// Its dominant share of the cluster's current total.
    pub share: f64,
    pub max_share: f64,
    /// ∫ share dt up to `last`.
    pub share_area: f64,
    pub last: Instant,
    /// `share_area` at the last sample.
    pub sampled: f64,
}

impl Holder {
    pub fn advance(&mut self, now: Instant) {
        if now > self.last {
            self.share_area += self.share * (now - self.last).as_secs_f64();
            self.last = now;
        }
    }

    /// The mean share since the last sample, `dt` seconds ago, integrating to `at`.
    pub fn sample(&mut self, at: Instant, dt: f64) -> f64 {
        self.advance(at);
        let mean = (self.share_area - self.sampled) / dt;
        self.sampled = self.share_area;
        mean
    }

    /// Recomputes the share against the cluster's `total` (after advancing to now).
    pub fn reshare(&mut self, total: &Amounts) {
        self.share = self.allocated.dominant_share(total);
        self.max_share = self.max_share.max(self.share);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn pool_areas_are_time_weighted() {
        let mut names = ResNames::default();
        let mut p = Pool::default();
        let r = Resources::parse("cpus:10;mem:100;gpus:2;licences:4").unwrap();
        names.each(&r, |i, v| p.total.change(i, v, true));
        assert_eq!(names.name(4), "licences");
        p.allocated.change(0, 5000, true);
        p.advance(at(10));
        p.allocated.change(1, 100_000, true);
        p.advance(at(20));
        assert_eq!(p.areas.allocated_frac[0], 10.0);
        assert_eq!(p.areas.allocated_frac[1], 10.0);
        assert_eq!(p.areas.allocated[0], 100.0);
        assert_eq!(p.areas.total[3], 40.0);
        // Busiest: cpus at half for 10 s, then mem full for 10 s.
        assert_eq!(p.areas.busiest, 15.0);
    }

    #[test]
    fn dominant_share_is_the_largest_fraction() {
        let mut total = Amounts::default();
        total.change(0, 100_000, true);
        total.change(1, 1_000_000, true);
        let mut held = Amounts::default();
        held.change(0, 10_000, true);
        held.change(1, 300_000, true);
        held.change(2, 5, true); // no disk in the cluster: ignored
        assert_eq!(held.dominant_share(&total), 0.3);
    }
}
