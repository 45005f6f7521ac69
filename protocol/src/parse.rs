//! Lines to frames: nom parsers for the grammar of SPEC.md section 5.
//!
//! Parsing follows the order of ERR-7, so the first error found is the one a
//! server must report: UTF-8, control bytes, the id, the number of fields, the
//! escapes, then each field's syntax and value. Each parser is named after the
//! grammar rule it implements. nom's own error type stays inside this module.

use std::borrow::Cow;

use nom::bytes::complete::take_while_m_n;
use nom::character::complete::char;
use nom::combinator::recognize;
use nom::sequence::terminated;
use nom::{IResult, Parser};

use crate::error::{FrameError, Reason};
use crate::escape::unescape;
use crate::message::{
    AuthResult, Event, FailReason, HistoryEntry, Kind, OnlineUser, Request, Response, SharedItem,
};
use crate::names::{ItemId, ItemName, NameError, Nickname, Sha256, Text, Ticket, Token, Username};

/// Parses one line from [`crate::FrameBuffer`] as a frame a client sent
/// (`request` in SPEC.md section 5).
pub fn parse_request(line: &[u8]) -> Result<Request, FrameError> {
    let mut f = Fields::split(line, REQUEST_IDS)?;
    Ok(match f.id {
        "0001" => {
            f.expect_count("2", &[2])?;
            Request::Login {
                username: f.take_text_raw(),
                password: f.take_text_raw(),
            }
        }
        "0002" => {
            f.expect_count("2", &[2])?;
            Request::Chat {
                username: f.take_name("username")?,
                text: f.take_text()?,
            }
        }
        "0003" => {
            f.expect_count("3", &[3])?;
            Request::Register {
                username: f.take_text_raw(),
                password: f.take_text_raw(),
                nickname: f.take_text_raw(),
            }
        }
        "0004" => {
            f.expect_count("2", &[2])?;
            Request::Private {
                to: f.take_name("to")?,
                text: f.take_text()?,
            }
        }
        "0005" => {
            f.expect_count("0", &[0])?;
            Request::Logout
        }
        "0006" => {
            f.expect_count("0", &[0])?;
            Request::List
        }
        "0007" => {
            f.expect_count("1", &[1])?;
            Request::Ping {
                token: f.take_syntax("token", |s| Token::new(s))?,
            }
        }
        "0008" => {
            f.expect_count("0", &[0])?;
            Request::Ticket
        }
        "0009" => {
            f.expect_count("3", &[3])?;
            let to = f.take_optional_name("to")?;
            let id = f.take_syntax("item-id", |s| ItemId::new(s))?;
            let name = f.take_value("name", ItemName::new)?;
            Request::Share { to, id, name }
        }
        _ => unreachable!("Fields::split only accepts request ids"),
    })
}

