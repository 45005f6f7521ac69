//! The chat as plain data: the state both front ends show, and the rules for
//! turning network events into lines of conversation.
//!
//! [`Model::apply`] takes one [`Event`] from the network side and the current
//! time, updates the state, and returns the [`Effect`]s the front end must act
//! on. [`Model::compose`] turns what the user typed into the frame to send.
//! Nothing here reads a clock, opens a socket or names an fltk type, so every
//! rule is unit-tested with fixed values (see `tests.rs`).

mod apply;
mod line;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;

use protocol::limits::MAX_FRAME;
use protocol::{Kind, OnlineUser, Request, SharedItem, Text, Username};

pub use line::{Body, Line, LineKind, describe_login_failure, describe_reason};

use crate::net::{Event, Status};

/// Something the front end must do after [`Model::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Lines were appended; draw the lines from the last drawn one on.
    LinesAdded,
    /// The line at this index changed (a photo or file got its local copy).
    LineChanged(usize),
    /// The online list changed.
    UsersChanged,
    /// The window title changed (login, or the chat partner changed).
    TitleChanged,
    /// The connection status changed.
    StatusChanged,
    /// A photo or file was shared with us: fetch it, or ask the user.
    Offer(SharedItem),
    /// A login failed for good (see `LoginFailure`); the text says why.
    LoginFailed(String),
}

/// Who we are logged in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    /// Our username.
    pub username: Username,
    /// Our nickname.
    pub nickname: String,
}

/// What identifies a message across a reconnect: its sender's nickname, the
/// other party of a private message, and its text. Live frames carry no time
/// or id, so this is the best a client can match history against.
type Key = (String, Option<String>, String);

/// The client's whole state.
#[derive(Debug, Clone)]
pub struct Model {
    me: Option<Me>,
    users: Vec<OnlineUser>,
    target: Option<Username>,
    lines: Vec<Line>,
    status: Status,
    was_online: bool,
    /// Every photo and file announced to us, by id.
    items: Vec<SharedItem>,
    /// How often each message is already shown.
    shown: HashMap<Key, usize>,
    /// While a history replay is under way: how often each message has come.
    replay: Option<HashMap<Key, usize>>,
}

impl Default for Model {
    fn default() -> Self {
        Model::new()
    }
}

impl Model {
    /// An empty model: not logged in, no lines.
    pub fn new() -> Self {
        Model {
            me: None,
            users: Vec::new(),
            target: None,
            lines: Vec::new(),
            status: Status::Offline,
            was_online: false,
            items: Vec::new(),
            shown: HashMap::new(),
            replay: None,
        }
    }

    /// Every line so far, oldest first.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The online users, sorted by username (LIST-1).
    pub fn users(&self) -> &[OnlineUser] {
        &self.users
    }

    /// Who we are, once logged in.
    pub fn me(&self) -> Option<&Me> {
        self.me.as_ref()
    }

    /// The private chat partner, or `None` for the group chat.
    pub fn target(&self) -> Option<&Username> {
        self.target.as_ref()
    }

    /// The connection status.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// A photo or file announced to us, by id.
    pub fn item(&self, id: &str) -> Option<&SharedItem> {
        self.items.iter().rev().find(|item| item.id.as_str() == id)
    }

    /// The window title: `ChatLab — 小明`, or `ChatLab — 小明 → Julia` in a
    /// private chat, as the seed client's "user->partner" title.
    pub fn title(&self) -> String {
        match (&self.me, &self.target) {
            (None, _) => "ChatLab".to_owned(),
            (Some(me), None) => format!("ChatLab — {}", me.nickname),
            (Some(me), Some(to)) => format!("ChatLab — {} → {to}", me.nickname),
        }
    }

    /// Chooses the chat partner: `None` for the group chat, or an online user
    /// other than ourselves (PRIV-3 forbids messages to oneself).
    pub fn select(&mut self, target: Option<&str>) -> Result<Vec<Effect>, String> {
        let target = match target {
            None => None,
            Some(name) => {
                if self
                    .me
                    .as_ref()
                    .is_some_and(|me| me.username.as_str() == name)
                {
                    return Err(
                        "不能发送消息给自己 — you cannot chat privately with yourself".into(),
                    );
                }
                match self.users.iter().find(|u| u.username.as_str() == name) {
                    Some(user) => Some(user.username.clone()),
                    None => return Err(format!("{name} is not online")),
                }
            }
        };
        let changed = target != self.target;
        self.target = target;
        Ok(if changed {
            vec![Effect::TitleChanged]
        } else {
            vec![]
        })
    }

