//! Frames as the room hands them out: encoded once by [`encode`], shared by
//! every recipient, and queued in each recipient's [`Mailbox`]. A group
//! message to a thousand users is one frame and a thousand pointers to it
//! (see [`Frame`] and BENCHMARKS.md, "thin frames").

use std::sync::Arc;

use protocol::Response;

/// One encoded frame, LF included. Encoded once and shared by every recipient.
///
/// A thin pointer (to a boxed slice) rather than `Arc<[u8]>`, whose pointer
/// also carries the length: every queue holds one pointer per frame for its
/// client, so with a thousand clients each byte of the pointer costs a
/// thousand per frame in flight, and the queues are most of the server's
/// memory under load.
pub type Frame = Arc<Box<[u8]>>;

/// The outgoing queue of one connection, as the room sees it.
///
/// The socket layer implements it with a bounded queue drained by a writer
/// thread ([`crate::net`]); tests implement it with a `Vec`.
pub trait Mailbox {
    /// Queues a frame. Returns false, queueing nothing, when the queue is full:
    /// the room then drops the connection as a slow consumer (LOAD-3).
    fn push(&self, frame: &Frame) -> bool;
    /// Queues frames in order, like as many [`Mailbox::push`]es; false if
    /// they do not all fit. The socket layer takes its lock once for all of
    /// them.
    fn push_all<'a>(&self, mut frames: impl Iterator<Item = &'a Frame>) -> bool {
        frames.all(|frame| self.push(frame))
    }
    /// Sends everything queued, then `last`, then closes (OUT-1, LOAD-7).
    fn finish(&self, last: Frame);
    /// Discards what is queued, sends `last` if the socket takes it, and
    /// closes (LOAD-3: the client is not reading anyway).
    fn abort(&self, last: Frame);
}

thread_local! {
    /// Where frames are encoded before they are copied into an allocation of
    /// their exact size.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Encodes a response into a shareable frame.
pub fn encode(response: &Response) -> Frame {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.clear();
        response.encode(&mut scratch);
        let frame = Frame::new(Box::from(scratch.as_slice()));
        // A long list or history frame may have grown it: a thousand reader
        // threads each keep one.
        if scratch.capacity() > 1024 {
            *scratch = Vec::new();
        }
        frame
    })
}
