//! The writer pool: a few threads that send queued frames to many clients
//! without ever blocking on one of them (LOAD-3).
//!
//! A thread per client that blocks in `write` is the simplest correct writer,
//! but under load it costs a wake-up per client per batch, and ten thousand
//! idle clients would each hold one. The pool instead takes the queues that
//! got frames, in the order they got them, and gives each one turn: one
//! non-blocking `send` of everything queued (see [`Outbox`]). A queue that
//! got more frames meanwhile goes to the back of the line, so a busy client
//! cannot starve the others; a client whose kernel buffer is full leaves the
//! pool for a writer thread of its own.
//!
//! The line has two lanes. A queue that got a frame for its client alone (the
//! answer to its login, a pong, a private message) waits in the urgent lane;
//! one that got frames for everybody (group messages, join and leave notices)
//! in the bulk lane. Turns go to the urgent lane first, and to the bulk lane
//! at least every [`BULK_EVERY`]th turn, so neither starves.
//!
//! The pool's threads run at a lower priority than the readers (niceness 10).
//! Reading, logins and the turns a delivering thread takes itself come first;
//! the pool sends the rest when a core is free, and by then more frames have
//! piled up in each queue, so one `send` carries more of them. When a
//! thousand clients log in at once, each `1001` leaves at once (urgent) while
//! the half million join notices leave in fewer, bigger sends. Should the
//! pool fall behind, the readers catch up for it (see
//! `handoff::wake_pending`), so its low priority never gets a client that
//! reads dropped as a slow consumer.
//!
//! The pool's threads belong to the server, which joins them at shutdown.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::outbox::Outbox;
use super::turn::TurnBuffers;

/// A helping thread's send buffer is given back above this size: every
/// reader thread has one, and a thousand of them must stay small (at 32 KiB
/// they kept 30 MiB after a saturation run with 1,000 clients).
const HELPER_KEEP: usize = 4 * 1024;

thread_local! {
    static HELPER_BUFFER: RefCell<TurnBuffers> = RefCell::new(TurnBuffers::default());
}

/// Turns a delivering thread takes at most when other queues already wait:
/// its own client's answer first (the urgent lane), then one more. Measured
/// against 8: faster logins of 1,000 clients and no loss of throughput, now
/// that the pool's threads run below the readers.
const HELP_LIMIT: usize = 2;

/// Turns a delivering thread takes at most when no other queue waits.
const QUIET_HELP: usize = 32;

/// The bulk lane gets at least one turn in this many while both lanes wait.
const BULK_EVERY: usize = 4;

/// The pool's line of queues with frames to send.
pub struct Pool {
    line: Mutex<Line>,
    ready: Condvar,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Writer threads of slow clients now running (see `writer`).
    pub(super) writer_threads: AtomicUsize,
}

#[derive(Default)]
struct Line {
    /// Queues with a frame for their client alone.
    urgent: VecDeque<Arc<Outbox>>,
    /// Queues with frames for everybody, or back for another turn.
    bulk: VecDeque<Arc<Outbox>>,
    /// Turns given so far, for [`BULK_EVERY`].
    turns: usize,
    /// Threads waiting for work, so a submit pays for a wake-up only then.
    waiting: usize,
    stopping: bool,
}

impl Line {
    fn len(&self) -> usize {
        self.urgent.len() + self.bulk.len()
    }

    /// The queue whose turn it is.
    fn pop(&mut self) -> Option<Arc<Outbox>> {
        self.turns = self.turns.wrapping_add(1);
        if self.bulk.is_empty()
            || (!self.urgent.is_empty() && !self.turns.is_multiple_of(BULK_EVERY))
        {
            self.urgent.pop_front()
        } else {
            self.bulk.pop_front()
        }
    }
}

