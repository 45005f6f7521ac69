//! How each network event changes the model: the rules for frames from the
//! server (which line, which colour, which effect), connection changes, and
//! finished transfers. [`Model::apply`] in `mod.rs` dispatches here.

use std::collections::HashMap;
use std::path::PathBuf;

use protocol::{AuthResult, Event as Notice, HistoryEntry, OnlineUser, Response, SharedItem};

use super::{Body, Effect, Line, LineKind, Me, Model, describe_user, item_body};
use crate::net::Status;

impl Model {
    pub(super) fn on_status(&mut self, status: Status, now: i64) -> Vec<Effect> {
        match &status {
            Status::Online if self.was_online => self.notice(now, "reconnected 已重新连接", false),
            Status::Online => self.was_online = true,
            Status::Reconnecting { secs, reason } => {
                let text = format!("{reason}; reconnecting in {secs} s 正在重连");
                self.push(now, LineKind::Error, Body::Text(text));
            }
            Status::Offline if self.was_online => self.notice(now, "offline 已离线", false),
            Status::Connecting | Status::Offline => {}
        }
        if matches!(status, Status::Reconnecting { .. } | Status::Offline) {
            // Nobody is online as far as we can tell until the next 1006.
            self.users.clear();
        }
        self.status = status;
        vec![Effect::StatusChanged, Effect::UsersChanged]
    }

    pub(super) fn on_frame(&mut self, frame: Response, now: i64) -> Vec<Effect> {
        match frame {
            Response::LoginResult(AuthResult::Ok { nickname, username }) => {
                let text = format!("欢迎 welcome, {nickname}! logged in as {username}");
                self.me = Some(Me {
                    username,
                    nickname: nickname.into_string(),
                });
                self.replay = Some(HashMap::new());
                self.notice(now, text, false);
                return vec![Effect::TitleChanged];
            }
            Response::Chat { nickname, text } => {
                let text = text.into_string();
                self.push_message(
                    now,
                    LineKind::Other,
                    nickname.into_string(),
                    None,
                    text,
                    false,
                );
            }
            Response::Private {
                from,
                nickname,
                text,
            } => {
                let (nick, peer) = (nickname.into_string(), Some(from.into_string()));
                self.push_message(
                    now,
                    LineKind::PrivateIn,
                    nick,
                    peer,
                    text.into_string(),
                    false,
                );
            }
            Response::Bye => self.notice(now, "logged out 已退出", false),
            Response::List { users } => {
                self.users = users;
                let names: Vec<String> = self.users.iter().map(describe_user).collect();
                let text = format!("{} online: {}", self.users.len(), names.join(", "));
                self.notice(now, text, false);
                return vec![Effect::UsersChanged];
            }
            Response::Notice {
                event,
                username,
                nickname,
                count,
            } => return self.on_notice(event, OnlineUser { username, nickname }, count, now),
            Response::History(entry) => self.on_history(entry),
            Response::HistoryEnd { count } => {
                self.replay = None;
                self.notice(
                    now,
                    format!("— {count} messages from history 历史消息 —"),
                    false,
                );
            }
            Response::Shared(item) => return self.on_shared(item, now),
            Response::Error { code, reason } => {
                self.push(
                    now,
                    LineKind::Error,
                    Body::Text(format!("{code}: {reason}")),
                );
            }
            Response::LoginResult(_)
            | Response::RegisterResult(_)
            | Response::Pong { .. }
            | Response::Ticket { .. } => {}
        }
        vec![]
    }

    fn on_notice(&mut self, event: Notice, user: OnlineUser, count: u64, now: i64) -> Vec<Effect> {
        let who = describe_user(&user);
        let mut effects = vec![Effect::UsersChanged];
        match event {
            Notice::Join => {
                self.users.retain(|u| u.username != user.username);
                let at = self
                    .users
                    .partition_point(|u| u.username.as_str() < user.username.as_str());
                self.users.insert(at, user);
                self.notice(now, format!("{who} joined 上线了 · {count} online"), false);
            }
            Notice::Leave => {
                self.users.retain(|u| u.username != user.username);
                self.notice(now, format!("{who} left 下线了 · {count} online"), false);
                if self.target.as_ref() == Some(&user.username) {
                    self.target = None;
                    self.notice(now, "back to the group chat 回到群聊", false);
                    effects.push(Effect::TitleChanged);
                }
            }
        }
        effects
    }

    /// HIST-1 and HIST-2: classify the entry from our point of view; skip it
    /// if it is a message already shown before a reconnect.
    fn on_history(&mut self, entry: HistoryEntry) {
        let mine = self.me.as_ref().is_some_and(|me| me.username == entry.from);
        let (kind, peer) = match (&entry.to, mine) {
            (None, true) => (LineKind::Own, None),
            (None, false) => (LineKind::Other, None),
            (Some(to), true) => (LineKind::PrivateOut, Some(to.to_string())),
            (Some(_), false) => (LineKind::PrivateIn, Some(entry.from.to_string())),
        };
        let nickname = entry.nickname.into_string();
        let text = entry.text.into_string();
        if let Some(replay) = &mut self.replay {
            let key = (nickname.clone(), peer.clone(), text.clone());
            let seen = replay.entry(key.clone()).or_default();
            *seen += 1;
            if *seen <= self.shown.get(&key).copied().unwrap_or(0) {
                return;
            }
        }
        self.push_message(entry.time as i64, kind, nickname, peer, text, true);
    }

    fn on_shared(&mut self, item: SharedItem, now: i64) -> Vec<Effect> {
        let (kind, peer) = match &item.to {
            None => (LineKind::Other, None),
            Some(_) => (LineKind::PrivateIn, Some(item.from.to_string())),
        };
        let body = item_body(
            item.kind,
            item.id.to_string(),
            item.name.to_string(),
            item.size,
            None,
        );
        self.lines.push(Line {
            time: now,
            kind,
            from: item.nickname.to_string(),
            peer,
            body,
            history: false,
        });
        self.items.push(item.clone());
        vec![Effect::Offer(item)]
    }

    pub(super) fn on_downloaded(
        &mut self,
        item: SharedItem,
        path: PathBuf,
        now: i64,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        for (index, line) in self.lines.iter_mut().enumerate() {
            match &mut line.body {
                Body::Photo {
                    id, path: local, ..
                }
                | Body::File {
                    id, path: local, ..
                } if id.as_str() == item.id.as_str() => {
                    *local = Some(path.clone());
                    effects.push(Effect::LineChanged(index));
                }
                _ => {}
            }
        }
        let text = format!(
            "saved {} ({} bytes, SHA-256 checked) to {}",
            item.id,
            item.size,
            path.display()
        );
        self.notice(now, text, false);
        effects
    }
}
