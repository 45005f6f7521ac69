//! One connection's bounded outgoing queue, and the writer thread that drains
//! it (LOAD-3, LOAD-4).
//!
//! Whoever delivers a frame only appends a shared pointer to the queue and
//! moves on: a client that stops reading can fill its own queue, but it never
//! makes a sender wait. The writer takes everything queued at once, copies it
//! into one buffer and writes it with one call, so under load one system call
//! carries many frames.
//!
//! When the queue is full the room calls [`Mailbox::abort`]: the queue is
//! dropped, and the writer finishes the frame it was in the middle of, adds
//! `1900|SLOW_CONSUMER` and gives the client a short while to take it before
//! closing. Either way no frame is lost silently: the client gets every frame
//! in order, or an error and a closed connection.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::Socket;

use crate::room::{Frame, Mailbox};

/// How long a writer blocks in one `write` before it checks whether its
/// connection was aborted meanwhile.
pub const WRITE_TICK: Duration = Duration::from_millis(100);

/// Below this many queued frames, right after a bigger batch, a writer yields
/// once before writing.
const FEW: usize = 8;

/// Frames one `write` carries at most.
const MAX_BATCH: usize = 1024;

/// How long a writer waits for frames before its thread ends; the next frame
/// starts a new one. Ten thousand idle clients then cost one thread each.
const WRITER_IDLE: Duration = Duration::from_secs(5);

/// How long an aborted connection's writer keeps trying to send its last
/// frame (LOAD-3 asks for the error frame "if it can").
const ABORT_PATIENCE: Duration = Duration::from_millis(500);

/// The queue and what the writer should do once it is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Deliver frames as they come.
    Open,
    /// Send what is queued, then close (OUT-1, LOAD-7).
    Finishing,
    /// Send the last frame if the client takes it soon, then close (LOAD-3).
    Aborted,
    /// The reader saw the connection end: stop at once.
    Gone,
}

struct Queue {
    frames: VecDeque<Frame>,
    state: State,
    /// True while the writer waits for frames, so pushes only pay for a
    /// wake-up when one is needed.
    idle: bool,
    /// True once a wake-up for the idle writer is on some thread's list.
    wake_pending: bool,
    /// True while a writer thread runs for this queue.
    writer_running: bool,
}

thread_local! {
    /// Outboxes this thread queued frames for while their writer slept. The
    /// wake-ups wait until the room's lock is released ([`wake_pending`]), so
    /// that a writer wakes once per batch of frames rather than once per
    /// frame, and never wakes only to block on the room's lock.
    static PENDING: RefCell<Vec<Arc<Outbox>>> = const { RefCell::new(Vec::new()) };
}

/// Wakes (or starts) the writers of every outbox this thread queued frames
/// for since the last call. The socket layer calls it after releasing the
/// room's lock.
pub fn wake_pending() {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for outbox in pending {
        outbox.ensure_writer();
    }
}

