//! The simulated network.
//!
//! Each message takes a latency drawn uniformly from `[latency_min, latency_max]` from the
//! network's own seeded stream. Links are FIFO, as TCP connections are: a message never
//! overtakes an earlier one on the same (from, to) link, so Mesos's reliance on in-order
//! delivery per connection holds. Drops and duplicates exist for fault experiments and are off
//! by default. A process sending to itself sees no latency.

use smallvec::SmallVec;

use crate::ids::NodeId;
use crate::rng::{FastRng, Rng};
use crate::time::{Duration, Instant};

#[derive(Clone, Debug, PartialEq)]
pub struct NetworkConfig {
    pub latency_min: Duration,
    pub latency_max: Duration,
    /// Probability that a message is lost.
    pub drop_probability: f64,
    /// Probability that a delivered message arrives twice.
    pub duplicate_probability: f64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency_min: Duration::from_micros(200),
            latency_max: Duration::from_millis(2),
            drop_probability: 0.0,
            duplicate_probability: 0.0,
        }
    }
}

/// The fate of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Dropped,
    Once(Instant),
    Twice(Instant, Instant),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetworkStats {
    pub sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
}

pub struct Network {
    config: NetworkConfig,
    /// Drawn from on every message: a fast generator seeded from the network's stream.
    rng: FastRng,
    pub stats: NetworkStats,
}

impl Network {
    pub fn new(config: NetworkConfig, rng: Rng) -> Network {
        assert!(
            config.latency_min <= config.latency_max,
            "validated by the scenario"
        );
        Network {
            config,
            rng: FastRng::from_stream(rng),
            stats: NetworkStats::default(),
        }
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Decides when (and whether) a message sent now from `from` to `to` arrives. `links` is
    /// the sender's own link table (kept with the sender, which is in cache while it sends).
    pub fn transmit(&mut self, from: NodeId, to: NodeId, now: Instant, links: &mut OutLinks) -> Delivery {
        self.stats.sent += 1;
        if from == to {
            return Delivery::Once(now);
        }
        if self.config.drop_probability > 0.0 && self.rng.chance(self.config.drop_probability) {
            self.stats.dropped += 1;
            return Delivery::Dropped;
        }
        let at = self.arrival(to, now, links);
        if self.config.duplicate_probability > 0.0 && self.rng.chance(self.config.duplicate_probability) {
            self.stats.duplicated += 1;
            let again = self.arrival(to, now, links);
            return Delivery::Twice(at, again);
        }
        Delivery::Once(at)
    }

    fn arrival(&mut self, to: NodeId, now: Instant, links: &mut OutLinks) -> Instant {
        let (min, max) = (self.config.latency_min, self.config.latency_max);
        if min == max {
            return now + min; // a constant latency keeps every link FIFO by itself
        }
        let span = (max.as_nanos() - min.as_nanos()).saturating_add(1);
        let latency = min + Duration::from_nanos(self.rng.below(span));
        let last = links.last_delivery(to);
        let at = (now + latency).max(*last);
        *last = at;
        at
    }
}

const INLINE_LINKS: usize = 2;

/// The latest delivery time on each of one sender's links. Most processes talk to one or two
/// peers (an agent to its master), so their links sit inline; a process that talks to many
/// (the master) gets a table indexed by receiver.
pub enum OutLinks {
    Few(SmallVec<[(NodeId, Instant); INLINE_LINKS]>),
    Many(Vec<Instant>),
}

impl Default for OutLinks {
    fn default() -> Self {
        OutLinks::Few(SmallVec::new())
    }
}

impl OutLinks {
    fn last_delivery(&mut self, to: NodeId) -> &mut Instant {
        if let OutLinks::Few(few) = self {
            match few.iter().position(|(peer, _)| *peer == to) {
                Some(i) => {
                    let OutLinks::Few(few) = self else { unreachable!() };
                    return &mut few[i].1;
                }
                None if few.len() < INLINE_LINKS => {
                    few.push((to, Instant::ZERO));
                    let OutLinks::Few(few) = self else { unreachable!() };
                    return &mut few.last_mut().expect("just pushed").1;
                }
                None => {
                    let mut table = Vec::new();
                    for (peer, last) in few.drain(..) {
                        grow_to(&mut table, peer);
                        table[peer.index()] = last;
                    }
                    *self = OutLinks::Many(table);
                }
            }
        }
        let OutLinks::Many(table) = self else {
            unreachable!("converted above")
        };
        grow_to(table, to);
        &mut table[to.index()]
    }
}

fn grow_to(table: &mut Vec<Instant>, node: NodeId) {
    if table.len() <= node.index() {
        table.resize(node.index() + 1, Instant::ZERO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn varied() -> NetworkConfig {
        NetworkConfig {
            latency_min: Duration::ZERO,
            latency_max: Duration::from_millis(10),
            ..Default::default()
        }
    }

    #[test]
    fn links_stay_fifo_under_random_latency() {
        let mut net = Network::new(varied(), stream(1, "network"));
        let mut links = OutLinks::default();
        let mut last = Instant::ZERO;
        for i in 0..1000 {
            let Delivery::Once(at) =
                net.transmit(NodeId(0), NodeId(1), Instant::from_nanos(i * 1000), &mut links)
            else {
                panic!("no drops configured")
            };
            assert!(at >= last);
            last = at;
        }
    }

    #[test]
    fn one_sender_to_many_receivers_stays_fifo_per_link() {
        let mut net = Network::new(varied(), stream(3, "network"));
        let mut links = OutLinks::default();
        let mut last = [Instant::ZERO; 20];
        for i in 0..20_000u64 {
            let to = (i * 7 % 20) as usize;
            let Delivery::Once(at) = net.transmit(
                NodeId(0),
                NodeId(100 + to as u32),
                Instant::from_nanos(i * 100),
                &mut links,
            ) else {
                panic!("no drops configured")
            };
            assert!(at >= last[to]);
            last[to] = at;
        }
        assert!(matches!(links, OutLinks::Many(_)));
    }

    #[test]
    fn drop_and_duplicate_rates_follow_their_probabilities() {
        let config = NetworkConfig {
            drop_probability: 0.1,
            duplicate_probability: 0.2,
            ..Default::default()
        };
        let mut net = Network::new(config, stream(1, "network"));
        let mut links = OutLinks::default();
        for i in 0..100_000u64 {
            net.transmit(
                NodeId(0),
                NodeId(1 + (i % 7) as u32),
                Instant::from_nanos(i),
                &mut links,
            );
        }
        let s = net.stats;
        assert!((9_000..11_000).contains(&s.dropped), "{s:?}");
        assert!((17_000..19_000).contains(&s.duplicated), "{s:?}");
    }
}
