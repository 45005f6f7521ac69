//! Level 4: private chat and history (PRIV, HIST).
//!
//! History tests read the frames that follow a login themselves, so they can
//! compare every `1011` with the messages the test sent.

use std::time::{SystemTime, UNIX_EPOCH};

use protocol::escape::escape;

use crate::check::{Failure, Outcome, field};
use crate::conn::Conn;
use crate::cx::{Account, Cx, chat};
use crate::frames;

use super::TestCase;

/// The Level 4 tests.
pub const TESTS: &[TestCase] = &[
    TestCase {
        slug: "priv-basic",
        level: 4,
        rules: &["PRIV-1", "PRIV-4"],
        description: "a private message reaches its recipient only, as 1004|from|nickname|text, with no echo",
        hints: &[
            "send 1004 to the recipient's socket only; the sender gets nothing back",
            "from is the sender's username taken from the connection, not from the frame",
        ],
        deps: &["chat-basic", "ping"],
        modes: true,
        run: priv_basic,
    },
    TestCase {
        slug: "priv-offline",
        level: 4,
        rules: &["PRIV-2"],
        description: "a private message to an unknown or offline user gets USER_OFFLINE",
        hints: &["look the recipient up in the online table; if absent answer 1900|USER_OFFLINE|…"],
        deps: &["priv-basic"],
        modes: false,
        run: priv_offline,
    },
    TestCase {
        slug: "priv-self",
        level: 4,
        rules: &["PRIV-3"],
        description: "a private message to oneself gets BAD_FIELD",
        hints: &["compare the recipient with the sender's username before delivering"],
        deps: &["priv-basic"],
        modes: false,
        run: priv_self,
    },
    TestCase {
        slug: "priv-not-logged-in",
        level: 4,
        rules: &["ERR-4"],
        description: "0004 before login gets NOT_LOGGED_IN",
        hints: &["check the login state before handling 0004"],
        deps: &["ping"],
        modes: false,
        run: priv_not_logged_in,
    },
    TestCase {
        slug: "hist-replay",
        level: 4,
        rules: &["HIST-1", "HIST-2"],
        description: "after the list, a login replays group chat and the user's own private messages, then 1012|count",
        hints: &[
            "store every chat and private message with its time, sender and recipient",
            "replay a private message only to its sender and its recipient (HIST-2)",
        ],
        deps: &["priv-basic", "login-list"],
        modes: false,
        run: hist_replay,
    },
    TestCase {
        slug: "hist-limit",
        level: 4,
        rules: &["HIST-3"],
        description: "with more than 20 messages, at least the 20 most recent are replayed, oldest first",
        hints: &[
            "keep at least 20 messages (a deque(maxlen=500) will do) and replay the most recent ones",
        ],
        deps: &["hist-replay"],
        modes: false,
        run: hist_limit,
    },
    TestCase {
        slug: "hist-restart",
        level: 4,
        rules: &["HIST-4"],
        description: "history survives the server being stopped (SIGTERM) and started again",
        hints: &["append each message to a file in the data directory and load it at startup"],
        deps: &["hist-replay"],
        modes: false,
        run: hist_restart,
    },
    TestCase {
        slug: "hist-times",
        level: 4,
        rules: &["HIST-5"],
        description: "history times are the server's Unix seconds at receipt and never decrease",
        hints: &["use int(time.time()) when the message arrives, not when it is replayed"],
        deps: &["hist-replay"],
        modes: false,
        run: hist_times,
    },
];

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn private(to: &str, text: &str) -> Vec<u8> {
    frames::private(to, text)
}