/// Parses one line from [`crate::FrameBuffer`] as a frame a server sent
/// (`response` in SPEC.md section 5).
pub fn parse_response(line: &[u8]) -> Result<Response, FrameError> {
    let mut f = Fields::split(line, RESPONSE_IDS)?;
    Ok(match f.id {
        "1001" => {
            f.expect_count("3", &[3])?;
            Response::LoginResult(f.take_auth_result()?)
        }
        "1002" => {
            f.expect_count("2", &[2])?;
            Response::Chat {
                nickname: f.take_value("nickname", Nickname::new)?,
                text: f.take_text()?,
            }
        }
        "1003" => {
            f.expect_count("3", &[3])?;
            Response::RegisterResult(f.take_auth_result()?)
        }
        "1004" => {
            f.expect_count("3", &[3])?;
            Response::Private {
                from: f.take_name("from")?,
                nickname: f.take_value("nickname", Nickname::new)?,
                text: f.take_text()?,
            }
        }
        "1005" => {
            f.expect_count("0", &[0])?;
            Response::Bye
        }
        "1006" => {
            let n = f.remaining();
            if n == 0 || n % 2 == 0 {
                return Err(f.count_error("1 plus 2 per user"));
            }
            f.unescape_all()?;
            let count = f.take_syntax("count", count)?;
            if count != (n as u64 - 1) / 2 {
                return Err(f.count_error("1 plus 2 per user, as many users as the count says"));
            }
            let mut users = Vec::with_capacity(n / 2);
            while f.remaining() > 0 {
                users.push(OnlineUser {
                    username: f.take_name("username")?,
                    nickname: f.take_value("nickname", Nickname::new)?,
                });
            }
            Response::List { users }
        }
        "1007" => {
            f.expect_count("1", &[1])?;
            Response::Pong {
                token: f.take_syntax("token", |s| Token::new(s))?,
            }
        }
        "1008" => {
            f.expect_count("1", &[1])?;
            Response::Ticket {
                ticket: f.take_syntax("ticket-value", |s| Ticket::new(s))?,
            }
        }
        "1009" => {
            f.expect_count("8", &[8])?;
            Response::Shared(SharedItem {
                kind: f.take_syntax("kind", kind)?,
                from: f.take_name("from")?,
                nickname: f.take_value("nickname", Nickname::new)?,
                to: f.take_optional_name("to")?,
                id: f.take_syntax("item-id", |s| ItemId::new(s))?,
                name: f.take_value("name", ItemName::new)?,
                size: f.take_syntax("count", count)?,
                sha256: f.take_syntax("sha256", |s| Sha256::new(s))?,
            })
        }
        "1010" => {
            f.expect_count("4", &[4])?;
            Response::Notice {
                event: f.take_syntax("event", event)?,
                username: f.take_name("username")?,
                nickname: f.take_value("nickname", Nickname::new)?,
                count: f.take_syntax("count", count)?,
            }
        }
        "1011" => {
            f.expect_count("5", &[5])?;
            Response::History(HistoryEntry {
                time: f.take_syntax("count", count)?,
                from: f.take_name("from")?,
                nickname: f.take_value("nickname", Nickname::new)?,
                to: f.take_optional_name("to")?,
                text: f.take_text()?,
            })
        }
        "1012" => {
            f.expect_count("1", &[1])?;
            Response::HistoryEnd {
                count: f.take_syntax("count", count)?,
            }
        }
        "1900" => {
            // `error = "1900" "|" code "|" [field]`: the reason may be empty,
            // and an unknown code is still an error frame worth showing.
            f.expect_count("2", &[2])?;
            let code = f.take_syntax("code", |s| {
                crate::ErrorCode::from_wire(s).ok_or(NameError::BadChar {
                    ch: s.chars().next().unwrap_or(' '),
                })
            })?;
            Response::Error {
                code,
                reason: f.take_text_raw(),
            }
        }
        _ => unreachable!("Fields::split only accepts response ids"),
    })
}

const REQUEST_IDS: &[&str] = &[
    "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009",
];
const RESPONSE_IDS: &[&str] = &[
    "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "1010", "1011", "1012",
    "1900",
];

/// `4DIGIT`, the first field of every frame.
fn frame_id(input: &str) -> IResult<&str, &str> {
    terminated(
        recognize(take_while_m_n(4, 4, |c: char| c.is_ascii_digit())),
        nom::combinator::peek(nom::branch::alt((
            nom::combinator::eof,
            recognize(char('|')),
        ))),
    )
    .parse(input)
}

/// The raw (still escaped) fields of a frame: the content split on every `|`
/// (ESC-2: split first, unescape after). `str::split` searches with memchr,
/// where nom's `separated_list1` walked the line one character at a time.
fn fields(input: &str) -> Vec<&str> {
    input.split('|').collect()
}

/// `count = "0" / ( %x31-39 *19DIGIT )`, at most 2^64 - 1.
fn count(s: &str) -> Result<u64, NameError> {
    let digits_ok = !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok || (s.len() > 1 && s.starts_with('0')) {
        return Err(NameError::BadChar {
            ch: s.chars().find(|c| !c.is_ascii_digit()).unwrap_or('0'),
        });
    }
    s.parse().map_err(|_| NameError::TooLong {
        len: s.len(),
        max: 20,
    })
}

/// `kind = "photo" / "file"`.
fn kind(s: &str) -> Result<Kind, NameError> {
    match s {
        "photo" => Ok(Kind::Photo),
        "file" => Ok(Kind::File),
        _ => Err(NameError::BadChar {
            ch: s.chars().next().unwrap_or(' '),
        }),
    }
}

/// `event = "JOIN" / "LEAVE"`.
fn event(s: &str) -> Result<Event, NameError> {
    match s {
        "JOIN" => Ok(Event::Join),
        "LEAVE" => Ok(Event::Leave),
        _ => Err(NameError::BadChar {
            ch: s.chars().next().unwrap_or(' '),
        }),
    }
}

/// A frame split into its id and its fields, consumed front to back.
struct Fields<'a> {
    id: &'static str,
    /// The fields after the id: escaped until `unescape_all`, then unescaped,
    /// reversed so that `pop` takes the next one. Borrowed from the line
    /// unless unescaping changed them.
    rest: Vec<Cow<'a, str>>,
    /// 1-based index of the next field, counting the id as field 1.
    next: usize,
    /// How many fields followed the id.
    got: usize,
}

