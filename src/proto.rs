//! Every message between frameworks, master and agents.
//!
//! Plain serde data (architecture invariant): the simulator moves these values, the live
//! driver serialises them onto TCP unchanged.

use serde::{Deserialize, Serialize};

use crate::ids::AgentId;
use crate::process::Message;
use crate::resources::Resources;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// Agent → master: first registration, retried with backoff until acknowledged.
    RegisterAgent(Box<RegisterAgent>),
    /// Master → agent: registration accepted.
    AgentRegistered { agent: AgentId },
    /// Master → agent: are you alive? (Mesos's PingSlaveMessage.)
    Ping,
    /// Agent → master: alive. (Mesos's PongSlaveMessage.)
    Pong,
    /// Published on the master's operator stream, never sent (Mesos's operator API events).
    Event(Box<OperatorEvent>),
}

/// What the master tells observers: the basis of every report, so that metrics never reach
/// into the master's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OperatorEvent {
    AgentAdded {
        agent: AgentId,
        name: String,
        resources: Resources,
    },
    /// Missed too many pings.
    AgentUnreachable { agent: AgentId },
}

impl Message for Msg {
    fn tag(&self) -> u16 {
        match self {
            Msg::RegisterAgent(_) => 0,
            Msg::AgentRegistered { .. } => 1,
            Msg::Ping => 2,
            Msg::Pong => 3,
            Msg::Event(_) => 4,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Msg::RegisterAgent(_) => "register_agent",
            Msg::AgentRegistered { .. } => "agent_registered",
            Msg::Ping => "ping",
            Msg::Pong => "pong",
            Msg::Event(_) => "event",
        }
    }
}

/// Rare and large messages travel boxed, so that [`Msg`] stays small for the hot ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisterAgent {
    pub name: String,
    pub resources: Resources,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_small() {
        assert!(std::mem::size_of::<Msg>() <= 16, "{}", std::mem::size_of::<Msg>());
    }
}
