//! Level 3, part two: the online list, join and leave notices, and logout
//! (LOGIN-7, LIST, NOTE, OUT).
//!
//! Tests that compare exact counts or lists need a server of their own: they
//! run with `--cmd` (and by default) and are skipped with `--addr`.

use protocol::escape::escape;

use crate::check::{Failure, Outcome, Stop};
use crate::conn::Conn;
use crate::cx::{Account, Cx};
use crate::frames;

use super::TestCase;

/// The Level 3 tests about who is online.
pub const TESTS: &[TestCase] = &[
    TestCase {
        slug: "login-list",
        level: 3,
        rules: &["LOGIN-7", "LIST-1"],
        description: "right after 1001 the new user gets the online list, itself included, sorted by username bytes",
        hints: &[
            "send 1006 right after 1001|1, before anything else",
            "sort by the UTF-8 bytes of the username: sorted(users, key=lambda u: u.encode())",
        ],
        deps: &["login-ok"],
        modes: false,
        run: login_list,
    },
    TestCase {
        slug: "list-query",
        level: 3,
        rules: &["LIST-1"],
        description: "0006 is answered with every logged-in user, sorted, with the right count",
        hints: &["count then username|nickname pairs: 1006|2|Julia|Julia|user1|konbi"],
        deps: &["login-list"],
        modes: false,
        run: list_query,
    },
    TestCase {
        slug: "list-no-resend",
        level: 3,
        rules: &["LIST-2", "NOTE-1"],
        description: "when someone joins, the others get a 1010 notice, not a new 1006 list",
        hints: &["push a 1010|JOIN notice to the others; only the new user gets the whole list"],
        deps: &["login-list"],
        modes: false,
        run: list_no_resend,
    },
    TestCase {
        slug: "note-join",
        level: 3,
        rules: &["NOTE-1"],
        description: "each login sends 1010|JOIN|username|nickname|count to every other user, not to the new one",
        hints: &["count is the number of users online after the join"],
        deps: &["login-list"],
        modes: false,
        run: note_join,
    },
    TestCase {
        slug: "note-leave",
        level: 3,
        rules: &["NOTE-2"],
        description: "a logout and a dropped connection both send 1010|LEAVE|username|nickname|count to the rest",
        hints: &[
            "when recv() returns b\"\" or raises, the user has left: remove them and tell the others",
        ],
        deps: &["note-join"],
        modes: false,
        run: note_leave,
    },
    TestCase {
        slug: "note-failed-login",
        level: 3,
        rules: &["NOTE-3"],
        description: "a failed login, or a connection that closes without logging in, sends no notice",
        hints: &["only users who were logged in can leave: check before sending LEAVE"],
        deps: &["note-join"],
        modes: false,
        run: note_failed_login,
    },
    TestCase {
        slug: "logout",
        level: 3,
        rules: &["OUT-1"],
        description: "0005 is answered 1005 and then the server closes the connection",
        hints: &["send 1005, then close the socket and remove the user"],
        deps: &["login-ok"],
        modes: false,
        run: logout,
    },
    TestCase {
        slug: "logout-relogin",
        level: 3,
        rules: &["OUT-2"],
        description: "after logging out, the same account can log in again on a new connection",
        hints: &[
            "remove the user from the online table when they log out, or they stay ALREADY_ONLINE forever",
        ],
        deps: &["logout"],
        modes: false,
        run: logout_relogin,
    },
];

fn list_frame(accounts: &[&Account]) -> String {
    let mut sorted: Vec<&&Account> = accounts.iter().collect();
    sorted.sort_by(|a, b| a.username.as_bytes().cmp(b.username.as_bytes()));
    let mut s = format!("1006|{}", sorted.len());
    for a in sorted {
        s.push_str(&format!("|{}|{}", escape(&a.username), escape(&a.nickname)));
    }
    s
}

fn login_expect_list(cx: &mut Cx, account: &Account, online: &[&Account]) -> Result<Conn, Stop> {
    let mut conn = cx.connect()?;
    conn.ignore.clear();
    conn.send(&frames::login(&account.username, &account.password))?;
    conn.expect(
        &format!(
            "1001|1|{}|{}",
            escape(&account.nickname),
            escape(&account.username)
        ),
        "LOGIN-2",
    )?;
    conn.expect(&list_frame(online), "LOGIN-7")?;
    // A Level 4 server replays history next; these tests are about Level 3.
    conn.ignore = vec!["1011", "1012"];
    Ok(conn)
}

fn login_list(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(5)?;
    let (a, b, c) = (&accounts[0], &accounts[2], &accounts[4]);
    let _ca = login_expect_list(cx, a, &[a])?;
    let _cb = login_expect_list(cx, b, &[a, b])?;
    let _cc = login_expect_list(cx, c, &[a, b, c])?;
    Ok(())
}

