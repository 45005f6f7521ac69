//! Level 6: robustness under many, slow, broken and hostile clients (LOAD).
//!
//! These tests open many connections and move megabytes, so each has its own
//! server; every loop is bounded in count and time.

use std::time::Instant;

use crate::check::{Failure, Outcome, Stop};
use crate::conn::Read1;
use crate::cx::{Cx, chat, chat_out};

use super::TestCase;

/// The Level 6 tests.
pub const TESTS: &[TestCase] = &[
    TestCase {
        slug: "load-many-clients",
        level: 6,
        rules: &["LOAD-1", "CHAT-4"],
        description: "100 logged-in clients each receive every chat of three senders, in per-sender order",
        hints: &[
            "one thread (or task) per connection; never hold a global lock while calling send()",
        ],
        deps: &["chat-order", "reg-ok"],
        modes: false,
        run: load_many_clients,
    },
    TestCase {
        slug: "load-idle-client",
        level: 6,
        rules: &["LOAD-2"],
        description: "a client that never sends, and one that stops mid-frame, do not delay anyone else",
        hints: &[
            "do not read a username inside the accept loop: accept, start the connection's thread, and go back to accept",
        ],
        deps: &["chat-basic"],
        modes: false,
        run: load_idle_client,
    },
    TestCase {
        slug: "load-slow-reader",
        level: 6,
        rules: &["LOAD-3", "LOAD-4"],
        description: "a client that stops reading does not slow the others; it gets every frame in order or is disconnected",
        hints: &[
            "give each connection a bounded outgoing queue and its own writer thread; when the queue is full, send SLOW_CONSUMER and close",
            "a single sender thread that calls send() for every receiver in turn stops for everyone when one stops reading",
        ],
        deps: &["chat-order"],
        modes: false,
        run: super::slow_reader::load_slow_reader,
    },
    TestCase {
        slug: "load-garbage",
        level: 6,
        rules: &["LOAD-5"],
        description: "after binary garbage, invalid UTF-8, oversize lines and abrupt disconnects, a new client is served",
        hints: &[
            "catch errors per connection (try/except around the handler) so one bad client cannot kill the server",
        ],
        deps: &["chat-basic"],
        modes: false,
        run: load_garbage,
    },
    TestCase {
        slug: "load-server-full",
        level: 6,
        rules: &["LOAD-6"],
        description: "200 connections at once: each is served, or told SERVER_FULL and closed, never left hanging",
        hints: &[
            "if you limit connections, answer the extra one with 1900|SERVER_FULL|… and close it",
        ],
        deps: &["ping"],
        modes: false,
        run: load_server_full,
    },
    TestCase {
        slug: "load-shutdown",
        level: 6,
        rules: &["LOAD-7"],
        description: "on SIGTERM the server sends 1900|SHUTDOWN|… to every connection before closing it",
        hints: &[
            "handle SIGTERM (signal.signal(signal.SIGTERM, handler) in Python): send 1900|SHUTDOWN|… to everyone, then exit",
        ],
        deps: &["login-ok", "ping"],
        modes: false,
        run: load_shutdown,
    },
    TestCase {
        slug: "prop-garbage",
        level: 6,
        rules: &["LOAD-5"],
        description: "random binary garbage in random writes, then a fresh client must still get its PING answered",
        hints: &[
            "wrap each connection's handler in try/except: a decode error or a bad split must only end that connection",
        ],
        deps: &["ping"],
        modes: false,
        run: crate::session::garbage,
    },
];

fn load_many_clients(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(100)?;
    let mut conns = cx.logged_in(&accounts)?;
    let tag = cx.rng.hex(4);
    for s in 0..3 {
        for i in 0..5 {
            let text = format!("sender {s} message {i} {tag}");
            conns[s].send(&chat(&accounts[s].username, &text))?;
        }
    }
    let mut received: Vec<Vec<Vec<u8>>> = Vec::new();
    for conn in conns.iter_mut().take(3) {
        received.push(cx.fence(conn)?);
    }
    for (r, conn) in conns.iter_mut().enumerate() {
        let mut got = if r < 3 {
            std::mem::take(&mut received[r])
        } else {
            Vec::new()
        };
        got.extend(cx.fence(conn)?);
        for s in (0..3).filter(|&s| s != r) {
            let want: Vec<String> = (0..5)
                .map(|i| {
                    chat_out(
                        &accounts[s].nickname,
                        &format!("sender {s} message {i} {tag}"),
                    )
                })
                .collect();
            let mine: Vec<&Vec<u8>> = got
                .iter()
                .filter(|l| want.iter().any(|w| w.as_bytes() == l.as_slice()))
                .collect();
            if mine.len() != 5
                || mine
                    .iter()
                    .zip(&want)
                    .any(|(g, w)| g.as_slice() != w.as_bytes())
            {
                return Err(Failure::new(
                    "LOAD-1",
                    format!("{} got {} of sender {s}'s 5 chats in order; every receiver must get all of them", conn.name, mine.len()),
                )
                .into());
            }
        }
    }
    Ok(())
}