impl<'a> Fields<'a> {
    /// Checks UTF-8, control bytes and the id, then splits on `|`
    /// (FRAME-2, FRAME-6, ESC-2), in the order of ERR-7.
    fn split(line: &'a [u8], ids: &[&'static str]) -> Result<Self, FrameError> {
        let text = std::str::from_utf8(line).map_err(|e| FrameError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        // One scan for both control bytes (every frame pays for it); NUL is
        // reported first when a line has both, as ERR-7 orders them.
        if memchr::memchr2(b'\0', b'\r', line).is_some() {
            return Err(if line.contains(&b'\0') {
                FrameError::ControlByte("NUL")
            } else {
                FrameError::ControlByte("CR")
            });
        }
        let (_, id) = frame_id(text).map_err(|_| {
            // Only a bad frame pays for finding its first field.
            let first = text.split('|').next().unwrap_or_default();
            FrameError::BadId(first.to_owned())
        })?;
        let id = *ids
            .iter()
            .find(|known| **known == id)
            .ok_or_else(|| FrameError::UnknownType(id.to_owned()))?;
        let raw = fields(text);
        Ok(Self {
            id,
            rest: raw[1..].iter().rev().map(|f| Cow::Borrowed(*f)).collect(),
            next: 2,
            got: raw.len() - 1,
        })
    }

    /// Checks the number of fields (ERR-2), then unescapes them: ERR-7 puts a
    /// wrong count before a bad escape.
    fn expect_count(&mut self, expected: &str, allowed: &[usize]) -> Result<(), FrameError> {
        if !allowed.contains(&self.got) {
            return Err(self.count_error(expected));
        }
        self.unescape_all()
    }

    /// Unescapes every field (ESC-2), reporting the first bad one (ESC-3).
    fn unescape_all(&mut self) -> Result<(), FrameError> {
        let total = self.rest.len();
        for (i, field) in self.rest.iter_mut().enumerate().rev() {
            let Cow::Borrowed(raw) = *field else {
                continue; // already unescaped
            };
            match unescape(raw) {
                Ok(text) => *field = text,
                Err(escape) => {
                    // `rest` is reversed: field number `total - i` after the id.
                    return Err(FrameError::BadEscape {
                        field: total - i + 1,
                        escape,
                    });
                }
            }
        }
        Ok(())
    }

    fn count_error(&self, expected: &str) -> FrameError {
        FrameError::FieldCount {
            id: self.id,
            expected: expected.to_owned(),
            got: self.got,
        }
    }

    fn remaining(&self) -> usize {
        self.rest.len()
    }

    fn take_text_raw(&mut self) -> String {
        self.next += 1;
        self.rest.pop().unwrap_or_default().into_owned()
    }

    /// A field whose grammar is a token, id, count or keyword: a mismatch is
    /// `MALFORMED` (ERR-2).
    fn take_syntax<T>(
        &mut self,
        what: &'static str,
        check: impl FnOnce(&str) -> Result<T, NameError>,
    ) -> Result<T, FrameError> {
        let field = self.next;
        let value = self.take_text_raw();
        check(&value).map_err(|_| FrameError::FieldSyntax { field, what, value })
    }

    /// A field whose value has constraints (names, texts): a violation is
    /// `BAD_FIELD` (ERR-2).
    fn take_value<T>(
        &mut self,
        what: &'static str,
        check: impl FnOnce(String) -> Result<T, NameError>,
    ) -> Result<T, FrameError> {
        let field = self.next;
        let value = self.take_text_raw();
        check(value).map_err(|reason| FrameError::BadField {
            field,
            what,
            reason,
        })
    }

    fn take_name(&mut self, what: &'static str) -> Result<Username, FrameError> {
        self.take_value(what, Username::new)
    }

    fn take_optional_name(&mut self, what: &'static str) -> Result<Option<Username>, FrameError> {
        if self.rest.last().is_some_and(|f| f.is_empty()) {
            self.take_text_raw();
            return Ok(None);
        }
        self.take_name(what).map(Some)
    }

    fn take_text(&mut self) -> Result<Text, FrameError> {
        self.take_value("text", Text::new)
    }

    /// `( "1" "|" nickname / "0" "|" reason ) "|" field` of `1001` and `1003`.
    fn take_auth_result(&mut self) -> Result<AuthResult, FrameError> {
        let field = self.next;
        let result = self.take_text_raw();
        match result.as_str() {
            "1" => Ok(AuthResult::Ok {
                nickname: self.take_value("nickname", Nickname::new)?,
                username: self.take_name("username")?,
            }),
            "0" => {
                let reason = self.take_text_raw();
                let reason = match Reason::from_wire(&reason) {
                    Some(code) => FailReason::Code(code),
                    None => FailReason::Other(reason),
                };
                Ok(AuthResult::Failed {
                    reason,
                    username: self.take_text_raw(),
                })
            }
            _ => Err(FrameError::FieldSyntax {
                field,
                what: "result",
                value: result,
            }),
        }
    }
}
