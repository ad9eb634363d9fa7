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
    /// Of the dropped, those lost to a partition.
    pub cut: u64,
    pub duplicated: u64,
}

/// A cut in the network: each node is on a side (0: on none). With one side, side 1 is cut
/// off from everything else; with several, the sides are cut off from each other and nodes
/// on none talk to all. One way: only messages leaving side 1 are lost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partition {
    /// By node index; nodes past the end are on no side.
    pub sides: Vec<u8>,
    pub sides_count: u8,
    pub one_way: bool,
    /// Nodes no cut applies to (the operator, who stands outside the cluster).
    pub exempt: Vec<NodeId>,
}

impl Partition {
    fn side(&self, node: NodeId) -> u8 {
        self.sides.get(node.index()).copied().unwrap_or(0)
    }

    /// Whether a message from `from` to `to` is lost.
    pub fn cuts(&self, from: NodeId, to: NodeId) -> bool {
        let (a, b) = (self.side(from), self.side(to));
        if a == b || self.exempt.contains(&from) || self.exempt.contains(&to) {
            return false;
        }
        let apart = self.sides_count <= 1 || (a != 0 && b != 0);
        apart && (!self.one_way || a == 1)
    }
}

/// A while of worse network: extra loss, duplication and latency on every link.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Burst {
    pub drop_probability: f64,
    pub duplicate_probability: f64,
    pub extra_min: Duration,
    pub extra_max: Duration,
}

pub struct Network {
    /// The configured network, without bursts.
    base: NetworkConfig,
    /// What applies now: the base worsened by every burst in progress.
    config: NetworkConfig,
    partitions: Vec<(u64, Partition)>,
    bursts: Vec<(u64, Burst)>,
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
            base: config.clone(),
            config,
            partitions: Vec::new(),
            bursts: Vec::new(),
            rng: FastRng::from_stream(rng),
            stats: NetworkStats::default(),
        }
    }

    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// Cuts the network as `p` says until [`Network::heal`]`(id)`.
    pub fn partition(&mut self, id: u64, p: Partition) {
        self.partitions.push((id, p));
    }

    pub fn heal(&mut self, id: u64) {
        self.partitions.retain(|(i, _)| *i != id);
    }

    /// Worsens the network as `b` says until [`Network::end_burst`]`(id)`. Overlapping
    /// bursts take the worst of each figure.
    pub fn burst(&mut self, id: u64, b: Burst) {
        self.bursts.push((id, b));
        self.reconfigure();
    }

    pub fn end_burst(&mut self, id: u64) {
        self.bursts.retain(|(i, _)| *i != id);
        self.reconfigure();
    }

    fn reconfigure(&mut self) {
        let mut c = self.base.clone();
        let (mut extra_min, mut extra_max) = (Duration::ZERO, Duration::ZERO);
        for (_, b) in &self.bursts {
            c.drop_probability = c.drop_probability.max(b.drop_probability);
            c.duplicate_probability = c.duplicate_probability.max(b.duplicate_probability);
            extra_min = extra_min.max(b.extra_min);
            extra_max = extra_max.max(b.extra_max);
        }
        c.latency_min = c.latency_min + extra_min;
        c.latency_max = c.latency_max + extra_max.max(extra_min);
        self.config = c;
    }

    /// Whether a partition now cuts messages from `from` to `to`.
    #[inline]
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.partitions.iter().any(|(_, p)| p.cuts(from, to))
    }

    /// Decides when (and whether) a message sent now from `from` to `to` arrives. `links` is
    /// the sender's own link table (kept with the sender, which is in cache while it sends).
    pub fn transmit(&mut self, from: NodeId, to: NodeId, now: Instant, links: &mut OutLinks) -> Delivery {
        self.stats.sent += 1;
        if from == to {
            return Delivery::Once(now);
        }
        if self.is_cut(from, to) {
            self.stats.dropped += 1;
            self.stats.cut += 1;
            return Delivery::Dropped;
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

    fn sides(sides: &[u8], count: u8, one_way: bool) -> Partition {
        Partition {
            sides: sides.to_vec(),
            sides_count: count,
            one_way,
            exempt: vec![NodeId(9)],
        }
    }

    #[test]
    fn one_side_is_cut_off_from_everything_else() {
        // Nodes 0 and 1 on side 1; 2 and 3 (and 9, exempt) on none.
        let p = sides(&[1, 1, 0, 0], 1, false);
        assert!(!p.cuts(NodeId(0), NodeId(1)));
        assert!(p.cuts(NodeId(0), NodeId(2)));
        assert!(p.cuts(NodeId(3), NodeId(1)));
        assert!(!p.cuts(NodeId(2), NodeId(3)));
        assert!(!p.cuts(NodeId(9), NodeId(0)), "the exempt node reaches everyone");
        assert!(!p.cuts(NodeId(1), NodeId(9)));
        let one_way = sides(&[1, 1, 0, 0], 1, true);
        assert!(one_way.cuts(NodeId(0), NodeId(2)));
        assert!(!one_way.cuts(NodeId(2), NodeId(0)), "replies still pass");
    }

    #[test]
    fn several_sides_are_cut_off_from_each_other_only() {
        // 0 on side 1, 1 on side 2, 2 on none.
        let p = sides(&[1, 2, 0], 2, false);
        assert!(p.cuts(NodeId(0), NodeId(1)));
        assert!(p.cuts(NodeId(1), NodeId(0)));
        assert!(!p.cuts(NodeId(0), NodeId(2)));
        assert!(!p.cuts(NodeId(2), NodeId(1)));
        let one_way = sides(&[1, 2, 0], 2, true);
        assert!(one_way.cuts(NodeId(0), NodeId(1)));
        assert!(!one_way.cuts(NodeId(1), NodeId(0)));
    }

    #[test]
    fn a_partition_drops_and_healing_restores_delivery() {
        let mut net = Network::new(varied(), stream(1, "network"));
        let mut links = OutLinks::default();
        net.partition(7, sides(&[1, 0], 1, false));
        assert_eq!(
            net.transmit(NodeId(0), NodeId(1), Instant::ZERO, &mut links),
            Delivery::Dropped
        );
        net.heal(7);
        assert!(matches!(
            net.transmit(NodeId(0), NodeId(1), Instant::ZERO, &mut links),
            Delivery::Once(_)
        ));
        assert_eq!(net.stats.cut, 1);
    }

    #[test]
    fn bursts_worsen_the_network_while_they_last() {
        let mut net = Network::new(NetworkConfig::default(), stream(1, "network"));
        let base = net.config().clone();
        net.burst(
            1,
            Burst {
                drop_probability: 0.5,
                extra_min: Duration::from_millis(100),
                extra_max: Duration::from_millis(200),
                ..Default::default()
            },
        );
        net.burst(
            2,
            Burst {
                drop_probability: 0.2,
                duplicate_probability: 0.3,
                ..Default::default()
            },
        );
        let c = net.config().clone();
        assert_eq!(c.drop_probability, 0.5);
        assert_eq!(c.duplicate_probability, 0.3);
        assert_eq!(c.latency_min, base.latency_min + Duration::from_millis(100));
        assert_eq!(c.latency_max, base.latency_max + Duration::from_millis(200));
        net.end_burst(1);
        assert_eq!(net.config().drop_probability, 0.2);
        net.end_burst(2);
        assert_eq!(net.config(), &base);
    }
}
