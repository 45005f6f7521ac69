//! The frames of SPEC.md section 5 as Rust values: [`Request`] for frames a
//! client sends, [`Response`] for frames a server sends.
//!
//! Fields that the spec constrains are validated newtypes, so a value that
//! exists can always be encoded. The only plain strings are the ones the spec
//! leaves free on purpose: the username and password of `0001`/`0003` (a bad
//! one is answered with a reason code, LOGIN-6, REG-3), the username echoed in
//! a failed `1001`/`1003`, and the human-readable reason of a `1900`.

use serde::Serialize;

use crate::error::{ErrorCode, Reason};
use crate::names::{ItemId, ItemName, Nickname, Sha256, Text, Ticket, Token, Username};

/// A frame sent by a client to the chat port (`request` in SPEC.md section 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum Request {
    /// `0001|username|password` (LOGIN-1).
    #[serde(rename = "LOGIN")]
    Login {
        /// The username, as sent (validated by the server, LOGIN-6).
        username: String,
        /// The password, as sent.
        password: String,
    },
    /// `0002|username|text` (CHAT-1); the username is only a claim (ERR-5).
    #[serde(rename = "CHAT")]
    Chat {
        /// Who the sender claims to be.
        username: Username,
        /// The message.
        text: Text,
    },
    /// `0003|username|password|nickname` (REG-1).
    #[serde(rename = "REGISTER")]
    Register {
        /// The wanted username, as sent (REG-3 decides).
        username: String,
        /// The wanted password, as sent.
        password: String,
        /// The wanted nickname, as sent.
        nickname: String,
    },
    /// `0004|to|text` (PRIV-1).
    #[serde(rename = "PRIVATE")]
    Private {
        /// The recipient.
        to: Username,
        /// The message.
        text: Text,
    },
    /// `0005` (OUT-1).
    #[serde(rename = "LOGOUT")]
    Logout,
    /// `0006` (LIST-1).
    #[serde(rename = "LIST")]
    List,
    /// `0007|token` (PING-1).
    #[serde(rename = "PING")]
    Ping {
        /// Echoed back in the `1007`.
        token: Token,
    },
    /// `0008`: ask for a side-port ticket (SIDE-2).
    #[serde(rename = "TICKET")]
    Ticket,
    /// `0009|to|id|name` (SHARE-1).
    #[serde(rename = "SHARE")]
    Share {
        /// The recipient, or `None` for the whole room.
        to: Option<Username>,
        /// The id the side port gave the upload.
        id: ItemId,
        /// The name to display.
        name: ItemName,
    },
}

/// The outcome carried by `1001` and `1003`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result")]
pub enum AuthResult {
    /// `1|nickname|username`.
    #[serde(rename = "1")]
    Ok {
        /// The account's nickname.
        nickname: Nickname,
        /// The account's username.
        username: Username,
    },
    /// `0|reason|username`.
    #[serde(rename = "0")]
    Failed {
        /// The reason; at Level 1 any text is allowed here (LOGIN-3).
        reason: FailReason,
        /// The username that was sent, echoed back.
        username: String,
    },
}

/// The reason field of a failed `1001`/`1003`: a known code, or (from a Level 1
/// server, LOGIN-3) any other text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FailReason {
    /// One of the reason codes of LOGIN-5 and REG-3.
    Code(Reason),
    /// Text that is not a reason code (allowed at Level 1 only).
    Other(String),
}

/// `JOIN` or `LEAVE` in a `1010` notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Event {
    /// A user logged in (NOTE-1).
    #[serde(rename = "JOIN")]
    Join,
    /// A user logged out or was disconnected (NOTE-2).
    #[serde(rename = "LEAVE")]
    Leave,
}

/// Whether a shared item came through the photo port or the file port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Kind {
    /// Uploaded on the photo port.
    #[serde(rename = "photo")]
    Photo,
    /// Uploaded on the file port.
    #[serde(rename = "file")]
    File,
}

/// One online user in a `1006` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnlineUser {
    /// The user's username.
    pub username: Username,
    /// The user's nickname.
    pub nickname: Nickname,
}

/// A `1009` announcement of a shared photo or file (SHARE-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedItem {
    /// Which port to fetch it from.
    pub kind: Kind,
    /// Who shared it.
    pub from: Username,
    /// Their nickname.
    pub nickname: Nickname,
    /// The recipient, or `None` if it was shared with the room.
    pub to: Option<Username>,
    /// The id to `get`.
    pub id: ItemId,
    /// The name to display.
    pub name: ItemName,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes.
    pub sha256: Sha256,
}

