//! `load-slow-reader`: one client stops reading while another sends
//! megabytes (LOAD-3, LOAD-4, and NOTE-2 for the disconnect).
//!
//! SPEC.md allows two correct outcomes for the client that stopped reading:
//! it gets every frame in order (the server's bounded queue was big enough),
//! or a prefix of them in order, then perhaps `1900|SLOW_CONSUMER|…`, then
//! the close, which the others see as a leave. Anything else is a bug: a gap
//! is a frame dropped silently, and a prefix followed by silence on an open
//! connection means the server threw frames away and kept the client.

use std::time::{Duration, Instant};

use protocol::escape::escape;

use crate::check::{Failure, Outcome};
use crate::conn::{Conn, Read1};
use crate::cx::{Cx, chat};

/// Chats of about 3 kB each: about 7.5 MB per receiver, more than kernel
/// buffers hold for a client that does not read.
const COUNT: usize = 2500;

/// What the client that stopped reading received, once it reads again.
enum SlowOutcome {
    /// Every chat, in order, and the connection is still open.
    All,
    /// A prefix in order, then the close (with or without SLOW_CONSUMER).
    Disconnected,
}

pub(super) fn load_slow_reader(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(3)?;
    let mut c = cx.logged_in(&accounts)?;
    let mut slow = c.remove(2);
    let mut sender = c.remove(0);
    let mut reader = c.remove(0);
    let user = accounts[0].username.clone();
    // The reader watches for the slow client's leave notice (NOTE-2).
    let leave = format!("1010|LEAVE|{}|", escape(&accounts[2].username));
    let text = "x".repeat(3000);
    let deadline = cx.env.timing.test / 2;
    let mut left = false;
    std::thread::scope(|s| {
        // The sender is handed back, not dropped: closing a socket with
        // unread notices in it sends RST, and the server may lose its input.
        let writer = s.spawn(move || {
            let mut burst = Vec::new();
            for i in 0..COUNT {
                burst.extend(chat(&user, &format!("{i:05} {text}")));
                if burst.len() > 256 * 1024 {
                    if sender.send_whole(&burst).is_err() {
                        return sender;
                    }
                    burst.clear();
                }
            }
            let _ = sender.send_whole(&burst);
            sender
        });
        let started = Instant::now();
        let mut next = 0;
        while next < COUNT {
            match reader.read_line(cx.env.timing.reply) {
                Read1::Line(line) if line.starts_with(b"1002|") => {
                    let want = format!("{next:05} ");
                    let text_field = crate::check::field(&line, 2);
                    if !text_field.starts_with(&want) {
                        return Err(Failure::new(
                            "LOAD-4",
                            format!(
                                "C2 expected chat {next} but got chat {}",
                                &text_field[..5.min(text_field.len())]
                            ),
                        ));
                    }
                    next += 1;
                }
                Read1::Line(line) => left |= line.starts_with(leave.as_bytes()),
                Read1::Eof => {
                    return Err(Failure::new(
                        "LOAD-4",
                        format!("C2 was disconnected after {next} chats although it was reading"),
                    ));
                }
                Read1::Timeout { .. } => {
                    return Err(Failure::new(
                        "LOAD-3",
                        format!(
                            "C2 waited more than {} ms for chat {next} while C3 was not reading",
                            cx.env.timing.reply.as_millis()
                        ),
                    ));
                }
            }
            if started.elapsed() > deadline {
                return Err(Failure::new(
                    "LOAD-3",
                    format!(
                        "C2 received only {next} of {COUNT} chats in {} s",
                        deadline.as_secs()
                    ),
                ));
            }
        }
        Ok(writer.join().expect("the writer thread does not panic"))
    })?;
    match read_slow(&mut slow, cx.env.timing.reply)? {
        SlowOutcome::All => Ok(()),
        SlowOutcome::Disconnected if left => Ok(()),
        SlowOutcome::Disconnected => {
            // Seeing C3's connection end does not mean the server has
            // handled it yet, and a fence on C2 orders only C2's own frames
            // (PING-2): fence again until the notice comes or time is up.
            reader.ignore.retain(|id| *id != "1010");
            let until = std::time::Instant::now() + cx.env.timing.reply;
            loop {
                let before = cx.fence(&mut reader)?;
                if before.iter().any(|l| l.starts_with(leave.as_bytes())) {
                    return Ok(());
                }
                if std::time::Instant::now() >= until {
                    break;
                }
            }
            Err(Failure::new(
                "LOAD-3",
                "the server disconnected the slow client C3, but C2 got no 1010|LEAVE for it",
            )
            .with_hint("a slow consumer's disconnect is a leave like any other: send 1010|LEAVE to the others (NOTE-2)")
            .into())
        }
    }
}

/// Reads what the client that stopped reading was sent (LOAD-3, LOAD-4).
fn read_slow(slow: &mut Conn, reply: Duration) -> Result<SlowOutcome, Failure> {
    let mut next = 0;
    loop {
        match slow.read_line(reply) {
            Read1::Line(line) if line.starts_with(b"1002|") => {
                let text_field = crate::check::field(&line, 2);
                if !text_field.starts_with(&format!("{next:05} ")) {
                    return Err(Failure::new(
                        "LOAD-4",
                        format!(
                            "the slow client C3 got chat {} where chat {next} was due: a frame was dropped silently",
                            &text_field[..5.min(text_field.len())]
                        ),
                    ));
                }
                next += 1;
                // Every chat arrived: nothing more to wait for.
                if next == COUNT {
                    return Ok(SlowOutcome::All);
                }
            }
            Read1::Line(line) if line.starts_with(b"1900|SLOW_CONSUMER|") => {
                return match slow.read_line(reply) {
                    Read1::Eof => Ok(SlowOutcome::Disconnected),
                    _ => Err(Failure::new(
                        "LOAD-3",
                        "after SLOW_CONSUMER the server must close the connection",
                    )),
                };
            }
            Read1::Line(_) => {}
            Read1::Eof => return Ok(SlowOutcome::Disconnected),
            Read1::Timeout { .. } => {
                return Err(Failure::new(
                    "LOAD-4",
                    format!(
                        "the slow client C3 got {next} of {COUNT} chats, then nothing, and stayed connected: the other frames were dropped silently"
                    ),
                )
                .with_hint("when a client's outgoing queue is full, send it 1900|SLOW_CONSUMER and close it; never throw its frames away and keep it (LOAD-3)"));
            }
        }
    }
}
