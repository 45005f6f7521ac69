//! The model's rules, driven by events with fixed times: who sees what, in
//! which colour, and what the front end is asked to do.

use protocol::{
    AuthResult, ErrorCode, Event as Notice, HistoryEntry, ItemId, ItemName, Kind, Nickname,
    OnlineUser, Request, Response, Sha256, SharedItem, Text, Username,
};

use super::*;
use crate::net::{Event, LoginFailure, Status};

const T: i64 = 1_795_412_100;

fn user(name: &str) -> OnlineUser {
    OnlineUser {
        username: Username::new(name).unwrap(),
        nickname: Nickname::new(name).unwrap(),
    }
}

fn frame(model: &mut Model, response: Response) -> Vec<Effect> {
    model.apply(Event::Frame(response), T)
}

/// Logged in as Julia, with Meggie online and an empty history.
fn julia() -> Model {
    let mut model = Model::new();
    model.apply(Event::Status(Status::Online), T);
    frame(
        &mut model,
        Response::LoginResult(AuthResult::Ok {
            nickname: Nickname::new("Julia").unwrap(),
            username: Username::new("Julia").unwrap(),
        }),
    );
    frame(
        &mut model,
        Response::List {
            users: vec![user("Julia"), user("Meggie")],
        },
    );
    frame(&mut model, Response::HistoryEnd { count: 0 });
    model
}

fn kinds(model: &Model) -> Vec<(LineKind, String)> {
    model.lines().iter().map(|l| (l.kind, l.plain())).collect()
}

fn history(from: &str, to: Option<&str>, text: &str) -> Response {
    Response::History(HistoryEntry {
        time: T as u64 - 60,
        from: Username::new(from).unwrap(),
        nickname: Nickname::new(from).unwrap(),
        to: to.map(|t| Username::new(t).unwrap()),
        text: Text::new(text).unwrap(),
    })
}

#[test]
fn login_shows_welcome_list_and_title() {
    let model = julia();
    assert_eq!(model.title(), "ChatLab — Julia");
    assert_eq!(model.users().len(), 2);
    let lines = kinds(&model);
    assert!(lines[0].1.contains("welcome, Julia"), "{lines:?}");
    assert_eq!(lines[1].1, "* 2 online: Julia, Meggie");
}

#[test]
fn own_and_other_group_messages() {
    let mut model = julia();
    let request = model.compose("今晚开会吗？", T).unwrap();
    assert_eq!(request.to_bytes(), "0002|Julia|今晚开会吗？\n".as_bytes());
    frame(
        &mut model,
        Response::Chat {
            nickname: Nickname::new("Meggie").unwrap(),
            text: Text::new("开 :happy:").unwrap(),
        },
    );
    let lines = kinds(&model);
    let n = lines.len();
    assert_eq!(lines[n - 2], (LineKind::Own, "Julia: 今晚开会吗？".into()));
    assert_eq!(lines[n - 1], (LineKind::Other, "Meggie: 开 :happy:".into()));
}

#[test]
fn private_chat_changes_the_title_and_the_frame() {
    let mut model = julia();
    assert_eq!(model.select(Some("Meggie")), Ok(vec![Effect::TitleChanged]));
    assert_eq!(model.title(), "ChatLab — Julia → Meggie");
    let request = model.compose("a|b", T).unwrap();
    assert_eq!(request.to_bytes(), b"0004|Meggie|a\\pb\n");
    frame(
        &mut model,
        Response::Private {
            from: Username::new("Meggie").unwrap(),
            nickname: Nickname::new("Meggie").unwrap(),
            text: Text::new("开，八点见").unwrap(),
        },
    );
    let lines = kinds(&model);
    let n = lines.len();
    assert_eq!(
        lines[n - 2],
        (LineKind::PrivateOut, "Julia → Meggie (private): a|b".into())
    );
    assert_eq!(
        lines[n - 1],
        (LineKind::PrivateIn, "Meggie (private): 开，八点见".into())
    );
    assert!(
        model.select(Some("Julia")).is_err(),
        "PRIV-3: not to oneself"
    );
    assert!(model.select(Some("Nina")).is_err(), "not online");
    assert_eq!(model.select(None), Ok(vec![Effect::TitleChanged]));
}

#[test]
fn refuses_empty_and_oversize_messages() {
    let mut model = julia();
    let lines = model.lines().len();
    assert!(model.compose("  ", T).is_err(), "CHAT-5");
    assert!(model.compose(&"长".repeat(2000), T).is_err(), "FRAME-5");
    assert_eq!(
        model.lines().len(),
        lines,
        "nothing shown for a refused message"
    );
    assert!(Model::new().compose("hi", T).is_err(), "not logged in");
}

