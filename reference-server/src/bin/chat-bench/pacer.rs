//! The paced sender: one thread that writes every sender's messages on a
//! fixed schedule, for the latency measurement (`--rate`).
//!
//! An event loop can only wake on a timer to the millisecond (epoll), so
//! messages it paced would leave in bursts, and a burst queues up in the
//! server; the latency measured would then be the generator's. This thread
//! sleeps to the microsecond between two messages instead, and writes each
//! one alone (one frame per `write`) on a socket it shares with the event
//! loop that reads that client.

use std::io::{ErrorKind, Write};
use std::time::Duration;

use protocol::Username;

use crate::frames::encode_chat;
use crate::run::{self, Run};

/// Writes `run.work.messages` messages for each sender in `sockets`, each
/// sender at `rate / receivers / senders` messages per second, starting now.
pub fn pace(run: &Run, sockets: Vec<(usize, socket2::Socket)>) -> anyhow::Result<()> {
    let work = &run.work;
    let receivers = (work.clients - 1).max(1) as f64;
    let per_sender = work.rate as f64 / receivers / work.senders as f64;
    let interval = Duration::from_secs_f64(1.0 / per_sender);
    let start = run.epoch.elapsed();
    let count = sockets.len().max(1) as u32;
    let mut senders: Vec<Sender> = sockets
        .into_iter()
        .enumerate()
        .map(|(k, (id, socket))| Sender {
            username: Username::new(run::username(id)).expect("a valid username"),
            socket,
            seq: 0,
            // Spread the senders over one interval, as independent clients
            // on their own clocks would be.
            due: start + interval * k as u32 / count,
        })
        .collect();
    let mut out = Vec::new();
    while !run.stopped() {
        let Some(next) = senders
            .iter_mut()
            .filter(|s| s.seq < work.messages)
            .min_by_key(|s| s.due)
        else {
            return Ok(());
        };
        if let Some(wait) = next.due.checked_sub(run.epoch.elapsed()) {
            std::thread::sleep(wait);
        }
        out.clear();
        encode_chat(run, &next.username, next.seq, &mut out);
        write_all(run, &next.socket, &out)?;
        next.seq += 1;
        next.due += interval;
    }
    Ok(())
}

struct Sender {
    username: Username,
    socket: socket2::Socket,
    seq: u32,
    due: Duration,
}

/// Writes all of `bytes` on a non-blocking socket (the event loop set it so;
/// at a paced rate it is practically never full).
fn write_all(run: &Run, mut socket: &socket2::Socket, mut bytes: &[u8]) -> anyhow::Result<()> {
    while !bytes.is_empty() && !run.stopped() {
        match socket.write(bytes) {
            Ok(0) => anyhow::bail!("the server closed a sender's connection"),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
