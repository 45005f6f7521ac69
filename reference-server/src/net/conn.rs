//! One chat connection's reader: bytes to frames (through `protocol`), frames
//! to the room, and nothing else.
//!
//! The reader handles its frames strictly in order and hands each one to the
//! room before reading the next (PING-2). All frames from one `read` are
//! handled under one acquisition of the room's lock, except that password
//! checks and hashing happen with the lock released, so one slow login never
//! holds up anybody's chat (LOAD-2).

use std::io::{ErrorKind, Read};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use protocol::{FrameBuffer, parse_request};
use socket2::Socket;

use super::Shared;
use super::outbox::Outbox;
use crate::room::{ConnId, Step};

/// How long a closing connection keeps reading (and discarding) so that the
/// client can take its last frames before the socket is closed.
const LINGER: Duration = Duration::from_millis(500);

/// Serves one chat connection until it closes; runs on its own thread.
pub(super) fn serve(shared: &Arc<Shared>, conn: ConnId, socket: Arc<Socket>, peer: SocketAddr) {
    // The writer pool sends this connection's frames; only a client that
    // reads slowly gets a writer thread (see `outbox`), so idle clients cost
    // one thread.
    let outbox = Arc::new(Outbox::new(
        socket.clone(),
        shared.config.queue_frames,
        shared.pool.clone(),
    ));
    shared
        .core()
        .room
        .connect(conn, peer.to_string(), outbox.clone());
    let closed_by_room = read_frames(shared, conn, &socket);
    shared.core().room.disconnect(conn);
    if closed_by_room {
        linger(&socket);
    } else {
        outbox.gone();
    }
    let _ = socket.shutdown(Shutdown::Both);
    outbox.join_writers();
    log::debug!("conn {conn} from {peer} closed");
}

/// Reads and handles frames until the client closes (false) or the room
/// closes the connection (true).
fn read_frames(shared: &Arc<Shared>, conn: ConnId, socket: &Socket) -> bool {
    let mut frames = FrameBuffer::new(shared.config.max_frame);
    // Small, because a thousand idle connections each hold one; a client that
    // sends more simply gets more reads.
    let mut buf = vec![0u8; 4 * 1024];
    loop {
        let n = match (&*socket).read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        frames.push(&buf[..n]);
        if handle_lines(shared, conn, &mut frames) == Step::Close {
            return true;
        }
    }
}

/// Handles every complete line in `frames`, in order.
fn handle_lines(shared: &Arc<Shared>, conn: ConnId, frames: &mut FrameBuffer) -> Step {
    let now = unix_now();
    let mut core = shared.core();
    while let Some(line) = frames.next_line() {
        let request = match line.map(parse_request) {
            Ok(Ok(request)) => request,
            Ok(Err(error)) | Err(error) => {
                core.room.reject(conn, &error);
                continue;
            }
        };
        let step = match core.room.handle(conn, request, now) {
            Step::Login { username, password } => {
                drop(core);
                let checked = shared.accounts.login(&username, &password);
                core = shared.core();
                core.room.complete_login(conn, username, checked, now)
            }
            Step::Register {
                username,
                password,
                nickname,
            } => {
                drop(core);
                let outcome = shared.accounts.register(&username, &password, &nickname);
                core = shared.core();
                core.room.complete_register(conn, username, outcome)
            }
            step => step,
        };
        if step == Step::Close {
            return Step::Close;
        }
    }
    Step::Continue
}

/// Reads and discards for a short while, so that closing a socket with unread
/// input does not reset the connection before the client read our last frames.
pub(crate) fn linger(socket: &Socket) {
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match (&*socket).read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Seconds since the Unix epoch, from the server's clock (HIST-5).
pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
