//! The chat room: the state every connection shares, and what each frame does.
//!
//! Every connection's thread calls [`Room::handle`] with the frames of its own
//! connection, one at a time. The shared state sits behind one lock, taken
//! for as short a time as possible: never while waiting for a client,
//! and never while hashing a password.
//!
//! The room never touches a socket. It sends frames by putting them in
//! outboxes (`outbox.rs`), so this file is all chat logic and no I/O.
//!
//! Each method answers a frame it cannot act on with `Err(Refusal)`.
//! The connection sends that back as one `1900` frame (ERR-1). A method
//! checks first whether the frame is allowed at all (ERR-4), then the frame
//! itself, in the order of ERR-7.

use std::collections::BTreeMap;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

use protocol::escape::escape;
use protocol::limits::MAX_FRAME;
use protocol::{
    AuthResult, ErrorCode, FailReason, Nickname, Reason, Request, Response, Text, Username,
};
use protocol::{Event, OnlineUser, Password};
use protocol::{ItemId, ItemName, Kind, Sha256, SharedItem, Ticket};

use crate::accounts::{self, Accounts};
use crate::history::History;
use crate::outbox::Outbox;

/// Why a frame was refused: the code and reason of the one `1900` frame that
/// answers it (ERR-1). Nothing in the room changed because of that frame.
pub struct Refusal {
    pub code: ErrorCode,
    pub reason: String,
}

impl Refusal {
    /// The error frame that tells the client (ERR-2).
    pub fn to_frame(&self) -> Response {
        Response::error(self.code, self.reason.clone())
    }
}

/// A refusal with this code and a reason for people.
pub fn refuse(code: ErrorCode, reason: impl Into<String>) -> Refusal {
    Refusal {
        code,
        reason: reason.into(),
    }
}

/// One connection, as its own reader thread knows it.
pub struct Session {
    /// How to send to this connection.
    pub outbox: Outbox,
    /// Who is logged in on this connection: the only name we trust (ERR-5).
    me: Option<Me>,
    /// Set by `0005`: the connection reads nothing more and closes (OUT-1).
    pub closing: bool,
    /// Tickets handed out on this connection; they die with it (SIDE-2).
    tickets: Vec<String>,
}

/// The user logged in on a connection.
#[derive(Clone)]
struct Me {
    username: Username,
    nickname: Nickname,
}

/// A logged-in user, as the other connections see them.
struct Peer {
    nickname: Nickname,
    outbox: Outbox,
}

/// One upload. Its id is ours, never a name the client sent (SIDE-6).
struct Item {
    kind: Kind,
    owner: Username,
    size: u64,
    sha256: Sha256,
    /// Shared with the whole room (SHARE-3).
    room: bool,
    /// Users it was shared with one by one (SHARE-3).
    readers: HashSet<Username>,
}

impl Item {
    /// SHARE-3: who may fetch this item.
    fn may_get(&self, user: &Username) -> bool {
        &self.owner == user || self.room || self.readers.contains(user)
    }
}

/// Everything the connections share. Only ever used with `Room::state` locked.
#[derive(Default)]
struct State {
    /// Username -> peer, for every logged-in connection. A `BTreeMap` keeps
    /// the usernames sorted by their UTF-8 bytes, the order LIST-1 asks for.
    online: BTreeMap<Username, Peer>,
    /// Ticket -> the user it was given to (SIDE-2).
    tickets: HashMap<String, Username>,
    /// Item id -> upload (SIDE-6).
    items: HashMap<ItemId, Item>,
}

/// The chat room.
pub struct Room {
    state: Mutex<State>,
    /// The accounts have their own lock, so that a registration waiting for
    /// the disk (REG-5) does not stop the chat. The two locks are never held
    /// at the same time, so they cannot deadlock.
    accounts: Mutex<Accounts>,
    /// Changed only together with `state`, so it shares its lock order:
    /// always lock `state` first.
    history: Mutex<History>,
    /// Where uploads are kept: `items/ID` in the data folder (SIDE-6).
    items_dir: PathBuf,
}

impl Session {
    /// A connection on which nobody is logged in yet.
    pub fn new(outbox: Outbox) -> Session {
        Session {
            outbox,
            me: None,
            closing: false,
            tickets: Vec::new(),
        }
    }
}

impl Room {
    /// Opens the room's files in the data folder (REG-5, HIST-4).
    pub fn open(data_dir: &Path) -> std::io::Result<Room> {
        std::fs::create_dir_all(data_dir)?;
        let items_dir = data_dir.join("items");
        std::fs::create_dir_all(&items_dir)?;
        Ok(Room {
            state: Mutex::default(),
            accounts: Mutex::new(Accounts::open(data_dir)?),
            history: Mutex::new(History::open(data_dir)?),
            items_dir,
        })
    }

