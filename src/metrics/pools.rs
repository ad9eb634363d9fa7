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

    /// `r`'s scalars, reserved or not, as a [`Delta`].
    pub fn delta(&mut self, r: &Resources) -> Delta {
        if let Some(t) = r.plain_totals() {
            return Delta {
                known: t.0,
                others: SmallVec::new(),
            };
        }
        let mut d = Delta::default();
        self.each(r, |i, v| match d.known.get_mut(i) {
            Some(k) => *k += v,
            None => d.others.push((i, v)),
        });
        d
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

/// A change of amounts, in thousandths: of the well-known four by index (0 for none:
/// changing by them needs no branch), and of others by index.
#[derive(Clone, Debug, Default)]
pub struct Delta {
    pub known: [u64; KNOWN],
    pub others: SmallVec<[(usize, u64); 2]>,
}

impl Delta {
    /// Calls `f(index, thousandths)` for every amount that is not zero.
    pub fn each(&self, mut f: impl FnMut(usize, u64)) {
        for (i, &v) in self.known.iter().enumerate() {
            if v != 0 {
                f(i, v);
            }
        }
        for &(i, v) in &self.others {
            f(i, v);
        }
    }
}

/// How many resources have fixed indices: [`WELL_KNOWN`]'s.
const KNOWN: usize = 4;
const _: () = assert!(WELL_KNOWN.len() == KNOWN);

#[inline]
fn change(slot: &mut u64, v: u64, up: bool) {
    *slot = if up {
        slot.saturating_add(v)
    } else {
        slot.saturating_sub(v)
    };
}

/// Amounts in thousandths per resource index: the well-known four in place, others
/// grown on demand.
#[derive(Clone, Debug, Default)]
pub struct Amounts {
    known: [u64; KNOWN],
    others: Vec<u64>,
}

impl Amounts {
    /// Changes every amount of `d`.
    #[inline]
    pub fn apply(&mut self, d: &Delta, up: bool) {
        for (slot, &v) in self.known.iter_mut().zip(&d.known) {
            if v != 0 {
                change(slot, v, up);
            }
        }
        for &(i, v) in &d.others {
            self.change(i, v, up);
        }
    }

    pub fn get(&self, i: usize) -> u64 {
        match i.checked_sub(KNOWN) {
            None => self.known[i],
            Some(j) => self.others.get(j).copied().unwrap_or(0),
        }
    }

    #[inline]
    pub fn change(&mut self, i: usize, v: u64, up: bool) {
        let slot = match i.checked_sub(KNOWN) {
            None => &mut self.known[i],
            Some(j) => {
                if self.others.len() <= j {
                    self.others.resize(j + 1, 0);
                }
                &mut self.others[j]
            }
        };
        change(slot, v, up);
    }

    /// Every amount by index, from 0 to the highest set so far.
    pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.known.iter().chain(&self.others).copied()
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
    /// Seconds with some capacity.
    pub covered: f64,
}

impl Areas {
    pub fn get(&self, i: usize, figure: usize) -> f64 {
        self.per.get(i).map_or(0.0, |a| a[figure])
    }

    /// The largest ∫ allocated ÷ total of any resource: the busiest resource's.
    pub fn busiest(&self) -> f64 {
        self.per.iter().map(|a| a[ALLOCATED_FRAC]).fold(0.0, f64::max)
    }
}

/// The cluster, a machine class or an agent: capacity, allocation and use.
///
/// Between changes of the total (rare: agents joining and leaving) and samples, an epoch,
/// allocation and use are integrated exactly, in thousandths × nanoseconds, without
/// visiting the pool as time passes: a change of `Δ` at `t` into the epoch adds `Δ × t` to
/// the resource's moment, and over an epoch of length `T`, `∫ a dt = a(T) × T − Σ Δ × t`.
/// [`Pool::settle`] closes the epoch into `areas`. A change costs an add and a
/// multiply-add per resource it touches.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Per resource index.
    slots: SmallVec<[Slot; KNOWN]>,
    /// Integrated up to here: `areas` is complete up to it; the epoch runs from it.
    pub last: Instant,
    pub areas: Areas,
}

/// One resource of a pool.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// Thousandths.
    total: u64,
    allocated: u64,
    used: u64,
    /// 1 ÷ total (0 where there is none).
    inverse: f64,
    /// Σ Δ × (t − epoch start) over the epoch's changes of allocation and of use.
    moment_allocated: i128,
    moment_used: i128,
}

impl Slot {
    #[inline]
    fn change(&mut self, v: u64, t: u64, used: bool, up: bool) {
        let m = i128::from(v) * i128::from(t);
        if up {
            self.allocated += v;
            self.moment_allocated += m;
            if used {
                self.used += v;
                self.moment_used += m;
            }
        } else {
            self.allocated = self.allocated.saturating_sub(v);
            self.moment_allocated -= m;
            if used {
                self.used = self.used.saturating_sub(v);
                self.moment_used -= m;
            }
        }
    }
}

impl Pool {
    /// A pool whose first epoch begins at `at`.
    pub fn starting(at: Instant) -> Pool {
        Pool {
            slots: SmallVec::from_buf([Slot::default(); KNOWN]),
            last: at,
            areas: Areas::default(),
        }
    }

