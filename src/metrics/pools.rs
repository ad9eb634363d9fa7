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
        // Most resources are unreserved cpus, mem, disk and gpus only.
        if let Some(t) = r.plain_totals() {
            for (i, &v) in t.0.iter().enumerate() {
                if v != 0 {
                    f(i, v);
                }
            }
            return;
        }
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
/// Between changes of the total (rare: agents joining and leaving), allocation and use
/// are integrated exactly, in thousandths × nanoseconds; the fractions of the total follow
/// from those integrals when the epoch closes ([`Pool::settle`]). A change of allocation
/// costs an add per resource and the integration a multiply-add.
#[derive(Clone, Debug, Default)]
pub struct Pool {
    pub total: Amounts,
    pub allocated: Amounts,
    pub used: Amounts,
    /// 1 ÷ total per resource (0 where there is none).
    inverse: SmallVec<[f64; 4]>,
    /// The allocated fraction of the busiest resource now (kept for agents only: see
    /// [`Pool::agent`]).
    busiest: f64,
    track_busiest: bool,
    /// Exact integrals since the epoch began: ∫ allocated dt and ∫ used dt per resource,
    /// and the epoch's length in nanoseconds.
    epoch_allocated: SmallVec<[u128; 4]>,
    epoch_used: SmallVec<[u128; 4]>,
    epoch_ns: u128,
    /// Integrated up to the epoch's beginning (up to `last` after [`Pool::settle`]).
    pub areas: Areas,
    pub last: Instant,
}

impl Pool {
    /// An agent's pool, which also integrates its busiest resource's allocated fraction.
    pub fn agent(at: Instant) -> Pool {
        Pool {
            last: at,
            track_busiest: true,
            ..Pool::default()
        }
    }

    /// Integrates from the last change to `now`.
    pub fn advance(&mut self, now: Instant) {
        if now <= self.last {
            return;
        }
        let dt = (now - self.last).as_nanos();
        self.last = now;
        if self.inverse.iter().all(|&inv| inv == 0.0) {
            return;
        }
        let dt128 = u128::from(dt);
        self.epoch_ns += dt128;
        if self.epoch_allocated.len() < self.allocated.width() {
            self.epoch_allocated.resize(self.allocated.width(), 0);
        }
        for (area, &a) in self.epoch_allocated.iter_mut().zip(&self.allocated.0) {
            *area += u128::from(a) * dt128;
        }
        if self.epoch_used.len() < self.used.width() {
            self.epoch_used.resize(self.used.width(), 0);
        }
        for (area, &u) in self.epoch_used.iter_mut().zip(&self.used.0) {
            *area += u128::from(u) * dt128;
        }
        let secs = dt as f64 / 1e9;
        self.areas.busiest += self.busiest * secs;
        self.areas.covered += secs;
    }

    /// Integrates to `now` and closes the epoch, so that `areas` is complete.
    pub fn settle(&mut self, now: Instant) {
        self.advance(now);
        if self.epoch_ns == 0 {
            return;
        }
        let n = self.total.width();
        if self.areas.per.len() < n {
            self.areas.per.resize(n, [0.0; 5]);
        }
        let epoch_s = self.epoch_ns as f64 / 1e9;
        for i in 0..n {
            let inv = self.inverse.get(i).copied().unwrap_or(0.0);
            if inv == 0.0 {
                continue;
            }
            // Thousandths × ns → units × s.
            let alloc = self.epoch_allocated.get(i).copied().unwrap_or(0) as f64 / 1e12;
            let used = self.epoch_used.get(i).copied().unwrap_or(0) as f64 / 1e12;
            let a = &mut self.areas.per[i];
            a[TOTAL] += self.total.get(i) as f64 / 1000.0 * epoch_s;
            a[ALLOCATED] += alloc;
            a[USED] += used;
            a[ALLOCATED_FRAC] += alloc * 1000.0 * inv;
            a[USED_FRAC] += used * 1000.0 * inv;
        }
        self.epoch_allocated.iter_mut().for_each(|v| *v = 0);
        self.epoch_used.iter_mut().for_each(|v| *v = 0);
        self.epoch_ns = 0;
    }

    /// Changes every `(resource, thousandths)` of `amounts`: the total when `total`, else
    /// the allocation, and the use as well when `used`. Call [`Pool::advance`] first.
    pub fn change_all(&mut self, amounts: &[(usize, u64)], used: bool, total: bool, up: bool) {
        if total {
            let last = self.last;
            self.settle(last);
        }
        for &(i, v) in amounts {
            if total {
                self.total.change(i, v, up);
                if self.inverse.len() <= i {
                    self.inverse.resize(i + 1, 0.0);
                }
                let t = self.total.get(i);
                self.inverse[i] = if t > 0 { 1.0 / t as f64 } else { 0.0 };
            } else {
                self.allocated.change(i, v, up);
                if used {
                    self.used.change(i, v, up);
                }
            }
        }
        if self.track_busiest {
            self.busiest = self
                .allocated
                .0
                .iter()
                .zip(&self.inverse)
                .map(|(&a, &inv)| a as f64 * inv)
                .fold(0.0, f64::max);
        }
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

    /// The mean share over the first `span` seconds (after advancing to their end).
    pub fn mean(&self, span: f64) -> f64 {
        if span > 0.0 { self.share_area / span } else { 0.0 }
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
        let mut p = Pool::agent(Instant::ZERO);
        let r = Resources::parse("cpus:10;mem:100;gpus:2;licences:4").unwrap();
        let mut total = Vec::new();
        names.each(&r, |i, v| total.push((i, v)));
        p.change_all(&total, false, true, true);
        assert_eq!(names.name(4), "licences");
        p.change_all(&[(0, 5000)], false, false, true);
        p.advance(at(10));
        p.change_all(&[(1, 100_000)], false, false, true);
        p.settle(at(20));
        assert_eq!(p.areas.get(0, ALLOCATED_FRAC), 10.0);
        assert_eq!(p.areas.get(1, ALLOCATED_FRAC), 10.0);
        assert_eq!(p.areas.get(0, ALLOCATED), 100.0);
        assert_eq!(p.areas.get(3, TOTAL), 40.0);
        assert_eq!(p.areas.covered, 20.0);
        // Busiest: cpus at half for 10 s, then mem full for 10 s.
        assert_eq!(p.areas.busiest, 15.0);
    }

    #[test]
    fn a_share_is_the_largest_fraction_of_the_cluster() {
        let mut h = Holder::default();
        h.allocated.change(0, 10_000, true);
        h.allocated.change(1, 300_000, true);
        h.allocated.change(2, 5, true); // no disk in the cluster: ignored
        let inverse = [1.0 / 100_000.0, 1.0 / 1_000_000.0, 0.0];
        h.reshare(&inverse);
        assert!((h.share - 0.3).abs() < 1e-15);
        h.allocated.change(1, 300_000, false);
        h.reshare(&inverse);
        assert!((h.share - 0.1).abs() < 1e-15);
        assert!((h.max_share - 0.3).abs() < 1e-15);
    }
}
