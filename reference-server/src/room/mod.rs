//! The chat room as a pure state machine: who is connected, who is logged in,
//! what each frame causes, and to whom every resulting frame goes.
//!
//! [`Room`] never sees a socket or a clock. The connection code hands it parsed
//! [`protocol::Request`]s (or the [`FrameError`] of a line that did not parse) together
//! with the current Unix time, and the room answers by pushing encoded frames
//! into each connection's [`Mailbox`]. A mailbox is only a bounded queue (the
//! socket layer drains it), so unit tests drive the room with a `Vec`.
//!
//! Two things the room does not do itself, because they are slow and must not
//! happen while every connection waits on the room's lock: checking a password
//! and hashing a new one. For `0001` and `0003` [`Room::handle`] returns
//! [`Step::Login`] or [`Step::Register`]; the caller asks
//! [`crate::accounts::Accounts`] and reports back with [`Room::complete_login`]
//! or [`Room::complete_register`]. The connection handles no other frame in
//! between, so PING-2 still holds.
//!
//! Every change that must outlive the process (history, uploads, shares) is
//! appended to a journal that the caller drains with [`Room::take_journal`]
//! and writes to disk (see [`crate::persist`]).

mod frame;
mod handle;
mod history;
mod items;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use protocol::{ErrorCode, Event, FrameError, Nickname, Response, Ticket, Username};

pub use frame::{Frame, Mailbox, encode};
pub use history::History;
pub use items::{Item, Items, Record};

/// Identifies one chat connection for the lifetime of the server.
pub type ConnId = u64;

/// What the connection should do after the room handled a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Read the next frame.
    Continue,
    /// Stop reading: the room has closed this connection (OUT-1, LOAD-3).
    Close,
    /// Check these credentials, then call [`Room::complete_login`].
    Login {
        /// The username as sent.
        username: String,
        /// The password as sent.
        password: String,
    },
    /// Validate and store this account, then call [`Room::complete_register`].
    Register {
        /// The username as sent.
        username: String,
        /// The password as sent.
        password: String,
        /// The nickname as sent.
        nickname: String,
    },
}

/// A logged-in user.
#[derive(Debug, Clone)]
struct User {
    username: Username,
    nickname: Nickname,
}

/// One connection on the chat port.
struct Session<M> {
    mailbox: M,
    /// Where it comes from, for the log only.
    peer: String,
    /// Shared, so that handling a frame takes the user without copying
    /// its names.
    user: Option<Arc<User>>,
    /// Tickets issued to this connection; they die with it (SIDE-2).
    tickets: Vec<Ticket>,
}

/// The chat room: every connection, every logged-in user, the history and the
/// shared items.
pub struct Room<M> {
    sessions: HashMap<ConnId, Session<M>>,
    /// Logged-in users by username; a `BTreeMap` so that the online list comes
    /// out sorted by UTF-8 bytes (LIST-1).
    online: BTreeMap<Username, ConnId>,
    history: History,
    items: Items,
    /// Valid tickets and the user each one authenticates (SIDE-2).
    tickets: HashMap<Ticket, Username>,
    /// Connections whose mailbox overflowed while a frame was handled; they
    /// are dropped once that frame is done (LOAD-3).
    overflowed: Vec<ConnId>,
    /// Frames for every logged-in user (but one) not queued yet: see
    /// [`Room::flush`].
    staged: Vec<(Option<ConnId>, Frame)>,
    journal: Vec<Record>,
    random: Box<dyn FnMut() -> [u8; 16] + Send>,
}

impl<M: Mailbox> Room<M> {
    /// An empty room. `history` is the loaded history; `items` the loaded
    /// items; `random` gives 16 unpredictable bytes per ticket (SIDE-2).
    pub fn new(
        history: History,
        items: Items,
        random: Box<dyn FnMut() -> [u8; 16] + Send>,
    ) -> Self {
        Self {
            sessions: HashMap::new(),
            online: BTreeMap::new(),
            history,
            items,
            tickets: HashMap::new(),
            overflowed: Vec::new(),
            staged: Vec::new(),
            journal: Vec::new(),
            random,
        }
    }

    /// A new connection; it is not logged in yet (CHAT-3).
    pub fn connect(&mut self, conn: ConnId, peer: String, mailbox: M) {
        self.sessions.insert(
            conn,
            Session {
                mailbox,
                peer,
                user: None,
                tickets: Vec::new(),
            },
        );
    }

    /// The connection closed (or its reader gave up). A logged-in user leaves
    /// (NOTE-2); a connection that never logged in causes no notice (NOTE-3).
    pub fn disconnect(&mut self, conn: ConnId) {
        self.remove(conn);
        self.flush();
    }

    /// Answers a line that is not a valid frame with its `1900` (ERR-1, ERR-2,
    /// ERR-3); nothing else changes and the connection stays open (ERR-6).
    pub fn reject(&mut self, conn: ConnId, error: &FrameError) {
        log::debug!("conn {conn}: bad frame: {error}");
        self.reply(conn, &Response::error(error.code(), error.to_string()));
        self.drop_overflowed();
    }