    /// Turns what the user typed into the frame to send to the current
    /// partner, and shows it as our own line: the server does not echo our
    /// messages back (CHAT-2, PRIV-4).
    pub fn compose(&mut self, text: &str, now: i64) -> Result<Request, String> {
        let me = self.me.clone().ok_or("not logged in")?;
        if self.status != Status::Online {
            // Sending now would lose the message: say so rather than show
            // a line that never reaches anyone.
            return Err("未连接 not connected: the message was not sent".into());
        }
        if text.trim().is_empty() {
            return Err("the message is empty".into()); // CHAT-5
        }
        let body = Text::new(text).map_err(|e| format!("cannot send this text: {e}"))?;
        let request = match &self.target {
            None => Request::Chat {
                username: me.username.clone(),
                text: body,
            },
            Some(to) => Request::Private {
                to: to.clone(),
                text: body,
            },
        };
        if request.to_bytes().len() > MAX_FRAME {
            return Err(format!(
                "the message is longer than a frame may be ({MAX_FRAME} bytes)"
            ));
        }
        let (kind, peer) = match &self.target {
            None => (LineKind::Own, None),
            Some(to) => (LineKind::PrivateOut, Some(to.to_string())),
        };
        self.push_message(now, kind, me.nickname, peer, text.to_owned(), false);
        Ok(request)
    }

    /// Adds a notice of our own, such as a usage hint.
    pub fn notice(&mut self, now: i64, text: impl Into<String>, error: bool) {
        let kind = if error {
            LineKind::Error
        } else {
            LineKind::System
        };
        self.push(now, kind, Body::Text(text.into()));
    }

    /// Applies one event from the network side at time `now`.
    pub fn apply(&mut self, event: Event, now: i64) -> Vec<Effect> {
        let before = self.lines.len();
        let mut effects = match event {
            Event::Status(status) => self.on_status(status, now),
            Event::LoginFailed(failure) => {
                let text = describe_login_failure(&failure);
                self.push(now, LineKind::Error, Body::Text(text.clone()));
                vec![Effect::LoginFailed(text)]
            }
            Event::Frame(frame) => self.on_frame(frame, now),
            Event::BadFrame(line) => {
                let text = format!("the server sent something that is not a frame: {line}");
                self.push(now, LineKind::Error, Body::Text(text));
                vec![]
            }
            Event::Uploaded {
                kind,
                to,
                id,
                name,
                path,
                size,
            } => {
                let me = self
                    .me
                    .as_ref()
                    .map(|me| me.nickname.clone())
                    .unwrap_or_default();
                let (line_kind, peer) = match to {
                    None => (LineKind::Own, None),
                    Some(to) => (LineKind::PrivateOut, Some(to.into_string())),
                };
                let body = item_body(kind, id, name, size, Some(path));
                self.lines.push(Line {
                    time: now,
                    kind: line_kind,
                    from: me,
                    peer,
                    body,
                    history: false,
                });
                vec![]
            }
            Event::Downloaded { item, path } => self.on_downloaded(item, path, now),
            Event::TransferFailed { what, error } => {
                self.push(now, LineKind::Error, Body::Text(format!("{what}: {error}")));
                vec![]
            }
        };
        if self.lines.len() > before {
            effects.insert(0, Effect::LinesAdded);
        }
        effects
    }

    fn push(&mut self, time: i64, kind: LineKind, body: Body) {
        self.lines.push(Line {
            time,
            kind,
            from: String::new(),
            peer: None,
            body,
            history: false,
        });
    }

    fn push_message(
        &mut self,
        time: i64,
        kind: LineKind,
        from: String,
        peer: Option<String>,
        text: String,
        history: bool,
    ) {
        *self
            .shown
            .entry((from.clone(), peer.clone(), text.clone()))
            .or_default() += 1;
        self.lines.push(Line {
            time,
            kind,
            from,
            peer,
            body: Body::Text(text),
            history,
        });
    }
}

/// `nickname (username)`, or just the name when the two are the same.
pub fn describe_user(user: &OnlineUser) -> String {
    if user.nickname.as_str() == user.username.as_str() {
        user.username.to_string()
    } else {
        format!("{} ({})", user.nickname, user.username)
    }
}

fn item_body(kind: Kind, id: String, name: String, size: u64, path: Option<PathBuf>) -> Body {
    match kind {
        Kind::Photo => Body::Photo { id, name, path },
        Kind::File => Body::File {
            id,
            name,
            size,
            path,
        },
    }
}
