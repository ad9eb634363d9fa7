//! What operators ask of the master: role weights and quotas.

use super::{Master, MasterCtx};
use crate::allocator::Quota;
use crate::proto::OperatorCall;

impl Master {
    pub(super) fn operator(&mut self, _ctx: &mut MasterCtx<'_>, call: OperatorCall) {
        match call {
            // Mesos does not allocate on a weight change: the next batch uses it.
            OperatorCall::SetWeight { role, weight } => self.allocator.set_weight(&role, weight),
            OperatorCall::SetQuota {
                role,
                guarantee,
                limit,
            } => {
                let quota = Quota {
                    guarantee: guarantee.unwrap_or_default(),
                    limit,
                };
                self.allocator.set_quota(&role, quota);
            }
            // Calls for frameworks, not the master.
            OperatorCall::Suppress | OperatorCall::Revive => {}
        }
    }
}
