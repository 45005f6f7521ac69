//! Level 1: login and group chat, one frame per line (FRAME-1, FRAME-2,
//! LOGIN-1 to LOGIN-4, CHAT-1 to CHAT-4, EMOJI-1, EMOJI-2).
//!
//! These are the seed report's own features; a seed-style server passes them
//! once it ends every frame with LF and reads frames with a buffer.

use crate::check::{Failure, Outcome};
use crate::conn::Read1;
use crate::cx::{Cx, chat, chat_out};
use crate::frames::login;

use super::TestCase;

/// The Level 1 tests.
pub const TESTS: &[TestCase] = &[
    TestCase {
        slug: "login-ok",
        level: 1,
        rules: &["LOGIN-1", "LOGIN-2", "FRAME-1"],
        description: "a seed account logs in and gets exactly one 1001|1|nickname|username",
        hints: &[
            "end every frame you send with \"\\n\": the client reads lines, not recv() chunks (FRAME-1)",
            "answer 1001|1|nickname|username: nickname first, then username (LOGIN-2)",
        ],
        deps: &[],
        modes: true,
        run: login_ok,
    },
    TestCase {
        slug: "login-wrong-password",
        level: 1,
        rules: &["LOGIN-3"],
        description: "a wrong password gets 1001|0|…|…, and the same connection can then log in",
        hints: &[
            "after a failed login keep the connection open: do not break out of the receive loop",
            "the failure frame has four fields: 1001|0|reason|username",
        ],
        deps: &["login-ok"],
        modes: false,
        run: login_wrong_password,
    },
    TestCase {
        slug: "login-unknown-user",
        level: 1,
        rules: &["LOGIN-3"],
        description: "an unknown username gets 1001|0|…|… instead of a crash",
        hints: &[
            "look the user up with accounts.get(username), not accounts[username], which raises KeyError",
        ],
        deps: &["login-ok"],
        modes: false,
        run: login_unknown_user,
    },
    TestCase {
        slug: "login-many",
        level: 1,
        rules: &["LOGIN-4"],
        description: "three clients connect first, then log in in reverse order; each gets its answer",
        hints: &[
            "serve each connection in its own thread; never call recv() for a new client inside the accept loop",
        ],
        deps: &["login-ok"],
        modes: false,
        run: login_many,
    },
    TestCase {
        slug: "chat-basic",
        level: 1,
        rules: &["CHAT-1"],
        description: "a chat from one user reaches another as 1002|nickname|text",
        hints: &[
            "deliver 1002|nickname|text with the sender's nickname, not their username",
            "look the sender up by the connection it came on, not by the name inside the frame",
        ],
        deps: &["login-ok"],
        modes: true,
        run: chat_basic,
    },
    TestCase {
        slug: "chat-no-echo",
        level: 1,
        rules: &["CHAT-2"],
        description: "the sender of a chat does not get its own message back",
        hints: &[
            "skip the sender's own socket when you forward a chat: the client shows its own message itself",
        ],
        deps: &["chat-basic"],
        modes: false,
        run: chat_no_echo,
    },
    TestCase {
        slug: "chat-not-logged-in",
        level: 1,
        rules: &["CHAT-3"],
        description: "a connection that is not logged in (or failed to) receives no chat",
        hints: &[
            "forward chats only to connections in your logged-in table, not to every socket that connected",
        ],
        deps: &["chat-basic"],
        modes: false,
        run: chat_not_logged_in,
    },
    TestCase {
        slug: "chat-order",
        level: 1,
        rules: &["CHAT-4", "FRAME-1"],
        description: "thirty chats sent in one write arrive complete and in order",
        hints: &[
            "one recv() is not one frame: append what recv() returns to a buffer and take out complete lines (粘包)",
            "forward chats from one reader thread per connection, in the order you read them",
        ],
        deps: &["chat-basic"],
        modes: false,
        run: chat_order,
    },
    TestCase {
        slug: "chat-utf8",
        level: 1,
        rules: &["FRAME-2", "CHAT-1"],
        description: "Chinese text and emoji travel byte for byte",
        hints: &[
            "decode only complete lines: a recv() can end in the middle of a UTF-8 character",
            "encode with UTF-8 on both sides: .encode(\"utf-8\") and .decode(\"utf-8\")",
        ],
        deps: &["chat-basic"],
        modes: true,
        run: chat_utf8,
    },
    TestCase {
        slug: "emoji-shortcodes",
        level: 1,
        rules: &["EMOJI-1", "EMOJI-2"],
        description: "emoji shortcodes, known and unknown, are delivered unchanged",
        hints: &[
            "the server never interprets :happy: and friends; only clients turn them into images (EMOJI-2)",
        ],
        deps: &["chat-basic"],
        modes: false,
        run: emoji_shortcodes,
    },
];

