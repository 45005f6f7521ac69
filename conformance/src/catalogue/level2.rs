//! Level 2: framing details, escaping, error frames and ping (FRAME-3 to
//! FRAME-7, ESC, CHAT-5, ERR, PING).
//!
//! Most checks send one bad frame and then a PING fence: the fence proves the
//! server answered with exactly one `1900` and nothing else (ERR-1, PING-2).

use crate::check::{Failure, Outcome, matches};
use crate::conn::Conn;
use crate::cx::{Cx, chat, chat_out};
use crate::frames::{login, ping as ping_frame};

use super::TestCase;

/// The Level 2 tests.
pub const TESTS: &[TestCase] = &[
    TestCase {
        slug: "ping",
        level: 2,
        rules: &["PING-1"],
        description: "0007|token is answered 1007|token, before any login",
        hints: &["answer 0007|token with 1007|token on any connection, logged in or not"],
        deps: &[],
        modes: true,
        run: ping,
    },
    TestCase {
        slug: "frame-split",
        level: 2,
        rules: &["FRAME-3"],
        description: "a frame that arrives in two reads is one frame",
        hints: &[
            "keep a buffer per connection: buf += sock.recv(4096); then, while b\"\\n\" in buf, cut one line off the front (半包)",
        ],
        deps: &["ping"],
        modes: false,
        run: frame_split,
    },
    TestCase {
        slug: "frame-sticky",
        level: 2,
        rules: &["FRAME-3"],
        description: "three frames in one write are three frames, answered in order",
        hints: &[
            "one recv() can hold several frames (粘包): handle every complete line in the buffer, not just the first",
        ],
        deps: &["ping"],
        modes: false,
        run: frame_sticky,
    },
    TestCase {
        slug: "frame-crlf",
        level: 2,
        rules: &["FRAME-4"],
        description: "frames ending in CR LF are accepted without the CR; the server ends its own with LF alone",
        hints: &[
            "strip one \\r before the \\n (line.removesuffix(b\"\\r\")): telnet and Windows clients send CR LF",
            "otherwise the password arrives as \"114514\\r\" and the login fails",
        ],
        deps: &["ping", "login-ok"],
        modes: false,
        run: frame_crlf,
    },
    TestCase {
        slug: "frame-too-long",
        level: 2,
        rules: &["FRAME-5", "ERR-3"],
        description: "a 4096-byte frame is accepted; a longer line gets one TOO_LONG and the connection goes on",
        hints: &[
            "stop buffering at 4096 bytes without an LF, answer 1900|TOO_LONG|… once, and drop bytes until the next LF",
        ],
        deps: &["frame-sticky", "ping", "chat-basic"],
        modes: false,
        run: frame_too_long,
    },
    TestCase {
        slug: "frame-control-bytes",
        level: 2,
        rules: &["FRAME-6"],
        description: "a frame holding NUL or a bare CR is answered MALFORMED",
        hints: &["check each line for b\"\\x00\" and b\"\\r\" before you split it"],
        deps: &["frame-sticky", "ping"],
        modes: false,
        run: frame_control_bytes,
    },
    TestCase {
        slug: "frame-empty-lines",
        level: 2,
        rules: &["FRAME-7"],
        description: "empty lines (LF, CR LF) get no answer at all",
        hints: &["skip empty lines before parsing: if not line: continue"],
        deps: &["frame-sticky", "ping"],
        modes: false,
        run: frame_empty_lines,
    },
    TestCase {
        slug: "esc-roundtrip",
        level: 2,
        rules: &["ESC-1", "ESC-2", "CHAT-1"],
        description: "text holding |, \\, newline and CR travels escaped and arrives whole",
        hints: &[
            "split the line on | first, then unescape each field: \\\\ → \\, \\p → |, \\n → LF, \\r → CR",
            "a server that forwards text should escape it again when it builds 1002 (or forward the escaped field as is)",
            "with text.split(\"|\") and no escaping, `a|b` loses everything after the |",
        ],
        deps: &["ping", "chat-basic"],
        modes: true,
        run: esc_roundtrip,
    },
    TestCase {
        slug: "esc-bad",
        level: 2,
        rules: &["ESC-3"],
        description: "an unknown escape (\\q) or a lone trailing backslash gets BAD_ESCAPE and is not delivered",
        hints: &["after a backslash only \\, p, n and r may follow; anything else is BAD_ESCAPE"],
        deps: &["frame-sticky", "ping", "chat-basic"],
        modes: false,
        run: esc_bad,
    },
    TestCase {
        slug: "chat-empty-text",
        level: 2,
        rules: &["CHAT-5"],
        description: "a chat with empty text gets BAD_FIELD and is not delivered",
        hints: &["reject an empty text with 1900|BAD_FIELD|… before forwarding"],
        deps: &["frame-sticky", "ping", "chat-basic"],
        modes: false,
        run: chat_empty_text,
    },
    TestCase {
        slug: "err-codes",
        level: 2,
        rules: &["ERR-1", "ERR-2"],
        description: "unknown ids, junk, wrong field counts, bad tokens and invalid UTF-8 each get exactly one 1900 with the right code",
        hints: &[
            "answer every frame you cannot act on with exactly one 1900|CODE|reason; never ignore it silently",
            "decode bytes with errors caught: invalid UTF-8 is NOT_UTF8, not a crashed thread",
        ],
        deps: &["frame-sticky", "ping"],
        modes: false,
        run: err_codes,
    },
    TestCase {
        slug: "err-order",
        level: 2,
        rules: &["ERR-7", "ERR-2"],
        description: "when several codes apply, the first in ERR-7's order wins",
        hints: &[
            "check in this order: UTF-8, NUL/CR and id syntax, unknown id, field count, escapes, field syntax, field values, login state",
        ],
        deps: &["frame-sticky", "ping", "login-ok"],
        modes: false,
        run: err_order,
    },
    TestCase {
        slug: "err-login-state",
        level: 2,
        rules: &["ERR-4"],
        description: "a chat before login gets NOT_LOGGED_IN; a login while logged in gets ALREADY_LOGGED_IN",
        hints: &[
            "remember per connection whether it is logged in, and check it before acting on a frame",
        ],
        deps: &["frame-sticky", "ping", "login-ok"],
        modes: false,
        run: err_login_state,
    },
    TestCase {
        slug: "err-impersonation",
        level: 2,
        rules: &["ERR-5"],
        description: "a chat that claims another user's name gets IMPERSONATION and is not delivered",
        hints: &[
            "the username inside 0002 is only a claim: compare it with the user logged in on this connection",
        ],
        deps: &["frame-sticky", "ping", "chat-basic"],
        modes: false,
        run: err_impersonation,
    },
    TestCase {
        slug: "err-stays-open",
        level: 2,
        rules: &["ERR-6", "ERR-1"],
        description: "after error frames the connection keeps working and nothing changed (a second login does not switch users)",
        hints: &[
            "after sending 1900, continue the receive loop; do not close the socket",
            "a frame that gets an error must not change state: ALREADY_LOGGED_IN leaves the first login in place",
        ],
        deps: &["frame-sticky", "ping", "chat-basic"],
        modes: false,
        run: err_stays_open,
    },
    TestCase {
        slug: "ping-fence",
        level: 2,
        rules: &["PING-2", "PING-1"],
        description: "chats sent before a ping have reached every receiver when the pong comes back",
        hints: &[
            "handle one connection's frames in order and queue a chat to every receiver before reading the next frame",
        ],
        deps: &["frame-sticky", "ping", "chat-basic"],
        modes: false,
        run: ping_fence,
    },
    TestCase {
        slug: "prop-sessions",
        level: 2,
        rules: &["CHAT-1", "CHAT-4", "ERR-1", "PING-2"],
        description: "random sessions of three clients (logins, chats with |, \\ and newlines, forgeries, bad frames) match SPEC.md's model step by step",
        hints: &["the report shows the shortest session that fails: replay it by hand with nc"],
        deps: &[
            "chat-basic",
            "err-codes",
            "err-impersonation",
            "err-login-state",
            "esc-roundtrip",
        ],
        modes: false,
        run: crate::session::sessions,
    },
];

