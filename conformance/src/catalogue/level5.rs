//! Level 5: the photo and file side ports (SIDE); sharing is in `share.rs`.
//!
//! Bodies are random bytes from the test's seed and always contain the bytes
//! `EOF` and `\n`, so a server that looks for an end marker inside binary data
//! (the seed's bug) fails; every transfer is checked with SHA-256.

use protocol::limits::{MAX_FILE, MAX_PHOTO};
use protocol::{SideCode, SideReply, parse_side_reply};

use crate::check::{Failure, Outcome};
use crate::conn::{Conn, Read1};
use crate::cx::{Cx, Side};
use crate::frames;

use super::TestCase;

/// The Level 5 tests.
pub const TESTS: &[TestCase] = &[
    TestCase {
        slug: "side-ticket",
        level: 5,
        rules: &["SIDE-2", "ERR-4"],
        description: "0008 gives a fresh 32-hex ticket; side ports want auth first and refuse bad tickets",
        hints: &[
            "make tickets with secrets.token_hex(16), remember which user each belongs to",
            "answer put/get before auth with `err NOT_AUTHED`",
        ],
        deps: &["login-ok", "ping"],
        modes: false,
        run: side_ticket,
    },
    TestCase {
        slug: "side-put-get",
        level: 5,
        rules: &["SIDE-1", "SIDE-3", "SIDE-7"],
        description: "random binary bodies (with EOF and \\n inside) go up and come back byte for byte on both ports",
        hints: &[
            "read exactly SIZE bytes after the put line; never look for an EOF marker inside binary data",
            "bytes that arrived in the same recv() as the put line are the start of the body",
        ],
        deps: &["side-ticket"],
        modes: false,
        run: side_put_get,
    },
    TestCase {
        slug: "side-limits",
        level: 5,
        rules: &["SIDE-4"],
        description: "exactly MAX_PHOTO bytes are accepted; one byte more gets TOO_LARGE and the connection closes",
        hints: &[
            "compare SIZE with the limit before reading the body, answer err TOO_LARGE and close",
        ],
        deps: &["side-put-get"],
        modes: false,
        run: side_limits,
    },
    TestCase {
        slug: "side-hash-mismatch",
        level: 5,
        rules: &["SIDE-3"],
        description: "a body whose SHA-256 differs from the put line gets HASH_MISMATCH and is not stored",
        hints: &["hash the body with hashlib.sha256 and compare before storing"],
        deps: &["side-put-get"],
        modes: false,
        run: side_hash_mismatch,
    },
    TestCase {
        slug: "side-not-image",
        level: 5,
        rules: &["SIDE-5"],
        description: "the photo port refuses bytes that are not PNG, JPEG or GIF with NOT_IMAGE",
        hints: &[
            "check the first bytes: \\x89PNG\\r\\n\\x1a\\n, \\xff\\xd8\\xff, GIF87a or GIF89a",
        ],
        deps: &["side-put-get"],
        modes: false,
        run: side_not_image,
    },
    TestCase {
        slug: "side-ids",
        level: 5,
        rules: &["SIDE-6"],
        description: "ids are chosen by the server, unique across ports, even for identical uploads",
        hints: &[
            "number uploads with a counter or use secrets.token_hex; never use the client's file name",
        ],
        deps: &["side-put-get"],
        modes: false,
        run: side_ids,
    },
    TestCase {
        slug: "side-traversal",
        level: 5,
        rules: &["SIDE-7"],
        description: "get of ../../etc/passwd, of an unknown id, or of someone else's item is NO_SUCH_ITEM",
        hints: &[
            "look ids up in a dictionary of stored items; never join a client's word onto a path",
        ],
        deps: &["side-put-get"],
        modes: false,
        run: side_traversal,
    },
    TestCase {
        slug: "side-malformed",
        level: 5,
        rules: &["SIDE-8"],
        description: "a bad command line gets `err MALFORMED` and the connection stays usable; quit gets ok and a close",
        hints: &[
            "answer unknown commands with err MALFORMED instead of closing; answer quit with ok, then close",
        ],
        deps: &["side-ticket"],
        modes: false,
        run: side_malformed,
    },
];

