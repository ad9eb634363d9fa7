//! Fairness among roles, from their dominant shares while they have demand.
//!
//! A role has demand while one of its frameworks has tasks waiting for resources (or, for a
//! framework that takes every offer, from its registration on). Among the roles with demand
//! at an instant:
//!
//! - **Jain's index over dominant shares**: with `x = share ÷ weight`, `(Σx)² ÷ (n Σx²)`,
//!   1 when the weighted shares are equal, `1/n` when one role holds everything;
//! - a role's **fair share** is `weight ÷ Σ weights of the roles with demand`, and it is
//!   **entitled** to the smaller of that and what it wants (the dominant share of what it
//!   holds plus what it has waiting): a role whose waiting tasks would not take it to its
//!   fair share is not short of it;
//! - **Jain's index over entitlement**: the same formula over `min(1, share ÷ entitled)`, 1
//!   when every role with demand has what it is entitled to (Jain's own normalisation);
//! - the time a role spends below [`FAIR_SLACK`] of its entitlement while it has demand;
//! - each role's mean weighted share over the time it had demand, from which the summary
//!   takes the ratio of the largest to the smallest.
//!
//! Both indices are integrated over the time at least one role has demand and some share
//! is positive. Updates are O(1) per change of one role (running sums, recomputed exactly
//! at every sample so that rounding cannot drift) and O(roles) when the set of roles with
//! demand, and so every fair share, changes.

use crate::time::Instant;

/// A role counts as below its entitlement under this fraction of it: task sizes make
/// shares move in steps, and a role a task short of its exact share is not starved.
pub const FAIR_SLACK: f64 = 0.95;

#[derive(Clone, Debug)]
pub struct RoleFairness {
    pub weight: f64,
    /// Its frameworks that have demand now.
    pub demanding: u32,
    pub share: f64,
    /// Dominant share of what it holds plus what it has waiting (infinite for a role whose
    /// framework takes every offer).
    pub wants: f64,
    /// Cached terms of the running sums: share ÷ weight and min(1, share ÷ entitled).
    x: f64,
    e: f64,
    below: bool,
    /// Integrated up to `last`.
    last: Instant,
    pub demand_s: f64,
    pub share_area_with_demand: f64,
    pub below_s: f64,
}

#[derive(Debug, Default)]
pub struct Fairness {
    pub roles: Vec<RoleFairness>,
    /// Roles with demand, the sum of their weights, and Σx, Σx², Σe, Σe² over them.
    n: usize,
    weight_sum: f64,
    sums: [f64; 4],
    last: Instant,
    /// ∫ Jain's index (over shares; over entitlement) dt, over `jain_s` seconds.
    pub jain_area: f64,
    pub jain_entitled_area: f64,
    pub jain_s: f64,
}

impl Fairness {
    pub fn add_role(&mut self, weight: f64) -> usize {
        self.roles.push(RoleFairness {
            weight: if weight > 0.0 { weight } else { 1.0 },
            demanding: 0,
            share: 0.0,
            wants: 0.0,
            x: 0.0,
            e: 1.0,
            below: false,
            last: Instant::ZERO,
            demand_s: 0.0,
            share_area_with_demand: 0.0,
            below_s: 0.0,
        });
        self.roles.len() - 1
    }

    fn index(n: usize, s1: f64, s2: f64) -> f64 {
        (s1 * s1 / (n as f64 * s2)).min(1.0)
    }

    fn advance(&mut self, now: Instant) {
        if now > self.last {
            let dt = (now - self.last).as_secs_f64();
            let [s1, s2, e1, e2] = self.sums;
            if self.n > 0 && s2 > 0.0 {
                self.jain_area += Fairness::index(self.n, s1, s2) * dt;
                self.jain_entitled_area += Fairness::index(self.n, e1, e2) * dt;
                self.jain_s += dt;
            }
            self.last = now;
        }
    }

    fn advance_role(&mut self, r: usize, now: Instant) {
        let role = &mut self.roles[r];
        if now > role.last {
            if role.demanding > 0 {
                let dt = (now - role.last).as_secs_f64();
                role.demand_s += dt;
                role.share_area_with_demand += role.share * dt;
                if role.below {
                    role.below_s += dt;
                }
            }
            role.last = now;
        }
    }

