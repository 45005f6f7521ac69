//! ChatLab lab 4 starter, Rust track: private chat and history (SPEC.md Level 4).
//!
//! Usage: `lab4-server PORT [DATA_DIR]`
//!
//! This is a skeleton: it listens, starts one thread per connection, splits
//! the byte stream into frames and parses them with the `protocol` crate, and
//! then does nothing useful. Every `TODO (lab K)` for K up to 4 is yours. If
//! you did the earlier labs in Rust, keep your own server and copy in only what
//! is new here. Read labs/lab4-private-history/README.md step by step.

#![allow(dead_code)] // the skeleton has parts you have not used yet

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use protocol::limits::MAX_FRAME;
use protocol::{FrameBuffer, Request, Response, parse_request};

/// One logged-in user, as the rest of the server sees them.
struct Peer {
    nickname: String,
    /// A second handle to the user's socket, for sending to them.
    stream: TcpStream,
}

/// Everything the connections share. Lock it, change it, unlock it.
#[derive(Default)]
struct Room {
    /// Username -> peer, for every logged-in connection.
    online: HashMap<String, Peer>,
}

type Shared = Arc<Mutex<Room>>;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(port) = args.get(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: lab4-server PORT [DATA_DIR]");
        std::process::exit(2);
    };
    let data_dir = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "chatlab-data".to_owned());
    std::fs::create_dir_all(&data_dir)?;
    // TODO (lab 3): load the accounts from data_dir (create the seed accounts,
    // with salted hashes, the first time). REG-4, REG-5.
    // TODO (lab 4): load the history from data_dir (HIST-4).
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let room: Shared = Arc::default();
    println!("chat server on 127.0.0.1:{port}");
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let room = Arc::clone(&room);
        // One thread per connection: a silent client never blocks the others.
        thread::spawn(move || serve(stream, room));
    }
    Ok(())
}

/// One connection's reader thread: bytes -> frames -> `handle`, in order.
fn serve(mut stream: TcpStream, room: Shared) {
    let mut frames = FrameBuffer::new(MAX_FRAME);
    let mut me: Option<String> = None; // who is logged in on this connection
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // FrameBuffer keeps partial frames (半包) and splits joined ones (粘包).
        frames.push(&buf[..n]);
        while let Some(line) = frames.next_line() {
            match line.map(parse_request) {
                Ok(Ok(request)) => handle(&mut stream, &room, &mut me, request),
                Ok(Err(_error)) => {
                    // TODO (lab 2): answer with exactly one error frame (ERR-1):
                    // Response::error(_error.code(), _error.to_string()).
                }
                Err(_too_long) => {
                    // TODO (lab 2): answer 1900|TOO_LONG (FRAME-5, ERR-3).
                }
            }
        }
    }
    if let Some(user) = me {
        room.lock().unwrap().online.remove(&user);
        // TODO (lab 3): tell everybody else: 1010|LEAVE|username|nickname|count (NOTE-2).
    }
}

/// Acts on one frame from one connection.
fn handle(stream: &mut TcpStream, room: &Shared, me: &mut Option<String>, request: Request) {
    match request {
        Request::Login { username, password } => {
            // TODO (lab 1): check the account (SPEC.md section 6 lists the seed
            // accounts), then add a Peer to room.online and answer
            // Response::LoginResult(AuthResult::Ok { .. }); or answer
            // AuthResult::Failed and keep the connection open (LOGIN-3).
            let _ = (username, password, me, room);
        }
        Request::Chat { username, text } => {
            // TODO (lab 1): send Response::Chat { nickname, text } to every
            // other logged-in peer (CHAT-1, CHAT-2).
            // TODO (lab 2): NOT_LOGGED_IN (ERR-4) and IMPERSONATION (ERR-5).
            let _ = (username, text);
        }
        Request::Ping { token } => {
            // TODO (lab 2): answer with send(stream, &Response::Pong { token }) (PING-1).
            let _ = (token, &stream);
        }
        Request::Register {
            username,
            password,
            nickname,
        } => {
            // TODO (lab 3): REG-1 to REG-5.
            let _ = (username, password, nickname);
        }
        Request::Logout | Request::List => {
            // TODO (lab 3): OUT-1 and LIST-1.
        }
        Request::Private { to, text } => {
            // TODO (lab 4): PRIV-1 to PRIV-4, and record it in the history.
            let _ = (to, text);
        }
        _ => {
            // Frames of later labs.
        }
    }
}

/// Sends one frame on one socket.
fn send(stream: &mut TcpStream, response: &Response) -> std::io::Result<()> {
    stream.write_all(&response.to_bytes())
}
