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
//! The pool's threads belong to the server, which joins them at shutdown.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::outbox::{Outbox, TurnBuffers};

/// A helping thread's send buffer is given back above this size: every
/// reader thread has one, and a thousand of them must stay small.
const HELPER_KEEP: usize = 32 * 1024;

thread_local! {
    static HELPER_BUFFER: RefCell<TurnBuffers> = RefCell::new(TurnBuffers::default());
}

/// Turns a delivering thread takes at most when other queues already wait.
const HELP_LIMIT: usize = 8;

/// Turns a delivering thread takes at most when no other queue waits.
const QUIET_HELP: usize = 32;

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
    outboxes: VecDeque<Arc<Outbox>>,
    /// Threads waiting for work, so a submit pays for a wake-up only then.
    waiting: usize,
    stopping: bool,
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

    /// Queues outboxes whose write right the pool now holds.
    pub(super) fn submit(&self, outboxes: Vec<Arc<Outbox>>) {
        let mut line = self.lock();
        let wake = line.waiting.min(outboxes.len());
        line.outboxes.extend(outboxes);
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
    /// the front of the line, where queues have waited longest and so carry
    /// the most frames. The work of sending then grows with the number of
    /// threads delivering, as it did with a writer per client, while under
    /// load (a burst of logins, each with a notice for everyone) the line
    /// grows and each `send` carries more frames.
    pub(super) fn hand_over(&self, outboxes: Vec<Arc<Outbox>>) {
        let mut line = self.lock();
        let turns = outboxes.len().min(if line.outboxes.is_empty() {
            QUIET_HELP
        } else {
            HELP_LIMIT
        });
        // Only the turns this thread will not take may need a sleeping pool
        // thread: a wake-up is a futex call and a context switch, which at a
        // low message rate would cost more than the send itself.
        let wake = line.waiting.min(outboxes.len() - turns);
        line.outboxes.extend(outboxes);
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

    /// Takes up to `turns` turns from the front of the line on the calling
    /// thread, which has just delivered frames and released the room's lock.
    fn help(&self, turns: usize) {
        HELPER_BUFFER.with(|buf| {
            let mut buf = buf.borrow_mut();
            for _ in 0..turns {
                let Some(outbox) = self.lock().outboxes.pop_front() else {
                    break;
                };
                if outbox.pool_turn(&mut buf) {
                    // Back of the line, and a pool thread told if one waits:
                    // this thread may not come back for it.
                    self.submit(vec![outbox]);
                }
            }
            buf.shrink_above(HELPER_KEEP);
        });
    }

    fn run(&self) {
        let mut buf = TurnBuffers::default();
        loop {
            let mut line = self.lock();
            let outbox = loop {
                if let Some(outbox) = line.outboxes.pop_front() {
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
                self.lock().outboxes.push_back(outbox);
            }
        }
    }
}