    /// What it has of every resource, in thousandths.
    pub fn total(&self) -> Amounts {
        let mut a = Amounts::default();
        for (i, s) in self.slots.iter().enumerate() {
            a.change(i, s.total, true);
        }
        a
    }

    /// Integrates to `now` and opens a new epoch there, so that `areas` is complete.
    pub fn settle(&mut self, now: Instant) {
        if now <= self.last {
            return;
        }
        let epoch_ns = (now - self.last).as_nanos();
        self.last = now;
        if self.slots.iter().all(|s| s.total == 0) {
            for s in &mut self.slots {
                (s.moment_allocated, s.moment_used) = (0, 0);
            }
            return;
        }
        if self.areas.per.len() < self.slots.len() {
            self.areas.per.resize(self.slots.len(), [0.0; 5]);
        }
        let epoch_s = epoch_ns as f64 / 1e9;
        self.areas.covered += epoch_s;
        // ∫ over the epoch in thousandths × ns, as units × s; without a change in the
        // epoch (most agents in most epochs), a product that needs no 128-bit arithmetic.
        let integral = |now: u64, moment: i128| {
            if moment == 0 {
                now as f64 * epoch_ns as f64 / 1e12
            } else {
                (i128::from(now) * i128::from(epoch_ns) - moment) as f64 / 1e12
            }
        };
        for (s, a) in self.slots.iter_mut().zip(&mut self.areas.per) {
            if s.total == 0 {
                (s.moment_allocated, s.moment_used) = (0, 0);
                continue;
            }
            let (alloc, used) = (
                integral(s.allocated, s.moment_allocated),
                integral(s.used, s.moment_used),
            );
            (s.moment_allocated, s.moment_used) = (0, 0);
            a[TOTAL] += s.total as f64 / 1000.0 * epoch_s;
            a[ALLOCATED] += alloc;
            a[USED] += used;
            a[ALLOCATED_FRAC] += alloc * 1000.0 * s.inverse;
            a[USED_FRAC] += used * 1000.0 * s.inverse;
        }
    }

    /// At `now` (no earlier than the last settling), allocation of every `(resource,
    /// thousandths)` of `amounts` appears (`up`) or goes, and use as well when `used`.
    #[inline]
    pub fn allocate(&mut self, now: Instant, d: &Delta, used: bool, up: bool) {
        let t = if now > self.last {
            (now - self.last).as_nanos()
        } else {
            0
        };
        for (s, &v) in self.slots[..KNOWN].iter_mut().zip(&d.known) {
            if v != 0 {
                s.change(v, t, used, up);
            }
        }
        for &(i, v) in &d.others {
            if self.slots.len() <= i {
                self.slots.resize(i + 1, Slot::default());
            }
            self.slots[i].change(v, t, used, up);
        }
    }

    /// At `now`, capacity of every `(resource, thousandths)` of `amounts` appears (`up`)
    /// or goes: a new epoch begins.
    pub fn resize(&mut self, now: Instant, d: &Delta, up: bool) {
        self.settle(now);
        d.each(|i, v| {
            if self.slots.len() <= i {
                self.slots.resize(i + 1, Slot::default());
            }
            let s = &mut self.slots[i];
            change(&mut s.total, v, up);
            s.inverse = if s.total > 0 { 1.0 / s.total as f64 } else { 0.0 };
        });
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
            .values()
            .zip(inverse)
            .map(|(a, &inv)| a as f64 * inv)
            .fold(0.0, f64::max);
        self.max_share = self.max_share.max(self.share);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn cpus(thousandths: u64) -> Delta {
        Delta {
            known: [thousandths, 0, 0, 0],
            others: SmallVec::new(),
        }
    }

    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn pool_areas_are_time_weighted() {
        let mut names = ResNames::default();
        let mut p = Pool::starting(Instant::ZERO);
        let r = Resources::parse("cpus:10;mem:100;gpus:2;licences:4").unwrap();
        p.resize(Instant::ZERO, &names.delta(&r), true);
        assert_eq!(names.name(4), "licences");
        p.allocate(Instant::ZERO, &cpus(5000), false, true);
        p.allocate(at(5), &cpus(2000), true, true);
        p.allocate(
            at(10),
            &Delta {
                known: [0, 100_000, 0, 0],
                others: SmallVec::new(),
            },
            false,
            true,
        );
        p.settle(at(15));
        p.allocate(at(15), &cpus(2000), true, false);
        p.settle(at(20));
        // cpus: 5 of 10 for 20 s, and 2 more (used) from 5 s to 15 s.
        assert_eq!(p.areas.get(0, ALLOCATED), 120.0);
        assert_eq!(p.areas.get(0, USED), 20.0);
        assert!((p.areas.get(0, ALLOCATED_FRAC) - 12.0).abs() < 1e-12);
        assert!((p.areas.get(0, USED_FRAC) - 2.0).abs() < 1e-12);
        assert_eq!(p.areas.get(1, ALLOCATED_FRAC), 10.0);
        assert_eq!(p.areas.get(3, TOTAL), 40.0);
        assert_eq!(p.areas.covered, 20.0);
        // The busiest resource over the whole span: cpus.
        assert!((p.areas.busiest() - 12.0).abs() < 1e-12);
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
