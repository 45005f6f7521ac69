//! Who sends the frames a thread just queued, decided once the room's lock is
//! released (LOAD-3).
//!
//! Delivering a frame only notes which outboxes need a writer: the writer
//! pool's line (urgent or bulk lane, see `pool`) or a wake-up of their own
//! writer thread. [`wake_pending`] acts on those notes after the room's lock
//! is released, so that no writer wakes only to block on that lock, and, if
//! a queue was found too deep, makes this thread catch up with the pool.

use std::cell::RefCell;
use std::sync::Arc;

use super::outbox::Outbox;
use super::pool::Pool;

/// What an outbox that got frames needs once the room's lock is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// A turn of the writer pool. `urgent` for a frame meant for this client
    /// alone (an answer, a private message, a farewell), which goes ahead of
    /// frames for everybody (see `pool`).
    Pool { urgent: bool },
    /// A wake-up of its idle writer thread.
    Thread,
}

thread_local! {
    /// Outboxes this thread queued frames for that need a writer. They wait
    /// until the room's lock is released ([`wake_pending`]), so that no
    /// writer wakes only to block on the room's lock.
    static PENDING: RefCell<Vec<(Arc<Outbox>, Need)>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// Set when this thread queued a frame into a queue more than half full:
    /// the pool is behind, and this thread catches up before it reads again.
    static BEHIND: RefCell<Option<Arc<Pool>>> = const { RefCell::new(None) };
}

/// Notes that `outbox` needs a writer once the room's lock is released.
pub(super) fn needs(outbox: Arc<Outbox>, need: Need) {
    PENDING.with(|p| p.borrow_mut().push((outbox, need)));
}

/// Notes that `pool` is behind: this thread catches up before it reads again.
pub(super) fn pool_behind(pool: &Arc<Pool>) {
    BEHIND.with(|b| {
        b.borrow_mut().get_or_insert_with(|| pool.clone());
    });
}

/// Hands every outbox this thread queued frames for since the last call to
/// the writer pool, or wakes its writer thread. The socket layer calls it
/// after releasing the room's lock.
///
/// If one of those queues was more than half full (or deeper than
/// `outbox::CATCH_UP_DEPTH`), the pool is falling
/// behind (its threads run at a low priority, see `pool`); this thread then
/// takes a turn for every queue in the pool's line before it returns to its
/// own client's input. That is the server's back-pressure: a client that
/// sends faster than the others can take reads its own socket more slowly,
/// and TCP slows it down, instead of everyone's queues filling up until
/// well-behaved readers are dropped as slow consumers (LOAD-3).
pub fn wake_pending() {
    let behind = BEHIND.with(|b| b.borrow_mut().take());
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if !pending.is_empty() {
        hand_over(pending);
    }
    if let Some(pool) = behind {
        pool.catch_up();
    }
}

fn hand_over(pending: Vec<(Arc<Outbox>, Need)>) {
    let mut to_pool: Vec<(Arc<Outbox>, bool)> = Vec::with_capacity(pending.len());
    for (outbox, need) in pending {
        match need {
            Need::Thread => outbox.wake_writer_thread(),
            Need::Pool { urgent }
                if to_pool
                    .first()
                    .is_none_or(|(o, _)| Arc::ptr_eq(&o.pool, &outbox.pool)) =>
            {
                to_pool.push((outbox, urgent));
            }
            // Another server in the same process (tests run several).
            Need::Pool { urgent } => outbox.pool.clone().hand_over(vec![(outbox, urgent)]),
        }
    }
    if let Some((first, _)) = to_pool.first() {
        first.pool.clone().hand_over(to_pool);
    }
}
