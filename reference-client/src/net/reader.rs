//! The reader thread of one chat connection: the only code that reads the
//! chat socket. It frames, parses and forwards; it decides nothing.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::mpsc::Sender;

use protocol::FrameBuffer;
use protocol::limits::MAX_SERVER_FRAME;

use super::Input;

/// The reader thread of connection `conn`: bytes to lines with the protocol's
/// `FrameBuffer` (FRAME-3: however the bytes were split), lines to frames
/// with `parse_response`, each passed to the session thread.
pub(super) fn read_frames(conn: u64, mut stream: TcpStream, tx: Sender<Input>) {
    let mut frames = FrameBuffer::new(MAX_SERVER_FRAME); // FRAME-5: a server's frames may be longer
    let mut buf = [0u8; 8192];
    let reason = loop {
        match stream.read(&mut buf) {
            Ok(0) => break "the server closed the connection".to_owned(),
            Ok(n) => frames.push(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => break format!("connection lost: {e}"),
        }
        while let Some(line) = frames.next_line() {
            let input = match line {
                Ok(line) => match protocol::parse_response(line) {
                    Ok(frame) => Input::Frame(conn, frame),
                    Err(e) => {
                        Input::BadFrame(conn, format!("{e}: {}", String::from_utf8_lossy(line)))
                    }
                },
                Err(e) => Input::BadFrame(conn, e.to_string()),
            };
            if tx.send(input).is_err() {
                return;
            }
        }
    };
    let _ = tx.send(Input::Closed(conn, reason));
}