/// Sends `bytes` and checks that exactly one frame matching `pattern` comes
/// back before the fence.
fn one_answer(cx: &mut Cx, conn: &mut Conn, bytes: &[u8], pattern: &str, rule: &str) -> Outcome {
    conn.send(bytes)?;
    let got = cx.fence(conn)?;
    match got.as_slice() {
        [one] if matches(pattern, one) => Ok(()),
        [one] => Err(Failure::mismatch(
            rule,
            format!(
                "{} sent `{}` and got the wrong answer",
                conn.name,
                crate::transcript::short(bytes.strip_suffix(b"\n").unwrap_or(bytes))
            ),
            pattern,
            one,
        )
        .into()),
        [] => Err(Failure::new(
            "ERR-1",
            format!(
                "{} sent `{}` and got no answer before the fence's 1007: expected `{pattern}`",
                conn.name,
                crate::transcript::short(bytes.strip_suffix(b"\n").unwrap_or(bytes))
            ),
        )
        .into()),
        [first, ..] => Err(Failure::mismatch(
            "ERR-1",
            format!(
                "{} got {} frames for one frame; exactly one is allowed",
                conn.name,
                got.len()
            ),
            pattern,
            first,
        )
        .into()),
    }
}

fn ping(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    let token = format!("tok-{}", cx.rng.hex(8));
    c1.send(&ping_frame(&token))?;
    c1.expect(&format!("1007|{token}"), "PING-1")?;
    Ok(())
}