impl Pool {
    /// A pool with no threads yet; [`Pool::start`] starts them.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            line: Mutex::default(),
            ready: Condvar::new(),
            threads: Mutex::new(Vec::new()),
            writer_threads: AtomicUsize::new(0),
        })
    }

    /// Starts the pool's threads: one per core, since they never block on
    /// a client and so only need a core each to keep up.
    pub(super) fn start(self: &Arc<Self>) {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        for i in 0..cores.clamp(1, 4) {
            let pool = self.clone();
            let thread = std::thread::Builder::new()
                .name(format!("writer-pool-{i}"))
                .stack_size(128 * 1024)
                .spawn(move || pool.run())
                .expect("the writer pool starts at startup");
            threads.push(thread);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Line> {
        self.line.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts an outbox whose write right the pool holds at the back of the
    /// bulk lane, waking a pool thread if one waits.
    fn submit(&self, outbox: Arc<Outbox>) {
        let mut line = self.lock();
        let wake = line.waiting.min(1);
        line.bulk.push_back(outbox);
        drop(line);
        for _ in 0..wake {
            self.ready.notify_one();
        }
    }

    /// Hands the queues a delivering thread just filled to the pool, then
    /// takes turns on this thread: up to [`QUIET_HELP`] if the line was
    /// empty (a quiet server: in a room of that size nobody else needs
    /// waking, and the frames leave at once; in a bigger one the pool's
    /// threads send the rest in parallel), else at most [`HELP_LIMIT`] from
    /// the front of the line: urgent queues first (usually this thread's own
    /// client's answer), then the bulk queues that waited longest and so
    /// carry the most frames. Under load (a burst of logins, each with a
    /// notice for everyone) the line grows and each `send` carries more
    /// frames.
    pub(super) fn hand_over(&self, outboxes: Vec<(Arc<Outbox>, bool)>) {
        let mut line = self.lock();
        let turns = outboxes.len().min(if line.len() == 0 {
            QUIET_HELP
        } else {
            HELP_LIMIT
        });
        // Only the turns this thread will not take may need a sleeping pool
        // thread: a wake-up is a futex call and a context switch, which at a
        // low message rate would cost more than the send itself.
        let wake = line.waiting.min(outboxes.len() - turns);
        for (outbox, urgent) in outboxes {
            if urgent {
                line.urgent.push_back(outbox);
            } else {
                line.bulk.push_back(outbox);
            }
        }
        drop(line);
        for _ in 0..wake {
            self.ready.notify_one();
        }
        self.help(turns);
    }

    /// Stops the threads once the line is empty, and joins them. The server
    /// calls it after every connection has ended.
    pub(super) fn stop(&self) {
        self.lock().stopping = true;
        self.ready.notify_all();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// Takes a turn for every queue now in the line, on a delivering thread
    /// that found the pool behind (see `handoff::wake_pending`).
    pub(super) fn catch_up(&self) {
        let turns = self.lock().len();
        self.help(turns);
    }

    /// Takes up to `turns` turns from the front of the line on the calling
    /// thread, which has just delivered frames and released the room's lock.
    fn help(&self, turns: usize) {
        HELPER_BUFFER.with(|buf| {
            let mut buf = buf.borrow_mut();
            for _ in 0..turns {
                let Some(outbox) = self.lock().pop() else {
                    break;
                };
                if outbox.pool_turn(&mut buf) {
                    // Back of the line, and a pool thread told if one waits:
                    // this thread may not come back for it.
                    self.submit(outbox);
                }
            }
            buf.shrink_above(HELPER_KEEP);
        });
    }

    fn run(&self) {
        lower_priority();
        let mut buf = TurnBuffers::default();
        loop {
            let mut line = self.lock();
            let outbox = loop {
                if let Some(outbox) = line.pop() {
                    break outbox;
                }
                if line.stopping {
                    return;
                }
                line.waiting += 1;
                line = self.ready.wait(line).unwrap_or_else(|e| e.into_inner());
                line.waiting -= 1;
            };
            drop(line);
            if outbox.pool_turn(&mut buf) {
                self.lock().bulk.push_back(outbox);
            }
        }
    }
}

/// Gives the calling pool thread niceness 10: below every reader, so that
/// reading, logins and the turns a delivering thread takes itself come
/// first, and the pool sends what is left, in bigger batches. Lowering one's
/// own priority needs no privilege; if the system refuses anyway, the pool
/// runs at normal priority, which is slower under load but just as correct.
fn lower_priority() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    // The crate maps 0..=99 onto niceness 19..=-20 for normal threads; 22 is
    // niceness 10 (a test reads it back from /proc).
    let priority = ThreadPriority::Crossplatform(22u8.try_into().expect("0..=99"));
    let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
    if let Err(e) = set_thread_priority_and_policy(thread_native_id(), priority, policy) {
        log::debug!("the writer pool keeps normal priority: {e:?}");
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use socket2::{Domain, Socket, Type};

    use super::*;
    use crate::net::handoff::wake_pending;
    use crate::room::{Frame, Mailbox};

    /// An outbox on one end of a socket pair, and the other end to read.
    fn outbox(pool: &Arc<Pool>, limit: usize) -> (Arc<Outbox>, Socket) {
        let (ours, theirs) = Socket::pair(Domain::UNIX, Type::STREAM, None).unwrap();
        theirs.set_nonblocking(true).unwrap();
        (
            Arc::new(Outbox::new(Arc::new(ours), limit, pool.clone())),
            theirs,
        )
    }

    fn received(socket: &Socket) -> usize {
        let mut buf = [0u8; 4096];
        let mut total = 0;
        while let Ok(n) = (&*socket).read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    }

    #[test]
    fn urgent_queues_go_first_and_bulk_ones_every_fourth_turn() {
        let pool = Pool::new();
        let all: Vec<Arc<Outbox>> = (0..7).map(|_| outbox(&pool, 8).0).collect();
        let mut line = Line::default();
        line.urgent.extend(all[..5].iter().cloned());
        line.bulk.extend(all[5..].iter().cloned());
        let order: Vec<usize> = std::iter::from_fn(|| line.pop())
            .map(|o| all.iter().position(|a| Arc::ptr_eq(a, &o)).unwrap())
            .collect();
        assert_eq!(order, [0, 1, 2, 5, 3, 4, 6]);
    }

    #[test]
    fn a_delivering_thread_catches_up_when_a_queue_is_half_full() {
        // A pool with no threads of its own: only delivering threads send.
        let pool = Pool::new();
        let frame: Frame = Arc::new(Box::from(&b"1002|a|hi\n"[..]));
        let pairs: Vec<_> = (0..QUIET_HELP + 8).map(|_| outbox(&pool, 8)).collect();
        for (o, _) in &pairs {
            assert!(o.push(&frame));
        }
        wake_pending();
        // The delivering thread sent QUIET_HELP queues; the rest wait in the
        // line for a pool thread.
        let sent = pairs.iter().filter(|(_, peer)| received(peer) > 0).count();
        assert_eq!(sent, QUIET_HELP);
        assert_eq!(pool.lock().len(), 8);
        // One of the waiting queues gets more than half its limit: the next
        // delivery catches up with the whole line.
        let (deep, _) = &pairs[QUIET_HELP];
        assert!(deep.push_all(std::iter::repeat_n(&frame, 4)));
        wake_pending();
        assert_eq!(pool.lock().len(), 0);
        assert!(
            pairs[QUIET_HELP..]
                .iter()
                .all(|(_, peer)| received(peer) > 0)
        );
    }

    #[test]
    fn a_queue_gives_back_its_room_once_the_burst_is_over() {
        // RSS after a burst: an emptied queue keeps its room while turns are
        // big, and gives it back after a small one.
        let pool = Pool::new();
        let (outbox, peer) = outbox(&pool, 5000);
        let frame: Frame = Arc::new(Box::from(&b"1002|a|hi\n"[..]));
        assert!(outbox.push_all(std::iter::repeat_n(&frame, 1200)));
        wake_pending();
        assert_eq!(received(&peer), 1200 * frame.len());
        assert!(outbox.lock().frames.capacity() >= 1200, "kept under load");
        assert!(outbox.push(&frame));
        wake_pending();
        assert_eq!(received(&peer), frame.len());
        assert!(outbox.lock().frames.capacity() <= 256, "given back");
    }
}