    /// Acts on one frame from one connection.
    pub fn handle(&self, session: &mut Session, request: Request) -> Result<(), Refusal> {
        match request {
            Request::Login { username, password } => self.login(session, username, password),
            Request::Chat { username, text } => self.chat(session, &username, &text),
            Request::Ping { token } => {
                // PING-1: logged in or not. Because this connection's frames
                // are handled one at a time, and every frame caused by the
                // frames before it is already queued, the pong is a fence (PING-2).
                session.outbox.send(&Response::Pong { token });
                Ok(())
            }
            Request::Register {
                username,
                password,
                nickname,
            } => self.register(session, username, password, nickname),
            Request::Logout => self.logout(session),
            Request::List => {
                me(session)?;
                let list = self.lock().list();
                session.outbox.send(&list);
                Ok(())
            }
            Request::Private { to, text } => self.private(session, &to, &text),
            Request::Ticket => self.ticket(session),
            Request::Share { to, id, name } => self.share(session, to.as_ref(), &id, &name),
        }
    }

    /// `0001|username|password` -> `1001` (LOGIN-1 to LOGIN-3, LOGIN-5).
    fn login(
        &self,
        session: &mut Session,
        username: String,
        password: String,
    ) -> Result<(), Refusal> {
        if let Some(me) = &session.me {
            return Err(refuse(
                ErrorCode::AlreadyLoggedIn,
                format!("you are already logged in as {}", me.username),
            )); // ERR-4
        }
        // Copy what we need and let go of the lock: checking a password is
        // slow on purpose, and everybody else would wait for it.
        let account = self.accounts().get(&username).cloned();
        let reason = match (Username::new(username.as_str()), account) {
            // LOGIN-6: a name that breaks NAME-1 has no account; no crash, no special case.
            (Err(_), _) | (_, None) => Reason::UnknownUser,
            (Ok(_), Some(account)) if !accounts::password_matches(&account.hash, &password) => {
                Reason::WrongPassword
            }
            (Ok(name), Some(account)) => {
                let me = Me {
                    username: name,
                    nickname: account.nickname,
                };
                // Check and change under one lock: two connections logging
                // in to the same account at once cannot both succeed.
                let mut state = self.lock();
                if state.online.contains_key(&me.username) {
                    Reason::AlreadyOnline
                } else {
                    self.log_in(&mut state, session, me);
                    return Ok(());
                }
            }
        };
        // LOGIN-3: the connection stays open and not logged in, so the user can try again.
        let failed = AuthResult::Failed {
            reason: FailReason::Code(reason),
            username,
        };
        session.outbox.send(&Response::LoginResult(failed));
        Ok(())
    }

    /// Logs `me` in on `session` and tells everyone who needs to know.
    fn log_in(&self, state: &mut State, session: &mut Session, me: Me) {
        let ok = AuthResult::Ok {
            nickname: me.nickname.clone(),
            username: me.username.clone(),
        };
        session.outbox.send(&Response::LoginResult(ok)); // LOGIN-2
        let peer = Peer {
            nickname: me.nickname.clone(),
            outbox: session.outbox.clone(),
        };
        state.online.insert(me.username.clone(), peer);
        // LOGIN-7: the new user gets the list (it includes them), then (Level 4) the history.
        session.outbox.send(&state.list());
        for frame in self.history().replay(&me.username) {
            session.outbox.send(&frame); // HIST-1
        }
        state.notify(Event::Join, &me); // NOTE-1
        session.me = Some(me);
    }

    /// `0002|username|text` -> `1002|nickname|text` to everyone else (CHAT-1).
    fn chat(&self, session: &mut Session, claimed: &Username, text: &Text) -> Result<(), Refusal> {
        let me = me(session)?;
        if claimed != &me.username {
            // ERR-5: the server knows who logged in on this connection; the
            // name inside the frame is only a claim.
            return Err(refuse(
                ErrorCode::Impersonation,
                format!("you are logged in as {}, not {claimed}", me.username),
            ));
        }
        let state = self.lock();
        // Into the history first, then out to the room: once anyone has seen
        // the message, it is already on disk, even if the server is killed
        // the next moment (HIST-4). HIST-5: stamped with our clock, now.
        self.history()
            .record(&me.username, &me.nickname, None, text);
        let frame = Response::Chat {
            nickname: me.nickname.clone(),
            text: text.clone(),
        };
        for (username, peer) in &state.online {
            // CHAT-2: never back to the sender. CHAT-3: `online` holds only
            // logged-in connections. CHAT-4: we hold the lock while queueing,
            // so this sender's chats reach everyone in the order they were sent.
            if username != &me.username {
                peer.outbox.send(&frame);
            }
        }
        Ok(())
    }

