//! What each request does (SPEC.md sections 6 to 10), one method per frame.
//!
//! The protocol crate has already applied the first half of ERR-7 (UTF-8,
//! control bytes, id, field count, escapes, field syntax and values), so the
//! checks left here are the second half, in the same order: `NOT_LOGGED_IN` or
//! `ALREADY_LOGGED_IN` first, then the checks of the frame itself.

use std::sync::Arc;

use protocol::limits::MAX_FRAME;
use protocol::{
    AuthResult, ErrorCode, Event, FailReason, HistoryEntry, ItemId, ItemName, Nickname, OnlineUser,
    Reason, Request, Response, SharedItem, Text, Ticket, Username,
};

use super::{ConnId, Mailbox, Record, Room, Step, User, encode};

impl<M: Mailbox> Room<M> {
    /// Handles one request from one connection, received at Unix time `now`.
    ///
    /// Every frame it causes is queued before it returns, or for group frames
    /// staged until the next [`Room::flush`], in order either way (PING-2).
    pub fn handle(&mut self, conn: ConnId, request: Request, now: u64) -> Step {
        let Some(session) = self.sessions.get(&conn) else {
            return Step::Close;
        };
        let me = session.user.clone();
        let step = match (request, me) {
            // PING-1: answered whether or not the connection is logged in.
            (Request::Ping { token }, _) => {
                self.reply(conn, &Response::Pong { token });
                Step::Continue
            }
            (Request::Login { .. } | Request::Register { .. }, Some(_)) => {
                self.error(
                    conn,
                    ErrorCode::AlreadyLoggedIn,
                    "you are already logged in",
                ); // ERR-4
                Step::Continue
            }
            (Request::Login { username, password }, None) => Step::Login { username, password },
            (
                Request::Register {
                    username,
                    password,
                    nickname,
                },
                None,
            ) => Step::Register {
                username,
                password,
                nickname,
            },
            (_, None) => {
                self.error(conn, ErrorCode::NotLoggedIn, "log in first"); // ERR-4, CHAT-3
                Step::Continue
            }
            (Request::Chat { username, text }, Some(me)) => {
                self.chat(conn, me, username, text, now)
            }
            (Request::Private { to, text }, Some(me)) => self.private(conn, me, to, text, now),
            (Request::Logout, Some(_)) => self.logout(conn),
            (Request::List, Some(_)) => {
                let list = self.list();
                self.reply(conn, &list);
                Step::Continue
            }
            (Request::Ticket, Some(me)) => self.ticket(conn, me),
            (Request::Share { to, id, name }, Some(me)) => self.share(conn, me, to, id, name),
        };
        self.drop_overflowed();
        if self.sessions.contains_key(&conn) {
            step
        } else {
            Step::Close
        }
    }

    /// Finishes a `0001` after [`crate::accounts::Accounts::login`] checked
    /// the credentials (LOGIN-2, LOGIN-3, LOGIN-5 to LOGIN-7, NOTE-1, HIST-1).
    pub fn complete_login(
        &mut self,
        conn: ConnId,
        sent: String,
        checked: Result<(Username, Nickname), Reason>,
        _now: u64,
    ) -> Step {
        if !self.sessions.contains_key(&conn) {
            return Step::Close;
        }
        let checked = checked.and_then(|(username, nickname)| {
            // Checked here, under the room's lock, so that two connections
            // racing to log in as one user cannot both succeed.
            if self.online.contains_key(&username) {
                Err(Reason::AlreadyOnline)
            } else {
                Ok(User { username, nickname })
            }
        });
        let user = match checked {
            Ok(user) => user,
            Err(reason) => {
                log::info!("conn {conn}: login as {sent:?} failed: {reason}");
                let result = AuthResult::Failed {
                    reason: FailReason::Code(reason),
                    username: sent,
                };
                self.reply(conn, &Response::LoginResult(result));
                self.drop_overflowed();
                return self.step_for(conn);
            }
        };
        // Frames staged before this login are not for the new user.
        self.push_staged();
        let session = self.sessions.get_mut(&conn).expect("checked above");
        session.user = Some(Arc::new(user.clone()));
        self.online.insert(user.username.clone(), conn);
        log::info!(
            "{} ({}) logged in from {}; {} online",
            user.username,
            user.nickname,
            session.peer,
            self.online.len()
        );
        let result = AuthResult::Ok {
            nickname: user.nickname.clone(),
            username: user.username.clone(),
        };
        self.reply(conn, &Response::LoginResult(result)); // LOGIN-2
        let list = self.list();
        self.reply(conn, &list); // LOGIN-7
        let replay: Vec<HistoryEntry> = self.history.visible_to(&user.username).cloned().collect();
        let count = replay.len() as u64;
        for entry in replay {
            self.reply(conn, &Response::History(entry)); // HIST-1
        }
        self.reply(conn, &Response::HistoryEnd { count });
        let notice = encode(&Response::Notice {
            event: Event::Join,
            username: user.username,
            nickname: user.nickname,
            count: self.online.len() as u64,
        });
        self.broadcast(Some(conn), &notice); // NOTE-1
        self.drop_overflowed();
        self.step_for(conn)
    }