/// Logs in reading every frame: returns the `1011` lines and checks `1012`.
fn login_history(cx: &mut Cx, account: &Account) -> Result<(Conn, Vec<Vec<u8>>), Failure> {
    let mut conn = cx.connect()?;
    conn.ignore.clear();
    cx.login_accepted(&mut conn, account)?;
    conn.expect("1006|**", "LOGIN-7")?;
    let mut history = Vec::new();
    loop {
        let line = conn.expect("*|**", "HIST-1")?;
        if line.starts_with(b"1011|") {
            history.push(line);
            continue;
        }
        let want = format!("1012|{}", history.len());
        if line != want.as_bytes() {
            return Err(Failure::mismatch(
                "HIST-1",
                "after the 1011 frames comes 1012|count of them",
                &want,
                &line,
            ));
        }
        break;
    }
    conn.ignore = crate::cx::BACKGROUND_IDS.to_vec();
    Ok((conn, history))
}

/// Checks history entries against (from, nickname, to, text) tuples, in order.
fn check_history(got: &[Vec<u8>], want: &[(&Account, &str, &str)], rule: &str) -> Outcome {
    let patterns: Vec<String> = want
        .iter()
        .map(|(from, to, text)| {
            format!(
                "1011|*|{}|{}|{}|{}",
                escape(&from.username),
                escape(&from.nickname),
                escape(to),
                escape(text)
            )
        })
        .collect();
    for (i, pattern) in patterns.iter().enumerate() {
        match got.get(i) {
            Some(line) if crate::check::matches(pattern, line) => {}
            Some(line) => {
                return Err(Failure::mismatch(
                    rule,
                    format!("history entry {} is wrong", i + 1),
                    pattern,
                    line,
                )
                .into());
            }
            None => {
                return Err(Failure::new(
                    rule,
                    format!(
                        "the history has {} entries; expected {}: next `{pattern}`",
                        got.len(),
                        patterns.len()
                    ),
                )
                .into());
            }
        }
    }
    if let Some(extra) = got.get(patterns.len()) {
        return Err(Failure::mismatch(
            rule,
            "the history has an entry this user may not see or that was never sent",
            "1012|…",
            extra,
        )
        .into());
    }
    Ok(())
}

fn priv_basic(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(3)?;
    let mut c = cx.logged_in(&accounts)?;
    let text = format!("开，八点见 {}", cx.rng.hex(4));
    c[0].send(&private(&accounts[1].username, &text))?;
    let (a, rest) = c.split_at_mut(1);
    let (b, third) = rest.split_at_mut(1);
    let want = format!(
        "1004|{}|{}|{}",
        escape(&accounts[0].username),
        escape(&accounts[0].nickname),
        escape(&text)
    );
    b[0].expect(&want, "PRIV-1")?;
    // The sender's fence first: then everything its 0004 caused is queued (PING-2).
    cx.silent(
        &mut [&mut a[0]],
        "PRIV-4",
        "the sender of a private message gets nothing back",
    )?;
    cx.silent(
        &mut [&mut third[0]],
        "PRIV-1",
        "a private message goes to its recipient only",
    )
}

fn priv_offline(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts[..1])?;
    c[0].send(&private(&format!("nobody{}", cx.rng.hex(4)), "你在吗"))?;
    c[0].expect("1900|USER_OFFLINE|*", "PRIV-2")?;
    c[0].send(&private(&accounts[1].username, "你在吗"))?;
    c[0].expect("1900|USER_OFFLINE|*", "PRIV-2")?;
    Ok(())
}

fn priv_self(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(1)?;
    let mut c = cx.logged_in(&accounts)?;
    c[0].send(&private(&accounts[0].username, "note to self"))?;
    c[0].expect("1900|BAD_FIELD|*", "PRIV-3")?;
    Ok(())
}

fn priv_not_logged_in(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    c1.send(&private("user1", "hi"))?;
    c1.expect("1900|NOT_LOGGED_IN|*", "ERR-4")?;
    Ok(())
}