fn load_idle_client(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let _idle = cx.connect()?;
    let mut half = cx.connect()?;
    half.send_whole(b"0001|us")?;
    let started = Instant::now();
    let mut c = cx.logged_in(&accounts)?;
    let text = format!("not blocked {}", cx.rng.hex(4));
    c[0].send(&chat(&accounts[0].username, &text))?;
    c[1].expect(&chat_out(&accounts[0].nickname, &text), "LOAD-2")?;
    if started.elapsed() > cx.env.timing.reply * 2 {
        return Err(Failure::new(
            "LOAD-2",
            "logging in and chatting took too long while an idle client was connected",
        )
        .into());
    }
    Ok(())
}

fn load_garbage(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    for i in 0..20 {
        let mut g = cx.connect()?;
        let len = 1 + cx.rng.below(6000) as usize;
        let mut bytes = cx.rng.bytes(len);
        if i % 4 == 0 {
            bytes.extend_from_slice(b"\n0001|\xff\xfe|x\n");
        }
        let _ = g.send_whole(&bytes);
        g.close();
    }
    for _ in 0..30 {
        let conn = cx.connect()?;
        conn.close();
    }
    let mut c = cx.logged_in(&accounts).map_err(|f| {
        let mut f = f;
        f.rule = "LOAD-5".into();
        f.with_hint("after garbage and abrupt disconnects the server must still serve a new client")
    })?;
    let text = format!("still alive {}", cx.rng.hex(4));
    c[0].send(&chat(&accounts[0].username, &text))?;
    c[1].expect(&chat_out(&accounts[0].nickname, &text), "LOAD-5")?;
    Ok(())
}

fn load_server_full(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let mut conns = Vec::new();
    for _ in 0..200 {
        conns.push(cx.connect()?);
    }
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.send(&crate::frames::ping(&format!("full{i}")))?;
    }
    for (i, conn) in conns.iter_mut().enumerate() {
        match conn.read_line(cx.env.timing.reply) {
            Read1::Line(line) if line == format!("1007|full{i}").as_bytes() => {}
            Read1::Line(line) if line.starts_with(b"1900|SERVER_FULL|") => {
                conn.expect_eof("LOAD-6")?
            }
            Read1::Line(line) => {
                return Err(Failure::mismatch(
                    "LOAD-6",
                    format!("{} pinged", conn.name),
                    &format!("1007|full{i}"),
                    &line,
                )
                .into());
            }
            Read1::Eof => {
                return Err(Failure::new(
                    "LOAD-6",
                    format!("{} was closed without 1900|SERVER_FULL", conn.name),
                )
                .into());
            }
            Read1::Timeout { .. } => {
                return Err(Failure::new(
                    "LOAD-6",
                    format!(
                        "{} of 200 connections got no answer: it was left hanging",
                        conn.name
                    ),
                )
                .into());
            }
        }
    }
    Ok(())
}

fn load_shutdown(cx: &mut Cx) -> Outcome {
    let Some(process) = cx.server.process.as_ref() else {
        return Err(Stop::Skip(
            "needs to signal the server, which only works with --cmd".into(),
        ));
    };
    let _ = process;
    let accounts = cx.accounts(1)?;
    let mut c = cx.logged_in(&accounts)?;
    let mut idle = cx.connect()?;
    // A ping answered proves the server has accepted this connection (a
    // connection still in the listen backlog cannot be told anything).
    cx.fence(&mut idle)?;
    cx.tx.note("--", "the grader sends SIGTERM to the server");
    if let Some(p) = cx.server.process.as_ref() {
        p.signal("TERM");
    }
    for conn in [&mut c[0], &mut idle] {
        conn.ignore.push("1010");
        conn.expect("1900|SHUTDOWN|*", "LOAD-7")?;
        conn.expect_eof("LOAD-7")?;
    }
    Ok(())
}
