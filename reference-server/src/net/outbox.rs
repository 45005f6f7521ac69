//! One connection's bounded outgoing queue, and who drains it (LOAD-3, LOAD-4).
//!
//! Whoever delivers a frame only appends a shared pointer to the queue and
//! moves on: a client that stops reading can fill its own queue, but it never
//! makes a sender wait.
//!
//! Each queue has one writer at a time, which holds its *write right* and
//! takes everything queued into one `send` call, so under load one system call
//! carries many frames. Usually that writer is the server's small writer pool
//! (see `pool`): a few threads that send to many clients without blocking
//! (`MSG_DONTWAIT`, which leaves the socket itself blocking for its reader).
//! A pool thread reaches a queue only after the delivering thread released
//! the room's lock, and the busier the server, the more frames have piled up
//! by then, so batches grow with the load and idle clients cost no thread.
//! Only when a client's kernel send buffer is full (the client reads slowly,
//! or not at all) does its queue get a writer thread of its own, which blocks
//! in `send` on that client alone (see `writer`), so one slow reader never
//! delays anyone else.
//!
//! When the queue is full the room calls [`Mailbox::abort`]: the queue is
//! dropped, and the writer finishes the frame it was in the middle of, adds
//! `1900|SLOW_CONSUMER` and gives the client a short while to take it before
//! closing. Either way no frame is lost silently: the client gets every frame
//! in order, or an error and a closed connection.

use std::collections::VecDeque;
use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use socket2::Socket;

use super::handoff::{self, Need};
use super::pool::Pool;
use crate::room::{Frame, Mailbox};

pub use super::writer::WRITE_TICK;

/// Frames one `send` carries at most.
pub(super) const MAX_BATCH: usize = 1024;

/// A queue this deep (or half full, if its limit is smaller) means the pool
/// is behind: its deliverer catches up (see [`handoff::wake_pending`]). It also bounds
/// the memory queues take under load: a thousand queues of 1,024 frames are
/// 16 MiB of slots, while the 16,384 of LOAD-3's limit would be 256 MiB.
const CATCH_UP_DEPTH: usize = 1024;

/// The queue and what the writer should do once it is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Deliver frames as they come.
    Open,
    /// Send what is queued, then close (OUT-1, LOAD-7).
    Finishing,
    /// Send the last frame if the client takes it soon, then close (LOAD-3).
    Aborted,
    /// The reader saw the connection end: stop at once.
    Gone,
}

/// Who holds the write right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writer {
    /// Nobody: the next thread that delivers a frame takes it.
    None,
    /// The writer pool: queued for it, or being sent by one of its threads
    /// without blocking.
    Pool,
    /// The queue's own writer thread; `idle` while it waits for frames.
    Thread { idle: bool },
}

pub(super) struct Queue {
    pub(super) frames: VecDeque<Frame>,
    pub(super) state: State,
    pub(super) writer: Writer,
    /// True once this outbox is on some thread's list of queues to flush.
    wake_pending: bool,
    /// The tail of a frame that a non-blocking send left half written; the
    /// writer thread sends it before anything else.
    pub(super) unsent: Vec<u8>,
}

/// A connection's outgoing queue, shared by the room and its writers.
pub struct Outbox {
    queue: Mutex<Queue>,
    /// Wakes an idle writer thread.
    pub(super) ready: Condvar,
    /// Signalled when a writer gives up the write right.
    stopped: Condvar,
    limit: usize,
    pub(super) socket: Arc<Socket>,
    /// Writer threads started for this queue, to be joined.
    pub(super) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(super) pool: Arc<Pool>,
}

