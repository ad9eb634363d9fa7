//! `mesosim live burn`: a load generator that really uses the CPU and memory it is told to,
//! for as long as it is told to, so that a live task without a command of its own has
//! something for isolation to isolate and for usage sampling to measure.
//!
//! Memory is allocated at once and every page written (the kernel charges a page to a
//! cgroup only once it is touched). CPU is burnt by `floor(cpus)` threads spinning all the
//! time and one more spinning for the fraction left over, in slices of [`SLICE`]: 1.5 CPUs
//! is one thread always busy and one busy half of each slice.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// The period of the partly busy thread's duty cycle.
pub const SLICE: Duration = Duration::from_millis(10);

const PAGE: usize = 4096;

/// What to burn, and for how long.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burn {
    pub cpus: f64,
    pub mem_mb: u64,
    pub wall: Duration,
}

impl Burn {
    /// Runs the load until `wall` has passed; the memory is held throughout.
    pub fn run(&self) -> Result<(), String> {
        if !(self.cpus >= 0.0 && self.cpus.is_finite()) {
            return Err(format!(
                "--cpus {}: expected a number of CPUs, 0 or more",
                self.cpus
            ));
        }
        let bytes = usize::try_from(self.mem_mb)
            .ok()
            .and_then(|mb| mb.checked_mul(1 << 20))
            .ok_or_else(|| format!("--mem {}: too much for this machine", self.mem_mb))?;
        let mut memory = Vec::new();
        memory
            .try_reserve_exact(bytes)
            .map_err(|e| format!("cannot allocate {} MB: {e}", self.mem_mb))?;
        memory.resize(bytes, 0u8);
        for page in memory.chunks_mut(PAGE) {
            page[0] = 1;
        }
        let end = Instant::now() + self.wall;
        let whole = self.cpus.floor() as usize;
        let part = self.cpus - self.cpus.floor();
        std::thread::scope(|scope| {
            for _ in 0..whole {
                scope.spawn(move || spin_until(end, 1.0));
            }
            if part > 0.0 {
                scope.spawn(move || spin_until(end, part));
            }
            if whole == 0 && part == 0.0 {
                std::thread::sleep(end.saturating_duration_since(Instant::now()));
            }
        });
        black_box(&memory);
        Ok(())
    }
}

/// Busy for `share` of each [`SLICE`] until `end`, asleep for the rest.
fn spin_until(end: Instant, share: f64) {
    let busy = SLICE.mul_f64(share.clamp(0.0, 1.0));
    let mut x = 0u64;
    loop {
        let slice = Instant::now();
        if slice >= end {
            break;
        }
        while slice.elapsed() < busy {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        let rest = SLICE.saturating_sub(slice.elapsed());
        std::thread::sleep(rest.min(end.saturating_duration_since(Instant::now())));
    }
    black_box(x);
}

// How much CPU a burn uses is measured on the command, in a process of its own
// (tests/live_processes.rs): a test thread here shares its process's CPU accounting.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonsense_is_refused() {
        let bad = Burn {
            cpus: -1.0,
            mem_mb: 0,
            wall: Duration::ZERO,
        };
        assert!(bad.run().unwrap_err().contains("--cpus"));
    }
}
