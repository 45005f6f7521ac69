//! The chat room: the state every connection shares, and what each frame does.
//!
//! Every connection's thread calls [`Room::handle`] with the frames of its own
//! connection, one at a time. The shared state sits behind one lock, taken
//! for as short a time as possible: never while waiting for a client,
//! and never for more than one frame.
//!
//! The room never touches a socket. It sends frames by putting them in
//! outboxes (`outbox.rs`), so this file is all chat logic and no I/O.
//!
//! Each method answers a frame it cannot act on with `Err(Refusal)`.
//! The connection sends that back as one `1900` frame (ERR-1). A method
//! checks first whether the frame is allowed at all (ERR-4), then the frame
//! itself, in the order of ERR-7.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use protocol::{
    AuthResult, ErrorCode, FailReason, Nickname, Reason, Request, Response, Text, Username,
};

use crate::outbox::Outbox;

/// The seed accounts of SPEC.md section 6: username, password, nickname.
///
/// Fixed accounts in the code are fine at Levels 1 and 2. Lab 3 moves them to
/// a file, with hashes instead of passwords (REG-4).
const SEED_ACCOUNTS: &[(&str, &str, &str)] = &[
    ("user1", "114514", "konbi"),
    ("admin", "HytidelSB", "Hytidel"),
    ("Julia", "sunyu", "Julia"),
    ("Meggie", "maiji", "Meggie"),
    ("小明", "xiaoming123", "小明"),
];

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
}

/// The user logged in on a connection.
#[derive(Clone)]
struct Me {
    username: Username,
    nickname: Nickname,
}

/// A logged-in user, as the other connections see them.
struct Peer {
    outbox: Outbox,
}

/// Everything the connections share. Only ever used with `Room::state` locked.
#[derive(Default)]
struct State {
    /// Username -> peer, for every logged-in connection. A `BTreeMap` keeps
    /// the usernames sorted by their UTF-8 bytes, the order LIST-1 asks for.
    online: BTreeMap<Username, Peer>,
}

/// The chat room.
pub struct Room {
    state: Mutex<State>,
}

impl Session {
    /// A connection on which nobody is logged in yet.
    pub fn new(outbox: Outbox) -> Session {
        Session { outbox, me: None }
    }
}

impl Room {
    /// An empty room.
    pub fn new() -> Room {
        Room {
            state: Mutex::default(),
        }
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
            // Frames of later labs: this server does not know them yet.
            other => Err(refuse(
                ErrorCode::UnknownType,
                format!("{} is not a frame this server knows yet", other.id()),
            )),
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
        let account = SEED_ACCOUNTS.iter().find(|(name, _, _)| *name == username);
        let reason = match (Username::new(username.as_str()), account) {
            (Err(_), _) | (_, None) => Reason::UnknownUser,
            (Ok(_), Some(&(_, right, _))) if right != password => Reason::WrongPassword,
            (Ok(name), Some(&(_, _, nickname))) => {
                let Ok(nickname) = Nickname::new(nickname) else {
                    return Ok(()); // the seed nicknames are all valid
                };
                let me = Me {
                    username: name,
                    nickname,
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
            outbox: session.outbox.clone(),
        };
        state.online.insert(me.username.clone(), peer);
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
    }

    /// The shared state. If a thread panicked while holding the lock, the
    /// others carry on: one broken connection must not stop the server (LOAD-5).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The user logged in on this connection, or `NOT_LOGGED_IN` (ERR-4).
fn me(session: &Session) -> Result<Me, Refusal> {
    session
        .me
        .clone()
        .ok_or_else(|| refuse(ErrorCode::NotLoggedIn, "log in first"))
}
