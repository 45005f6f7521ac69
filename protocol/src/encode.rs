//! Frames to bytes: the encoder for every frame of SPEC.md section 5.
//!
//! Encoding lives next to parsing, and the round-trip property tests tie the
//! two together (STYLE.md practice 5). Every field goes through
//! [`escape_into`] (ESC-1) and every frame ends with a single LF (FRAME-1,
//! FRAME-4).

use crate::escape::escape_into;
use crate::message::{AuthResult, Event, FailReason, Kind, Request, Response};

/// The buffer [`Request::to_bytes`] and [`Response::to_bytes`] start with.
const TYPICAL_FRAME: usize = 128;

/// Writes fields joined by `|` and the closing LF.
struct Line<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Line<'a> {
    fn start(out: &'a mut Vec<u8>, id: &str) -> Self {
        out.extend_from_slice(id.as_bytes());
        Self { out }
    }

    fn field(self, text: &str) -> Self {
        self.out.push(b'|');
        escape_into(text, self.out);
        self
    }

    fn number(self, n: u64) -> Self {
        self.field(&n.to_string())
    }

    fn end(self) {
        self.out.push(b'\n');
    }
}

impl Request {
    /// Appends this frame, LF included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let line = Line::start(out, self.id());
        match self {
            Request::Login { username, password } => line.field(username).field(password),
            Request::Chat { username, text } => line.field(username.as_str()).field(text.as_str()),
            Request::Register {
                username,
                password,
                nickname,
            } => line.field(username).field(password).field(nickname),
            Request::Private { to, text } => line.field(to.as_str()).field(text.as_str()),
            Request::Logout | Request::List | Request::Ticket => line,
            Request::Ping { token } => line.field(token.as_str()),
            Request::Share { to, id, name } => line
                .field(to.as_ref().map_or("", |u| u.as_str()))
                .field(id.as_str())
                .field(name.as_str()),
        }
        .end();
    }

    /// This frame as bytes, LF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Most frames are short: one allocation of this size, not four
        // growing ones.
        let mut out = Vec::with_capacity(TYPICAL_FRAME);
        self.encode(&mut out);
        out
    }
}

fn auth<'a>(line: Line<'a>, result: &AuthResult) -> Line<'a> {
    match result {
        AuthResult::Ok { nickname, username } => line
            .field("1")
            .field(nickname.as_str())
            .field(username.as_str()),
        AuthResult::Failed { reason, username } => {
            let reason = match reason {
                FailReason::Code(code) => code.as_str(),
                FailReason::Other(text) => text.as_str(),
            };
            line.field("0").field(reason).field(username)
        }
    }
}

impl Response {
    /// Appends this frame, LF included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let line = Line::start(out, self.id());
        match self {
            Response::LoginResult(result) | Response::RegisterResult(result) => auth(line, result),
            Response::Chat { nickname, text } => line.field(nickname.as_str()).field(text.as_str()),
            Response::Private {
                from,
                nickname,
                text,
            } => line
                .field(from.as_str())
                .field(nickname.as_str())
                .field(text.as_str()),
            Response::Bye => line,
            Response::List { users } => {
                users
                    .iter()
                    .fold(line.number(users.len() as u64), |line, user| {
                        line.field(user.username.as_str())
                            .field(user.nickname.as_str())
                    })
            }
            Response::Pong { token } => line.field(token.as_str()),
            Response::Ticket { ticket } => line.field(ticket.as_str()),
            Response::Shared(item) => line
                .field(match item.kind {
                    Kind::Photo => "photo",
                    Kind::File => "file",
                })
                .field(item.from.as_str())
                .field(item.nickname.as_str())
                .field(item.to.as_ref().map_or("", |u| u.as_str()))
                .field(item.id.as_str())
                .field(item.name.as_str())
                .number(item.size)
                .field(item.sha256.as_str()),
            Response::Notice {
                event,
                username,
                nickname,
                count,
            } => line
                .field(match event {
                    Event::Join => "JOIN",
                    Event::Leave => "LEAVE",
                })
                .field(username.as_str())
                .field(nickname.as_str())
                .number(*count),
            Response::History(entry) => line
                .number(entry.time)
                .field(entry.from.as_str())
                .field(entry.nickname.as_str())
                .field(entry.to.as_ref().map_or("", |u| u.as_str()))
                .field(entry.text.as_str()),
            Response::HistoryEnd { count } => line.number(*count),
            Response::Error { code, reason } => line.field(code.as_str()).field(reason),
        }
        .end();
    }

    /// This frame as bytes, LF included.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Most frames are short: one allocation of this size, not four
        // growing ones.
        let mut out = Vec::with_capacity(TYPICAL_FRAME);
        self.encode(&mut out);
        out
    }
}