/// A connection's outgoing queue, shared by the room and the writer.
pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Condvar,
    /// Signalled when a writer thread ends.
    stopped: Condvar,
    limit: usize,
    socket: Arc<Socket>,
    /// Writer threads started for this queue, to be joined.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Outbox {
    /// A queue of at most `limit` frames for `socket`.
    pub fn new(socket: Arc<Socket>, limit: usize) -> Self {
        Self {
            queue: Mutex::new(Queue {
                frames: VecDeque::new(),
                state: State::Open,
                idle: false,
                wake_pending: false,
                writer_running: false,
            }),
            ready: Condvar::new(),
            stopped: Condvar::new(),
            limit: limit.max(1),
            socket,
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Puts this outbox on the current thread's wake-up list, once.
    fn schedule(self: &Arc<Self>, queue: &mut Queue) {
        if !queue.wake_pending && (queue.idle || !queue.writer_running) {
            queue.wake_pending = true;
            PENDING.with(|p| p.borrow_mut().push(self.clone()));
        }
    }

    /// Wakes the writer, or starts one if none runs.
    fn ensure_writer(self: &Arc<Self>) {
        let mut queue = self.lock();
        // Cleared here, under the lock, so that the next push after this
        // wake-up schedules another one if the writer has gone idle again.
        queue.wake_pending = false;
        if queue.writer_running {
            drop(queue);
            self.ready.notify_one();
            return;
        }
        if queue.state == State::Gone || queue.frames.is_empty() {
            return;
        }
        queue.writer_running = true;
        drop(queue);
        let outbox = self.clone();
        let spawned = std::thread::Builder::new()
            .name("writer".into())
            .stack_size(64 * 1024)
            .spawn(move || outbox.run_writer());
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        threads.retain(|t| !t.is_finished());
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(e) => {
                drop(threads);
                log::error!("cannot start a writer thread: {e}");
                self.lock().writer_running = false;
                // Without a writer the connection cannot be served: end it.
                let _ = self.socket.shutdown(Shutdown::Both);
            }
        }
    }

    /// Waits until no writer thread runs, and joins them all. The reader
    /// calls it last, after [`Outbox::gone`] or a finished close.
    pub fn join_writers(&self) {
        let mut queue = self.lock();
        queue.state = match queue.state {
            State::Open => State::Gone,
            other => other,
        };
        while queue.writer_running {
            queue = self.stopped.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        drop(queue);
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// Marks the writer stopped; every way out of [`Outbox::run_writer`] ends here.
    fn writer_done(&self, mut queue: MutexGuard<'_, Queue>, how: Shutdown) {
        queue.writer_running = false;
        drop(queue);
        let _ = self.socket.shutdown(how);
        self.stopped.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reader saw the connection end: the writer stops and drops the rest.
    pub fn gone(&self) {
        self.lock().state = State::Gone;
        self.ready.notify_one();
    }

    /// Drains the queue until the connection closes or stays quiet for
    /// `WRITER_IDLE`; runs on a writer thread.
    fn run_writer(&self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut buf = Vec::new();
        let mut last_batch = 0;
        loop {
            let mut queue = self.lock();
            while queue.frames.is_empty() {
                match queue.state {
                    State::Open => {
                        queue.idle = true;
                        let (woken, wait) = self
                            .ready
                            .wait_timeout(queue, WRITER_IDLE)
                            .unwrap_or_else(|e| e.into_inner());
                        queue = woken;
                        queue.idle = false;
                        queue.wake_pending = false;
                        if wait.timed_out() && queue.frames.is_empty() && queue.state == State::Open
                        {
                            // Quiet: end this thread; the next frame starts one.
                            queue.writer_running = false;
                            drop(queue);
                            self.stopped.notify_all();
                            return;
                        }
                    }
                    // FIN after the last frame; the reader closes the socket.
                    State::Finishing => return self.writer_done(queue, Shutdown::Write),
                    State::Aborted | State::Gone => return self.writer_done(queue, Shutdown::Both),
                }
            }
            if queue.state == State::Gone {
                return self.writer_done(queue, Shutdown::Both);
            }
            if queue.frames.len() < FEW && last_batch >= FEW {
                // Only a few frames in a busy period: let whoever is delivering
                // go on for a moment, so that one write carries more of them.
                // Not when traffic is light, where it would only add latency.
                drop(queue);
                std::thread::yield_now();
                queue = self.lock();
            }
            // Up to MAX_BATCH frames per write: plenty to amortise the system
            // call, and it keeps this writer's buffer small and reused.
            let take = queue.frames.len().min(MAX_BATCH);
            last_batch = take;
            batch.extend(queue.frames.drain(..take));
            if queue.frames.capacity() > 1024 && queue.frames.len() < 256 {
                // Give back the memory of a burst, so that a quiet server is small.
                queue.frames.shrink_to(256);
            }
            drop(queue);
            buf.clear();
            for frame in batch.drain(..) {
                buf.extend_from_slice(&frame);
            }
            if !self.write_all(&mut buf) {
                return self.writer_done(self.lock(), Shutdown::Both);
            }
            if buf.capacity() > 256 * 1024 {
                buf = Vec::new();
            }
        }
    }

    /// Writes `buf`, watching for an abort while the client does not read.
    /// False if the connection is finished with.
    fn write_all(&self, buf: &mut Vec<u8>) -> bool {
        let mut pos = 0;
        let mut deadline: Option<Instant> = None;
        while pos < buf.len() {
            match (&*self.socket).write(&buf[pos..]) {
                Ok(0) => return false,
                Ok(n) => pos += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if let Some(deadline) = deadline {
                        if Instant::now() >= deadline {
                            return false;
                        }
                        continue;
                    }
                    let mut queue = self.lock();
                    match queue.state {
                        State::Open | State::Finishing => {}
                        State::Gone => return false,
                        State::Aborted => {
                            // Finish the frame in progress, so the stream stays
                            // well framed, then append the farewell frame.
                            let end = if pos == 0 || buf[pos - 1] == b'\n' {
                                pos
                            } else {
                                pos + memchr::memchr(b'\n', &buf[pos..]).map_or(0, |i| i + 1)
                            };
                            buf.truncate(end);
                            for frame in queue.frames.drain(..) {
                                buf.extend_from_slice(&frame);
                            }
                            deadline = Some(Instant::now() + ABORT_PATIENCE);
                        }
                    }
                }
                Err(_) => return false,
            }
        }
        deadline.is_none()
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
        self.schedule(&mut queue);
        true
    }

    fn finish(&self, last: Frame) {
        let mut queue = self.lock();
        if queue.state == State::Open {
            queue.frames.push_back(last);
            queue.state = State::Finishing;
            self.schedule(&mut queue);
        }
    }

    fn abort(&self, last: Frame) {
        let mut queue = self.lock();
        if matches!(queue.state, State::Open | State::Finishing) {
            queue.frames.clear();
            queue.frames.push_back(last);
            queue.state = State::Aborted;
            self.schedule(&mut queue);
        }
    }
}