/// A PNG signature followed by random bytes that include `EOF` and `\n`.
pub(super) fn png(cx: &mut Cx, len: usize) -> Vec<u8> {
    let mut body = b"\x89PNG\r\n\x1a\n".to_vec();
    body.extend(binary(cx, len.saturating_sub(8)));
    body.truncate(len);
    body
}

/// Random bytes that include `EOF`, `\n` and `EOF` at the very end.
pub(super) fn binary(cx: &mut Cx, len: usize) -> Vec<u8> {
    let mut body = cx.rng.bytes(len);
    for (i, chunk) in [&b"EOF"[..], b"\n", b"EOF\n", b"\r\n"].iter().enumerate() {
        let at = (len / 5) * (i + 1);
        if at + chunk.len() <= len {
            body[at..at + chunk.len()].copy_from_slice(chunk);
        }
    }
    if len >= 3 {
        body[len - 3..].copy_from_slice(b"EOF");
    }
    body
}

pub(super) fn sha(bytes: &[u8]) -> String {
    protocol::Sha256::of(bytes).into_string()
}

/// Reads one side-port reply line.
fn reply(conn: &mut Conn, rule: &str, what: &str) -> Result<SideReply, Failure> {
    match conn.read_line(conn.reply_timeout()) {
        Read1::Line(line) => parse_side_reply(&line).map_err(|_| {
            Failure::mismatch(
                rule,
                format!(
                    "{} sent `{what}` and the reply is not a side-port reply",
                    conn.name
                ),
                "ok … / err CODE reason",
                &line,
            )
        }),
        Read1::Eof => Err(Failure::new(
            rule,
            format!(
                "{} sent `{what}` and the server closed the connection",
                conn.name
            ),
        )),
        Read1::Timeout { partial } => Err(conn.timeout_failure("ok …", rule, &partial)),
    }
}

pub(super) fn expect_err(conn: &mut Conn, line: &[u8], code: SideCode, rule: &str) -> Outcome {
    conn.send_whole(line)?;
    let first = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let what = String::from_utf8_lossy(first).into_owned();
    match reply(conn, rule, &what)? {
        SideReply::Err { code: got, .. } if got == code => Ok(()),
        other => Err(Failure::new(
            rule,
            format!(
                "{} sent `{what}`: expected `err {code}`, got {other:?}",
                conn.name
            ),
        )
        .into()),
    }
}

/// Asks for a ticket on a logged-in chat connection.
pub(super) fn ticket(conn: &mut Conn) -> Result<String, Failure> {
    conn.send(&frames::ticket())?;
    let line = conn.expect("1008|*", "SIDE-2")?;
    let t = crate::check::field(&line, 1);
    if t.len() != 32
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Failure::mismatch(
            "SIDE-2",
            "a ticket is 32 lowercase hex characters",
            "1008|<32 lowercase hex>",
            &line,
        ));
    }
    Ok(t)
}

/// Opens a side connection and authenticates it.
pub(super) fn authed(cx: &mut Cx, side: Side, ticket: &str) -> Result<Conn, Failure> {
    let mut p = cx.side(side)?;
    p.send_whole(format!("auth {ticket}\n").as_bytes())?;
    match reply(&mut p, "SIDE-2", "auth")? {
        SideReply::Ok => Ok(p),
        other => Err(Failure::new(
            "SIDE-2",
            format!(
                "{} presented a fresh ticket: expected `ok`, got {other:?}",
                p.name
            ),
        )),
    }
}

/// Uploads `body` (line and body in one write) and returns the id.
pub(super) fn put(conn: &mut Conn, body: &[u8]) -> Result<String, Failure> {
    let mut bytes = format!("put {} {}\n", body.len(), sha(body)).into_bytes();
    bytes.extend_from_slice(body);
    conn.send_whole(&bytes)?;
    match reply(conn, "SIDE-3", "put")? {
        SideReply::Stored(id) => Ok(id.into_string()),
        other => Err(Failure::new("SIDE-3", format!("{} uploaded {} bytes with the right hash: expected `ok ID`, got {other:?}", conn.name, body.len()))
            .with_hint("read exactly SIZE bytes after the line: the body may arrive together with the put line")),
    }
}