#[test]
fn notices_keep_the_list_sorted_and_reset_a_gone_partner() {
    let mut model = julia();
    let join = |name: &str, count| Response::Notice {
        event: Notice::Join,
        username: Username::new(name).unwrap(),
        nickname: Nickname::new(name).unwrap(),
        count,
    };
    frame(&mut model, join("小明", 3));
    frame(&mut model, join("Kim", 4));
    let names: Vec<&str> = model.users().iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["Julia", "Kim", "Meggie", "小明"]);
    model.select(Some("Meggie")).unwrap();
    let effects = frame(
        &mut model,
        Response::Notice {
            event: Notice::Leave,
            username: Username::new("Meggie").unwrap(),
            nickname: Nickname::new("Meggie").unwrap(),
            count: 3,
        },
    );
    assert!(effects.contains(&Effect::TitleChanged));
    assert_eq!(model.target(), None);
    let lines = kinds(&model);
    assert!(
        lines
            .iter()
            .any(|(_, l)| l == "* Meggie left 下线了 · 3 online"),
        "{lines:?}"
    );
}

#[test]
fn history_is_classified_from_our_point_of_view() {
    let mut model = julia();
    frame(&mut model, history("Meggie", None, "g1"));
    frame(&mut model, history("Julia", Some("Meggie"), "p1"));
    frame(&mut model, history("Meggie", Some("Julia"), "p2"));
    let lines: Vec<_> = model.lines().iter().rev().take(3).rev().collect();
    assert!(lines.iter().all(|l| l.history && l.time == T - 60));
    assert_eq!(
        lines.iter().map(|l| l.kind).collect::<Vec<_>>(),
        [LineKind::Other, LineKind::PrivateOut, LineKind::PrivateIn]
    );
}

#[test]
fn reconnect_does_not_repeat_messages_already_shown() {
    let mut model = julia();
    frame(
        &mut model,
        Response::Chat {
            nickname: Nickname::new("Meggie").unwrap(),
            text: Text::new("ok").unwrap(),
        },
    );
    model.compose("ok", T).unwrap();
    model.apply(
        Event::Status(Status::Reconnecting {
            secs: 1,
            reason: "lost".into(),
        }),
        T,
    );
    assert!(model.users().is_empty());
    assert!(
        model.compose("lost?", T).is_err(),
        "offline: nothing is sent"
    );
    model.apply(Event::Status(Status::Online), T);
    frame(
        &mut model,
        Response::LoginResult(AuthResult::Ok {
            nickname: Nickname::new("Julia").unwrap(),
            username: Username::new("Julia").unwrap(),
        }),
    );
    let before = model.lines().len();
    frame(&mut model, history("Meggie", None, "ok"));
    frame(&mut model, history("Julia", None, "ok"));
    frame(&mut model, history("Meggie", None, "ok")); // a second "ok": new
    let added: Vec<_> = model.lines()[before..].iter().map(|l| l.plain()).collect();
    assert_eq!(added, ["Meggie: ok"]);
}

#[test]
fn shared_items_are_offered_and_updated_when_saved() {
    let mut model = julia();
    let item = SharedItem {
        kind: Kind::Photo,
        from: Username::new("Meggie").unwrap(),
        nickname: Nickname::new("Meggie").unwrap(),
        to: None,
        id: ItemId::new("p7").unwrap(),
        name: ItemName::new("猫.png").unwrap(),
        size: 3,
        sha256: Sha256::of(b"cat"),
    };
    let effects = frame(&mut model, Response::Shared(item.clone()));
    assert_eq!(effects, [Effect::LinesAdded, Effect::Offer(item.clone())]);
    let index = model.lines().len() - 1;
    assert_eq!(
        model.lines()[index].plain(),
        "Meggie: [photo 猫.png, id p7]"
    );
    assert_eq!(model.item("p7"), Some(&item));
    let path = std::path::PathBuf::from("/cache/p7-猫.png");
    let effects = model.apply(
        Event::Downloaded {
            item,
            path: path.clone(),
        },
        T,
    );
    assert!(effects.contains(&Effect::LineChanged(index)));
    assert!(matches!(&model.lines()[index].body, Body::Photo { path: Some(p), .. } if *p == path));
}

#[test]
fn errors_and_failures_become_lines() {
    let mut model = julia();
    frame(
        &mut model,
        Response::error(ErrorCode::UserOffline, "Nina is not online"),
    );
    let effects = model.apply(
        Event::LoginFailed(LoginFailure::Rejected(protocol::FailReason::Code(
            protocol::Reason::WrongPassword,
        ))),
        T,
    );
    assert!(matches!(&effects[1], Effect::LoginFailed(why) if why.contains("wrong password")));
    let lines = kinds(&model);
    let n = lines.len();
    assert_eq!(
        lines[n - 2],
        (LineKind::Error, "! USER_OFFLINE: Nina is not online".into())
    );
}

#[test]
fn chat_request_claims_our_own_name() {
    // ERR-5: the username in 0002 must be the logged-in one.
    let mut model = julia();
    let Request::Chat { username, .. } = model.compose("hi", T).unwrap() else {
        panic!("a group message is a 0002");
    };
    assert_eq!(username.as_str(), "Julia");
}
