//! What every framework scheduler keeps in durable storage: its framework id, and bounds on
//! the numbers it must never hand out twice.
//!
//! Task ids and suppress/revive call numbers must keep growing across a restart: the master
//! tells a new task from an old one, and a new call from a late copy of an old one, by
//! them. Persisting each number as it is taken would cost a write per task; instead a
//! scheduler persists a bound a block above the numbers it has taken, moved on a block at a
//! time, and a scheduler restarted from its store goes on from the bound. The numbers
//! between the last one taken and the bound are skipped, never repeated, as id allocators
//! that reserve ranges do.

use serde::{Deserialize, Serialize};

use crate::ids::FrameworkId;
use crate::process::{Ctx, Store};
use crate::proto::{Msg, TaskId};

/// The store key of [`SchedulerMeta`]; a scheduler's other records use keys above it.
pub const META_KEY: u64 = 0;

/// Task ids reserved per write of the meta record.
pub const TASK_BLOCK: u32 = 4096;
/// Call numbers reserved per write (suppress and revive are far rarer than tasks).
const CALL_BLOCK: u32 = 256;

/// The record at [`META_KEY`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerMeta {
    pub framework: Option<FrameworkId>,
    /// No task id at or above this was handed out.
    pub tasks_below: u32,
    /// No call number at or above this was handed out.
    pub calls_below: u32,
}

/// Numbers handed out in increasing order, below a bound kept in durable storage.
#[derive(Clone, Copy, Debug)]
struct Sequence {
    next: u32,
    below: u32,
    block: u32,
}

/// Whether taking a number moved the durable bound (which must be written before the
/// number is used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Kept,
    Moved,
}

impl Sequence {
    fn take(&mut self) -> (u32, Bound) {
        let n = self.next;
        // Four billion of one framework: beyond any trace (a month of a Google cell is 25
        // million tasks); numbers would wrap rather than stop the run.
        self.next = n.wrapping_add(1);
        if n < self.below {
            return (n, Bound::Kept);
        }
        self.below = n.saturating_add(self.block);
        (n, Bound::Moved)
    }
}

/// A scheduler's framework id and number bounds, written to its store whenever they change.
#[derive(Clone, Copy, Debug)]
pub struct Numbers {
    tasks: Sequence,
    calls: Sequence,
}

impl Numbers {
    /// A scheduler's first start: task ids from 0, call numbers from 1.
    pub fn new() -> Numbers {
        Numbers {
            tasks: Sequence {
                next: 0,
                below: 0,
                block: TASK_BLOCK,
            },
            calls: Sequence {
                next: 1,
                below: 1,
                block: CALL_BLOCK,
            },
        }
    }

    /// A restarted scheduler's numbers and framework id, from what it persisted; a
    /// scheduler that persisted nothing starts as new.
    pub fn recover(store: &Store) -> Result<(Numbers, Option<FrameworkId>), String> {
        let mut numbers = Numbers::new();
        let Some(meta) = store.get::<SchedulerMeta>(META_KEY)? else {
            return Ok((numbers, None));
        };
        numbers.tasks.next = meta.tasks_below;
        numbers.tasks.below = meta.tasks_below;
        numbers.calls.next = meta.calls_below.max(1);
        numbers.calls.below = numbers.calls.next;
        Ok((numbers, meta.framework))
    }

    /// The next task id, persisting a new bound first when it needs one.
    pub fn task<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, framework: Option<FrameworkId>) -> TaskId {
        let (n, bound) = self.tasks.take();
        if bound == Bound::Moved {
            self.persist(ctx, framework);
        }
        TaskId(n)
    }

    /// The next suppress or revive call number, persisting a new bound first when needed.
    pub fn call<T>(&mut self, ctx: &mut Ctx<'_, Msg, T>, framework: Option<FrameworkId>) -> u32 {
        let (n, bound) = self.calls.take();
        if bound == Bound::Moved {
            self.persist(ctx, framework);
        }
        n
    }

    /// The last call number taken; after a restart, one below the first it will take.
    pub fn last_call(&self) -> u32 {
        self.calls.next - 1
    }

    /// Writes the meta record: after a registration changed the framework id, and when a
    /// bound moves.
    pub fn persist<T>(&self, ctx: &mut Ctx<'_, Msg, T>, framework: Option<FrameworkId>) {
        let meta = SchedulerMeta {
            framework,
            tasks_below: self.tasks.below,
            calls_below: self.calls.below,
        };
        ctx.persist(META_KEY, || meta);
    }
}

impl Default for Numbers {
    fn default() -> Self {
        Numbers::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_moves_its_bound_a_block_at_a_time() {
        let mut s = Sequence {
            next: 0,
            below: 0,
            block: 3,
        };
        let taken: Vec<_> = (0..7).map(|_| s.take()).collect();
        let moved: Vec<u32> = taken
            .iter()
            .filter(|t| t.1 == Bound::Moved)
            .map(|t| t.0)
            .collect();
        assert_eq!(moved, vec![0, 3, 6]);
        assert_eq!(
            taken.iter().map(|t| t.0).collect::<Vec<_>>(),
            (0..7).collect::<Vec<_>>()
        );
        assert_eq!(s.below, 9);
    }

    #[test]
    fn recovered_numbers_start_at_the_bounds_and_never_repeat() {
        let mut store = Store::default();
        let meta = SchedulerMeta {
            framework: None,
            tasks_below: 4096,
            calls_below: 257,
        };
        store.put(META_KEY, Some(Box::new(meta)));
        let (numbers, framework) = Numbers::recover(&store).unwrap();
        assert_eq!(framework, None);
        assert_eq!((numbers.tasks.next, numbers.calls.next), (4096, 257));
        let (fresh, _) = Numbers::recover(&Store::default()).unwrap();
        assert_eq!((fresh.tasks.next, fresh.calls.next), (0, 1));
    }
}
