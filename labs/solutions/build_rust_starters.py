"""Writes the Rust starters of labs 1-6 (labs/labN-*/starter-rust). Run it after editing; students never need it."""
import pathlib
import shutil
import subprocess
LABS = pathlib.Path(__file__).resolve().parent.parent
DIRS = {1: "lab1-first-server", 2: "lab2-framing", 3: "lab3-accounts", 4: "lab4-private-history", 5: "lab5-files", 6: "lab6-robustness"}
ABOUT = {
    1: "log in and chat in one room (SPEC.md Level 1)",
    2: "framing, escaping, error frames and PING (SPEC.md Level 2)",
    3: "registration, online list, notices and logout (SPEC.md Level 3)",
    4: "private chat and history (SPEC.md Level 4)",
    5: "photo and file side ports (SPEC.md Level 5)",
    6: "robustness: a send queue and a writer thread per client (SPEC.md Level 6)",
}

def cargo(n):
    return f'''[package]
name = "lab{n}-server"
version = "0.1.0"
edition = "2024"
publish = false
description = "ChatLab lab {n} starter, Rust track"

# This package is not a member of the ChatLab workspace: it is the student's
# own project. The empty table makes it a workspace of its own, so cargo does
# not complain that it sits inside another workspace.
[workspace]

[[bin]]
name = "lab{n}-server"
path = "src/main.rs"

[dependencies]
protocol = {{ path = "../../../protocol" }}
''' + extra_deps(n)


def extra_deps(n):
    """The crates the reference solution of lab n uses beyond `protocol`, so
    that a student's starter already has them (the same versions, so they
    compile once for starters and solutions alike)."""
    deps = ""
    if n >= 3:
        deps += '''# Lab 3: a password-hashing function (REG-4) and random salts. Any
# function REG-4 names is fine; the reference solution uses these.
argon2 = { version = "0.5", features = ["std"] }
getrandom = "0.3"
'''
    if n >= 6:
        deps += '''# Lab 6: run code on Ctrl-C and SIGTERM, to send SHUTDOWN (LOAD-7), and
# listen with room for many clients connecting at once (LOAD-1).
ctrlc = { version = "3", features = ["termination"] }
socket2 = "0.6"
'''
    return deps

