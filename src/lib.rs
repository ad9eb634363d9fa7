//! mesosim: a deterministic discrete-event simulator of an Apache-Mesos-style cluster.
//!
//! The master, allocators, agents and framework schedulers are *sans-IO processes*
//! ([`process::Process`]): they read time from their context, draw randomness from a seeded
//! stream and reach the world only through messages, timers and backend commands. The
//! simulator ([`sim`]) runs them under a virtual clock, a simulated network and simulated
//! machines; the live driver (feature `live`) runs the very same code over TCP.
//!
//! See ARCHITECTURE.md at the repository root for the map and its invariants.

// Production code: knows nothing of any driver.
pub mod agent;
pub mod allocator;
pub mod coordinator;
pub mod frameworks;
pub mod ids;
pub mod lookup;
pub mod master;
pub mod process;
pub mod proto;
pub mod resources;
pub mod rng;
pub mod time;

// Drivers and the tooling around them.
pub mod cli;
pub mod fuzz;
pub mod gate;
#[cfg(feature = "live")]
pub mod live;
pub mod metrics;
pub mod report;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod sweep;
pub mod trace;
pub mod workload;

/// docs/allocators.md, whose examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/allocators.md")]
pub struct AllocatorsGuide;