impl Outbox {
    /// A queue of at most `limit` frames for `socket`.
    pub(super) fn new(socket: Arc<Socket>, limit: usize, pool: Arc<Pool>) -> Self {
        Self {
            queue: Mutex::new(Queue {
                frames: VecDeque::new(),
                state: State::Open,
                writer: Writer::None,
                wake_pending: false,
                unsent: Vec::new(),
            }),
            ready: Condvar::new(),
            stopped: Condvar::new(),
            limit: limit.max(1),
            socket,
            threads: Mutex::new(Vec::new()),
            pool,
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a queue more than half full, or deeper than [`CATCH_UP_DEPTH`],
    /// for [`handoff::wake_pending`].
    fn check_depth(&self, queue: &Queue) {
        if queue.frames.len() > (self.limit / 2).min(CATCH_UP_DEPTH) {
            handoff::pool_behind(&self.pool);
        }
    }

    /// Wakes this queue's idle writer thread, which [`Outbox::schedule`]
    /// asked for.
    pub(super) fn wake_writer_thread(&self) {
        self.lock().wake_pending = false;
        self.ready.notify_one();
    }

    /// Finds this outbox a writer for the frame just queued: the pool if
    /// nobody writes, a wake-up if its writer thread sleeps. A busy writer
    /// needs nothing: it looks at the queue again before it lets go.
    fn schedule(self: &Arc<Self>, queue: &mut Queue, urgent: bool) {
        match queue.writer {
            Writer::None => {
                queue.writer = Writer::Pool;
                handoff::needs(self.clone(), Need::Pool { urgent });
            }
            Writer::Thread { idle: true } if !queue.wake_pending => {
                queue.wake_pending = true;
                handoff::needs(self.clone(), Need::Thread);
            }
            _ => {}
        }
    }

    /// Lets go of the write right with the queue empty, closing the
    /// connection if that was the last thing to do.
    pub(super) fn release(&self, queue: MutexGuard<'_, Queue>) {
        match queue.state {
            State::Open => {
                // No notify: the only waiter for the write right is
                // `join_writers`, which first moves the state off `Open`
                // under this lock, so while the state is `Open` nobody
                // waits, and a notify would be a wasted futex call on
                // every turn.
                let mut queue = queue;
                queue.writer = Writer::None;
            }
            // FIN after the last frame; the reader closes the socket.
            State::Finishing => self.release_closing(queue, Shutdown::Write),
            State::Aborted | State::Gone => self.release_closing(queue, Shutdown::Both),
        }
    }

    /// Lets go of the write right for good and shuts the socket down `how`.
    pub(super) fn release_closing(&self, mut queue: MutexGuard<'_, Queue>, how: Shutdown) {
        queue.writer = Writer::None;
        if queue.state == State::Open {
            // Broken: nothing more is written, whatever gets queued.
            queue.state = State::Gone;
        }
        queue.frames.clear();
        drop(queue);
        let _ = self.socket.shutdown(how);
        self.stopped.notify_all();
    }

    /// Waits until nobody holds the write right, and joins the writer
    /// threads. The reader calls it last, after [`Outbox::gone`] or a
    /// finished close.
    pub fn join_writers(&self) {
        let mut queue = self.lock();
        queue.state = match queue.state {
            State::Open => State::Gone,
            other => other,
        };
        self.ready.notify_one();
        while queue.writer != Writer::None {
            queue = self.stopped.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        drop(queue);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// The reader saw the connection end: the writer stops and drops the rest.
    pub fn gone(&self) {
        self.lock().state = State::Gone;
        self.ready.notify_one();
    }
}

impl Mailbox for Arc<Outbox> {
    fn push(&self, frame: &Frame) -> bool {
        let mut queue = self.lock();
        if queue.state != State::Open {
            // Closing already; the client gets its error or farewell frame.
            return true;
        }
        if queue.frames.len() >= self.limit {
            return false;
        }
        queue.frames.push_back(frame.clone());
        self.check_depth(&queue);
        self.schedule(&mut queue, true);
        true
    }

    fn push_all<'a>(&self, frames: impl Iterator<Item = &'a Frame>) -> bool {
        let mut queue = self.lock();
        if queue.state != State::Open {
            return true;
        }
        let before = queue.frames.len();
        queue.frames.extend(frames.cloned());
        if queue.frames.len() > self.limit {
            // All or nothing, like a `push` that finds the queue full.
            queue.frames.truncate(before);
            return false;
        }
        if queue.frames.len() == before {
            return true; // Nothing for this client (its own messages).
        }
        self.check_depth(&queue);
        self.schedule(&mut queue, false);
        true
    }

    fn finish(&self, last: Frame) {
        let mut queue = self.lock();
        if queue.state == State::Open {
            queue.frames.push_back(last);
            queue.state = State::Finishing;
            self.schedule(&mut queue, true);
        }
    }

    fn abort(&self, last: Frame) {
        let mut queue = self.lock();
        if matches!(queue.state, State::Open | State::Finishing) {
            queue.frames.clear();
            queue.frames.push_back(last);
            queue.state = State::Aborted;
            self.schedule(&mut queue, true);
        }
    }
}