/// A `1011` history entry (HIST-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// When the server received it, in Unix seconds (HIST-5).
    pub time: u64,
    /// Who sent it.
    pub from: Username,
    /// Their nickname.
    pub nickname: Nickname,
    /// The recipient of a private message, or `None` for group chat.
    pub to: Option<Username>,
    /// The message.
    pub text: Text,
}

/// A frame sent by a server on the chat port (`response` in SPEC.md section 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum Response {
    /// `1001|result|nickname-or-reason|username` (LOGIN-2, LOGIN-3).
    #[serde(rename = "LOGIN_RESULT")]
    LoginResult(AuthResult),
    /// `1002|nickname|text` (CHAT-1).
    #[serde(rename = "CHAT")]
    Chat {
        /// The sender's nickname.
        nickname: Nickname,
        /// The message.
        text: Text,
    },
    /// `1003|result|nickname-or-reason|username` (REG-2, REG-3).
    #[serde(rename = "REGISTER_RESULT")]
    RegisterResult(AuthResult),
    /// `1004|from|nickname|text` (PRIV-1).
    #[serde(rename = "PRIVATE")]
    Private {
        /// The sender's username.
        from: Username,
        /// The sender's nickname.
        nickname: Nickname,
        /// The message.
        text: Text,
    },
    /// `1005` (OUT-1).
    #[serde(rename = "BYE")]
    Bye,
    /// `1006|count|username|nickname|…` (LIST-1).
    #[serde(rename = "LIST")]
    List {
        /// Every online user, sorted by username.
        users: Vec<OnlineUser>,
    },
    /// `1007|token` (PING-1).
    #[serde(rename = "PONG")]
    Pong {
        /// The token of the `0007`.
        token: Token,
    },
    /// `1008|ticket` (SIDE-2).
    #[serde(rename = "TICKET")]
    Ticket {
        /// The ticket to present with `auth`.
        ticket: Ticket,
    },
    /// `1009|kind|from|nickname|to|id|name|size|sha256` (SHARE-1).
    #[serde(rename = "SHARED")]
    Shared(SharedItem),
    /// `1010|event|username|nickname|count` (NOTE-1, NOTE-2).
    #[serde(rename = "NOTICE")]
    Notice {
        /// Join or leave.
        event: Event,
        /// Who joined or left.
        username: Username,
        /// Their nickname.
        nickname: Nickname,
        /// Users online after the event.
        count: u64,
    },
    /// `1011|time|from|nickname|to|text` (HIST-1).
    #[serde(rename = "HISTORY")]
    History(HistoryEntry),
    /// `1012|count` (HIST-1).
    #[serde(rename = "HISTORY_END")]
    HistoryEnd {
        /// The number of `1011` frames before it.
        count: u64,
    },
    /// `1900|code|reason` (ERR-1).
    #[serde(rename = "ERROR")]
    Error {
        /// The machine-readable code.
        code: ErrorCode,
        /// A sentence for people.
        reason: String,
    },
}

impl Request {
    /// The frame's four-digit id.
    pub fn id(&self) -> &'static str {
        match self {
            Request::Login { .. } => "0001",
            Request::Chat { .. } => "0002",
            Request::Register { .. } => "0003",
            Request::Private { .. } => "0004",
            Request::Logout => "0005",
            Request::List => "0006",
            Request::Ping { .. } => "0007",
            Request::Ticket => "0008",
            Request::Share { .. } => "0009",
        }
    }
}

impl Response {
    /// The frame's four-digit id.
    pub fn id(&self) -> &'static str {
        match self {
            Response::LoginResult(_) => "1001",
            Response::Chat { .. } => "1002",
            Response::RegisterResult(_) => "1003",
            Response::Private { .. } => "1004",
            Response::Bye => "1005",
            Response::List { .. } => "1006",
            Response::Pong { .. } => "1007",
            Response::Ticket { .. } => "1008",
            Response::Shared(_) => "1009",
            Response::Notice { .. } => "1010",
            Response::History(_) => "1011",
            Response::HistoryEnd { .. } => "1012",
            Response::Error { .. } => "1900",
        }
    }

    /// Builds an error frame.
    pub fn error(code: ErrorCode, reason: impl Into<String>) -> Self {
        Response::Error {
            code,
            reason: reason.into(),
        }
    }
}
