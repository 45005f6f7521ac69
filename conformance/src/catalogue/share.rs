//! Level 5 sharing (SHARE-1 to SHARE-3): an uploaded item announced with
//! `1009` to the room or to one user, and who may fetch it afterwards.
//!
//! The side-port helpers (tickets, `auth`, `put`, `get`) are Level 5's, in
//! `level5.rs`.

use protocol::SideCode;
use protocol::escape::escape;

use crate::check::Outcome;
use crate::cx::{Cx, Side};
use crate::frames;

use super::TestCase;
use super::level5::{authed, binary, expect_err, get, png, put, sha, ticket};

/// The Level 5 sharing tests, after the side-port tests they depend on.
pub const TESTS: &[TestCase] = &[
    TestCase {
        slug: "share-room",
        level: 5,
        rules: &["SHARE-1", "SHARE-3"],
        description: "an item shared with the room is announced to everyone else and everyone may fetch it",
        hints: &[
            "announce 1009|kind|from|nickname||id|name|size|sha256 to every other logged-in user",
        ],
        deps: &["side-put-get", "chat-basic"],
        modes: false,
        run: share_room,
    },
    TestCase {
        slug: "share-private",
        level: 5,
        rules: &["SHARE-1", "SHARE-3"],
        description: "an item shared with one user reaches only them; others cannot fetch it; offline gets USER_OFFLINE",
        hints: &[
            "remember who may fetch each item: the uploader, plus the room or one user once shared",
        ],
        deps: &["share-room"],
        modes: false,
        run: share_private,
    },
    TestCase {
        slug: "share-not-owner",
        level: 5,
        rules: &["SHARE-2"],
        description: "sharing an unknown id or another user's upload gets NO_SUCH_ITEM and announces nothing",
        hints: &["only the uploader may share an item"],
        deps: &["share-room"],
        modes: false,
        run: share_not_owner,
    },
];

fn shared(
    kind: &str,
    from: &crate::cx::Account,
    to: &str,
    id: &str,
    name: &str,
    body: &[u8],
) -> String {
    format!(
        "1009|{kind}|{}|{}|{}|{id}|{}|{}|{}",
        escape(&from.username),
        escape(&from.nickname),
        escape(to),
        escape(name),
        body.len(),
        sha(body)
    )
}

fn share_room(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(3)?;
    let mut c = cx.logged_in(&accounts)?;
    let t = ticket(&mut c[0])?;
    let mut p = authed(cx, Side::Photo, &t)?;
    let body = png(cx, 20_000);
    let id = put(&mut p, &body)?;
    let name = "猫 | cat.png";
    c[0].send(&frames::share(None, &id, name))?;
    let want = shared("photo", &accounts[0], "", &id, name, &body);
    c[1].expect(&want, "SHARE-1")?;
    c[2].expect(&want, "SHARE-1")?;
    let (a, rest) = c.split_at_mut(1);
    cx.silent(
        &mut [&mut a[0]],
        "SHARE-1",
        "the sharer is not told about its own share",
    )?;
    let tb = ticket(&mut rest[0])?;
    let mut pb = authed(cx, Side::Photo, &tb)?;
    get(&mut pb, &id, &body)
}

fn share_private(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(4)?;
    let mut c = cx.logged_in(&accounts[..3])?;
    let t = ticket(&mut c[0])?;
    let mut f = authed(cx, Side::File, &t)?;
    let body = binary(cx, 7000);
    let id = put(&mut f, &body)?;
    c[0].send(&frames::share(
        Some(&accounts[1].username),
        &id,
        "notes.txt",
    ))?;
    c[1].expect(
        &shared(
            "file",
            &accounts[0],
            &accounts[1].username,
            &id,
            "notes.txt",
            &body,
        ),
        "SHARE-1",
    )?;
    let (_, rest) = c.split_at_mut(1);
    let (b, third) = rest.split_at_mut(1);
    cx.silent(
        &mut [&mut third[0]],
        "SHARE-1",
        "an item shared with one user is announced to that user only",
    )?;
    let tc = ticket(&mut third[0])?;
    let mut fc = authed(cx, Side::File, &tc)?;
    expect_err(
        &mut fc,
        format!("get {id}\n").as_bytes(),
        SideCode::NoSuchItem,
        "SHARE-3",
    )?;
    let tb = ticket(&mut b[0])?;
    let mut fb = authed(cx, Side::File, &tb)?;
    get(&mut fb, &id, &body)?;
    c[0].send(&frames::share(
        Some(&accounts[3].username),
        &id,
        "notes.txt",
    ))?;
    c[0].expect("1900|USER_OFFLINE|*", "SHARE-1")?;
    Ok(())
}

fn share_not_owner(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(3)?;
    let mut c = cx.logged_in(&accounts)?;
    let t = ticket(&mut c[0])?;
    let mut f = authed(cx, Side::File, &t)?;
    let body = binary(cx, 100);
    let id = put(&mut f, &body)?;
    c[1].send(&frames::share(None, &id, "stolen.txt"))?;
    c[1].expect("1900|NO_SUCH_ITEM|*", "SHARE-2")?;
    c[1].send(&frames::share(None, "nosuch999", "ghost.txt"))?;
    c[1].expect("1900|NO_SUCH_ITEM|*", "SHARE-2")?;
    let (a, rest) = c.split_at_mut(1);
    cx.silent(
        &mut [&mut a[0], &mut rest[1]],
        "SHARE-2",
        "a refused share announces nothing",
    )
}
