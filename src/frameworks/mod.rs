//! Production framework schedulers.
//!
//! - [`scripted`]: answers every offer the same way (hold or decline): allocator experiments
//!   and Mesos's own allocator test scenarios;
//! - [`batch`]: a queue of tasks fed by users' submissions, packed into offers.
//!
//! Both register with Mesos's scheduler backoff ([`registration`]), acknowledge every
//! status update that asks for it, and keep what a restart must not lose in durable
//! storage ([`durable`]).

pub mod batch;
pub mod durable;
pub mod registration;
pub mod scripted;
