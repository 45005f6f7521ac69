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
use std::time::{Duration, Instant};

use socket2::Socket;

use crate::room::{Frame, Mailbox};

/// How long a writer blocks in one `write` before it checks whether its
/// connection was aborted meanwhile.
pub const WRITE_TICK: Duration = Duration::from_millis(100);

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
}

thread_local! {
    /// Outboxes this thread queued frames for while their writer slept. The
    /// wake-ups wait until the room's lock is released ([`wake_pending`]), so
    /// that a writer wakes once per batch of frames rather than once per
    /// frame, and never wakes only to block on the room's lock.
    static PENDING: RefCell<Vec<Arc<Outbox>>> = const { RefCell::new(Vec::new()) };
}

/// Wakes the writers of every outbox this thread queued frames for since the
/// last call. The socket layer calls it after releasing the room's lock.
pub fn wake_pending() {
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    for outbox in pending {
        outbox.ready.notify_one();
    }
}

/// A connection's outgoing queue, shared by the room and the writer.
pub struct Outbox {
    queue: Mutex<Queue>,
    ready: Condvar,
    limit: usize,
    socket: Arc<Socket>,
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
            }),
            ready: Condvar::new(),
            limit: limit.max(1),
            socket,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The reader saw the connection end: the writer stops and drops the rest.
    pub fn gone(&self) {
        self.lock().state = State::Gone;
        self.ready.notify_one();
    }

    /// Drains the queue until the connection closes; runs on the writer thread.
    pub fn run_writer(&self) {
        let mut batch = VecDeque::new();
        let mut buf = Vec::new();
        loop {
            let mut queue = self.lock();
            while queue.frames.is_empty() {
                match queue.state {
                    State::Open => {
                        queue.idle = true;
                        queue = self.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
                        queue.idle = false;
                        queue.wake_pending = false;
                    }
                    State::Finishing => {
                        drop(queue);
                        // FIN after the last frame; the reader closes the socket.
                        let _ = self.socket.shutdown(Shutdown::Write);
                        return;
                    }
                    State::Aborted | State::Gone => {
                        drop(queue);
                        let _ = self.socket.shutdown(Shutdown::Both);
                        return;
                    }
                }
            }
            if queue.state == State::Gone {
                drop(queue);
                let _ = self.socket.shutdown(Shutdown::Both);
                return;
            }
            std::mem::swap(&mut queue.frames, &mut batch);
            drop(queue);
            buf.clear();
            for frame in batch.drain(..) {
                buf.extend_from_slice(&frame);
            }
            // Give back the memory of a burst, so that a quiet server is small.
            if batch.capacity() > 1024 {
                batch = VecDeque::new();
            }
            if !self.write_all(&mut buf) {
                let _ = self.socket.shutdown(Shutdown::Both);
                return;
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
        if queue.idle && !queue.wake_pending {
            queue.wake_pending = true;
            drop(queue);
            PENDING.with(|p| p.borrow_mut().push(self.clone()));
        }
        true
    }

    fn finish(&self, last: Frame) {
        let mut queue = self.lock();
        if queue.state == State::Open {
            queue.frames.push_back(last);
            queue.state = State::Finishing;
        }
        drop(queue);
        self.ready.notify_one();
    }

    fn abort(&self, last: Frame) {
        let mut queue = self.lock();
        if matches!(queue.state, State::Open | State::Finishing) {
            queue.frames.clear();
            queue.frames.push_back(last);
            queue.state = State::Aborted;
        }
        drop(queue);
        self.ready.notify_one();
    }
}
