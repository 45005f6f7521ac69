//! The writer thread a queue gets when its client does not keep up (LOAD-3).
//!
//! Most frames are sent by the thread that delivered them, without blocking
//! (see `outbox`). When a client's kernel send buffer is full, that would mean
//! waiting for this one client, so instead its queue gets a thread of its own
//! that blocks in `send` on this client alone, while everyone else's frames
//! keep flowing. The thread takes everything queued into one `send` call, and
//! ends (handing the queue back to the delivering threads) once the client has
//! kept up for a while.
//!
//! While it blocks, it looks at the queue every [`WRITE_TICK`]: if the room
//! aborted the connection (its queue filled up), it finishes the frame in
//! progress, so the stream stays well framed, sends `1900|SLOW_CONSUMER` if
//! the client takes it within [`ABORT_PATIENCE`], and closes.

use std::io::{ErrorKind, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::budget;
use super::outbox::{MAX_BATCH, Outbox, State, Writer};

/// How long a writer blocks in one `write` before it checks whether its
/// connection was aborted meanwhile.
pub const WRITE_TICK: Duration = Duration::from_millis(100);

/// Below this many queued frames, right after a bigger batch, a writer yields
/// once before writing.
const FEW: usize = 8;

/// How long a writer thread waits for frames before it ends and hands its
/// queue back to the delivering threads.
const WRITER_IDLE: Duration = Duration::from_secs(1);

/// How long an aborted connection's writer keeps trying to send its last
/// frame (LOAD-3 asks for the error frame "if it can").
const ABORT_PATIENCE: Duration = Duration::from_millis(500);

/// Starts a writer thread for `outbox`, whose write right the caller has
/// already set to [`Writer::Thread`].
pub(super) fn start(outbox: &Arc<Outbox>) {
    // Writer threads count against the same budget as readers: a thread
    // that cannot get its memory mappings would abort the process.
    if !budget::reserve(1) {
        log::warn!("no thread left for a writer: closing a slow connection");
        return outbox.release_closing(outbox.lock(), Shutdown::Both);
    }
    let thread_outbox = outbox.clone();
    let count = &outbox.pool.writer_threads;
    count.fetch_add(1, Ordering::Relaxed);
    let spawned = std::thread::Builder::new()
        .name("writer".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            run(&thread_outbox);
            thread_outbox
                .pool
                .writer_threads
                .fetch_sub(1, Ordering::Relaxed);
            budget::release(1);
        });
    let mut threads = outbox.threads.lock().unwrap_or_else(|e| e.into_inner());
    threads.retain(|t| !t.is_finished());
    match spawned {
        Ok(thread) => threads.push(thread),
        Err(e) => {
            drop(threads);
            count.fetch_sub(1, Ordering::Relaxed);
            budget::release(1);
            log::error!("cannot start a writer thread: {e}");
            // Without a writer the connection cannot be served: end it.
            outbox.release_closing(outbox.lock(), Shutdown::Both);
        }
    }
}

/// Drains the queue until the connection closes or keeps up for
/// `WRITER_IDLE`.
fn run(outbox: &Outbox) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut buf = Vec::new();
    let mut last_batch = 0;
    loop {
        let mut queue = outbox.lock();
        if !queue.unsent.is_empty() {
            // The rest of a frame a non-blocking send left half written.
            buf.clear();
            buf.append(&mut queue.unsent);
            drop(queue);
            if !write_all(outbox, &mut buf, true) {
                return outbox.release_closing(outbox.lock(), Shutdown::Both);
            }
            continue;
        }
        while queue.frames.is_empty() {
            match queue.state {
                State::Open => {
                    queue.writer = Writer::Thread { idle: true };
                    let (woken, wait) = outbox
                        .ready
                        .wait_timeout(queue, WRITER_IDLE)
                        .unwrap_or_else(|e| e.into_inner());
                    queue = woken;
                    queue.writer = Writer::Thread { idle: false };
                    if wait.timed_out() && queue.frames.is_empty() && queue.state == State::Open {
                        // The client keeps up: the delivering threads take over.
                        return outbox.release(queue);
                    }
                }
                // FIN after the last frame; the reader closes the socket.
                State::Finishing => return outbox.release_closing(queue, Shutdown::Write),
                State::Aborted | State::Gone => {
                    return outbox.release_closing(queue, Shutdown::Both);
                }
            }
        }
        if queue.state == State::Gone {
            return outbox.release_closing(queue, Shutdown::Both);
        }
        if queue.frames.len() < FEW && last_batch >= FEW {
            // Only a few frames in a busy period: let whoever is delivering
            // go on for a moment, so that one write carries more of them.
            // Not when traffic is light, where it would only add latency.
            drop(queue);
            std::thread::yield_now();
            queue = outbox.lock();
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
        if !write_all(outbox, &mut buf, false) {
            return outbox.release_closing(outbox.lock(), Shutdown::Both);
        }
        if buf.capacity() > 256 * 1024 {
            buf = Vec::new();
        }
    }
}

/// Writes `buf`, which starts in the middle of a frame if `mid_frame`,
/// watching for an abort while the client does not read. False if the
/// connection is finished with.
fn write_all(outbox: &Outbox, buf: &mut Vec<u8>, mid_frame: bool) -> bool {
    let mut pos = 0;
    let mut deadline: Option<Instant> = None;
    while pos < buf.len() {
        match (&*outbox.socket).write(&buf[pos..]) {
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
                let mut queue = outbox.lock();
                match queue.state {
                    State::Open | State::Finishing => {}
                    State::Gone => return false,
                    State::Aborted => {
                        // Finish the frame in progress, so the stream stays
                        // well framed, then append the farewell frame.
                        let at_boundary = if pos == 0 {
                            !mid_frame
                        } else {
                            buf[pos - 1] == b'\n'
                        };
                        let end = if at_boundary {
                            pos
                        } else {
                            pos + memchr::memchr(b'\n', &buf[pos..]).map_or(0, |i| i + 1)
                        };
                        // Unless this batch already carries the farewell.
                        if !queue.frames.is_empty() {
                            buf.truncate(end);
                            for frame in queue.frames.drain(..) {
                                buf.extend_from_slice(&frame);
                            }
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