fn frame_split(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    c1.send_whole(b"0007|hal")?;
    // Give the server a quiet window to (wrongly) answer the half frame, so a
    // server that takes one recv() for one frame fails every time.
    if let crate::conn::Read1::Line(early) = c1.read_line(cx.env.timing.quiet) {
        return Err(Failure::mismatch(
            "FRAME-3",
            "C1 sent half a frame and the server answered it as if it were whole",
            "(nothing until the LF)",
            &early,
        )
        .into());
    }
    c1.send_whole(b"f-frame\n")?;
    c1.expect("1007|half-frame", "FRAME-3")?;
    Ok(())
}

fn frame_sticky(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    let three: Vec<u8> = ["one", "two", "three"]
        .iter()
        .flat_map(|t| ping_frame(t))
        .collect();
    c1.send_whole(&three)?;
    for token in ["one", "two", "three"] {
        c1.expect(&format!("1007|{token}"), "FRAME-3")?;
    }
    Ok(())
}

fn frame_crlf(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    c1.send_whole(&with_cr(ping_frame("crlf")))?;
    c1.expect("1007|crlf", "FRAME-4")?;
    c1.send_whole(&with_cr(login(&account.username, &account.password)))?;
    c1.expect(
        &format!("1001|1|{}|{}", account.nickname, account.username),
        "FRAME-4",
    )?;
    if c1.saw_crlf {
        return Err(Failure::new(
            "FRAME-4",
            "the server ended a frame with CR LF; a sender must end frames with LF alone",
        )
        .with_hint("send frame + \"\\n\", not \"\\r\\n\"")
        .into());
    }
    Ok(())
}