    /// Recomputes role `r`'s cached terms, adjusting the running sums by the difference.
    fn refresh(&mut self, r: usize) {
        let fair = if self.weight_sum > 0.0 {
            self.roles[r].weight / self.weight_sum
        } else {
            0.0
        };
        let role = &mut self.roles[r];
        let entitled = fair.min(role.wants);
        let x = role.share / role.weight;
        let e = if entitled > 0.0 {
            (role.share / entitled).min(1.0)
        } else {
            1.0
        };
        if role.demanding > 0 {
            let s = &mut self.sums;
            s[0] += x - role.x;
            s[1] += x * x - role.x * role.x;
            s[2] += e - role.e;
            s[3] += e * e - role.e * role.e;
        }
        role.x = x;
        role.e = e;
        role.below = role.demanding > 0 && role.share < FAIR_SLACK * entitled;
    }

    /// Integrates everything to `now` and recomputes every term and sum exactly.
    pub fn settle(&mut self, now: Instant) {
        self.advance(now);
        for r in 0..self.roles.len() {
            self.advance_role(r, now);
        }
        self.sums = [0.0; 4];
        for r in 0..self.roles.len() {
            let role = &mut self.roles[r];
            // Start from zero terms so that refresh adds the whole of each.
            (role.x, role.e) = (0.0, 0.0);
            self.refresh(r);
        }
    }

    /// Role `r` now holds dominant share `share` and wants `wants`.
    pub fn set_share(&mut self, now: Instant, r: usize, share: f64, wants: f64) {
        self.advance(now);
        self.advance_role(r, now);
        let role = &mut self.roles[r];
        role.share = share;
        role.wants = wants;
        self.refresh(r);
    }

    /// One of role `r`'s frameworks gained (`up`) or lost demand.
    pub fn set_demand(&mut self, now: Instant, r: usize, up: bool) {
        let before = self.roles[r].demanding;
        let after = if up { before + 1 } else { before.saturating_sub(1) };
        if (before > 0) == (after > 0) {
            self.roles[r].demanding = after;
            return;
        }
        self.advance(now);
        for i in 0..self.roles.len() {
            self.advance_role(i, now);
        }
        self.roles[r].demanding = after;
        if after > 0 {
            self.n += 1;
            self.weight_sum += self.roles[r].weight;
        } else {
            self.n -= 1;
            self.weight_sum -= self.roles[r].weight;
            if self.n == 0 {
                self.weight_sum = 0.0;
            }
        }
        self.settle(now);
    }

    pub fn set_weight(&mut self, now: Instant, r: usize, weight: f64) {
        if weight <= 0.0 {
            return;
        }
        self.settle(now);
        if self.roles[r].demanding > 0 {
            self.weight_sum += weight - self.roles[r].weight;
        }
        self.roles[r].weight = weight;
        self.settle(now);
    }

    /// The time-weighted Jain's index over weighted shares; 1 when no role ever had
    /// demand and a share.
    pub fn jain_mean(&self) -> f64 {
        if self.jain_s > 0.0 {
            self.jain_area / self.jain_s
        } else {
            1.0
        }
    }

    /// The time-weighted Jain's index over entitlement.
    pub fn jain_entitled_mean(&self) -> f64 {
        if self.jain_s > 0.0 {
            self.jain_entitled_area / self.jain_s
        } else {
            1.0
        }
    }