    /// Queues the frames staged for everybody (group messages, notices), then
    /// drops the connections that could not take them (LOAD-3).
    ///
    /// A group message is not queued at once: it is staged, and consecutive
    /// ones go into each mailbox together, under one lock of that mailbox
    /// rather than one per frame. The caller flushes before it lets go of the
    /// room; the room itself flushes before anything else that queues a frame
    /// or changes who is logged in, so every connection still gets its frames
    /// in the order the room made them (PING-2, CHAT-2).
    pub fn flush(&mut self) {
        self.push_staged();
        self.drop_overflowed();
    }

    /// Every connection gets `1900|SHUTDOWN` after what was already queued, and
    /// is closed (LOAD-7). The room is empty afterwards.
    pub fn shutdown(&mut self) {
        self.push_staged();
        let bye = encode(&Response::error(
            ErrorCode::Shutdown,
            "the server is shutting down",
        ));
        for (_, session) in self.sessions.drain() {
            session.mailbox.finish(bye.clone());
        }
        self.online.clear();
        self.tickets.clear();
    }

    /// The number of logged-in users.
    pub fn online_count(&self) -> usize {
        self.online.len()
    }

    /// The number of open chat connections, logged in or not.
    pub fn connection_count(&self) -> usize {
        self.sessions.len()
    }

    /// Takes the changes that must be written to disk, oldest first.
    pub fn take_journal(&mut self) -> Vec<Record> {
        if self.journal.is_empty() {
            return Vec::new();
        }
        // The next batch is likely as big as this one: start it that size,
        // rather than growing it again one push at a time.
        let size = self.journal.len();
        std::mem::replace(&mut self.journal, Vec::with_capacity(size))
    }

    /// The user a side-port ticket authenticates, if it is valid (SIDE-2).
    pub fn redeem(&self, ticket: &str) -> Option<Username> {
        let ticket = Ticket::new(ticket).ok()?;
        self.tickets.get(&ticket).cloned()
    }

    /// The shared items, for the side ports.
    pub fn items(&self) -> &Items {
        &self.items
    }

    /// Registers a finished upload under a new id (SIDE-3, SIDE-6).
    pub fn add_item(
        &mut self,
        kind: protocol::Kind,
        owner: Username,
        size: u64,
        sha256: protocol::Sha256,
    ) -> protocol::ItemId {
        let item = self.items.allocate(kind, owner, size, sha256);
        self.journal.push(Record::Item(item.clone()));
        item.id
    }

    /// Queues one frame for one connection; an overflow is dealt with after the
    /// current frame (LOAD-3), so that no delivery in progress is cut short.
    fn send(&mut self, conn: ConnId, frame: &Frame) {
        self.push_staged(); // Staged frames were made first.
        if let Some(session) = self.sessions.get(&conn)
            && !session.mailbox.push(frame)
        {
            self.overflowed.push(conn);
        }
    }

    /// Encodes a response and queues it for one connection.
    fn reply(&mut self, conn: ConnId, response: &Response) {
        self.send(conn, &encode(response));
    }

    /// Stages one frame, encoded once, for every logged-in user but `except`
    /// (see [`Room::flush`]).
    fn broadcast(&mut self, except: Option<ConnId>, frame: &Frame) {
        self.staged.push((except, frame.clone()));
        if self.staged.len() >= MAX_STAGED {
            self.push_staged();
        }
    }

    /// Queues the staged frames into every logged-in user's mailbox. One pass
    /// over the sessions rather than a lookup per online user: this runs for
    /// every batch of group messages and every notice.
    fn push_staged(&mut self) {
        if self.staged.is_empty() {
            return;
        }
        for (&conn, session) in &self.sessions {
            if session.user.is_none() {
                continue;
            }
            let frames = self
                .staged
                .iter()
                .filter(|(except, _)| *except != Some(conn))
                .map(|(_, frame)| frame);
            if !session.mailbox.push_all(frames) {
                self.overflowed.push(conn);
            }
        }
        self.staged.clear();
    }

    /// Removes a connection and, if it was logged in, tells everyone else
    /// (NOTE-2). Returns the session so the caller can close its mailbox.
    fn remove(&mut self, conn: ConnId) -> Option<Session<M>> {
        // What was staged before the user left is still theirs (OUT-1).
        self.push_staged();
        let session = self.sessions.remove(&conn)?;
        for ticket in &session.tickets {
            self.tickets.remove(ticket);
        }
        if let Some(user) = &session.user {
            self.online.remove(&user.username);
            log::info!(
                "{} ({}) left from {}; {} online",
                user.username,
                user.nickname,
                session.peer,
                self.online.len()
            );
            let notice = encode(&Response::Notice {
                event: Event::Leave,
                username: user.username.clone(),
                nickname: user.nickname.clone(),
                count: self.online.len() as u64,
            });
            self.broadcast(None, &notice);
        }
        Some(session)
    }

    /// Drops every connection whose mailbox overflowed (LOAD-3). Their leave
    /// notices may overflow further mailboxes, hence the loop.
    fn drop_overflowed(&mut self) {
        while let Some(conn) = self.overflowed.pop() {
            if let Some(session) = self.remove(conn) {
                log::warn!(
                    "conn {conn} from {} stopped reading; disconnected",
                    session.peer
                );
                let last = encode(&Response::error(
                    ErrorCode::SlowConsumer,
                    "you were not reading; disconnected",
                ));
                session.mailbox.abort(last);
            }
        }
    }
}

/// Group frames staged at most before they are queued: a read of a few KiB
/// holds about this many chat frames.
const MAX_STAGED: usize = 64;
