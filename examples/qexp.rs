#![allow(clippy::all)]
use mesosim::sim::queue::EventQueue;
use mesosim::time::Instant;
use rand::{RngExt, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

struct DHeap<P> {
    keys: Vec<(u64, u64)>,
    vals: Vec<P>,
    seq: u64,
}
impl<P> DHeap<P> {
    fn new() -> Self {
        DHeap {
            keys: vec![],
            vals: vec![],
            seq: 0,
        }
    }
    fn push(&mut self, t: u64, p: P) {
        let k = (t, self.seq);
        self.seq += 1;
        self.keys.push(k);
        self.vals.push(p);
        let mut i = self.keys.len() - 1;
        while i > 0 {
            let parent = (i - 1) / 4;
            if self.keys[parent] <= k {
                break;
            }
            self.keys.swap(i, parent);
            self.vals.swap(i, parent);
            i = parent;
        }
    }
    fn pop(&mut self) -> Option<(u64, P)> {
        if self.keys.is_empty() {
            return None;
        }
        let last = self.keys.len() - 1;
        self.keys.swap(0, last);
        self.vals.swap(0, last);
        let k = self.keys.pop().unwrap();
        let v = self.vals.pop().unwrap();
        let n = self.keys.len();
        let mut i = 0;
        loop {
            let c = 4 * i + 1;
            if c >= n {
                break;
            }
            let mut m = c;
            let end = (c + 4).min(n);
            for j in c + 1..end {
                if self.keys[j] < self.keys[m] {
                    m = j;
                }
            }
            if self.keys[m] >= self.keys[i] {
                break;
            }
            self.keys.swap(i, m);
            self.vals.swap(i, m);
            i = m;
        }
        Some((k.0, v))
    }
}

fn delay(r: &mut rand_chacha::ChaCha8Rng) -> u64 {
    if r.random_bool(0.33) {
        15_000_000_000
    } else {
        r.random_range(200_000..2_000_000u64)
    }
}

fn main() {
    let n = 30_000;
    let steps = 20_000_000u64;
    #[allow(clippy::disallowed_methods)]
    let clock = std::time::Instant::now;
    for which in ["radix", "binary", "4ary"] {
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let t0 = clock();
        let mut sum = 0u64;
        match which {
            "radix" => {
                let mut q = EventQueue::new();
                for i in 0..n {
                    q.push(
                        Instant::from_nanos(r.random_range(0..15_000_000_000u64)),
                        [i as u64; 3],
                    );
                }
                for _ in 0..steps {
                    let (t, _, p) = q.pop().unwrap();
                    sum = sum.wrapping_add(p[0]);
                    q.push(Instant::from_nanos(t.as_nanos() + delay(&mut r)), p);
                }
            }
            "binary" => {
                let mut q = BinaryHeap::new();
                let mut seq = 0u64;
                for i in 0..n {
                    q.push(Reverse((
                        r.random_range(0..15_000_000_000u64),
                        seq,
                        [i as u64; 3],
                    )));
                    seq += 1;
                }
                for _ in 0..steps {
                    let Reverse((t, _, p)) = q.pop().unwrap();
                    sum = sum.wrapping_add(p[0]);
                    q.push(Reverse((t + delay(&mut r), seq, p)));
                    seq += 1;
                }
            }
            _ => {
                let mut q = DHeap::new();
                for i in 0..n {
                    q.push(r.random_range(0..15_000_000_000u64), [i as u64; 3]);
                }
                for _ in 0..steps {
                    let (t, p) = q.pop().unwrap();
                    sum = sum.wrapping_add(p[0]);
                    q.push(t + delay(&mut r), p);
                }
            }
        }
        let el = t0.elapsed().as_secs_f64();
        println!("{which}: {:.1} ns/hold ({sum})", el * 1e9 / steps as f64);
    }
}