    /// `0003|username|password|nickname` -> `1003` (REG-1 to REG-5).
    fn register(
        &self,
        session: &mut Session,
        username: String,
        password: String,
        nickname: String,
    ) -> Result<(), Refusal> {
        if let Some(me) = &session.me {
            return Err(refuse(
                ErrorCode::AlreadyLoggedIn,
                format!("you are already logged in as {}", me.username),
            )); // ERR-4
        }
        let name = Username::new(username.as_str()); // NAME-1
        let valid_password = Password::new(password.as_str()).is_ok(); // NAME-3
        let nick = Nickname::new(nickname.as_str()); // NAME-2
        // Hash before taking the lock (it is slow on purpose), and only a
        // password we may store.
        let hash = match (&name, valid_password, &nick) {
            (Ok(_), true, Ok(_)) => accounts::hash_password(&password).ok(),
            _ => None,
        };
        let mut accounts = self.accounts();
        // REG-3: the reasons in this order.
        let reason = if accounts.contains(&username) {
            Reason::NameTaken
        } else {
            match (name, valid_password, nick, hash) {
                (Err(_), _, _, _) => Reason::BadName,
                (_, false, _, _) => Reason::BadPassword,
                (_, _, Err(_), _) => Reason::BadNickname,
                (Ok(name), true, Ok(nick), Some(hash)) => match accounts.add(&name, &nick, hash) {
                    Ok(()) => {
                        // REG-2: registered, not logged in. The account is on
                        // disk already (REG-5).
                        let ok = AuthResult::Ok {
                            nickname: nick,
                            username: name,
                        };
                        session.outbox.send(&Response::RegisterResult(ok));
                        return Ok(());
                    }
                    Err(_) => Reason::ServerError,
                },
                (Ok(_), true, Ok(_), None) => Reason::ServerError, // hashing failed
            }
        };
        let failed = AuthResult::Failed {
            reason: FailReason::Code(reason),
            username,
        };
        session.outbox.send(&Response::RegisterResult(failed));
        Ok(())
    }

    /// `0005` -> the leave notices, then `1005`, then close (OUT-1).
    fn logout(&self, session: &mut Session) -> Result<(), Refusal> {
        me(session)?;
        self.leave(session);
        session.outbox.send(&Response::Bye);
        session.closing = true;
        Ok(())
    }

    /// `0004|to|text` -> `1004|from|nickname|text` to that user only (PRIV-1).
    fn private(&self, session: &mut Session, to: &Username, text: &Text) -> Result<(), Refusal> {
        let me = me(session)?;
        if to == &me.username {
            return Err(refuse(
                ErrorCode::BadField,
                "you cannot send a private message to yourself",
            )); // PRIV-3
        }
        let state = self.lock();
        let Some(peer) = state.online.get(to) else {
            return Err(refuse(
                ErrorCode::UserOffline,
                format!("{to} is not online"),
            )); // PRIV-2
        };
        // Recorded before it is delivered, as in `chat` (HIST-4).
        self.history()
            .record(&me.username, &me.nickname, Some(to), text);
        peer.outbox.send(&Response::Private {
            from: me.username.clone(),
            nickname: me.nickname.clone(),
            text: text.clone(),
        });
        // PRIV-4: nothing goes back to the sender.
        Ok(())
    }

    /// `0008` -> `1008|ticket`, for the side ports (SIDE-2).
    fn ticket(&self, session: &mut Session) -> Result<(), Refusal> {
        let me = me(session)?;
        // 128 random bits: nobody can guess a ticket, so nobody can upload or
        // fetch as somebody else.
        let ticket = Ticket::from_bytes(accounts::random_bytes());
        self.lock()
            .tickets
            .insert(ticket.to_string(), me.username.clone());
        session.tickets.push(ticket.to_string());
        session.outbox.send(&Response::Ticket { ticket });
        Ok(())
    }