fn list_query(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(3)?;
    let mut conns = cx.logged_in(&accounts)?;
    let all: Vec<&Account> = accounts.iter().collect();
    conns[1].ignore = vec!["1011", "1012"];
    // Drain the notice about the third login before asking.
    conns[1].send(&frames::list())?;
    loop {
        let line = conns[1].expect("*|**", "LIST-1")?;
        if line.starts_with(b"1010|") {
            continue;
        }
        if line == list_frame(&all).as_bytes() {
            return Ok(());
        }
        return Err(Failure::mismatch(
            "LIST-1",
            "C2 asked for the online list",
            &list_frame(&all),
            &line,
        )
        .into());
    }
}

fn list_no_resend(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(2)?;
    let mut ca = login_expect_list(cx, &accounts[0], &[&accounts[0]])?;
    let _cb = login_expect_list(cx, &accounts[1], &[&accounts[0], &accounts[1]])?;
    let b = &accounts[1];
    ca.expect(
        &format!(
            "1010|JOIN|{}|{}|2",
            escape(&b.username),
            escape(&b.nickname)
        ),
        "LIST-2",
    )?;
    Ok(())
}

fn note_join(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(3)?;
    let (a, b, c) = (&accounts[0], &accounts[1], &accounts[2]);
    let mut ca = login_expect_list(cx, a, &[a])?;
    let mut cb = login_expect_list(cx, b, &[a, b])?;
    ca.expect(
        &format!(
            "1010|JOIN|{}|{}|2",
            escape(&b.username),
            escape(&b.nickname)
        ),
        "NOTE-1",
    )?;
    let mut cc = login_expect_list(cx, c, &[a, b, c])?;
    let join_c = format!(
        "1010|JOIN|{}|{}|3",
        escape(&c.username),
        escape(&c.nickname)
    );
    ca.expect(&join_c, "NOTE-1")?;
    cb.expect(&join_c, "NOTE-1")?;
    cc.ignore = vec!["1006", "1011", "1012"];
    cx.silent(
        &mut [&mut cc, &mut ca],
        "NOTE-1",
        "the new user gets no notice about itself, and nobody gets two",
    )
}

fn note_leave(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(3)?;
    let mut conns = cx.logged_in(&accounts)?;
    let mut cc = conns.pop().expect("three");
    let mut cb = conns.pop().expect("three");
    let mut ca = conns.pop().expect("three");
    // Fence the later joiners first: by PING-2 their JOIN notices are then
    // queued, so the earlier users' fences drain them.
    for c in [&mut cc, &mut cb, &mut ca] {
        cx.fence(c)?;
        c.ignore = vec!["1011", "1012"];
    }
    cb.send(&frames::logout())?;
    cb.expect("1005", "OUT-1")?;
    let b = &accounts[1];
    let leave_b = format!(
        "1010|LEAVE|{}|{}|2",
        escape(&b.username),
        escape(&b.nickname)
    );
    ca.expect(&leave_b, "NOTE-2")?;
    cc.expect(&leave_b, "NOTE-2")?;
    cc.close();
    let c = &accounts[2];
    ca.expect(
        &format!(
            "1010|LEAVE|{}|{}|1",
            escape(&c.username),
            escape(&c.nickname)
        ),
        "NOTE-2",
    )
    .map_err(|f| f.with_hint("a connection that closes without 0005 is a leave too"))?;
    Ok(())
}

fn note_failed_login(cx: &mut Cx) -> Outcome {
    cx.need_fresh()?;
    let accounts = cx.accounts(2)?;
    let mut ca = cx.logged_in(&accounts[..1])?.remove(0);
    ca.ignore = vec!["1011", "1012"];
    let mut failed = cx.connect()?;
    failed.send(&frames::login(&accounts[1].username, "wrong"))?;
    failed.expect("1001|0|*|*", "LOGIN-3")?;
    failed.close();
    let silent = cx.connect()?;
    silent.close();
    // A fresh connection's fence proves the closes above were handled first.
    let mut probe = cx.connect()?;
    cx.fence(&mut probe)?;
    cx.silent(&mut [&mut ca], "NOTE-3", "nobody logged in or out")
}

fn logout(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    cx.login(&mut c1, &account)?;
    c1.send(&frames::logout())?;
    c1.expect("1005", "OUT-1")?;
    c1.expect_eof("OUT-1")?;
    Ok(())
}

fn logout_relogin(cx: &mut Cx) -> Outcome {
    let account = cx.accounts(1)?.remove(0);
    let mut c1 = cx.connect()?;
    cx.login(&mut c1, &account)?;
    c1.send(&frames::logout())?;
    c1.expect("1005", "OUT-1")?;
    c1.expect_eof("OUT-1")?;
    let mut c2 = cx.connect()?;
    cx.login(&mut c2, &account).map_err(|f| {
        let mut f = f;
        f.rule = "OUT-2".into();
        f.with_hint("after 1005 the user is offline and may log in again")
    })?;
    Ok(())
}