fn frame_too_long(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    // Exactly MAX_FRAME bytes with the LF: must be delivered.
    let head = format!("0002|{}|", accounts[0].username);
    let text = "x".repeat(protocol::limits::MAX_FRAME - head.len() - 1);
    c[0].send_whole(format!("{head}{text}\n").as_bytes())?;
    c[1].expect(&chat_out(&accounts[0].nickname, &text), "FRAME-5")
        .map_err(|f| f.with_hint("a frame of exactly 4096 bytes including its LF is allowed"))?;
    // One byte more: TOO_LONG, once, and the connection goes on.
    let mut long = format!("{head}{text}y\n").into_bytes();
    let (a, rest) = c.split_at_mut(1);
    one_answer(cx, &mut a[0], &long, "1900|TOO_LONG|*", "ERR-3")?;
    // A much longer line in several writes: still one error.
    long = vec![b'z'; 3 * protocol::limits::MAX_FRAME];
    a[0].send_whole(&long[..5000])?;
    a[0].send_whole(&long[5000..])?;
    one_answer(cx, &mut a[0], b"\n", "1900|TOO_LONG|*", "ERR-3")?;
    // Nothing of the oversize lines reached the other user.
    cx.silent(
        &mut [&mut rest[0]],
        "FRAME-5",
        "an oversize line must be discarded",
    )
}

fn frame_control_bytes(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    // In a login, so that nothing but the control byte makes the frame wrong.
    one_answer(
        cx,
        &mut c1,
        b"0001|a\x00b|x\n",
        "1900|MALFORMED|*",
        "FRAME-6",
    )?;
    one_answer(cx, &mut c1, b"0001|a\rb|x\n", "1900|MALFORMED|*", "FRAME-6")?;
    Ok(())
}

fn frame_empty_lines(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    c1.send_whole(b"\n\r\n\n")?;
    cx.silent(
        &mut [&mut c1],
        "FRAME-7",
        "an empty line is not a frame and gets no answer",
    )
}

fn esc_roundtrip(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let text = format!("a|b\\c\n第二行 | \\p is not an escape\r{}", cx.rng.hex(4));
    c[0].send(&chat(&accounts[0].username, &text))?;
    c[1].expect(&chat_out(&accounts[0].nickname, &text), "ESC-1")?;
    Ok(())
}

fn esc_bad(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let user = accounts[0].username.clone();
    let (a, b) = c.split_at_mut(1);
    one_answer(
        cx,
        &mut a[0],
        format!("0002|{user}|bad\\q\n").as_bytes(),
        "1900|BAD_ESCAPE|*",
        "ESC-3",
    )?;
    one_answer(
        cx,
        &mut a[0],
        format!("0002|{user}|ends with \\\n").as_bytes(),
        "1900|BAD_ESCAPE|*",
        "ESC-3",
    )?;
    cx.silent(
        &mut [&mut b[0]],
        "ESC-3",
        "a frame with a bad escape must be ignored",
    )
}

fn chat_empty_text(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let user = accounts[0].username.clone();
    let (a, b) = c.split_at_mut(1);
    one_answer(
        cx,
        &mut a[0],
        format!("0002|{user}|\n").as_bytes(),
        "1900|BAD_FIELD|*",
        "CHAT-5",
    )?;
    cx.silent(
        &mut [&mut b[0]],
        "CHAT-5",
        "an empty chat must not be delivered",
    )
}

fn err_codes(cx: &mut Cx) -> Outcome {
    let mut c1 = cx.connect()?;
    let cases: [(&[u8], &str); 7] = [
        (b"9999|x\n", "1900|UNKNOWN_TYPE|*"),
        (b"1002|konbi|hi\n", "1900|UNKNOWN_TYPE|*"),
        (b"hello\n", "1900|MALFORMED|*"),
        (b"0007\n", "1900|MALFORMED|*"),
        (b"0007|a|b\n", "1900|MALFORMED|*"),
        (b"0007|not a token!\n", "1900|MALFORMED|*"),
        (b"0007|\xff\xfe\n", "1900|NOT_UTF8|*"),
    ];
    for (bytes, pattern) in cases {
        one_answer(cx, &mut c1, bytes, pattern, "ERR-2")?;
    }
    Ok(())
}

