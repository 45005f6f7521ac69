//! Idle clients: many connections per thread, for `--idle`.
//!
//! Ten thousand logged-in clients cannot each have a thread here: the server
//! needs one per client too, and the machine's thread limit is shared. So a
//! worker logs in its share of the clients one after another, then keeps
//! every one of them drained with non-blocking reads (the join notices of
//! later logins keep arriving), and answers the main thread's fences.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::Duration;

use protocol::{FrameBuffer, Request, Response, Token, parse_response};

use crate::client::{self, Run};

/// One idle connection.
struct Idle {
    stream: TcpStream,
    frames: FrameBuffer,
    /// The token of the fence in flight, if any.
    fence: Option<Token>,
    alive: bool,
}

/// Clients per worker thread.
pub const PER_WORKER: usize = 50;

/// Logs in clients `ids`, keeps them drained, and fences them when the main
/// thread opens phase 1 (logged in) and phase 2 (after the idle time).
pub fn worker(run: &Run, ids: std::ops::Range<usize>) {
    let mut conns = Vec::new();
    for i in ids {
        match client::login_stream(run, i) {
            Some((stream, frames)) => {
                run.logged_in.fetch_add(1, Ordering::Relaxed);
                run.last_login_ns
                    .fetch_max(run.epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
                let _ = stream.set_nonblocking(true);
                conns.push(Idle {
                    stream,
                    frames,
                    fence: None,
                    alive: true,
                });
            }
            None => {
                run.login_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    for phase in 1..=2u32 {
        while !run.gate.is_open(phase) {
            if run.stop.load(Ordering::Relaxed) {
                return;
            }
            drain(&mut conns);
        }
        let token = Token::new(format!("idle-{phase}")).expect("a valid token");
        for conn in conns.iter_mut().filter(|c| c.alive) {
            let ping = Request::Ping {
                token: token.clone(),
            };
            conn.alive = conn.stream.write_all(&ping.to_bytes()).is_ok();
            conn.fence = Some(token.clone());
        }
        while conns.iter().any(|c| c.alive && c.fence.is_some()) {
            if run.stop.load(Ordering::Relaxed) {
                return;
            }
            drain(&mut conns);
        }
        let alive = conns.iter().filter(|c| c.alive).count();
        if phase == 1 {
            run.fenced.fetch_add(alive, Ordering::Relaxed);
        } else {
            run.finished.fetch_add(alive, Ordering::Relaxed);
        }
    }
}

/// Reads whatever arrived on every connection; sleeps a little if nothing did.
fn drain(conns: &mut [Idle]) {
    let mut any = false;
    let mut buf = [0u8; 16 * 1024];
    for conn in conns.iter_mut().filter(|c| c.alive) {
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    conn.alive = false;
                    break;
                }
                Ok(n) => {
                    any = true;
                    conn.frames.push(&buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    conn.alive = false;
                    break;
                }
            }
        }
        while let Some(line) = conn.frames.next_line() {
            match line.map(parse_response) {
                Ok(Ok(Response::Pong { token })) if conn.fence.as_ref() == Some(&token) => {
                    conn.fence = None
                }
                Ok(Ok(Response::Error { .. })) | Ok(Err(_)) | Err(_) => conn.alive = false,
                Ok(Ok(_)) => {}
            }
        }
    }
    if !any {
        std::thread::sleep(Duration::from_millis(1));
    }
}