/// Downloads `id` and checks it equals `body`.
pub(super) fn get(conn: &mut Conn, id: &str, body: &[u8]) -> Outcome {
    conn.send_whole(format!("get {id}\n").as_bytes())?;
    match reply(conn, "SIDE-7", "get")? {
        SideReply::Body { size, sha256 } => {
            if size != body.len() as u64 || sha256.as_str() != sha(body) {
                return Err(Failure::new("SIDE-7", format!("`get {id}` announced {size} bytes with hash {sha256}; the upload had {} bytes with hash {}", body.len(), sha(body))).into());
            }
            let got = conn.read_body(body.len()).map_err(|e| Failure::new("SIDE-7", format!("`get {id}`: {e}")))?;
            if got != body {
                let at = got.iter().zip(body).position(|(a, b)| a != b).unwrap_or(0);
                return Err(Failure::new("SIDE-7", format!("`get {id}` returned different bytes (first difference at byte {at})")).into());
            }
            Ok(())
        }
        other => Err(Failure::new("SIDE-7", format!("`get {id}` of an item this user may fetch: expected `ok SIZE SHA256`, got {other:?}")).into()),
    }
}

fn side_ticket(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(1)?;
    let mut lurker = cx.connect()?;
    lurker.send(&frames::ticket())?;
    lurker.expect("1900|NOT_LOGGED_IN|*", "ERR-4")?;
    let mut c = cx.logged_in(&accounts)?;
    let t1 = ticket(&mut c[0])?;
    let t2 = ticket(&mut c[0])?;
    if t1 == t2 {
        return Err(Failure::new(
            "SIDE-2",
            "two 0008 requests gave the same ticket; tickets must be unpredictable",
        )
        .into());
    }
    let mut p = cx.side(Side::Photo)?;
    expect_err(&mut p, b"get p1\n", SideCode::NotAuthed, "SIDE-2")?;
    // The body follows the put line at once, as a client sends it (SIDE-3).
    expect_err(
        &mut p,
        format!("put 3 {}\nabc", sha(b"abc")).as_bytes(),
        SideCode::NotAuthed,
        "SIDE-2",
    )?;
    expect_err(
        &mut p,
        b"auth 00000000000000000000000000000000\n",
        SideCode::BadTicket,
        "SIDE-2",
    )?;
    p.send_whole(format!("auth {t1}\n").as_bytes())?;
    match reply(&mut p, "SIDE-2", "auth")? {
        SideReply::Ok => Ok(()),
        other => Err(Failure::new(
            "SIDE-2",
            format!("a valid ticket: expected `ok`, got {other:?}"),
        )
        .into()),
    }
}

fn side_put_get(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(1)?;
    let mut c = cx.logged_in(&accounts)?;
    let t = ticket(&mut c[0])?;
    let mut f1 = authed(cx, Side::File, &t)?;
    let mut f2 = authed(cx, Side::File, &t)?;
    let mut p1 = authed(cx, Side::Photo, &t)?;
    let small_len = 1 + cx.rng.below(4000) as usize;
    let big_len = 100_000 + cx.rng.below(200_000) as usize;
    let small = binary(cx, small_len);
    let big = binary(cx, big_len);
    let photo = png(cx, 50_000);
    let id_small = put(&mut f1, &small)?;
    let id_big = put(&mut f2, &big)?;
    let id_photo = put(&mut p1, &photo)?;
    get(&mut f2, &id_small, &small)?;
    get(&mut f1, &id_big, &big)?;
    get(&mut p1, &id_photo, &photo)?;
    Ok(())
}

fn side_limits(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(1)?;
    let mut c = cx.logged_in(&accounts)?;
    let t = ticket(&mut c[0])?;
    let mut p = authed(cx, Side::Photo, &t)?;
    let max = png(cx, MAX_PHOTO as usize);
    put(&mut p, &max).map_err(|f| f.with_hint("a photo of exactly 2,097,152 bytes is allowed"))?;
    expect_err(
        &mut p,
        format!("put {} {}\n", MAX_PHOTO + 1, sha(b"x")).as_bytes(),
        SideCode::TooLarge,
        "SIDE-4",
    )?;
    p.expect_eof("SIDE-4")?;
    let mut f = authed(cx, Side::File, &t)?;
    expect_err(
        &mut f,
        format!("put {} {}\n", MAX_FILE + 1, sha(b"x")).as_bytes(),
        SideCode::TooLarge,
        "SIDE-4",
    )?;
    f.expect_eof("SIDE-4")?;
    Ok(())
}