    /// Finishes a `0003` after [`crate::accounts::Accounts::register`] stored
    /// the account durably, or refused it (REG-2, REG-3, REG-5).
    pub fn complete_register(
        &mut self,
        conn: ConnId,
        sent: String,
        outcome: Result<(Username, Nickname), FailReason>,
    ) -> Step {
        let result = match outcome {
            Ok((username, nickname)) => {
                log::info!("conn {conn}: registered {username} ({nickname})");
                AuthResult::Ok { nickname, username }
            }
            Err(reason) => AuthResult::Failed {
                reason,
                username: sent,
            },
        };
        self.reply(conn, &Response::RegisterResult(result));
        self.drop_overflowed();
        self.step_for(conn)
    }

    fn step_for(&self, conn: ConnId) -> Step {
        if self.sessions.contains_key(&conn) {
            Step::Continue
        } else {
            Step::Close
        }
    }

    fn error(&mut self, conn: ConnId, code: ErrorCode, reason: impl Into<String>) {
        self.reply(conn, &Response::error(code, reason));
    }

    /// `0002` (CHAT-1 to CHAT-4, ERR-5, EMOJI-1: the text goes out unchanged).
    fn chat(
        &mut self,
        conn: ConnId,
        me: Arc<User>,
        claimed: Username,
        text: Text,
        now: u64,
    ) -> Step {
        if claimed != me.username {
            let reason = format!("you are logged in as {}, not {claimed}", me.username);
            self.error(conn, ErrorCode::Impersonation, reason);
            return Step::Continue;
        }
        log::debug!("{}: {}", me.username, text);
        // The nickname and text go into the response and come back out for
        // the history, and the username sent is the one checked above: one
        // copy of the nickname per message, none of the rest.
        let response = Response::Chat {
            nickname: me.nickname.clone(),
            text,
        };
        let frame = encode(&response);
        let Response::Chat { nickname, text } = response else {
            unreachable!("built just above")
        };
        // CHAT-2: everyone but the sender.
        self.broadcast(Some(conn), &frame);
        self.remember(now, claimed, nickname, None, text);
        Step::Continue
    }

    /// `0004` (PRIV-1 to PRIV-4).
    fn private(&mut self, conn: ConnId, me: Arc<User>, to: Username, text: Text, now: u64) -> Step {
        if to == me.username {
            self.error(
                conn,
                ErrorCode::BadField,
                "you cannot send a private message to yourself",
            );
            return Step::Continue;
        }
        let Some(&target) = self.online.get(&to) else {
            self.error(conn, ErrorCode::UserOffline, format!("{to} is not online"));
            return Step::Continue;
        };
        log::debug!("{} -> {}: {}", me.username, to, text);
        let response = Response::Private {
            from: me.username.clone(),
            nickname: me.nickname.clone(),
            text,
        };
        let frame = encode(&response);
        let Response::Private {
            from,
            nickname,
            text,
        } = response
        else {
            unreachable!("built just above")
        };
        self.send(target, &frame); // PRIV-4: nothing goes back to the sender.
        self.remember(now, from, nickname, Some(to), text);
        Step::Continue
    }

