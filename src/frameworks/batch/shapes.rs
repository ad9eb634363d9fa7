//! The shapes of a batch framework's queued tasks, from which it tells the master the least
//! it can use: its offer filters (Mesos's `OfferFilters.min_allocatable_resources`).
//!
//! An offer is worth making only if some queued task fits in it, that is, if it contains
//! the demand of some queued task. The filters are those demands, rounded down onto a
//! coarse grid (so that the set of shapes, and with it the filters, changes seldom) and cut
//! to the minimal ones: a shape containing another adds nothing. Rounding down keeps the
//! filters a necessary condition: an offer they turn away fits no queued task.

use std::collections::BTreeMap;

use smallvec::SmallVec;
use smol_str::SmolStr;

use crate::resources::{MinAllocatable, Resources, Scalar};

/// More minimal shapes than this are merged into one alternative, their component-wise
/// minimum (still a necessary condition, only looser).
pub const MAX_ALTERNATIVES: usize = 16;

/// A task's scalar demand by resource name (reservations ignored), each amount rounded down
/// onto [`GRID`]; zeros are left out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shape(SmallVec<[(SmolStr, u64); 4]>);

impl Shape {
    fn of(r: &Resources) -> Shape {
        let mut parts: SmallVec<[(SmolStr, u64); 4]> = SmallVec::new();
        for (name, _, v) in r.scalars() {
            match parts.iter_mut().find(|(n, _)| n == name) {
                Some((_, sum)) => *sum = sum.saturating_add(v.millis()),
                None => parts.push((SmolStr::new(name), v.millis())),
            }
        }
        for (_, v) in &mut parts {
            *v = floor_to_grid(*v);
        }
        parts.retain(|(_, v)| *v > 0);
        parts.sort();
        Shape(parts)
    }

    fn get(&self, name: &str) -> u64 {
        self.0.iter().find(|(n, _)| n == name).map_or(0, |(_, v)| *v)
    }

    /// Whether every amount of `self` is at most `other`'s.
    fn within(&self, other: &Shape) -> bool {
        self.0.iter().all(|(name, v)| other.get(name) >= *v)
    }

    fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |sum, (_, v)| sum.saturating_add(*v))
    }

    fn resources(&self) -> Resources {
        let mut r = Resources::new();
        for (name, v) in &self.0 {
            r.set_scalar(name, None, Scalar::from_millis(*v));
        }
        r
    }
}

/// Mantissas (in hundredths) of the grid amounts are rounded down to: steps of at most
/// 25%, and round numbers (1, 2, 0.5, 0.25, 1000) stay as they are.
const GRID: [u64; 14] = [
    100, 125, 150, 175, 200, 250, 300, 350, 400, 500, 600, 700, 800, 900,
];

/// `v` (thousandths) rounded down onto the grid; below 100 (a tenth of a unit) it is kept.
fn floor_to_grid(v: u64) -> u64 {
    if v < 100 {
        return v;
    }
    let mut scale = 1u64;
    while v / scale >= 1000 {
        scale *= 10;
    }
    let mantissa = v / scale;
    let step = GRID[GRID.partition_point(|&g| g <= mantissa) - 1];
    step * scale
}

/// The queued tasks' shapes with their counts, and the minimal ones.
#[derive(Clone, Default)]
pub struct Shapes {
    counts: BTreeMap<Shape, u32>,
    /// The shapes no other queued shape lies within, in shape order; recomputed when one of
    /// them leaves the queue.
    minimal: Vec<Shape>,
    stale: bool,
    /// The filters for `minimal`, while `built_fresh`.
    built: MinAllocatable,
    built_fresh: bool,
}

impl Shapes {
    /// A task with demand `r` joined the queue.
    pub fn add(&mut self, r: &Resources) {
        let shape = Shape::of(r);
        if let Some(count) = self.counts.get_mut(&shape) {
            *count += 1;
            return;
        }
        self.counts.insert(shape.clone(), 1);
        if self.stale || self.minimal.iter().any(|m| m.within(&shape)) {
            return;
        }
        self.minimal.retain(|m| !shape.within(m));
        let at = self.minimal.partition_point(|m| *m < shape);
        self.minimal.insert(at, shape);
        self.built_fresh = false;
    }