fn hist_replay(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(3)?;
    let (a, b, c) = (&accounts[0], &accounts[1], &accounts[2]);
    let mut conns = cx.logged_in(&accounts[..2])?;
    let group = format!("今晚开会吗？ {}", cx.rng.hex(4));
    let secret = format!("开，八点见 {}", cx.rng.hex(4));
    conns[0].send(&chat(&a.username, &group))?;
    conns[1].expect(&crate::cx::chat_out(&a.nickname, &group), "CHAT-1")?;
    conns[1].send(&private(&a.username, &secret))?;
    conns[0].expect(
        &format!(
            "1004|{}|{}|{}",
            escape(&b.username),
            escape(&b.nickname),
            escape(&secret)
        ),
        "PRIV-1",
    )?;
    let (_cc, history) = login_history(cx, c)?;
    check_history(&history, &[(a, "", &group)], "HIST-2")?;
    // The server may not have seen A's close yet when A logs in again:
    // `login_accepted` waits for that (nothing on B's connection can order it).
    conns.remove(0).close();
    let (_ca, history) =
        login_history(cx, a).map_err(|f| f.with_hint("a user who logged out may log in again"))?;
    check_history(
        &history,
        &[(a, "", &group), (b, &a.username, &secret)],
        "HIST-1",
    )?;
    Ok(())
}

fn hist_limit(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(3)?;
    let mut conns = cx.logged_in(&accounts[..2])?;
    let tag = cx.rng.hex(4);
    let texts: Vec<String> = (1..=25).map(|i| format!("history {i} {tag}")).collect();
    for text in &texts {
        conns[0].send(&chat(&accounts[0].username, text))?;
    }
    cx.fence(&mut conns[0])?;
    let (_c, history) = login_history(cx, &accounts[2])?;
    if history.len() < protocol::limits::MIN_HISTORY
        || history.len() > protocol::limits::MAX_HISTORY
    {
        return Err(Failure::new(
            "HIST-3",
            format!(
                "after 25 messages the history replayed {}; at least 20 are required",
                history.len()
            ),
        )
        .into());
    }
    let kept = &texts[texts.len() - history.len()..];
    let want: Vec<(&Account, &str, &str)> = kept
        .iter()
        .map(|t| (&accounts[0], "", t.as_str()))
        .collect();
    check_history(&history, &want, "HIST-3")
}

fn hist_restart(cx: &mut Cx) -> Outcome {
    if cx.server.process.is_none() {
        return Err(crate::check::Stop::Skip(
            "needs to restart the server, which only works with --cmd".into(),
        ));
    }
    let accounts = cx.accounts(3)?;
    let mut conns = cx.logged_in(&accounts[..2])?;
    let text = format!("remember me {}", cx.rng.hex(4));
    conns[0].send(&chat(&accounts[0].username, &text))?;
    conns[1].expect(&crate::cx::chat_out(&accounts[0].nickname, &text), "CHAT-1")?;
    drop(conns);
    cx.restart(true)?;
    let (_c, history) = login_history(cx, &accounts[2])?;
    let found = history.iter().any(|l| field(l, 5) == escape(&text));
    if !found {
        return Err(Failure::new(
            "HIST-4",
            "a message sent before the restart is missing from the history after it",
        )
        .with_hint("save history to the data directory as messages arrive")
        .into());
    }
    Ok(())
}

fn hist_times(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(3)?;
    let mut conns = cx.logged_in(&accounts[..2])?;
    let before = now();
    for i in 0..5 {
        conns[0].send(&chat(&accounts[0].username, &format!("tick {i}")))?;
    }
    cx.fence(&mut conns[0])?;
    let after = now();
    let (_c, history) = login_history(cx, &accounts[2])?;
    let mut last = 0;
    for line in &history {
        let time: u64 = field(line, 1).parse().map_err(|_| {
            Failure::mismatch(
                "HIST-5",
                "the time of a history entry is not a decimal count of seconds",
                "1011|<unix seconds>|**",
                line,
            )
        })?;
        if time + 2 < before || time > after + 2 {
            return Err(Failure::mismatch(
                "HIST-5",
                format!(
                    "the time {time} is not when the message arrived (between {before} and {after})"
                ),
                &format!("1011|{before}|**"),
                line,
            )
            .into());
        }
        if time < last {
            return Err(Failure::mismatch(
                "HIST-5",
                "history times went backwards",
                &format!("1011|{last}|**"),
                line,
            )
            .into());
        }
        last = time;
    }
    Ok(())
}
