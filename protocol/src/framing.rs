//! Bytes to lines: the frame buffer of SPEC.md section 2.
//!
//! TCP delivers a byte stream, so one `recv` may hold half a frame or several
//! frames (FRAME-3). [`FrameBuffer`] takes chunks split anywhere (inside a
//! UTF-8 character, between CR and LF) and hands back complete lines. It never
//! holds more than `max` bytes of an unfinished line: a longer line is reported
//! once as [`FrameError::TooLong`] and then skipped up to its LF (FRAME-5).
//!
//! Lines come out as bytes, with the LF and one CR before it removed
//! (FRAME-4); empty lines are skipped (FRAME-7). Turning a line into a frame is
//! [`crate::parse_request`]'s job: frame first, then parse.

use crate::error::FrameError;

/// Splits a byte stream into lines of at most `max` bytes (LF included).
#[derive(Debug, Clone)]
pub struct FrameBuffer {
    buf: Vec<u8>,
    /// Start of the first line not yet handed out.
    start: usize,
    /// Bytes before this offset (from `start`) are known to hold no LF.
    scanned: usize,
    /// True while skipping the rest of an oversize line (FRAME-5).
    discarding: bool,
    max: usize,
}

impl FrameBuffer {
    /// A buffer for lines of at most `max` bytes including the LF
    /// (`MAX_FRAME` on the chat port, `MAX_SIDE_LINE` on the side ports).
    pub fn new(max: usize) -> Self {
        assert!(
            max >= 2,
            "a line needs room for at least one byte and its LF"
        );
        Self {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            discarding: false,
            max,
        }
    }

    /// Appends bytes as they came from the network.
    ///
    /// Memory stays bounded by `max` plus the size of the chunks pushed between
    /// two calls of [`FrameBuffer::next_line`].
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.discarding {
            // FRAME-5: drop everything up to and including the next LF.
            match memchr::memchr(b'\n', bytes) {
                Some(lf) => {
                    self.discarding = false;
                    bytes = &bytes[lf + 1..];
                }
                None => return,
            }
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            // Reclaim the space of lines already handed out.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, without its LF and the CR before it; `None`
    /// when more bytes are needed. `Err(TooLong)` reports an oversize line once.
    pub fn next_line(&mut self) -> Option<Result<&[u8], FrameError>> {
        loop {
            let pending = &self.buf[self.start + self.scanned..];
            let Some(offset) = memchr::memchr(b'\n', pending) else {
                self.scanned = self.buf.len() - self.start;
                if self.scanned >= self.max {
                    // FRAME-5: `max` bytes and still no LF. Report it now and
                    // skip the rest of the line as it arrives.
                    self.buf.truncate(self.start);
                    self.scanned = 0;
                    self.discarding = true;
                    return Some(Err(FrameError::TooLong { max: self.max }));
                }
                return None;
            };
            let begin = self.start;
            let lf = begin + self.scanned + offset;
            self.start = lf + 1;
            self.scanned = 0;
            if lf + 1 - begin > self.max {
                return Some(Err(FrameError::TooLong { max: self.max }));
            }
            let mut end = lf;
            if end > begin && self.buf[end - 1] == b'\r' {
                end -= 1; // FRAME-4: accept CR LF.
            }
            if end == begin {
                continue; // FRAME-7: empty lines are not frames.
            }
            return Some(Ok(&self.buf[begin..end]));
        }
    }

    /// Bytes of an unfinished line held in the buffer (0 between frames).
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Takes up to `want` raw bytes that follow the lines already handed out,
    /// for side-port bodies (SIDE-3) that arrive in the same read as their
    /// command line. The bytes are removed from the buffer.
    pub fn take_raw(&mut self, want: usize) -> Vec<u8> {
        let n = want.min(self.pending());
        let out = self.buf[self.start..self.start + n].to_vec();
        self.start += n;
        self.scanned = self.scanned.saturating_sub(n);
        out
    }
}
