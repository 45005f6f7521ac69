//! Unit tests of the room without any socket: each connection's mailbox is a
//! `Vec` of frames, and time is whatever the test says it is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use protocol::{FailReason, Kind, Nickname, Reason, Sha256, Username, parse_request};

use super::*;

/// A mailbox that records frames, holding at most `capacity` unread ones.
#[derive(Clone)]
struct Probe(Arc<Mutex<ProbeState>>);

struct ProbeState {
    frames: Vec<String>,
    capacity: usize,
    closed: bool,
}

impl Mailbox for Probe {
    fn push(&self, frame: &Frame) -> bool {
        let mut s = self.0.lock().unwrap();
        if s.frames.len() >= s.capacity {
            return false;
        }
        s.frames.push(String::from_utf8(frame.to_vec()).unwrap());
        true
    }
    fn finish(&self, last: Frame) {
        let mut s = self.0.lock().unwrap();
        s.frames.push(String::from_utf8(last.to_vec()).unwrap());
        s.closed = true;
    }
    fn abort(&self, last: Frame) {
        let mut s = self.0.lock().unwrap();
        s.frames.clear();
        s.frames.push(String::from_utf8(last.to_vec()).unwrap());
        s.closed = true;
    }
}

struct Harness {
    room: Room<Probe>,
    probes: HashMap<ConnId, Probe>,
    now: u64,
}

impl Harness {
    fn new() -> Self {
        let mut counter = 0u8;
        let random = Box::new(move || {
            counter += 1;
            [counter; 16]
        });
        Self {
            room: Room::new(History::new(30), Items::new(), random),
            probes: HashMap::new(),
            now: 1_795_412_100,
        }
    }

    fn connect_with(&mut self, conn: ConnId, capacity: usize) {
        let probe = Probe(Arc::new(Mutex::new(ProbeState {
            frames: Vec::new(),
            capacity,
            closed: false,
        })));
        self.room
            .connect(conn, format!("test:{conn}"), probe.clone());
        self.probes.insert(conn, probe);
    }

    fn connect(&mut self, conn: ConnId) {
        self.connect_with(conn, 10_000);
    }

    /// Feeds one line as the network would, login steps answered as if the
    /// account `username` existed with nickname `nick-username`.
    fn send(&mut self, conn: ConnId, line: &str) -> Step {
        let step = self.send_staged(conn, line);
        self.room.flush();
        step
    }

    /// Like [`Harness::send`], without the flush that ends a batch of frames.
    fn send_staged(&mut self, conn: ConnId, line: &str) -> Step {
        match parse_request(line.as_bytes()) {
            Err(e) => {
                self.room.reject(conn, &e);
                Step::Continue
            }
            Ok(request) => match self.room.handle(conn, request, self.now) {
                Step::Login { username, .. } => {
                    let checked = Username::new(username.clone())
                        .map(|u| (u.clone(), Nickname::new(format!("nick-{u}")).unwrap()))
                        .map_err(|_| Reason::UnknownUser);
                    self.room.complete_login(conn, username, checked, self.now)
                }
                step => step,
            },
        }
    }

    fn login(&mut self, conn: ConnId, user: &str) {
        self.connect(conn);
        assert_eq!(self.send(conn, &format!("0001|{user}|pw")), Step::Continue);
        let got = self.take(conn);
        assert_eq!(got[0], format!("1001|1|nick-{user}|{user}"));
    }

    fn take(&mut self, conn: ConnId) -> Vec<String> {
        let mut s = self.probes[&conn].0.lock().unwrap();
        s.frames
            .drain(..)
            .map(|f| f.trim_end_matches('\n').to_owned())
            .collect()
    }

    fn closed(&self, conn: ConnId) -> bool {
        self.probes[&conn].0.lock().unwrap().closed
    }
}

#[test]
fn chat_goes_to_every_other_logged_in_user_only() {
    // CHAT-1, CHAT-2, CHAT-3, EMOJI-1 (shortcodes pass unchanged).
    let mut h = Harness::new();
    h.login(1, "a");
    h.login(2, "b");
    h.connect(3);
    h.take(1);
    h.send(1, "0002|a|hi :happy: \\p");
    assert_eq!(h.take(2), ["1002|nick-a|hi :happy: \\p"]);
    assert!(h.take(1).is_empty());
    assert!(h.take(3).is_empty());
}

