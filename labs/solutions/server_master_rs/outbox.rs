//! How frames get to one client: its outbox.
//!
//! Everyone who sends to a client (its own reader thread, and the threads of
//! the other clients who chat to it) goes through its `Outbox`, never through
//! the socket itself.
//@ if 6
//!
//! Lab 6: the outbox is a bounded queue with its own writer thread (LOAD-3).
//!
//! ```text
//!  reader threads ──send()──▶ [ queue: at most SEND_QUEUE frames ] ──▶ writer thread ──write_all──▶ socket
//!  (never wait)                                                        (the only one that may block)
//! ```
//!
//! `send` never waits for the network: it puts the frame in the queue and
//! returns. Only the writer thread calls `write_all`, so a client that stops
//! reading blocks its own writer and nobody else. When its queue is full, the
//! client is told `SLOW_CONSUMER` and disconnected, rather than letting the
//! queue grow without bound or dropping frames silently (LOAD-4).
//@ else
//!
//! Up to lab 5 `send` writes to the socket at once, while the caller waits.
//! That is simple and keeps every frame in order, but a client that stops
//! reading makes `send` wait forever, and everybody who sends to it waits too:
//! lab 6 replaces this file with a queue and a writer thread (LOAD-3).
//@ end

//@ if 6
use std::collections::VecDeque;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use protocol::{ErrorCode, Response};

/// Frames waiting for one client before we give up on it (LOAD-3).
///
/// 1000 frames is a few seconds of a busy room: enough for a client that is
/// only a little slow, small enough that 100 stuck clients cost little memory.
const SEND_QUEUE: usize = 1000;

/// How long one write may wait for a client that does not read. A writer
/// stuck longer than this gives up, and the connection closes.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle for sending frames to one client. Clones share the same queue.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

/// What an outbox and its writer thread share.
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a frame is queued or the queue is closed.
    ready: Condvar,
    /// A handle to the socket, used only to shut it down.
    stream: TcpStream,
}

/// The frames not yet written, and whether more may come.
struct Queue {
    frames: VecDeque<Vec<u8>>,
    /// No more frames will be queued; the writer stops when it has sent these.
    closed: bool,
}

impl Outbox {
    /// Starts the writer thread of one connection. The caller owns the thread
    /// and joins it when the connection is over.
    pub fn start(stream: &TcpStream) -> std::io::Result<(Outbox, JoinHandle<()>)> {
        let writer = stream.try_clone()?;
        writer.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                frames: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
            stream: stream.try_clone()?,
        });
        let thread = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || write_loop(&shared, writer))
        };
        Ok((Outbox { shared }, thread))
    }

    /// Queues one frame and returns at once: it never waits for the network.
    pub fn send(&self, response: &Response) {
        let mut queue = self.shared.lock();
        if queue.closed {
            return; // this client is being disconnected and has been told why
        }
        if queue.frames.len() >= SEND_QUEUE {
            // LOAD-3: this client stopped reading. The frames still queued
            // will never be read, so they go, and the last thing it gets is
            // the reason (LOAD-4: disconnected, not silently dropped).
            queue.frames.clear();
            queue.frames.push_back(
                Response::error(ErrorCode::SlowConsumer, "you were not reading; disconnected")
                    .to_bytes(),
            );
            queue.closed = true;
            drop(queue);
            self.shared.ready.notify_one();
            // Wake this client's reader thread (its read returns 0): it treats
            // the disconnect as a leave (NOTE-2) and cleans up. We cannot do
            // that here, because our caller holds the room's lock.
            let _ = self.shared.stream.shutdown(Shutdown::Read);
            return;
        }
        queue.frames.push_back(response.to_bytes());
        drop(queue);
        self.shared.ready.notify_one();
    }

    /// Queues `last` (if any) after the frames already waiting, then closes
    /// the queue: the writer sends them all and closes the connection.
    pub fn close(&self, last: Option<&Response>) {
        let mut queue = self.shared.lock();
        if queue.closed {
            return;
        }
        if let Some(last) = last {
            queue.frames.push_back(last.to_bytes());
        }
        queue.closed = true;
        drop(queue);
        self.shared.ready.notify_one();
    }
}

impl Shared {
    /// The queue, even if a thread panicked while holding it: a queue of byte
    /// strings cannot be left half-changed by a panic.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer thread: the only code that writes to this socket.
fn write_loop(shared: &Shared, mut stream: TcpStream) {
    loop {
        let (batch, last) = {
            let mut queue = shared.lock();
            while queue.frames.is_empty() && !queue.closed {
                queue = shared.ready.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
            // Take everything that is waiting: one write for many frames.
            let batch: Vec<u8> = queue.frames.drain(..).flatten().collect();
            (batch, queue.closed)
        };
        // This may block, but only this thread, and at most WRITE_TIMEOUT.
        if stream.write_all(&batch).is_err() || last {
            break;
        }
    }
    // Whatever ended the loop, nothing more will be written: say so, so that
    // senders stop queueing, then close the socket. That also wakes this
    // connection's reader thread, which cleans up.
    shared.lock().closed = true;
    let _ = stream.shutdown(Shutdown::Both);
}
//@ else
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

use protocol::Response;

/// A handle for sending frames to one client. Clones share the same socket.
#[derive(Clone)]
pub struct Outbox {
    /// The lock keeps two threads from writing to this socket at the same
    /// time, which could mix the bytes of two frames.
    stream: Arc<Mutex<TcpStream>>,
}

impl Outbox {
    /// Wraps a handle to one client's socket.
    pub fn new(stream: TcpStream) -> Outbox {
        Outbox {
            stream: Arc::new(Mutex::new(stream)),
        }
    }

    /// Sends one frame now, and returns when the system has taken its bytes.
    ///
    /// A write that fails means the client is gone. Its own reader thread
    /// will notice that and clean up, so the sender has nothing to do.
    pub fn send(&self, response: &Response) {
        let mut stream = self.stream.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = stream.write_all(&response.to_bytes());
    }

    /// Sends `last` (if any), then closes the connection. This also wakes the
    /// connection's reader thread, whose read returns 0.
    pub fn close(&self, last: Option<&Response>) {
        if let Some(last) = last {
            self.send(last);
        }
        let stream = self.stream.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = stream.shutdown(Shutdown::Both);
    }
}
//@ end