def main_rs(n):
    L = lambda k: n >= k
    parts = []
    parts.append(f'''//! ChatLab lab {n} starter, Rust track: {ABOUT[n]}.
//!
//! Usage: `lab{n}-server PORT [DATA_DIR]`
//!
//! This is a skeleton: it listens, starts one thread per connection, splits
//! the byte stream into frames and parses them with the `protocol` crate, and
//! then does nothing useful. Every `TODO (lab K)` for K up to {n} is yours. If
//! you did the earlier labs in Rust, keep your own server and copy in only what
//! is new here. Read labs/{DIRS[n]}/README.md step by step.

#![allow(dead_code)] // the skeleton has parts you have not used yet

use std::collections::HashMap;
use std::io::{{Read, Write}};
use std::net::{{TcpListener, TcpStream}};
use std::sync::{{Arc, Mutex}};
use std::thread;
''')
    if L(6):
        parts.append('''use std::sync::mpsc::{SyncSender, sync_channel};
''')
    parts.append('''
use protocol::limits::MAX_FRAME;
use protocol::{FrameBuffer, Request, Response, parse_request};
''')
    if L(5):
        parts.append('''use protocol::limits::MAX_SIDE_LINE;
use protocol::{SideCode, SideReply, parse_side_command};
''')
    parts.append('''
/// One logged-in user, as the rest of the server sees them.
struct Peer {
    nickname: String,
''')
    if L(6):
        parts.append('''    /// Frames for this user's writer thread. `try_send` never blocks (LOAD-3).
    outbox: SyncSender<Vec<u8>>,
''')
    else:
        parts.append('''    /// A second handle to the user's socket, for sending to them.
    stream: TcpStream,
''')
    parts.append('''}

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
        eprintln!("usage: lab''' + str(n) + '''-server PORT [DATA_DIR]");
        std::process::exit(2);
    };
''')
    if L(3):
        parts.append('''    let data_dir = args.get(2).cloned().unwrap_or_else(|| "chatlab-data".to_owned());
    std::fs::create_dir_all(&data_dir)?;
    // TODO (lab 3): load the accounts from data_dir (create the seed accounts,
    // with salted hashes, the first time). REG-4, REG-5.
''')
    if L(4):
        parts.append('''    // TODO (lab 4): load the history from data_dir (HIST-4).
''')
    parts.append('''    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let room: Shared = Arc::default();
''')
    if L(5):
        parts.append('''    for (offset, kind) in [(1, "photo"), (2, "file")] {
        let side = TcpListener::bind(("127.0.0.1", port + offset))?;
        let room = Arc::clone(&room);
        thread::spawn(move || side_port(side, kind, room));
    }
''')
    parts.append('''    println!("chat server on 127.0.0.1:{port}");
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
''')
    if L(3):
        parts.append('''        Request::Register { username, password, nickname } => {
            // TODO (lab 3): REG-1 to REG-5.
            let _ = (username, password, nickname);
        }
        Request::Logout | Request::List => {
            // TODO (lab 3): OUT-1 and LIST-1.
        }
''')
    if L(4):
        parts.append('''        Request::Private { to, text } => {
            // TODO (lab 4): PRIV-1 to PRIV-4, and record it in the history.
            let _ = (to, text);
        }
''')
    if L(5):
        parts.append('''        Request::Ticket | Request::Share { .. } => {
            // TODO (lab 5): SIDE-2 and SHARE-1 to SHARE-3.
        }
''')
    if not L(5):
        parts.append('''        _ => {
            // Frames of later labs.
        }
''')
    parts.append('''    }
}

/// Sends one frame on one socket.
fn send(stream: &mut TcpStream, response: &Response) -> std::io::Result<()> {
    stream.write_all(&response.to_bytes())
}
''')
    if L(5):
        parts.append('''
/// Accepts side connections, one thread each (SIDE-1).
fn side_port(listener: TcpListener, kind: &'static str, room: Shared) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let room = Arc::clone(&room);
        thread::spawn(move || serve_side(stream, kind, room));
    }
}

/// One side connection: command lines, and bodies read by their length.
fn serve_side(mut stream: TcpStream, kind: &'static str, room: Shared) {
    let mut lines = FrameBuffer::new(MAX_SIDE_LINE);
    let mut buf = [0u8; 65536];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        lines.push(&buf[..n]);
        while let Some(Ok(line)) = lines.next_line() {
            let reply = match parse_side_command(line) {
                Ok(command) => {
                    // TODO (lab 5): auth, put (read exactly SIZE bytes: take_raw,
                    // then more reads), get and quit. SIDE-2 to SIDE-8.
                    let _ = (command, kind, &room);
                    SideReply::Err { code: SideCode::Malformed, reason: "TODO (lab 5)".to_owned() }
                }
                Err(_) => SideReply::Err { code: SideCode::Malformed, reason: "not a command".to_owned() },
            };
            if stream.write_all(&reply.to_bytes()).is_err() {
                return;
            }
        }
    }
}
''')
    if L(6):
        parts.append('''
/// Starts the writer thread of one connection and returns its bounded queue.
///
/// TODO (lab 6): give every Peer an outbox from here instead of writing to
/// sockets directly. When `try_send` fails because the queue is full, send
/// 1900|SLOW_CONSUMER, close the connection and treat it as a leave (LOAD-3).
#[allow(dead_code)]
fn start_writer(mut stream: TcpStream) -> SyncSender<Vec<u8>> {
    let (outbox, frames) = sync_channel::<Vec<u8>>(1000);
    thread::spawn(move || {
        for frame in frames {
            if stream.write_all(&frame).is_err() {
                break;
            }
        }
    });
    outbox
}
''')
    return "".join(parts)

for n, d in DIRS.items():
    root = LABS / d / "starter-rust"
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(cargo(n))
    (root / "src" / "main.rs").write_text(main_rs(n))
    (root / ".gitignore").write_text("/target\nCargo.lock\n")
    if shutil.which("rustfmt"):
        subprocess.run(["rustfmt", "--edition", "2024", str(root / "src" / "main.rs")], check=True)
