//! How frames get to one client: its outbox.
//!
//! Everyone who sends to a client (its own reader thread, and the threads of
//! the other clients who chat to it) goes through its `Outbox`, never through
//! the socket itself.
//!
//! Up to lab 5 `send` writes to the socket at once, while the caller waits.
//! That is simple and keeps every frame in order, but a client that stops
//! reading makes `send` wait forever, and everybody who sends to it waits too:
//! lab 6 replaces this file with a queue and a writer thread (LOAD-3).

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
