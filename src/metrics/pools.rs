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
pub struct Amounts(pub SmallVec<[u64; 4]>);

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

/// Which figure of a resource an area integrates.
pub const TOTAL: usize = 0;
pub const ALLOCATED: usize = 1;
pub const USED: usize = 2;
pub const ALLOCATED_FRAC: usize = 3;
pub const USED_FRAC: usize = 4;

/// Integrals over time (value × seconds) of one pool's figures, per resource index.
#[derive(Clone, Debug, Default)]
pub struct Areas {
    /// Per resource: ∫ total, ∫ allocated, ∫ used (units × s), ∫ allocated ÷ total and
    /// ∫ used ÷ total (s), indexed by [`TOTAL`] ... [`USED_FRAC`].
    pub per: SmallVec<[[f64; 5]; 4]>,
    /// ∫ the busiest resource's allocated fraction.
    pub busiest: f64,
    /// Seconds with some capacity.
    pub covered: f64,
}

impl Areas {
    pub fn get(&self, i: usize, figure: usize) -> f64 {
        self.per.get(i).map_or(0.0, |a| a[figure])
    }
}

/// The cluster, a machine class or an agent: capacity, allocation and use.
///
/// Exact amounts change by events; the figures integrated over time are kept as floats
/// alongside, recomputed only for the resource that changed, so that integrating is a few
/// multiply-adds.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    pub total: Amounts,
    pub allocated: Amounts,
    pub used: Amounts,
    /// Per resource, the current value of each integrated figure.
    rates: SmallVec<[[f64; 5]; 4]>,
    busiest: f64,
    /// Integrated up to `last`.
    pub areas: Areas,
    pub last: Instant,
}

impl Pool {
    /// An empty pool whose integrals start at `at`.
    pub fn starting(at: Instant) -> Pool {
        Pool {
            last: at,
            ..Pool::default()
        }
    }

    /// Integrates from the last change to `now`.
    pub fn advance(&mut self, now: Instant) {
        if now <= self.last {
            return;
        }
        let dt = (now - self.last).as_secs_f64();
        self.last = now;
        if self.areas.per.len() < self.rates.len() {
            self.areas.per.resize(self.rates.len(), [0.0; 5]);
        }
        let mut covered = false;
        for (area, rate) in self.areas.per.iter_mut().zip(&self.rates) {
            if rate[TOTAL] > 0.0 {
                covered = true;
                for k in 0..5 {
                    area[k] += rate[k] * dt;
                }
            }
        }
        if covered {
            self.areas.busiest += self.busiest * dt;
            self.areas.covered += dt;
        }
    }

    /// Changes resource `i`'s total (`TOTAL`), allocation (`ALLOCATED`) or use (`USED`) by
    /// `v` thousandths, up or down. Call [`Pool::advance`] first.
    pub fn change(&mut self, i: usize, figure: usize, v: u64, up: bool) {
        match figure {
            TOTAL => self.total.change(i, v, up),
            ALLOCATED => self.allocated.change(i, v, up),
            _ => self.used.change(i, v, up),
        }
        if self.rates.len() <= i {
            self.rates.resize(i + 1, [0.0; 5]);
        }
        let (total, alloc, used) = (self.total.get(i), self.allocated.get(i), self.used.get(i));
        let r = &mut self.rates[i];
        r[TOTAL] = total as f64 / 1000.0;
        r[ALLOCATED] = alloc as f64 / 1000.0;
        r[USED] = used as f64 / 1000.0;
        if total > 0 {
            r[ALLOCATED_FRAC] = alloc as f64 / total as f64;
            r[USED_FRAC] = used as f64 / total as f64;
        } else {
            (r[ALLOCATED_FRAC], r[USED_FRAC]) = (0.0, 0.0);
        }
        self.busiest = self.rates.iter().map(|r| r[ALLOCATED_FRAC]).fold(0.0, f64::max);
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

    /// Recomputes the share against the cluster's total, given as `inverse[i]` = 1 ÷ total
    /// of resource `i` in thousandths (0 where there is none); after advancing to now.
    pub fn reshare(&mut self, inverse: &[f64]) {
        self.share = self
            .allocated
            .0
            .iter()
            .zip(inverse)
            .map(|(&a, &inv)| a as f64 * inv)
            .fold(0.0, f64::max);
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
        names.each(&r, |i, v| p.change(i, TOTAL, v, true));
        assert_eq!(names.name(4), "licences");
        p.change(0, ALLOCATED, 5000, true);
        p.advance(at(10));
        p.change(1, ALLOCATED, 100_000, true);
        p.advance(at(20));
        assert_eq!(p.areas.get(0, ALLOCATED_FRAC), 10.0);
        assert_eq!(p.areas.get(1, ALLOCATED_FRAC), 10.0);
        assert_eq!(p.areas.get(0, ALLOCATED), 100.0);
        assert_eq!(p.areas.get(3, TOTAL), 40.0);
        assert_eq!(p.areas.covered, 20.0);
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
