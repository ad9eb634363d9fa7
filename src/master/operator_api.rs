//! What operators ask of the master: role weights and quotas.

use super::{Master, MasterCtx};
use crate::allocator::Quota;
use crate::proto::{OperatorCall, RegistryOp};

impl Master {
    pub(super) fn operator(&mut self, ctx: &mut MasterCtx<'_>, call: OperatorCall) {
        if !self.is_leading() {
            return;
        }
        match call {
            // Mesos does not allocate on a weight change: the next batch uses it.
            OperatorCall::SetWeight { role, weight } => {
                self.allocator.set_weight(&role, weight);
                self.persist(ctx, RegistryOp::SetWeight { role, weight });
            }
            OperatorCall::SetQuota {
                role,
                guarantee,
                limit,
            } => {
                let quota = Quota {
                    guarantee: guarantee.unwrap_or_default(),
                    limit,
                };
                self.allocator.set_quota(&role, quota.clone());
                self.persist(ctx, RegistryOp::SetQuota { role, quota });
            }
            // Calls for frameworks, not the master.
            OperatorCall::Suppress | OperatorCall::Revive => {}
        }
    }
}