fn side_hash_mismatch(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(1)?;
    let mut c = cx.logged_in(&accounts)?;
    let t = ticket(&mut c[0])?;
    let mut f = authed(cx, Side::File, &t)?;
    let body = binary(cx, 1000);
    let mut bytes = format!("put {} {}\n", body.len(), sha(b"something else")).into_bytes();
    bytes.extend_from_slice(&body);
    f.send_whole(&bytes)?;
    match reply(&mut f, "SIDE-3", "put")? {
        SideReply::Err {
            code: SideCode::HashMismatch,
            ..
        } => {}
        other => {
            return Err(Failure::new(
                "SIDE-3",
                format!("a body with the wrong hash: expected `err HASH_MISMATCH`, got {other:?}"),
            )
            .into());
        }
    }
    // The connection is still in step: the next command works.
    put(&mut f, &body)?;
    Ok(())
}

fn side_not_image(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(1)?;
    let mut c = cx.logged_in(&accounts)?;
    let t = ticket(&mut c[0])?;
    let mut p = authed(cx, Side::Photo, &t)?;
    let body = b"this is a text file, not a picture\n".to_vec();
    let mut bytes = format!("put {} {}\n", body.len(), sha(&body)).into_bytes();
    bytes.extend_from_slice(&body);
    p.send_whole(&bytes)?;
    match reply(&mut p, "SIDE-5", "put")? {
        SideReply::Err {
            code: SideCode::NotImage,
            ..
        } => Ok(()),
        other => Err(Failure::new(
            "SIDE-5",
            format!("a text body on the photo port: expected `err NOT_IMAGE`, got {other:?}"),
        )
        .into()),
    }
}

fn side_ids(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(1)?;
    let mut c = cx.logged_in(&accounts)?;
    let t = ticket(&mut c[0])?;
    let mut p = authed(cx, Side::Photo, &t)?;
    let mut f = authed(cx, Side::File, &t)?;
    let body = png(cx, 3000);
    let ids = [
        put(&mut p, &body)?,
        put(&mut p, &body)?,
        put(&mut f, &body)?,
        put(&mut f, &body)?,
    ];
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(Failure::new(
                "SIDE-6",
                format!("two uploads got the same id {id}; ids must be unique across both ports"),
            )
            .into());
        }
        if sha(&body).contains(id.as_str()) && id.len() >= 8 {
            return Err(Failure::new(
                "SIDE-6",
                format!("the id {id} is taken from the hash the client sent"),
            )
            .into());
        }
    }
    Ok(())
}

fn side_traversal(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(2)?;
    let mut c = cx.logged_in(&accounts)?;
    let ta = ticket(&mut c[0])?;
    let tb = ticket(&mut c[1])?;
    let mut fa = authed(cx, Side::File, &ta)?;
    let mut fb = authed(cx, Side::File, &tb)?;
    let body = binary(cx, 500);
    let id = put(&mut fa, &body)?;
    for word in [
        "../../etc/passwd",
        "..",
        "/etc/passwd",
        "nosuchitem123",
        id.as_str(),
    ] {
        expect_err(
            &mut fb,
            format!("get {word}\n").as_bytes(),
            SideCode::NoSuchItem,
            "SIDE-7",
        )?;
    }
    Ok(())
}

fn side_malformed(cx: &mut Cx) -> Outcome {
    let accounts = cx.accounts(1)?;
    let mut c = cx.logged_in(&accounts)?;
    let t = ticket(&mut c[0])?;
    let mut f = cx.side(Side::File)?;
    for bad in [&b"hello\n"[..], b"put abc def\n", b"GET x\n", b"auth\n"] {
        expect_err(&mut f, bad, SideCode::Malformed, "SIDE-8")?;
    }
    f.send_whole(format!("auth {t}\n").as_bytes())?;
    if !matches!(reply(&mut f, "SIDE-8", "auth")?, SideReply::Ok) {
        return Err(Failure::new(
            "SIDE-8",
            "after err MALFORMED the connection must stay usable",
        )
        .into());
    }
    f.send_whole(b"quit\n")?;
    if !matches!(reply(&mut f, "SIDE-8", "quit")?, SideReply::Ok) {
        return Err(Failure::new("SIDE-8", "quit must be answered `ok`").into());
    }
    f.expect_eof("SIDE-8")?;
    Ok(())
}
