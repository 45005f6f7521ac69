//! The photo and file side ports (SPEC.md section 10): command lines, replies,
//! and their encoders.
//!
//! A side connection alternates command lines (framed by [`crate::FrameBuffer`]
//! with `MAX_SIDE_LINE`) and raw bodies whose length was announced first
//! (SIDE-3). There is no end marker inside binary data, and no client-chosen
//! name ever reaches the server's file system (SIDE-6).

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till1, take_while1};
use nom::character::complete::char;
use nom::combinator::{all_consuming, map, map_res, opt, rest};
use nom::sequence::preceded;
use nom::{IResult, Parser};

use serde::Serialize;

use crate::error::SideCode;
use crate::names::{ItemId, Sha256};

/// A command a client sends on a side port (`side-command`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SideCommand {
    /// `auth WORD`: present a ticket from `1008` (SIDE-2). A word that is not
    /// a valid ticket is answered `err BAD_TICKET`.
    Auth(String),
    /// `put SIZE SHA256`, followed by exactly SIZE raw bytes (SIDE-3).
    Put {
        /// Bytes in the body.
        size: u64,
        /// SHA-256 of the body.
        sha256: Sha256,
    },
    /// `get WORD` (SIDE-7). A word that is not an `item-id`, such as
    /// `../../etc/passwd`, is answered `err NO_SUCH_ITEM` like any unknown id.
    Get(String),
    /// `quit` (SIDE-8).
    Quit,
}

/// A reply a server sends on a side port (`side-reply`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SideReply {
    /// `ok`, for `auth` and `quit`.
    Ok,
    /// `ok ID`, for `put` (SIDE-3).
    Stored(ItemId),
    /// `ok SIZE SHA256` followed by SIZE raw bytes, for `get` (SIDE-7).
    Body {
        /// Bytes in the body.
        size: u64,
        /// SHA-256 of the body.
        sha256: Sha256,
    },
    /// `err CODE reason`.
    Err {
        /// The machine-readable code.
        code: SideCode,
        /// A sentence for people.
        reason: String,
    },
}

/// Why a side-port line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a side-port {what}: {line:?}")]
pub struct SideError {
    /// "command" or "reply".
    pub what: &'static str,
    /// The line, lossily decoded.
    pub line: String,
}

impl SideError {
    /// The code a server answers a bad command with (SIDE-8).
    pub fn code(&self) -> SideCode {
        SideCode::Malformed
    }
}

/// `word`: one or more bytes that are not space or control characters.
fn word(input: &str) -> IResult<&str, &str> {
    take_till1(|c: char| c == ' ' || c.is_control()).parse(input)
}

/// `count`, as in the chat grammar.
fn count(input: &str) -> IResult<&str, u64> {
    map_res(take_while1(|c: char| c.is_ascii_digit()), |s: &str| {
        if s.len() > 1 && s.starts_with('0') {
            Err(())
        } else {
            s.parse::<u64>().map_err(|_| ())
        }
    })
    .parse(input)
}

/// `sha256 = 64HEXLC`.
fn sha256(input: &str) -> IResult<&str, Sha256> {
    map_res(word, Sha256::new).parse(input)
}

/// `side-command = auth / put / get / quit`.
fn side_command(input: &str) -> IResult<&str, SideCommand> {
    alt((
        map(preceded(tag("auth "), word), |w| {
            SideCommand::Auth(w.to_owned())
        }),
        map(
            (tag("put "), count, char(' '), sha256),
            |(_, size, _, sha256)| SideCommand::Put { size, sha256 },
        ),
        map(preceded(tag("get "), word), |w| {
            SideCommand::Get(w.to_owned())
        }),
        map(tag("quit"), |_| SideCommand::Quit),
    ))
    .parse(input)
}

/// `side-reply = ok-auth / ok-put / ok-get / ok-quit / side-err`.
fn side_reply(input: &str) -> IResult<&str, SideReply> {
    alt((
        map(
            (tag("ok "), count, char(' '), sha256),
            |(_, size, _, sha256)| SideReply::Body { size, sha256 },
        ),
        map(
            preceded(tag("ok "), map_res(word, ItemId::new)),
            SideReply::Stored,
        ),
        map(tag("ok"), |_| SideReply::Ok),
        map(
            (
                tag("err "),
                map_res(word, |w| SideCode::from_wire(w).ok_or(())),
                opt(preceded(char(' '), rest)),
            ),
            |(_, code, reason)| SideReply::Err {
                code,
                reason: reason.unwrap_or_default().to_owned(),
            },
        ),
    ))
    .parse(input)
}

fn parse_line<T>(
    line: &[u8],
    what: &'static str,
    parser: fn(&str) -> IResult<&str, T>,
) -> Result<T, SideError> {
    let error = || SideError {
        what,
        line: String::from_utf8_lossy(line).into_owned(),
    };
    let text = std::str::from_utf8(line).map_err(|_| error())?;
    all_consuming(parser)
        .parse(text)
        .map(|(_, value)| value)
        .map_err(|_| error())
}

/// Parses one side-port command line (without its LF), as framed by
/// [`crate::FrameBuffer`] with `MAX_SIDE_LINE`.
pub fn parse_side_command(line: &[u8]) -> Result<SideCommand, SideError> {
    parse_line(line, "command", side_command)
}

/// Parses one side-port reply line (without its LF).
pub fn parse_side_reply(line: &[u8]) -> Result<SideReply, SideError> {
    parse_line(line, "reply", side_reply)
}

impl SideCommand {
    /// This command line as bytes, LF included (the body of a `put` is sent
    /// separately, right after it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let line = match self {
            SideCommand::Auth(ticket) => format!("auth {ticket}"),
            SideCommand::Put { size, sha256 } => format!("put {size} {sha256}"),
            SideCommand::Get(id) => format!("get {id}"),
            SideCommand::Quit => "quit".to_owned(),
        };
        let mut out = line.into_bytes();
        out.push(b'\n');
        out
    }
}

impl SideReply {
    /// This reply line as bytes, LF included (the body of a `get` follows it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let line = match self {
            SideReply::Ok => "ok".to_owned(),
            SideReply::Stored(id) => format!("ok {id}"),
            SideReply::Body { size, sha256 } => format!("ok {size} {sha256}"),
            // A reason never holds LF or CR, or it would end the reply early.
            SideReply::Err { code, reason } if reason.is_empty() => format!("err {code}"),
            SideReply::Err { code, reason } => {
                format!("err {code} {}", reason.replace(['\n', '\r'], " "))
            }
        };
        let mut out = line.into_bytes();
        out.push(b'\n');
        out
    }
}

/// True if `bytes` start with a PNG, JPEG or GIF signature (SIDE-5).
pub fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(b"\xff\xd8\xff")
        || bytes.starts_with(b"GIF87a")
        || bytes.starts_with(b"GIF89a")
}