    /// A task with demand `r` left the queue.
    pub fn remove(&mut self, r: &Resources) {
        let shape = Shape::of(r);
        let Some(count) = self.counts.get_mut(&shape) else {
            debug_assert!(false, "removing a shape never added");
            return;
        };
        *count -= 1;
        if *count == 0 {
            self.counts.remove(&shape);
            if self.minimal.binary_search(&shape).is_ok() {
                self.stale = true;
                self.built_fresh = false;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The offer filters: one alternative per minimal shape (or their minimum, beyond
    /// [`MAX_ALTERNATIVES`]); `None` while nothing is queued. Built again only when the
    /// minimal shapes changed.
    pub fn filters(&mut self) -> Option<&MinAllocatable> {
        if self.counts.is_empty() {
            return None;
        }
        if self.stale {
            self.recompute();
        }
        if !self.built_fresh {
            self.built = self.build();
            self.built_fresh = true;
        }
        Some(&self.built)
    }

    fn build(&self) -> MinAllocatable {
        if self.minimal.len() <= MAX_ALTERNATIVES {
            return MinAllocatable::new(self.minimal.iter().map(Shape::resources).collect());
        }
        let mut least = self.minimal[0].clone();
        for m in &self.minimal[1..] {
            least.0.retain(|(name, v)| {
                *v = (*v).min(m.get(name));
                *v > 0
            });
        }
        MinAllocatable::new(vec![least.resources()])
    }

    /// Minimal shapes from scratch: in order of total size, a shape is minimal unless one
    /// already found lies within it (a shape within another has the smaller total).
    fn recompute(&mut self) {
        let mut by_total: Vec<&Shape> = self.counts.keys().collect();
        by_total.sort_by_key(|s| s.total());
        let mut minimal: Vec<Shape> = Vec::new();
        for s in by_total {
            if !minimal.iter().any(|m| m.within(s)) {
                minimal.push(s.clone());
            }
        }
        minimal.sort();
        self.minimal = minimal;
        self.stale = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Resources {
        Resources::parse(text).unwrap()
    }

    fn text(f: Option<&MinAllocatable>) -> String {
        f.map_or("none".to_owned(), |f| f.to_string())
    }

    #[test]
    fn the_grid_keeps_round_numbers() {
        assert_eq!(
            [
                0,
                7,
                99,
                100,
                124,
                125,
                999,
                1000,
                1024,
                2048,
                4096,
                30_000,
                123_456_789
            ]
            .map(floor_to_grid),
            [
                0,
                7,
                99,
                100,
                100,
                125,
                900,
                1000,
                1000,
                2000,
                4000,
                30_000,
                100_000_000
            ]
        );
        assert_eq!(floor_to_grid(u64::MAX), 17_500_000_000_000_000_000);
    }

    #[test]
    fn filters_are_the_minimal_rounded_shapes() {
        let mut s = Shapes::default();
        assert_eq!(text(s.filters()), "none");
        s.add(&r("cpus:2;mem:1000"));
        s.add(&r("cpus:1;mem:4000"));
        s.add(&r("cpus:4;mem:4000")); // contains both: adds nothing
        s.add(&r("cpus(web):1;cpus:1;mem:1024")); // the first shape again, 1024 rounded down
        assert_eq!(text(s.filters()), "cpus:1;mem:4000|cpus:2;mem:1000");
        s.add(&r("cpus:0.3;mem:999"));
        assert_eq!(text(s.filters()), "cpus:0.3;mem:900");
        // The smallest leaves: the others come back (the first shape's count is two).
        s.remove(&r("cpus:0.3;mem:999"));
        assert_eq!(text(s.filters()), "cpus:1;mem:4000|cpus:2;mem:1000");
        s.remove(&r("cpus:2;mem:1000"));
        assert_eq!(text(s.filters()), "cpus:1;mem:4000|cpus:2;mem:1000");
        s.remove(&r("cpus:2;mem:1024"));
        assert_eq!(text(s.filters()), "cpus:1;mem:4000");
        s.remove(&r("cpus:1;mem:4000"));
        assert_eq!(text(s.filters()), "cpus:4;mem:4000");
        s.remove(&r("cpus:4;mem:4000"));
        assert!(s.is_empty());
        assert_eq!(text(s.filters()), "none");
    }

    #[test]
    fn an_empty_demand_accepts_anything() {
        let mut s = Shapes::default();
        s.add(&r("cpus:1"));
        s.add(&Resources::new());
        assert_eq!(s.filters(), Some(&MinAllocatable::default()));
    }

    #[test]
    fn many_minimal_shapes_merge_into_their_minimum() {
        let mut s = Shapes::default();
        // Seventeen amounts on the grid: as many minimal shapes.
        let on_grid = [
            1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 12.5, 15.0,
        ];
        assert_eq!(on_grid.len(), MAX_ALTERNATIVES + 1);
        for (cpus, mem) in on_grid.iter().zip(on_grid.iter().rev()) {
            s.add(&r(&format!("cpus:{cpus};mem:{}", mem * 100.0)));
        }
        assert_eq!(s.minimal.len(), MAX_ALTERNATIVES + 1);
        assert_eq!(text(s.filters()), "cpus:1;mem:100");
    }

    proptest::proptest! {
        /// Whatever the queue, the filters are exactly the minimal rounded shapes: every
        /// queued task's rounded demand contains one of them, and none contains another.
        #[test]
        fn incremental_minimal_shapes_match_a_recount(
            ops in proptest::collection::vec((0u8..4, 0u64..6, 0u64..6, proptest::bool::ANY), 1..80)
        ) {
            let mut s = Shapes::default();
            let mut queued: Vec<Resources> = Vec::new();
            for (kind, cpus, mem, add) in ops {
                let task = r(&format!("cpus:{};mem:{}", cpus + u64::from(kind), mem * 100));
                if add || queued.is_empty() {
                    s.add(&task);
                    queued.push(task);
                } else {
                    let gone = queued.remove((cpus as usize) % queued.len());
                    s.remove(&gone);
                }
                let mut fresh = Shapes::default();
                for t in &queued {
                    fresh.add(t);
                }
                fresh.recompute();
                if s.stale {
                    s.recompute();
                }
                proptest::prop_assert_eq!(&s.minimal, &fresh.minimal);
                // The filters kept from earlier steps are the ones built afresh.
                proptest::prop_assert_eq!(s.filters().cloned(), fresh.filters().cloned());
            }
        }
    }
}
