//! @@TITLE@@
//!
//! Usage: `lab@@N@@-solution PORT [DATA_DIR]`
//!
//! @@ABOUT@@
//!
//! # Layout
//!
//! - `main.rs`: start-up. Bind the listeners, then accept connections and
//!   give each one its own thread.
//! - `conn.rs`: one connection's reader thread: bytes, then frames, then the
//!   room. It never decides what a frame means.
//@ if 6
//! - `outbox.rs`: how frames get to one client: a bounded queue and a
//!   writer thread of its own (LOAD-3).
//@ else
//! - `outbox.rs`: how frames get to one client's socket.
//@ end
//! - `room.rs`: the shared state and the chat logic, one method per frame.
//!   It never touches a socket; it puts frames in outboxes.
//@ if 3
//! - `accounts.rs`: accounts on disk, with salted password hashes (REG-4).
//@ end
//@ if 4
//! - `history.rs`: the most recent messages, kept across restarts (HIST-4).
//@ end
//@ if 5
//! - `side.rs`: the photo and file ports (SPEC.md section 10).
//@ end
//!
//! The `protocol` crate of this repository turns bytes into frames and frames
//! into bytes, so this server never splits or formats a line by hand. The IDs
//! in the comments (FRAME-3, ERR-5, ...) are rules of SPEC.md: read the rule
//! next to the code.

//@ if 3
mod accounts;
//@ end
mod conn;
//@ if 4
mod history;
//@ end
mod outbox;
mod room;
//@ if 5
mod side;
//@ end

use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
//@ if 6
use std::time::Duration;
//@ end

//@ if 5
use protocol::limits::{FILE_PORT_OFFSET, PHOTO_PORT_OFFSET};
//@ end
//@ if 6
use protocol::{ErrorCode, Response};
//@ end

use crate::room::Room;

/// Only this machine: passwords travel in clear text (SPEC.md section 4).
const HOST: &str = "127.0.0.1";
//@ if 6
/// Connections we serve at once; one more is told `SERVER_FULL` (LOAD-6).
const MAX_CONNECTIONS: usize = 1000;
/// How long a shutdown waits for the writers to send their last frame (LOAD-7).
const CLOSE_GRACE: Duration = Duration::from_secs(5);
//@ end

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(port) = args.get(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: lab@@N@@-solution PORT [DATA_DIR]");
        std::process::exit(2);
    };
//@ if 3
    let data_dir = args.get(2).map_or("chatlab-data", String::as_str);
//@ end
    if let Err(error) = run(
        port,
//@ if 3
        data_dir.as_ref(),
//@ end
    ) {
        eprintln!("lab@@N@@-solution: {error}");
        std::process::exit(1);
    }
}

/// Binds every port, then serves until the process is stopped.
fn run(
    port: u16,
//@ if 3
    data_dir: &std::path::Path,
//@ end
) -> std::io::Result<()> {
//@ if 3
    // The data folder holds the accounts (lab 3), the history (lab 4) and the
    // uploads (lab 5). Opening it fails loudly: a server that cannot store an
    // account must not pretend it did (REG-5).
    let room = Arc::new(Room::open(data_dir)?);
//@ else
    let room = Arc::new(Room::new());
//@ end
//@ if 6
    let listener = listen(port)?;
//@ else
    let listener = TcpListener::bind((HOST, port))?;
//@ end
//@ if 5
    // SIDE-1: the photo and file ports, each with its own accept thread.
    for (offset, kind) in [
        (PHOTO_PORT_OFFSET, protocol::Kind::Photo),
        (FILE_PORT_OFFSET, protocol::Kind::File),
    ] {
        let side_port = port
            .checked_add(offset)
            .ok_or_else(|| std::io::Error::other("PORT + 2 must be a port too"))?;
//@ if 6
        let side = listen(side_port)?;
//@ else
        let side = TcpListener::bind((HOST, side_port))?;
//@ end
        let room = Arc::clone(&room);
        thread::spawn(move || side::accept_loop(side, kind, room));
    }
//@ end
    println!("chat server on {HOST}:{port}");
//@ if 6
    // LOAD-7: the main thread waits for Ctrl-C or SIGTERM while another thread
    // accepts. The handler only sends on a channel; the shutdown itself runs
    // here, in ordinary code that may take locks.
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .map_err(std::io::Error::other)?;
    {
        let room = Arc::clone(&room);
        thread::spawn(move || accept_loop(listener, room));
    }
    let _ = stopped.recv();
    room.shut_down(CLOSE_GRACE);
    Ok(())
}

/// Accepts chat connections, one reader thread each.
///
/// It never reads from a client: a client that connects and says nothing must
/// not stop anybody else from connecting (LOAD-2).
fn accept_loop(listener: TcpListener, room: Arc<Room>) {
    for stream in listener.incoming() {
        // A failed accept (the client gave up, or we ran out of file
        // descriptors for a moment) concerns that client only.
        let Ok(stream) = stream else { continue };
        match room.connect(&stream, MAX_CONNECTIONS) {
            Ok(session) => {
                let room = Arc::clone(&room);
                thread::spawn(move || conn::serve(stream, session, &room));
            }
            Err(code) => refuse(stream, code),
        }
    }
}

/// A listening socket with room for many clients connecting at the same
/// moment (LOAD-1, LOAD-6).
///
/// `TcpListener::bind` lets only 128 connections wait for `accept`; when 200
/// clients connect at once, the system drops the rest, and they wait a second
/// or more to try again. socket2 lets us ask for a longer queue.
fn listen(port: u16) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    if cfg!(unix) {
        // Restart at once on the same port, despite connections of the last
        // run in TIME_WAIT. (On Windows this option means something else.)
        socket.set_reuse_address(true)?;
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Tells a connection we will not serve it why, then closes it (LOAD-6, LOAD-7).
fn refuse(mut stream: std::net::TcpStream, code: ErrorCode) {
    use std::io::Write;
    let reason = match code {
        ErrorCode::Shutdown => "the server is shutting down",
        _ => "too many connections; try again later",
    };
    // Best effort: this client is being turned away, so a failed write changes nothing.
    let _ = stream.write_all(&Response::error(code, reason).to_bytes());
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
//@ else
    for stream in listener.incoming() {
        // A failed accept (the client gave up) concerns that client only.
        let Ok(stream) = stream else { continue };
        let room = Arc::clone(&room);
        // One thread per connection: a client that is slow to send blocks
        // only its own thread, never the accept loop (LOAD-2).
        thread::spawn(move || conn::serve(stream, &room));
    }
    Ok(())
}
//@ end
