//! The valid frames the grader sends, built by the `protocol` crate's
//! encoders: ARCHITECTURE.md's invariant is that only `protocol` knows how
//! fields become bytes (escaping, `|`, the LF; SPEC.md ESC-1, FRAME-1).
//!
//! Deliberately broken input (half frames, bad escapes, NUL, CR, oversize
//! lines, wrong field counts) stays as raw bytes in the tests that send it,
//! because no encoder can produce it.
//!
//! The values come from the grader's own tests, never from the server, so a
//! value its newtype refuses is a bug in the catalogue: the `expect`s say so.

use protocol::{ItemId, ItemName, Request, Text, Token, Username};

/// `0001|username|password`; any strings, since LOGIN-6 tests send bad ones.
pub fn login(username: &str, password: &str) -> Vec<u8> {
    Request::Login {
        username: username.into(),
        password: password.into(),
    }
    .to_bytes()
}

/// `0003|username|password|nickname`; any strings, since REG-3 tests send bad ones.
pub fn register(username: &str, password: &str, nickname: &str) -> Vec<u8> {
    Request::Register {
        username: username.into(),
        password: password.into(),
        nickname: nickname.into(),
    }
    .to_bytes()
}

/// `0002|username|text`.
pub fn chat(username: &str, text: &str) -> Vec<u8> {
    Request::Chat {
        username: user(username),
        text: Text::new(text).expect("the catalogue chats with a valid text (CHAT-5)"),
    }
    .to_bytes()
}

/// `0004|to|text`.
pub fn private(to: &str, text: &str) -> Vec<u8> {
    Request::Private {
        to: user(to),
        text: Text::new(text).expect("the catalogue sends a valid text (CHAT-5)"),
    }
    .to_bytes()
}

/// `0007|token`.
pub fn ping(token: &str) -> Vec<u8> {
    Request::Ping {
        token: Token::new(token).expect("the catalogue pings with a valid token"),
    }
    .to_bytes()
}

/// `0005`.
pub fn logout() -> Vec<u8> {
    Request::Logout.to_bytes()
}

/// `0006`.
pub fn list() -> Vec<u8> {
    Request::List.to_bytes()
}

/// `0008`.
pub fn ticket() -> Vec<u8> {
    Request::Ticket.to_bytes()
}

/// `0009|to|id|name`, with `to` empty for the room (SHARE-1).
pub fn share(to: Option<&str>, id: &str, name: &str) -> Vec<u8> {
    Request::Share {
        to: to.map(user),
        id: ItemId::new(id).expect("the catalogue shares a valid item id"),
        name: ItemName::new(name).expect("the catalogue shares with a valid name"),
    }
    .to_bytes()
}

fn user(name: &str) -> Username {
    Username::new(name).expect("the catalogue uses valid usernames (NAME-1)")
}