    /// `0009|to|id|name` -> `1009` to the room or to one user (SHARE-1 to SHARE-3).
    fn share(
        &self,
        session: &mut Session,
        to: Option<&Username>,
        id: &ItemId,
        name: &ItemName,
    ) -> Result<(), Refusal> {
        let me = me(session)?;
        if to == Some(&me.username) {
            return Err(refuse(
                ErrorCode::BadField,
                "you cannot share with yourself",
            )); // PRIV-3
        }
        let mut state = self.lock();
        if let Some(to) = to
            && !state.online.contains_key(to)
        {
            return Err(refuse(
                ErrorCode::UserOffline,
                format!("{to} is not online"),
            ));
        }
        let Some(item) = state
            .items
            .get_mut(id)
            .filter(|item| item.owner == me.username)
        else {
            // SHARE-2: the same answer for an id that does not exist and one that is not yours.
            return Err(refuse(
                ErrorCode::NoSuchItem,
                "you have no upload with that id",
            ));
        };
        let frame = Response::Shared(SharedItem {
            kind: item.kind,
            from: me.username.clone(),
            nickname: me.nickname.clone(),
            to: to.cloned(),
            id: id.clone(),
            name: name.clone(),
            size: item.size,
            sha256: item.sha256.clone(),
        });
        match to {
            Some(to) => {
                item.readers.insert(to.clone()); // SHARE-3
                if let Some(peer) = state.online.get(to) {
                    peer.outbox.send(&frame);
                }
            }
            None => {
                item.room = true; // SHARE-3
                for (username, peer) in &state.online {
                    if username != &me.username {
                        peer.outbox.send(&frame);
                    }
                }
            }
        }
        Ok(())
    }

    /// The user a side-port ticket belongs to, if it is valid (SIDE-2).
    pub fn ticket_owner(&self, ticket: &str) -> Option<Username> {
        self.lock().tickets.get(ticket).cloned()
    }

    /// Remembers an upload that is already on disk under `id` (SIDE-3).
    pub fn add_item(&self, id: ItemId, kind: Kind, owner: Username, size: u64, sha256: Sha256) {
        let item = Item {
            kind,
            owner,
            size,
            sha256,
            room: false,
            readers: HashSet::new(),
        };
        self.lock().items.insert(id, item);
    }

    /// Where the bytes of item `id` are kept. The id is ours (SIDE-6), so
    /// this path never leaves the items folder.
    pub fn item_path(&self, id: &ItemId) -> PathBuf {
        self.items_dir.join(id.as_str())
    }

    /// The size and hash of an item that `user` may fetch (SIDE-7,
    /// SHARE-3), or `None`. `1009` says which port to fetch it from, but
    /// SPEC.md lets either port serve it.
    pub fn item_for(&self, user: &Username, id: &ItemId) -> Option<(u64, Sha256)> {
        let state = self.lock();
        let item = state.items.get(id)?;
        item.may_get(user).then(|| (item.size, item.sha256.clone()))
    }

    /// The connection is over, however it ended: a leave (NOTE-2), then close.
    pub fn disconnect(&self, session: &mut Session) {
        self.leave(session);
        session.outbox.close(None);
    }

    /// Logs the user on this connection out, if there is one.
    fn leave(&self, session: &mut Session) {
        let Some(me) = session.me.take() else {
            return; // NOTE-3: nobody logged in, nobody to tell
        };
        let mut state = self.lock();
        state.online.remove(&me.username);
        for ticket in session.tickets.drain(..) {
            state.tickets.remove(&ticket); // SIDE-2: valid until this connection logs out or closes
        }
        state.notify(Event::Leave, &me); // NOTE-2
    }

    /// The shared state. If a thread panicked while holding the lock, the
    /// others carry on: one broken connection must not stop the server (LOAD-5).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn accounts(&self) -> MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn history(&self) -> MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// `1006|count|username|nickname|…`, sorted by username (LIST-1).
    ///
    /// If everyone would not fit in one frame of `MAX_FRAME` bytes, the list
    /// holds the first users that fit, and the count says how many.
    fn list(&self) -> Response {
        let mut users = Vec::new();
        // "1006|" + count + LF, with room for the longest count.
        let mut len = 5 + self.online.len().to_string().len() + 1;
        for (username, peer) in &self.online {
            len += 2 + escape(username.as_str()).len() + escape(peer.nickname.as_str()).len();
            if len > MAX_FRAME {
                break;
            }
            users.push(OnlineUser {
                username: username.clone(),
                nickname: peer.nickname.clone(),
            });
        }
        Response::List { users }
    }

    /// `1010|event|username|nickname|count` to every other logged-in user
    /// (NOTE-1, NOTE-2). LIST-2: changes, not the whole list again.
    fn notify(&self, event: Event, who: &Me) {
        let notice = Response::Notice {
            event,
            username: who.username.clone(),
            nickname: who.nickname.clone(),
            count: self.online.len() as u64,
        };
        for (username, peer) in &self.online {
            if username != &who.username {
                peer.outbox.send(&notice);
            }
        }
    }
}

/// The user logged in on this connection, or `NOT_LOGGED_IN` (ERR-4).
fn me(session: &Session) -> Result<Me, Refusal> {
    session
        .me
        .clone()
        .ok_or_else(|| refuse(ErrorCode::NotLoggedIn, "log in first"))
}
