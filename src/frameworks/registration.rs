//! Framework registration with Mesos's scheduler backoff: the first attempt after a random
//! delay in `[0, factor]`, each later one after a random delay in `[0, b]`, `b` doubling up
//! to the cap (2 s and 1 min by default).

use rand::RngExt;

use crate::ids::{FrameworkId, NodeId};
use crate::process::Ctx;
use crate::proto::{Msg, RegisterFramework};
use crate::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct Registrar {
    pub master: NodeId,
    pub request: RegisterFramework,
    pub framework: Option<FrameworkId>,
    backoff: Duration,
    factor: Duration,
    cap: Duration,
}

impl Registrar {
    pub fn new(master: NodeId, request: RegisterFramework) -> Registrar {
        let factor = Duration::from_secs(2);
        Registrar {
            master,
            request,
            framework: None,
            backoff: factor,
            factor,
            cap: Duration::from_mins(1),
        }
    }

    /// Arms the first attempt.
    pub fn start<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T) {
        self.backoff = self.factor;
        self.schedule(ctx, timer);
    }

    fn schedule<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T) {
        let delay = Duration::from_nanos(ctx.rng().random_range(0..=self.backoff.as_nanos()));
        ctx.set_timer_after(timer, delay);
    }

    /// The registration timer fired: try again unless registered.
    pub fn attempt<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T) {
        if self.framework.is_some() {
            return;
        }
        ctx.send(
            self.master,
            Msg::RegisterFramework(Box::new(self.request.clone())),
        );
        self.backoff = self.backoff.saturating_mul(2).min(self.cap);
        self.schedule(ctx, timer);
    }

    /// The master accepted us; true the first time.
    pub fn registered<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, timer: T, id: FrameworkId) -> bool {
        let first = self.framework.is_none();
        self.framework = Some(id);
        ctx.cancel_timer(timer);
        first
    }
}