    /// Appends a message to the history (HIST-1 to HIST-5) and the journal.
    fn remember(
        &mut self,
        now: u64,
        from: Username,
        nickname: Nickname,
        to: Option<Username>,
        text: Text,
    ) {
        let entry = self.history.push(HistoryEntry {
            time: now,
            from,
            nickname,
            to,
            text,
        });
        self.journal.push(Record::History(entry));
    }

    /// `0005` (OUT-1): `1005`, then close; the others see a leave (NOTE-2).
    fn logout(&mut self, conn: ConnId) -> Step {
        if let Some(session) = self.remove(conn) {
            session.mailbox.finish(encode(&Response::Bye));
        }
        Step::Close
    }

    /// The online list (LIST-1), sorted by username.
    ///
    /// FRAME-5 caps every frame at `MAX_FRAME` bytes, and past a few hundred
    /// users the whole list no longer fits; then the list holds the first users
    /// that fit, and its count says how many that is, so the frame stays valid.
    fn list(&self) -> Response {
        let mut users = Vec::new();
        // "1006|" + count + LF, with room for a count of up to 20 digits.
        let mut size = 4 + 1 + 20 + 1;
        for (username, &conn) in &self.online {
            let Some(user) = self.sessions.get(&conn).and_then(|s| s.user.as_ref()) else {
                continue;
            };
            // Two separators and both fields as they will be escaped.
            size += 2
                + protocol::escape::escaped_len(username.as_str())
                + protocol::escape::escaped_len(user.nickname.as_str());
            if size > MAX_FRAME {
                break;
            }
            users.push(OnlineUser {
                username: username.clone(),
                nickname: user.nickname.clone(),
            });
        }
        Response::List { users }
    }

    /// `0008` (SIDE-2): a fresh unpredictable ticket, valid while this
    /// connection stays logged in.
    fn ticket(&mut self, conn: ConnId, me: Arc<User>) -> Step {
        let ticket = Ticket::from_bytes((self.random)());
        self.tickets.insert(ticket.clone(), me.username.clone());
        if let Some(session) = self.sessions.get_mut(&conn) {
            session.tickets.push(ticket.clone());
        }
        self.reply(conn, &Response::Ticket { ticket });
        Step::Continue
    }

    /// `0009` (SHARE-1, SHARE-2), with the checks in ERR-7's order.
    fn share(
        &mut self,
        conn: ConnId,
        me: Arc<User>,
        to: Option<Username>,
        id: ItemId,
        name: ItemName,
    ) -> Step {
        let target = match &to {
            Some(to) if *to == me.username => {
                self.error(
                    conn,
                    ErrorCode::BadField,
                    "you cannot share an item with yourself",
                );
                return Step::Continue;
            }
            Some(to) => match self.online.get(to) {
                Some(&target) => Some(target),
                None => {
                    self.error(conn, ErrorCode::UserOffline, format!("{to} is not online"));
                    return Step::Continue;
                }
            },
            None => None,
        };
        let Some(item) = self
            .items
            .get(id.as_str())
            .filter(|item| item.owner == me.username)
        else {
            self.error(
                conn,
                ErrorCode::NoSuchItem,
                format!("you have no item {id}"),
            );
            return Step::Continue;
        };
        let frame = encode(&Response::Shared(SharedItem {
            kind: item.kind,
            from: me.username.clone(),
            nickname: me.nickname.clone(),
            to: to.clone(),
            id: item.id.clone(),
            name,
            size: item.size,
            sha256: item.sha256.clone(),
        }));
        log::info!(
            "{} shared {id} with {}",
            me.username,
            to.as_ref().map_or("the room", |u| u.as_str())
        );
        self.items.share(id.as_str(), to.clone());
        self.journal.push(Record::Shared { id, to });
        match target {
            Some(target) => self.send(target, &frame),
            None => self.broadcast(Some(conn), &frame),
        }
        Step::Continue
    }
}
