//! The simulated network.
//!
//! Each message takes a latency drawn uniformly from `[latency_min, latency_max]` from the
//! network's own seeded stream. Links are FIFO, as TCP connections are: a message never
//! overtakes an earlier one on the same (from, to) link, so Mesos's reliance on in-order
//! delivery per connection holds. Drops and duplicates exist for fault experiments and are off
//! by default. A process sending to itself sees no latency.

use rand::RngExt;
use smallvec::SmallVec;

use crate::ids::NodeId;
use crate::lookup::LookupMap;
use crate::rng::Rng;
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
    rng: Rng,
    /// Latest delivery time per link, for FIFO order when latency varies.
    links: LinkTable,
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
            rng,
            links: LinkTable::default(),
            stats: NetworkStats::default(),
        }
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Decides when (and whether) a message sent now from `from` to `to` arrives.
    pub fn transmit(&mut self, from: NodeId, to: NodeId, now: Instant) -> Delivery {
        self.stats.sent += 1;
        if from == to {
            return Delivery::Once(now);
        }
        if self.config.drop_probability > 0.0 && self.rng.random_bool(self.config.drop_probability) {
            self.stats.dropped += 1;
            return Delivery::Dropped;
        }
        let at = self.arrival(from, to, now);
        if self.config.duplicate_probability > 0.0 && self.rng.random_bool(self.config.duplicate_probability)
        {
            self.stats.duplicated += 1;
            let again = self.arrival(from, to, now);
            return Delivery::Twice(at, again);
        }
        Delivery::Once(at)
    }

    fn arrival(&mut self, from: NodeId, to: NodeId, now: Instant) -> Instant {
        let (min, max) = (self.config.latency_min, self.config.latency_max);
        if min == max {
            return now + min; // a constant latency keeps every link FIFO by itself
        }
        let latency = Duration::from_nanos(self.rng.random_range(min.as_nanos()..=max.as_nanos()));
        let last = self.links.last_delivery(from, to);
        let at = (now + latency).max(*last);
        *last = at;
        at
    }
}

/// The latest delivery time of every link, kept by receiver. Most processes hear from one or
/// two peers (an agent from its master), so their links sit inline in a dense table; a process
/// that hears from many (the master) gets a hash map. Never iterated.
#[derive(Default)]
struct LinkTable {
    by_receiver: Vec<InLinks>,
}

const INLINE_LINKS: usize = 3;

enum InLinks {
    Few(SmallVec<[(NodeId, Instant); INLINE_LINKS]>),
    Many(LookupMap<NodeId, Instant>),
}

impl LinkTable {
    fn last_delivery(&mut self, from: NodeId, to: NodeId) -> &mut Instant {
        if self.by_receiver.len() <= to.index() {
            self.by_receiver
                .resize_with(to.index() + 1, || InLinks::Few(SmallVec::new()));
        }
        let links = &mut self.by_receiver[to.index()];
        if let InLinks::Few(few) = links {
            if let Some(i) = few.iter().position(|(peer, _)| *peer == from) {
                let InLinks::Few(few) = links else { unreachable!() };
                return &mut few[i].1;
            }
            if few.len() < INLINE_LINKS {
                few.push((from, Instant::ZERO));
                let InLinks::Few(few) = links else { unreachable!() };
                return &mut few.last_mut().expect("just pushed").1;
            }
            let mut map = LookupMap::default();
            for (peer, last) in few.drain(..) {
                map.insert(peer, last);
            }
            *links = InLinks::Many(map);
        }
        let InLinks::Many(map) = links else {
            unreachable!("converted above")
        };
        map.get_or_insert_with(from, || Instant::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn links_stay_fifo_under_random_latency() {
        let config = NetworkConfig {
            latency_min: Duration::ZERO,
            latency_max: Duration::from_millis(10),
            ..Default::default()
        };
        let mut net = Network::new(config, stream(1, "network"));
        let (a, b) = (NodeId(0), NodeId(1));
        let mut last = Instant::ZERO;
        for i in 0..1000 {
            let Delivery::Once(at) = net.transmit(a, b, Instant::from_nanos(i * 1000)) else {
                panic!("no drops configured")
            };
            assert!(at >= last);
            last = at;
        }
    }

    #[test]
    fn many_senders_to_one_receiver_stay_fifo_per_link() {
        let config = NetworkConfig {
            latency_min: Duration::ZERO,
            latency_max: Duration::from_millis(10),
            ..Default::default()
        };
        let mut net = Network::new(config, stream(3, "network"));
        let mut last = [Instant::ZERO; 20];
        for i in 0..20_000u64 {
            let from = (i * 7 % 20) as u32;
            let Delivery::Once(at) =
                net.transmit(NodeId(100 + from), NodeId(0), Instant::from_nanos(i * 100))
            else {
                panic!("no drops configured")
            };
            assert!(at >= last[from as usize]);
            last[from as usize] = at;
        }
    }

    #[test]
    fn drop_and_duplicate_rates_follow_their_probabilities() {
        let config = NetworkConfig {
            drop_probability: 0.1,
            duplicate_probability: 0.2,
            ..Default::default()
        };
        let mut net = Network::new(config, stream(1, "network"));
        for i in 0..100_000u64 {
            net.transmit(NodeId(0), NodeId(1 + (i % 7) as u32), Instant::from_nanos(i));
        }
        let s = net.stats;
        assert!((9_000..11_000).contains(&s.dropped), "{s:?}");
        assert!((17_000..19_000).contains(&s.duplicated), "{s:?}");
    }
}