#[test]
fn login_sends_list_then_history_and_notifies_others() {
    // LOGIN-2, LOGIN-7, LIST-1, HIST-1, NOTE-1.
    let mut h = Harness::new();
    h.login(1, "小红");
    h.send(1, "0002|小红|早");
    h.connect(2);
    h.send(2, "0001|Julia|x");
    assert_eq!(
        h.take(2),
        [
            "1001|1|nick-Julia|Julia",
            "1006|2|Julia|nick-Julia|小红|nick-小红",
            "1011|1795412100|小红|nick-小红||早",
            "1012|1",
        ]
    );
    assert_eq!(h.take(1), ["1010|JOIN|Julia|nick-Julia|2"]);
}

#[test]
fn failed_login_keeps_the_connection_and_causes_no_notice() {
    // LOGIN-3, LOGIN-5, LOGIN-6, NOTE-3.
    let mut h = Harness::new();
    h.login(1, "a");
    h.take(1);
    h.connect(2);
    assert_eq!(h.send(2, "0001|../x|pw"), Step::Continue);
    assert_eq!(h.take(2), ["1001|0|UNKNOWN_USER|../x"]);
    // LOGIN-5: the account is already online elsewhere.
    h.send(2, "0001|a|pw");
    assert_eq!(h.take(2), ["1001|0|ALREADY_ONLINE|a"]);
    h.room.disconnect(2);
    assert!(h.take(1).is_empty());
}

#[test]
fn frames_that_need_a_login_are_refused_before_it() {
    // ERR-4, CHAT-3, PING-1 (ping works logged out).
    let mut h = Harness::new();
    h.connect(1);
    for line in ["0002|a|x", "0004|a|x", "0005", "0006", "0008", "0009||p1|x"] {
        h.send(1, line);
        let got = h.take(1);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("1900|NOT_LOGGED_IN|"), "{line}: {got:?}");
    }
    h.send(1, "0007|t1");
    assert_eq!(h.take(1), ["1007|t1"]);
    h.login(2, "b");
    h.send(2, "0003|c|pw|c");
    assert!(h.take(2)[0].starts_with("1900|ALREADY_LOGGED_IN|"));
}

#[test]
fn impersonation_is_refused_and_delivers_nothing() {
    // ERR-5, ERR-1.
    let mut h = Harness::new();
    h.login(1, "a");
    h.login(2, "b");
    h.take(1);
    h.take(2);
    h.send(1, "0002|b|我是b");
    let got = h.take(1);
    assert!(got[0].starts_with("1900|IMPERSONATION|"), "{got:?}");
    assert!(h.take(2).is_empty());
    assert_eq!(h.room.history.len(), 0);
}

#[test]
fn bad_frames_get_their_error_code() {
    // ERR-2, ERR-3 (the code comes from the protocol crate), ERR-6.
    let mut h = Harness::new();
    h.login(1, "a");
    h.take(1);
    let cases = [
        ("hello", "MALFORMED"),
        ("9999|x", "UNKNOWN_TYPE"),
        ("0002|a|bad\\q", "BAD_ESCAPE"),
        ("0002|a|", "BAD_FIELD"),
        ("0002|a", "MALFORMED"),
    ];
    for (line, code) in cases {
        h.send(1, line);
        let got = h.take(1);
        assert_eq!(got.len(), 1, "{line}");
        assert!(
            got[0].starts_with(&format!("1900|{code}|")),
            "{line}: {got:?}"
        );
    }
    h.send(1, "0007|still-here");
    assert_eq!(h.take(1), ["1007|still-here"]);
}

#[test]
fn staged_group_frames_keep_their_order_with_everything_else() {
    // CHAT-2, PING-2, OUT-1, NOTE-1: frames of one batch, flushed once at its
    // end, reach each connection in the order the room made them.
    let mut h = Harness::new();
    h.login(1, "a");
    h.login(2, "b");
    h.login(3, "c");
    h.room.flush();
    for c in 1..=3 {
        h.take(c);
    }
    h.send_staged(1, "0002|a|one");
    h.send_staged(1, "0004|b|two");
    h.send_staged(3, "0002|c|three");
    h.send_staged(2, "0007|t");
    h.send_staged(1, "0002|a|four");
    // A user who logs in now gets nothing from before the login.
    h.connect(4);
    h.send_staged(4, "0001|d|pw");
    h.send_staged(1, "0002|a|five");
    // A user who logs out still gets what came before the logout.
    h.send_staged(1, "0002|a|six");
    assert_eq!(h.send_staged(3, "0005"), Step::Close);
    h.room.flush();
    assert_eq!(
        h.take(2),
        [
            "1002|nick-a|one",
            "1004|a|nick-a|two",
            "1002|nick-c|three",
            "1007|t",
            "1002|nick-a|four",
            "1010|JOIN|d|nick-d|4",
            "1002|nick-a|five",
            "1002|nick-a|six",
            "1010|LEAVE|c|nick-c|3",
        ]
    );
    assert_eq!(
        h.take(3),
        [
            "1002|nick-a|one",
            "1002|nick-a|four",
            "1010|JOIN|d|nick-d|4",
            "1002|nick-a|five",
            "1002|nick-a|six",
            "1005",
        ]
    );
    let d = h.take(4);
    assert_eq!(
        &d[d.len() - 3..],
        [
            "1002|nick-a|five",
            "1002|nick-a|six",
            "1010|LEAVE|c|nick-c|3"
        ]
    );
    assert!(!d.contains(&"1002|nick-a|four".to_owned()), "{d:?}");
}

