//! Outstanding offers.

use crate::ids::{AgentId, FrameworkId};
use crate::lookup::LookupMap;
use crate::proto::OfferId;
use crate::resources::Resources;

#[derive(Clone, Debug)]
pub struct OfferEntry {
    pub framework: FrameworkId,
    pub agent: AgentId,
    pub resources: Resources,
}

#[derive(Default)]
pub struct Offers {
    /// Looked up by id; every listing goes through the agent's or framework's own list.
    table: LookupMap<OfferId, OfferEntry>,
    next_id: u64,
}

impl Offers {
    pub fn create(&mut self, entry: OfferEntry) -> OfferId {
        let id = OfferId(self.next_id);
        self.next_id += 1;
        self.table.insert(id, entry);
        id
    }

    /// Numbers the next offers from `first` on.
    pub fn start_at(&mut self, first: u64) {
        self.next_id = self.next_id.max(first);
    }

    pub fn get(&self, id: OfferId) -> Option<&OfferEntry> {
        self.table.get(&id)
    }

    pub fn remove(&mut self, id: OfferId) -> Option<OfferEntry> {
        self.table.remove(&id)
    }

    pub fn outstanding(&self) -> usize {
        self.table.len()
    }
}
