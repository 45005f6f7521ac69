//! Level 1: login and group chat (SPEC.md section 6).

use crate::harness::TestServer;

#[test]
fn seed_transcript() {
    // LOGIN-1, LOGIN-2, LOGIN-3, LOGIN-4, CHAT-1, CHAT-2, FRAME-1, FRAME-2.
    let server = TestServer::start();
    let mut c1 = server.login("user1", "114514");
    let mut c2 = server.connect();
    c2.send("0001|admin|wrong");
    assert_eq!(c2.recv(), "1001|0|WRONG_PASSWORD|admin");
    c2.login("admin", "HytidelSB");
    assert_eq!(c1.recv(), "1010|JOIN|admin|Hytidel|2");
    c1.send("0002|user1|大家好！");
    assert_eq!(c2.recv(), "1002|konbi|大家好！");
    c1.assert_quiet();
}

#[test]
fn chat_skips_connections_that_are_not_logged_in() {
    // CHAT-3, LOGIN-3 (a failed login stays not logged in).
    let server = TestServer::start();
    let mut a = server.login("Julia", "sunyu");
    let mut lurker = server.connect();
    lurker.send("0001|Meggie|wrong");
    assert_eq!(lurker.recv(), "1001|0|WRONG_PASSWORD|Meggie");
    a.send("0002|Julia|hello");
    lurker.assert_quiet();
}

#[test]
fn every_receiver_gets_each_senders_frames_in_order() {
    // CHAT-4, LOGIN-4, EMOJI-1 (shortcodes pass unchanged; EMOJI-2 is the client's part).
    let server = TestServer::start();
    let mut a = server.login("user1", "114514");
    let mut b = server.login("admin", "HytidelSB");
    let mut r = server.login("Julia", "sunyu");
    a.fence();
    b.fence();
    r.fence();
    let mut burst_a = String::new();
    let mut burst_b = String::new();
    for i in 0..200 {
        burst_a.push_str(&format!("0002|user1|a{i} :happy:\n"));
        burst_b.push_str(&format!("0002|admin|b{i} :sob:\n"));
    }
    a.send_raw(burst_a.as_bytes());
    b.send_raw(burst_b.as_bytes());
    a.fence();
    b.fence();
    let got = r.fence();
    let from = |nick: &str| -> Vec<String> {
        got.iter()
            .filter_map(|f| f.strip_prefix(&format!("1002|{nick}|")).map(str::to_owned))
            .collect()
    };
    let want_a: Vec<_> = (0..200).map(|i| format!("a{i} :happy:")).collect();
    let want_b: Vec<_> = (0..200).map(|i| format!("b{i} :sob:")).collect();
    assert_eq!(from("konbi"), want_a);
    assert_eq!(from("Hytidel"), want_b);
}