fn err_order(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c1 = cx.connect()?;
    let cases: [(&[u8], &str); 7] = [
        (b"\xff9999|\x00\n", "1900|NOT_UTF8|*"),
        (b"9999|a\x00\n", "1900|MALFORMED|*"),
        (b"9999|\\q\n", "1900|UNKNOWN_TYPE|*"),
        (b"0002|\\q\n", "1900|MALFORMED|*"),
        (b"0002|user1|\\q\n", "1900|BAD_ESCAPE|*"),
        (b"0002|user1|\n", "1900|BAD_FIELD|*"),
        (b"0002|a b|hi\n", "1900|BAD_FIELD|*"),
    ];
    for (bytes, pattern) in cases {
        one_answer(cx, &mut c1, bytes, pattern, "ERR-7")?;
    }
    cx.login(&mut c1, &accounts[0])?;
    let claim = format!("0002|{}|\n", accounts[1].username);
    one_answer(cx, &mut c1, claim.as_bytes(), "1900|BAD_FIELD|*", "ERR-7")?;
    Ok(())
}

fn err_login_state(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    one_answer(
        cx,
        &mut c1,
        &chat(&account.username, "too early"),
        "1900|NOT_LOGGED_IN|*",
        "ERR-4",
    )?;
    cx.login(&mut c1, &account)?;
    let again = login(&account.username, &account.password);
    one_answer(cx, &mut c1, &again, "1900|ALREADY_LOGGED_IN|*", "ERR-4")
}

fn err_impersonation(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let (a, b) = c.split_at_mut(1);
    let forged = chat(&accounts[1].username, "我是管理员");
    one_answer(cx, &mut a[0], &forged, "1900|IMPERSONATION|*", "ERR-5")?;
    cx.silent(
        &mut [&mut b[0]],
        "ERR-5",
        "a chat with a forged username must not be delivered",
    )
}

fn err_stays_open(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let (a, b) = c.split_at_mut(1);
    one_answer(cx, &mut a[0], b"garbage\n", "1900|MALFORMED|*", "ERR-2")?;
    one_answer(cx, &mut a[0], b"9999\n", "1900|UNKNOWN_TYPE|*", "ERR-2")?;
    let switch = login(&accounts[1].username, &accounts[1].password);
    one_answer(cx, &mut a[0], &switch, "1900|ALREADY_LOGGED_IN|*", "ERR-4")?;
    let text = format!("still here {}", cx.rng.hex(4));
    a[0].send(&chat(&accounts[0].username, &text))?;
    b[0].expect(&chat_out(&accounts[0].nickname, &text), "ERR-6")
        .map_err(|f| {
            f.with_hint(
                "after an error the connection stays open and logged in as before (ERR-1, ERR-6)",
            )
        })?;
    Ok(())
}

fn ping_fence(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let tag = cx.rng.hex(4);
    let texts: Vec<String> = (1..=10)
        .map(|i| format!("before the fence {i} {tag}"))
        .collect();
    let mut burst = Vec::new();
    for text in &texts {
        burst.extend(chat(&accounts[0].username, text));
    }
    c[0].send_whole(&burst)?;
    let (a, b) = c.split_at_mut(1);
    let echo = cx.fence(&mut a[0])?;
    if let Some(first) = echo.first() {
        return Err(
            Failure::mismatch("CHAT-2", "the sender got frames back", "(nothing)", first).into(),
        );
    }
    let got = cx.fence(&mut b[0])?;
    let want: Vec<String> = texts
        .iter()
        .map(|t| chat_out(&accounts[0].nickname, t))
        .collect();
    for (i, w) in want.iter().enumerate() {
        match got.get(i) {
            Some(line) if line == w.as_bytes() => {}
            Some(line) => {
                return Err(Failure::mismatch("PING-2", "C2's fence returned before the chats sent earlier, or they came in another order", w, line).into());
            }
            None => {
                return Err(Failure::new(
                    "PING-2",
                    format!("C2 got its 1007 after only {i} of the 10 chats that C1 sent before its own ping came back"),
                )
                .with_hint("queue a chat to every receiver before you read the sender's next frame")
                .into());
            }
        }
    }
    Ok(())
}

/// A valid frame ended with CR LF, as a Windows client sends it (FRAME-4).
fn with_cr(mut frame: Vec<u8>) -> Vec<u8> {
    frame.insert(frame.len() - 1, b'\r');
    frame
}