#[test]
fn private_messages_reach_only_their_recipient() {
    // PRIV-1, PRIV-2, PRIV-3, PRIV-4, HIST-2.
    let mut h = Harness::new();
    h.login(1, "a");
    h.login(2, "b");
    h.login(3, "c");
    for c in 1..=3 {
        h.take(c);
    }
    h.send(1, "0004|b|悄悄话");
    assert_eq!(h.take(2), ["1004|a|nick-a|悄悄话"]);
    assert!(h.take(1).is_empty());
    assert!(h.take(3).is_empty());
    h.send(1, "0004|nobody|x");
    assert!(h.take(1)[0].starts_with("1900|USER_OFFLINE|"));
    h.send(1, "0004|a|x");
    assert!(h.take(1)[0].starts_with("1900|BAD_FIELD|"));
    // HIST-2: c does not see it at its next login, b does.
    h.room.disconnect(3);
    h.connect(4);
    h.send(4, "0001|c|pw");
    assert!(h.take(4).contains(&"1012|0".to_owned()));
    h.room.disconnect(2);
    h.connect(5);
    h.send(5, "0001|b|pw");
    let got = h.take(5);
    assert!(
        got.contains(&"1011|1795412100|a|nick-a|b|悄悄话".to_owned()),
        "{got:?}"
    );
}

