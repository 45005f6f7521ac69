//! One pool turn on one queue: everything queued, in one non-blocking `send`
//! (LOAD-3).
//!
//! The thread taking the turn holds the queue's write right. It takes up to
//! [`MAX_BATCH`] frames, lays their bytes end to end and sends them with
//! `MSG_DONTWAIT`, so the socket stays blocking for its reader. If the
//! client's kernel buffer is full, what did not fit goes back to the front of
//! the queue and the queue gets a writer thread of its own (`writer`), which
//! may block on this client alone.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::sync::Arc;

use super::outbox::{MAX_BATCH, Outbox, Queue, State, Writer};
use crate::room::Frame;

/// A pool thread's send buffer is given back above this size, so that a
/// quiet server is small.
const KEEP_BUFFER: usize = 256 * 1024;

/// An empty queue keeps room for this many frames, or eight times its last
/// batch; more is freed.
const KEEP_FRAMES: usize = 256;

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
}
