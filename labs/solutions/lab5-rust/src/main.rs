//! ChatLab reference solution for lab 5, Rust track (SPEC.md levels 1 to 5).
//!
//! Usage: `lab5-solution PORT [DATA_DIR]`
//!
//! Instructors: keep this folder out of the students' path until lab 5 is due.
//! It is generated from `labs/solutions/server_master_rs/` by
//! `labs/solutions/build_rust.py`: edit the master, not this file.
//!
//! # Layout
//!
//! - `main.rs`: start-up. Bind the listeners, then accept connections and
//!   give each one its own thread.
//! - `conn.rs`: one connection's reader thread: bytes, then frames, then the
//!   room. It never decides what a frame means.
//! - `outbox.rs`: how frames get to one client's socket.
//! - `room.rs`: the shared state and the chat logic, one method per frame.
//!   It never touches a socket; it puts frames in outboxes.
//! - `accounts.rs`: accounts on disk, with salted password hashes (REG-4).
//! - `history.rs`: the most recent messages, kept across restarts (HIST-4).
//! - `side.rs`: the photo and file ports (SPEC.md section 10).
//!
//! The `protocol` crate of this repository turns bytes into frames and frames
//! into bytes, so this server never splits or formats a line by hand. The IDs
//! in the comments (FRAME-3, ERR-5, ...) are rules of SPEC.md: read the rule
//! next to the code.

mod accounts;
mod conn;
mod history;
mod outbox;
mod room;
mod side;

use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

use protocol::limits::{FILE_PORT_OFFSET, PHOTO_PORT_OFFSET};

use crate::room::Room;

/// Only this machine: passwords travel in clear text (SPEC.md section 4).
const HOST: &str = "127.0.0.1";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(port) = args.get(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: lab5-solution PORT [DATA_DIR]");
        std::process::exit(2);
    };
    let data_dir = args.get(2).map_or("chatlab-data", String::as_str);
    if let Err(error) = run(port, data_dir.as_ref()) {
        eprintln!("lab5-solution: {error}");
        std::process::exit(1);
    }
}

/// Binds every port, then serves until the process is stopped.
fn run(port: u16, data_dir: &std::path::Path) -> std::io::Result<()> {
    // The data folder holds the accounts (lab 3), the history (lab 4) and the
    // uploads (lab 5). Opening it fails loudly: a server that cannot store an
    // account must not pretend it did (REG-5).
    let room = Arc::new(Room::open(data_dir)?);
    let listener = TcpListener::bind((HOST, port))?;
    // SIDE-1: the photo and file ports, each with its own accept thread.
    for (offset, kind) in [
        (PHOTO_PORT_OFFSET, protocol::Kind::Photo),
        (FILE_PORT_OFFSET, protocol::Kind::File),
    ] {
        let side_port = port
            .checked_add(offset)
            .ok_or_else(|| std::io::Error::other("PORT + 2 must be a port too"))?;
        let side = TcpListener::bind((HOST, side_port))?;
        let room = Arc::clone(&room);
        thread::spawn(move || side::accept_loop(side, kind, room));
    }
    println!("chat server on {HOST}:{port}");
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