#[test]
fn history_is_bounded_and_never_goes_back_in_time() {
    // HIST-3, HIST-5.
    let mut h = Harness::new();
    h.login(1, "a");
    for i in 0..40 {
        h.now = if i == 20 { 5 } else { 1_795_412_100 + i };
        h.send(1, &format!("0002|a|m{i}"));
    }
    h.connect(2);
    h.send(2, "0001|b|pw");
    let got = h.take(2);
    let history: Vec<_> = got.iter().filter(|f| f.starts_with("1011|")).collect();
    assert_eq!(history.len(), 30);
    assert!(history[0].ends_with("|m10"));
    let times: Vec<u64> = history.iter().map(|f| f[5..15].parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(got.contains(&"1012|30".to_owned()));
}

#[test]
fn logout_says_bye_closes_and_notifies() {
    // OUT-1, NOTE-2.
    let mut h = Harness::new();
    h.login(1, "a");
    h.login(2, "b");
    h.take(1);
    assert_eq!(h.send(2, "0005"), Step::Close);
    assert_eq!(h.take(2), ["1005"]);
    assert!(h.closed(2));
    assert_eq!(h.take(1), ["1010|LEAVE|b|nick-b|1"]);
}

#[test]
fn list_is_sorted_by_bytes() {
    // LIST-1.
    let mut h = Harness::new();
    h.login(1, "小红");
    h.login(2, "Julia");
    h.login(3, "admin");
    h.take(1);
    h.send(1, "0006");
    assert_eq!(
        h.take(1),
        ["1006|3|Julia|nick-Julia|admin|nick-admin|小红|nick-小红"]
    );
}

#[test]
fn a_long_list_is_cut_to_fit_one_frame() {
    // FRAME-5 caps the 1006 that LIST-1 asks for.
    let mut h = Harness::new();
    for i in 0..400 {
        h.login(i, &format!("user{i:04}"));
    }
    h.send(0, "0006");
    let list = h.take(0).pop().unwrap();
    assert!(list.len() < protocol::limits::MAX_FRAME);
    let frame = format!("{list}\n");
    let parsed = protocol::parse_response(frame.trim_end().as_bytes()).unwrap();
    assert!(matches!(parsed, protocol::Response::List { users } if users.len() > 100));
}

#[test]
fn a_full_mailbox_disconnects_its_owner_only() {
    // LOAD-3, LOAD-4, NOTE-2.
    let mut h = Harness::new();
    h.login(1, "talker");
    h.connect_with(2, 6);
    h.send(2, "0001|sleepy|pw");
    h.login(3, "reader");
    for c in 1..=3 {
        h.take(c);
    }
    h.send(2, "0007|p"); // sleepy now holds 1 unread frame
    for i in 0..10 {
        h.send(1, &format!("0002|talker|m{i}"));
    }
    assert!(h.closed(2));
    assert_eq!(h.take(2).len(), 1, "only the SLOW_CONSUMER frame is left");
    let got = h.take(3);
    assert_eq!(got.len(), 11);
    assert!(got.contains(&"1010|LEAVE|sleepy|nick-sleepy|2".to_owned()));
    assert_eq!(h.room.online_count(), 2);
}

#[test]
fn tickets_authenticate_until_the_connection_closes() {
    // SIDE-2.
    let mut h = Harness::new();
    h.login(1, "a");
    h.take(1);
    h.send(1, "0008");
    let got = h.take(1);
    let ticket = got[0].strip_prefix("1008|").unwrap().to_owned();
    assert_eq!(ticket.len(), 32);
    assert_eq!(h.room.redeem(&ticket).unwrap().as_str(), "a");
    assert!(h.room.redeem("../../etc/passwd").is_none());
    h.room.disconnect(1);
    assert!(h.room.redeem(&ticket).is_none());
}

#[test]
fn sharing_announces_and_grants_access() {
    // SHARE-1, SHARE-2, SHARE-3, SIDE-6.
    let mut h = Harness::new();
    h.login(1, "a");
    h.login(2, "b");
    h.login(3, "c");
    for c in 1..=3 {
        h.take(c);
    }
    let a = Username::new("a").unwrap();
    let b = Username::new("b").unwrap();
    let c = Username::new("c").unwrap();
    let sha = Sha256::of(b"GIF89a");
    let id = h.room.add_item(Kind::Photo, a.clone(), 6, sha.clone());
    let other = h.room.add_item(Kind::File, b.clone(), 6, sha.clone());
    assert_ne!(id, other);
    assert!(h.room.items().fetchable(&b, id.as_str()).is_none());
    h.send(1, &format!("0009|b|{id}|猫.gif"));
    let frame = format!("1009|photo|a|nick-a|b|{id}|猫.gif|6|{sha}");
    assert_eq!(h.take(2), [frame]);
    assert!(h.take(3).is_empty());
    assert!(h.room.items().fetchable(&b, id.as_str()).is_some());
    assert!(h.room.items().fetchable(&c, id.as_str()).is_none());
    h.send(1, &format!("0009||{id}|猫.gif"));
    assert_eq!(h.take(3).len(), 1);
    assert_eq!(h.take(2).len(), 1);
    assert!(h.room.items().fetchable(&c, id.as_str()).is_some());
    // SHARE-2: someone else's item, or none at all.
    h.send(1, &format!("0009||{other}|x"));
    assert!(h.take(1)[0].starts_with("1900|NO_SUCH_ITEM|"));
    h.send(1, "0009||p999|x");
    assert!(h.take(1)[0].starts_with("1900|NO_SUCH_ITEM|"));
    h.send(1, &format!("0009|zed|{id}|x"));
    assert!(h.take(1)[0].starts_with("1900|USER_OFFLINE|"));
    assert!(h.take(2).is_empty() && h.take(3).is_empty());
}

#[test]
fn registration_results_are_echoed() {
    // REG-2, REG-3.
    let mut h = Harness::new();
    h.connect(1);
    let step = h.send(1, "0003|新人|pw|新 人");
    assert!(matches!(step, Step::Register { .. }));
    let ok = Ok((
        Username::new("新人").unwrap(),
        Nickname::new("新 人").unwrap(),
    ));
    h.room.complete_register(1, "新人".into(), ok);
    h.room
        .complete_register(1, "a b".into(), Err(FailReason::Code(Reason::BadName)));
    assert_eq!(h.take(1), ["1003|1|新 人|新人", "1003|0|BAD_NAME|a b"]);
}

#[test]
fn shutdown_tells_every_connection() {
    // LOAD-7.
    let mut h = Harness::new();
    h.login(1, "a");
    h.connect(2);
    h.room.shutdown();
    for c in 1..=2 {
        assert!(h.take(c).last().unwrap().starts_with("1900|SHUTDOWN|"));
        assert!(h.closed(c));
    }
    assert_eq!(h.room.connection_count(), 0);
}