fn login_ok(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    cx.login(&mut c1, &account)?;
    cx.silent(
        &mut [&mut c1],
        "LOGIN-1",
        "a login is answered with exactly one 1001",
    )
}

fn login_wrong_password(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(2)?.remove(1);
    let mut c1 = cx.connect()?;
    c1.send(&login(
        &account.username,
        &format!("wrong{}", cx.rng.hex(4)),
    ))?;
    c1.expect("1001|0|*|*", "LOGIN-3")?;
    cx.login(&mut c1, &account).map_err(|f| {
        f.with_hint(
            "the connection must stay open and not logged in after a failed login (LOGIN-3)",
        )
    })?;
    Ok(())
}

fn login_unknown_user(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    c1.send(&login(&format!("nobody{}", cx.rng.hex(6)), "x"))?;
    c1.expect("1001|0|*|*", "LOGIN-3")?;
    cx.login(&mut c1, &account)?;
    Ok(())
}

fn login_many(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(3)?;
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(cx.connect()?);
    }
    for (conn, account) in conns.iter_mut().zip(&accounts).rev() {
        cx.login(conn, account).map_err(|f| {
            let mut f = f;
            f.rule = "LOGIN-4".into();
            f.with_hint("a connection that has not sent anything yet must not stop the server from serving the others")
        })?;
    }
    Ok(())
}

fn chat_basic(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let text = format!("hello {}", cx.rng.hex(6));
    c[0].send(&chat(&accounts[0].username, &text))?;
    c[1].expect(&chat_out(&accounts[0].nickname, &text), "CHAT-1")?;
    Ok(())
}

fn chat_no_echo(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let text = format!("only for others {}", cx.rng.hex(6));
    c[0].send(&chat(&accounts[0].username, &text))?;
    c[1].expect(&chat_out(&accounts[0].nickname, &text), "CHAT-1")?;
    let (a, _) = c.split_at_mut(1);
    cx.silent(&mut [&mut a[0]], "CHAT-2", "its own chat came back (echo)")
}

fn chat_not_logged_in(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut lurker = cx.connect()?;
    let mut failed = cx.connect()?;
    failed.send(&login(&accounts[1].username, "not-the-password"))?;
    failed.expect("1001|0|*|*", "LOGIN-3")?;
    let mut c = cx.logged_in(&accounts)?;
    let text = format!("members only {}", cx.rng.hex(6));
    c[0].send(&chat(&accounts[0].username, &text))?;
    c[1].expect(&chat_out(&accounts[0].nickname, &text), "CHAT-1")?;
    cx.silent(
        &mut [&mut lurker, &mut failed],
        "CHAT-3",
        "it is not logged in, so it must not receive chat",
    )
}

fn chat_order(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let tag = cx.rng.hex(4);
    let texts: Vec<String> = (1..=30)
        .map(|i| format!("message {i} of 30 ({tag})"))
        .collect();
    // Thirty frames in one write: one recv() holds many of them (粘包),
    // which is what every seed server gets wrong.
    let burst: Vec<u8> = texts
        .iter()
        .flat_map(|t| chat(&accounts[0].username, t))
        .collect();
    c[0].send(&burst)?;
    for text in &texts {
        c[1].expect(&chat_out(&accounts[0].nickname, text), "CHAT-4")?;
    }
    Ok(())
}

fn chat_utf8(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let text = format!("大家好！今晚开会吗？😀👍 こんにちは {}", cx.rng.hex(4));
    c[0].send(&chat(&accounts[0].username, &text))?;
    c[1].expect(&chat_out(&accounts[0].nickname, &text), "FRAME-2")?;
    Ok(())
}

fn emoji_shortcodes(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let text = ":happy: :cute: :love: :joy: :sob: :sweat: :upset: and :no_such_emoji:";
    c[0].send(&chat(&accounts[0].username, text))?;
    match c[1].next_frame() {
        Read1::Line(line) if line == chat_out(&accounts[0].nickname, text).as_bytes() => Ok(()),
        Read1::Line(line) => Err(Failure::mismatch(
            "EMOJI-1",
            "the shortcodes were changed on the way",
            &chat_out(&accounts[0].nickname, text),
            &line,
        )
        .into()),
        other => Err(Failure::new("CHAT-1", format!("C2 got no chat: {other:?}")).into()),
    }
}
