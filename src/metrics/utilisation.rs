//! Time-weighted utilisation per scalar resource.

use smol_str::SmolStr;

use crate::resources::Resources;
use crate::time::Instant;

/// One resource's utilisation over the run, as fractions of what active agents had.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResourceUtilisation {
    /// Mean over time of (offered + used) ÷ total.
    pub allocated_mean: f64,
    /// Mean over time of used ÷ total.
    pub used_mean: f64,
    /// Mean over time of the total itself (in the resource's unit).
    pub total_mean: f64,
}

#[derive(Default)]
struct Track {
    /// Thousandths, as `Scalar`s count.
    total: u64,
    offered: u64,
    used: u64,
    /// ∫ (offered + used) / total dt, ∫ used / total dt, ∫ total dt, in seconds.
    allocated_area: f64,
    used_area: f64,
    total_area: f64,
}

#[derive(Default)]
pub struct Utilisation {
    /// In name order; a handful of entries (cpus, disk, gpus, mem, ...).
    tracks: Vec<(SmolStr, Track)>,
    last: Instant,
    end: Option<Instant>,
}

enum Change {
    Total(bool),
    Offered(bool),
    Used(bool),
}

impl Utilisation {
    /// Integrates every track from the last change to `now`.
    fn advance(&mut self, now: Instant) {
        let dt = (now - self.last).as_secs_f64();
        if dt > 0.0 {
            for (_, t) in &mut self.tracks {
                if t.total > 0 {
                    let total = t.total as f64;
                    t.allocated_area += (t.offered + t.used) as f64 / total * dt;
                    t.used_area += t.used as f64 / total * dt;
                    t.total_area += total / 1000.0 * dt;
                }
            }
        }
        self.last = self.last.max(now);
    }

    fn apply(&mut self, now: Instant, resources: &Resources, change: Change) {
        self.advance(now);
        for (name, _, amount) in resources.scalars() {
            let i = match self.tracks.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                Ok(i) => i,
                Err(i) => {
                    self.tracks.insert(i, (SmolStr::new(name), Track::default()));
                    i
                }
            };
            let t = &mut self.tracks[i].1;
            let v = amount.millis();
            let field = match change {
                Change::Total(up) => (&mut t.total, up),
                Change::Offered(up) => (&mut t.offered, up),
                Change::Used(up) => (&mut t.used, up),
            };
            *field.0 = if field.1 {
                field.0.saturating_add(v)
            } else {
                field.0.saturating_sub(v)
            };
        }
    }

    pub fn add_total(&mut self, now: Instant, r: &Resources) {
        self.apply(now, r, Change::Total(true));
    }
    pub fn remove_total(&mut self, now: Instant, r: &Resources) {
        self.apply(now, r, Change::Total(false));
    }
    pub fn offer(&mut self, now: Instant, r: &Resources) {
        self.apply(now, r, Change::Offered(true));
    }
    pub fn unoffer(&mut self, now: Instant, r: &Resources) {
        self.apply(now, r, Change::Offered(false));
    }
    pub fn use_(&mut self, now: Instant, r: &Resources) {
        self.apply(now, r, Change::Used(true));
    }
    pub fn unuse(&mut self, now: Instant, r: &Resources) {
        self.apply(now, r, Change::Used(false));
    }

    pub fn finish(&mut self, end: Instant) {
        self.advance(end);
        self.end = Some(end);
    }

    /// Means over the whole run, per resource name in name order.
    pub fn means(&self) -> Vec<(String, ResourceUtilisation)> {
        let span = self.end.unwrap_or(self.last).as_secs_f64();
        self.tracks
            .iter()
            .map(|(name, t)| {
                let mean = |area: f64| if span > 0.0 { area / span } else { 0.0 };
                (
                    name.to_string(),
                    ResourceUtilisation {
                        allocated_mean: mean(t.allocated_area),
                        used_mean: mean(t.used_area),
                        total_mean: mean(t.total_area),
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn means_are_time_weighted_fractions_of_the_total() {
        let mut u = Utilisation::default();
        let at = |s| Instant::ZERO + Duration::from_secs(s);
        let r = |t: &str| Resources::parse(t).unwrap();
        u.add_total(at(0), &r("cpus:10;mem:100"));
        u.use_(at(0), &r("cpus:5"));
        u.offer(at(50), &r("cpus:5;mem:100"));
        u.finish(at(100));
        let means = u.means();
        let cpus = means.iter().find(|(n, _)| n == "cpus").unwrap().1;
        let mem = means.iter().find(|(n, _)| n == "mem").unwrap().1;
        // cpus: used 0.5 all along; allocated 0.5 then 1.0 → 0.75.
        assert!((cpus.used_mean - 0.5).abs() < 1e-12);
        assert!((cpus.allocated_mean - 0.75).abs() < 1e-12);
        assert!((mem.allocated_mean - 0.5).abs() < 1e-12);
        assert!((cpus.total_mean - 10.0).abs() < 1e-12);
    }
}
