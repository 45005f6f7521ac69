//! Registration (`0003` → `1003`, REG-1 to REG-3) on a connection of its own.
//!
//! Registering does not log in (REG-2), so it needs none of the session
//! machinery: connect, send one frame, read frames until the `1003`, close.
//! It blocks; the GUI runs it on a helper thread.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use protocol::limits::MAX_SERVER_FRAME;
use protocol::{AuthResult, FailReason, FrameBuffer, Request, Response};

/// How long to wait for the connection and for the answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a registration did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// No TCP connection.
    #[error("{0}")]
    Unreachable(String),
    /// The server answered `1003|0|reason|username` (REG-3).
    #[error("registration refused: {0:?}")]
    Rejected(FailReason),
    /// The connection closed or timed out before a `1003` came.
    #[error("{0}")]
    NoAnswer(String),
}

/// Registers `username` with `password` and `nickname` at the chat port
/// `addr`; returns the nickname the server stored.
pub fn register(
    addr: SocketAddr,
    username: &str,
    password: &str,
    nickname: &str,
) -> Result<String, RegisterError> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| RegisterError::Unreachable(format!("cannot connect to {addr}: {e}")))?;
    let no_answer =
        |e: std::io::Error| RegisterError::NoAnswer(format!("no answer from {addr}: {e}"));
    stream.set_read_timeout(Some(TIMEOUT)).map_err(no_answer)?;
    let request = Request::Register {
        username: username.to_owned(),
        password: password.to_owned(),
        nickname: nickname.to_owned(),
    };
    stream.write_all(&request.to_bytes()).map_err(no_answer)?;

    let mut frames = FrameBuffer::new(MAX_SERVER_FRAME); // FRAME-5: a server's frames may be longer
    let mut buf = [0u8; 4096];
    loop {
        while let Some(line) = frames.next_line() {
            // Anything before the 1003 (an error frame from a server that does
            // not know 0003, say) is reported as the reason.
            match line.map(protocol::parse_response) {
                Ok(Ok(Response::RegisterResult(AuthResult::Ok { nickname, .. }))) => {
                    return Ok(nickname.into_string());
                }
                Ok(Ok(Response::RegisterResult(AuthResult::Failed { reason, .. }))) => {
                    return Err(RegisterError::Rejected(reason));
                }
                Ok(Ok(Response::Error { code, reason })) => {
                    return Err(RegisterError::NoAnswer(format!("{code}: {reason}")));
                }
                _ => continue,
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(RegisterError::NoAnswer(
                    "the server closed the connection without answering".into(),
                ));
            }
            Ok(n) => frames.push(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(no_answer(e)),
        }
    }
}
