//! One line of the conversation as the model keeps it: who, when, what kind,
//! and the text or item; plus the wording of the client's own notices.

use std::path::PathBuf;

use protocol::{FailReason, Reason};

use crate::net::LoginFailure;

/// What a line is, which decides its colour in the GUI (the seed client:
/// blue for your own group messages, green for others', grey for private
/// messages you sent, red for private messages you received).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A group message you sent.
    Own,
    /// A group message someone else sent.
    Other,
    /// A private message you sent.
    PrivateOut,
    /// A private message you received.
    PrivateIn,
    /// A notice from the client: joins, leaves, connection state.
    System,
    /// An error: from the server (`1900`) or from this client.
    Error,
}

/// The content of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Chat text, with emoji as shortcodes (EMOJI-2).
    Text(String),
    /// A shared photo; `path` is set once it is in the local cache.
    Photo {
        /// The server's id for it.
        id: String,
        /// Its display name.
        name: String,
        /// The local copy, once there is one.
        path: Option<PathBuf>,
    },
    /// A shared file; `path` is set once it is in the local cache.
    File {
        /// The server's id for it.
        id: String,
        /// Its display name.
        name: String,
        /// Its size in bytes.
        size: u64,
        /// The local copy, once there is one.
        path: Option<PathBuf>,
    },
}

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Unix time: the server's for history, this machine's for live lines.
    pub time: i64,
    /// What kind of line it is.
    pub kind: LineKind,
    /// The sender's nickname; empty for notices.
    pub from: String,
    /// The other party of a private message (recipient or sender username).
    pub peer: Option<String>,
    /// The text or item.
    pub body: Body,
    /// True for lines replayed from the server's history (HIST-1).
    pub history: bool,
}

impl Line {
    /// The sender part, as a chat window's header shows it: `Julia`,
    /// `Julia → Meggie (private)` or `Meggie (private)`.
    pub fn header(&self) -> String {
        match (self.kind, &self.peer) {
            (LineKind::PrivateOut, Some(to)) => format!("{} → {to} (private)", self.from),
            (LineKind::PrivateIn, _) => format!("{} (private)", self.from),
            _ => self.from.clone(),
        }
    }

    /// The body as text: the message, or a description of the item.
    pub fn body_text(&self) -> String {
        match &self.body {
            Body::Text(text) => text.clone(),
            Body::Photo { id, name, .. } => format!("[photo {name}, id {id}]"),
            Body::File { id, name, size, .. } => format!("[file {name}, {size} bytes, id {id}]"),
        }
    }

    /// The whole line without its time, as the terminal mode prints it.
    pub fn plain(&self) -> String {
        match self.kind {
            LineKind::System => format!("* {}", self.body_text()),
            LineKind::Error => format!("! {}", self.body_text()),
            _ => format!("{}: {}", self.header(), self.body_text()),
        }
    }
}

/// A sentence for a failed login or registration reason (LOGIN-5, REG-3),
/// in Chinese and English like the seed client's dialogs.
pub fn describe_reason(reason: &FailReason) -> String {
    let code = match reason {
        FailReason::Code(code) => *code,
        FailReason::Other(text) => return format!("the server refused: {text}"),
    };
    match code {
        Reason::UnknownUser => "用户名不存在 — no account has this username; check it, or register",
        Reason::WrongPassword => "密码错误 — wrong password",
        Reason::AlreadyOnline => "该用户已在线 — this account is already logged in elsewhere",
        Reason::NameTaken => "用户名已存在 — this username is taken; choose another",
        Reason::BadName => {
            "用户名无效 — a username is 1 to 32 letters, digits, '_', '-' or '.', without spaces"
        }
        Reason::BadPassword => "密码无效 — a password is 1 to 64 characters, no control characters",
        Reason::BadNickname => {
            "昵称无效 — a nickname is 1 to 32 characters, not starting or ending with a space"
        }
        Reason::ServerError => {
            "服务器无法保存账号 — the server could not store the account; try again later"
        }
    }
    .to_owned()
}

/// A sentence for a failed login.
pub fn describe_login_failure(failure: &LoginFailure) -> String {
    match failure {
        LoginFailure::Unreachable(e) => format!("无法连接服务器 — server unreachable: {e}"),
        LoginFailure::Rejected(reason) => describe_reason(reason),
        LoginFailure::NoAnswer(e) => format!("服务器没有应答 — no answer to the login: {e}"),
    }
}
