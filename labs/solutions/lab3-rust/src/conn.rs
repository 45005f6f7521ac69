//! One chat connection's reader thread: bytes, then lines, then frames, then
//! the room, in the order they arrived.
//!
//! TCP delivers a stream of bytes, not messages: one `read` may hold half a
//! frame (半包) or several frames (粘包). `protocol::FrameBuffer` keeps every
//! byte until its LF arrives and hands back whole lines only (FRAME-1,
//! FRAME-3), and `protocol::parse_request` turns a line into a `Request` or
//! says exactly what is wrong with it. This file only moves bytes: what a frame
//! means is decided in `room.rs`.

use std::io::Read;
use std::net::TcpStream;

use protocol::ErrorCode;
use protocol::limits::MAX_FRAME;
use protocol::{FrameBuffer, parse_request};

use crate::outbox::Outbox;
use crate::room::refuse;
use crate::room::{Room, Session};

/// Serves one connection until it closes or logs out.
pub fn serve(mut stream: TcpStream, room: &Room) {
    // A second handle to the same socket, for everyone who sends to this
    // client. If the system cannot give us one, we cannot serve this client.
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut session = Session::new(Outbox::new(writer));
    let mut frames = FrameBuffer::new(MAX_FRAME);
    let mut buf = vec![0u8; 64 * 1024];
    'connection: loop {
        let n = match stream.read(&mut buf) {
            // 0 bytes: the client closed the connection. An error: it was
            // reset, or we shut it down ourselves (logout, LOAD-3). Either way
            // this connection is over, and only this one.
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        frames.push(&buf[..n]);
        // Every complete line in the buffer, in order. A frame's effects are
        // all queued before we look at the next one (PING-2).
        while let Some(line) = frames.next_line() {
            let outcome = match line {
                Ok(line) => match parse_request(line) {
                    Ok(request) => room.handle(&mut session, request),
                    // ERR-2, ERR-7: the parser checks NOT_UTF8, MALFORMED,
                    // UNKNOWN_TYPE, BAD_ESCAPE and BAD_FIELD in the order of
                    // ERR-7 and names the code.
                    Err(error) => Err(refuse(error.code(), error.to_string())),
                },
                // FRAME-5, ERR-3: the buffer stopped at MAX_FRAME bytes and
                // skips the rest of that line; we answer once.
                Err(_) => Err(refuse(
                    ErrorCode::TooLong,
                    format!("a frame is at most {MAX_FRAME} bytes"),
                )),
            };
            if let Err(refusal) = outcome {
                // ERR-1: exactly one error frame, and the connection stays open (ERR-6).
                session.outbox.send(&refusal.to_frame());
            }
            if session.closing {
                break 'connection; // OUT-1: after 1005 we read nothing more
            }
        }
    }
    // NOTE-2: a closed connection is a leave, however it ended.
    room.disconnect(&mut session);
}
