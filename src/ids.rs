//! Dense integer identifiers.
//!
//! Every table on a hot path is a `Vec` indexed by one of these, never a map keyed by a
//! string. Each id prints with a letter prefix so logs and CSVs stay readable.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! dense_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The id as an index into a dense table.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

dense_id!(
    /// The address of a process (master, agent, framework scheduler, coordinator).
    /// Drivers map it to a simulated mailbox or to a TCP endpoint.
    NodeId,
    "n"
);

dense_id!(
    /// An agent, as the master numbers them on first registration.
    AgentId,
    "a"
);

dense_id!(
    /// A framework, as the master numbers them on first registration.
    FrameworkId,
    "f"
);
