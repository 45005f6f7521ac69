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

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use socket2::Socket;

use super::pool::Pool;
use crate::room::{Frame, Mailbox};

pub use super::writer::WRITE_TICK;

/// Frames one `send` carries at most.
pub(super) const MAX_BATCH: usize = 1024;

/// A pool thread's send buffer is given back above this size, so that a
/// quiet server is small.
const KEEP_BUFFER: usize = 256 * 1024;

/// A queue this deep (or half full, if its limit is smaller) means the pool
/// is behind: its deliverer catches up (see [`wake_pending`]). It also bounds
/// the memory queues take under load: a thousand queues of 1,024 frames are
/// 16 MiB of slots, while the 16,384 of LOAD-3's limit would be 256 MiB.
const CATCH_UP_DEPTH: usize = 1024;

/// An empty queue keeps room for this many frames, or eight times its last
/// batch; more is freed.
const KEEP_FRAMES: usize = 256;

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

/// What an outbox that got frames needs once the room's lock is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
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

/// Hands every outbox this thread queued frames for since the last call to
/// the writer pool, or wakes its writer thread. The socket layer calls it
/// after releasing the room's lock.
///
/// If one of those queues was more than half full (or deeper than
/// [`CATCH_UP_DEPTH`]), the pool is falling
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
            Need::Thread => {
                outbox.lock().wake_pending = false;
                outbox.ready.notify_one();
            }
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

/// What a thread that takes pool turns reuses from one turn to the next, so
/// that a turn allocates nothing: the frames taken from the queue, and their
/// bytes laid end to end for one `send`.
#[derive(Default)]
pub(super) struct TurnBuffers {
    pub(super) bytes: Vec<u8>,
    frames: Vec<Frame>,
}

impl TurnBuffers {
    /// Gives the buffers back if they grew past `bytes` bytes (and as many
    /// frames per 64 bytes), so a thread that once sent a big batch stays small.
    pub(super) fn shrink_above(&mut self, bytes: usize) {
        if self.bytes.capacity() > bytes {
            self.bytes = Vec::new();
        }
        if self.frames.capacity() > bytes / 64 {
            self.frames = Vec::new();
        }
    }
}

/// How a non-blocking send ended.
enum Sent {
    All,
    /// The kernel's send buffer is full; this many bytes went out.
    WouldBlock(usize),
    /// The connection is broken.
    Failed,
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
    /// for [`wake_pending`].
    fn check_depth(&self, queue: &Queue) {
        if queue.frames.len() > (self.limit / 2).min(CATCH_UP_DEPTH) {
            BEHIND.with(|b| {
                b.borrow_mut().get_or_insert_with(|| self.pool.clone());
            });
        }
    }

    /// Finds this outbox a writer for the frame just queued: the pool if
    /// nobody writes, a wake-up if its writer thread sleeps. A busy writer
    /// needs nothing: it looks at the queue again before it lets go.
    fn schedule(self: &Arc<Self>, queue: &mut Queue, urgent: bool) {
        match queue.writer {
            Writer::None => {
                queue.writer = Writer::Pool;
                PENDING.with(|p| p.borrow_mut().push((self.clone(), Need::Pool { urgent })));
            }
            Writer::Thread { idle: true } if !queue.wake_pending => {
                queue.wake_pending = true;
                PENDING.with(|p| p.borrow_mut().push((self.clone(), Need::Thread)));
            }
            _ => {}
        }
    }

    /// One turn of a pool thread, which holds the write right: sends what is
    /// queued without blocking. True if frames remain for another turn.
    pub(super) fn pool_turn(self: &Arc<Self>, buffers: &mut TurnBuffers) -> bool {
        let mut queue = self.lock();
        if queue.frames.is_empty() || queue.state == State::Gone {
            self.release(queue);
            return false;
        }
        if queue.state != State::Aborted {
            let take = queue.frames.len().min(MAX_BATCH);
            let batch = &mut buffers.frames;
            batch.clear();
            batch.extend(queue.frames.drain(..take));
            drop(queue);
            let buf = &mut buffers.bytes;
            buf.clear();
            for frame in batch.iter() {
                buf.extend_from_slice(frame);
            }
            let sent = self.send_nonblocking(buf);
            queue = self.lock();
            match sent {
                Sent::All => {
                    // The frames' last references usually: dropped after the
                    // queue's lock, not under it.
                    let more = !queue.frames.is_empty();
                    if !more {
                        // A VecDeque never gives back room by itself: after a
                        // burst, a thousand queues of 8,192 slots would keep
                        // 128 MiB. Room far beyond what this turn needed goes
                        // back; while the load lasts, turns are big and the
                        // room stays, rather than being regrown every turn.
                        if queue.frames.capacity() > KEEP_FRAMES.max(8 * take) {
                            queue.frames = VecDeque::new();
                        }
                        self.release(queue);
                    } else {
                        drop(queue);
                    }
                    batch.clear();
                    buffers.shrink_above(KEEP_BUFFER);
                    // Others queued more meanwhile: back of the pool's line.
                    return more;
                }
                Sent::Failed => {
                    self.release_closing(queue, Shutdown::Both);
                    batch.clear();
                    return false;
                }
                Sent::WouldBlock(pos) => self.put_back(&mut queue, batch, pos),
            }
        }
        // The client reads slowly (or the farewell of LOAD-3 needs patience):
        // the queue gets a writer thread of its own, which may block on this
        // client alone.
        queue.writer = Writer::Thread { idle: false };
        drop(queue);
        super::writer::start(self);
        false
    }

    /// Returns the frames of `batch` from byte `pos` on to the queue: the
    /// rest of a frame cut in the middle as `unsent`, whole frames in front.
    fn put_back(&self, queue: &mut Queue, batch: &mut Vec<Frame>, mut pos: usize) {
        let mut frames = batch.drain(..);
        for frame in frames.by_ref() {
            if pos < frame.len() {
                queue.unsent.extend_from_slice(&frame[pos..]);
                break;
            }
            pos -= frame.len();
        }
        // An aborted queue keeps only its farewell frame (LOAD-3).
        if queue.state != State::Aborted {
            for frame in frames.rev() {
                queue.frames.push_front(frame);
            }
        }
    }

    /// One non-blocking send loop over `buf`.
    fn send_nonblocking(&self, buf: &[u8]) -> Sent {
        let mut pos = 0;
        while pos < buf.len() {
            match self.socket.send_with_flags(&buf[pos..], libc::MSG_DONTWAIT) {
                Ok(0) => return Sent::Failed,
                Ok(n) => pos += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Sent::WouldBlock(pos),
                Err(_) => return Sent::Failed,
            }
        }
        Sent::All
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

    fn push_all<'a>(&self, frames: impl Iterator<Item = &'a Frame>, count: usize) -> bool {
        let mut queue = self.lock();
        if queue.state != State::Open {
            return true;
        }
        if queue.frames.len() + count > self.limit {
            return false;
        }
        queue.frames.extend(frames.cloned());
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