    /// Largest ÷ smallest weighted mean share over the roles that had demand; `None` when
    /// fewer than two did or one of them never got anything.
    pub fn max_min_ratio(&self) -> Option<f64> {
        let means: Vec<f64> = self
            .roles
            .iter()
            .filter(|r| r.demand_s > 0.0)
            .map(|r| r.share_area_with_demand / r.demand_s / r.weight)
            .collect();
        if means.len() < 2 {
            return None;
        }
        let max = means.iter().copied().fold(f64::MIN, f64::max);
        let min = means.iter().copied().fold(f64::MAX, f64::min);
        (min > 0.0).then(|| max / min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    const ALL: f64 = f64::INFINITY;

    #[test]
    fn jain_and_time_below_fair_share() {
        let mut f = Fairness::default();
        let a = f.add_role(1.0);
        let b = f.add_role(1.0);
        f.set_demand(at(0), a, true);
        f.set_share(at(0), a, 0.8, ALL);
        // Alone: fair share 1, a holds 0.8 < 0.95: below.
        f.set_demand(at(10), b, true);
        f.set_share(at(10), b, 0.2, ALL);
        // Both: x = 0.8, 0.2 → J = 1 / (2 × 0.68) = 0.735...; b is below 0.5.
        f.set_share(at(20), b, 0.5, ALL);
        f.set_share(at(20), a, 0.5, ALL);
        f.settle(at(30));
        let j1 = 1.0 / (2.0 * 0.68);
        assert!((f.jain_area - (10.0 + 10.0 * j1 + 10.0)).abs() < 1e-9);
        assert_eq!(f.jain_s, 30.0);
        assert_eq!(f.roles[a].below_s, 10.0);
        assert_eq!(f.roles[b].below_s, 10.0);
        assert_eq!(f.roles[b].demand_s, 20.0);
        // Entitlement: a alone at 0.8 of 1 (J = 1 with one role); then e = (1, 0.4) →
        // J = 1.96 / (2 × 1.16); then both entitled.
        let j2 = 1.4 * 1.4 / (2.0 * 1.16);
        assert!((f.jain_entitled_area - (10.0 + 10.0 * j2 + 10.0)).abs() < 1e-9);
        // a: 0.8 for 20 s, 0.5 for 10 s → 0.7; b: 0.2 then 0.5 → 0.35.
        assert!((f.max_min_ratio().unwrap() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_role_wanting_little_is_entitled_to_little() {
        let mut f = Fairness::default();
        let a = f.add_role(1.0);
        let b = f.add_role(1.0);
        f.set_demand(at(0), a, true);
        f.set_demand(at(0), b, true);
        // b holds 0.1 and wants 0.12: entitled to 0.12, not to half; 0.1 < 0.95 × 0.12.
        f.set_share(at(0), a, 0.88, ALL);
        f.set_share(at(0), b, 0.1, 0.12);
        f.settle(at(10));
        assert_eq!(f.roles[b].below_s, 10.0);
        assert_eq!(f.roles[a].below_s, 0.0);
        // Once b holds what it wants it is not below, and the entitled index is 1.
        f.set_share(at(10), b, 0.12, 0.12);
        f.settle(at(20));
        assert_eq!(f.roles[b].below_s, 10.0);
        assert!(
            (f.jain_entitled_area
                - (10.0 * (1.0f64 + 0.1 / 0.12).powi(2) / (2.0 * (1.0 + (0.1f64 / 0.12).powi(2))) + 10.0))
                .abs()
                < 1e-9
        );
        assert!(f.jain_mean() < 0.7);
    }

    #[test]
    fn weights_scale_shares() {
        let mut f = Fairness::default();
        let a = f.add_role(2.0);
        let b = f.add_role(1.0);
        f.set_demand(at(0), a, true);
        f.set_demand(at(0), b, true);
        f.set_share(at(0), a, 2.0 / 3.0, ALL);
        f.set_share(at(0), b, 1.0 / 3.0, ALL);
        f.settle(at(10));
        assert!((f.jain_mean() - 1.0).abs() < 1e-12);
        assert_eq!(f.roles[a].below_s + f.roles[b].below_s, 0.0);
        // The weight changes: a is now entitled to 3/4 and falls below it.
        f.set_weight(at(10), a, 3.0);
        f.settle(at(20));
        assert_eq!(f.roles[a].below_s, 10.0);
    }

    #[test]
    fn no_competition_is_fair() {
        let f = Fairness::default();
        assert_eq!(f.jain_mean(), 1.0);
        assert_eq!(f.jain_entitled_mean(), 1.0);
        assert_eq!(f.max_min_ratio(), None);
    }
}
