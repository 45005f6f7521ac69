//! Level 4: private chat and history (SPEC.md section 9).

use crate::harness::TestServer;

#[test]
fn private_and_history_transcript() {
    // PRIV-1, PRIV-2, PRIV-4, HIST-1, HIST-2, LOGIN-7.
    let server = TestServer::start();
    let mut c1 = server.login("Julia", "sunyu");
    let mut c2 = server.login("Meggie", "maiji");
    assert_eq!(c1.recv(), "1010|JOIN|Meggie|Meggie|2");
    c1.send("0002|Julia|今晚开会吗？");
    assert_eq!(c2.recv(), "1002|Julia|今晚开会吗？");
    c2.send("0004|Julia|开，八点见");
    assert_eq!(c1.recv(), "1004|Meggie|Meggie|开，八点见");
    c2.send("0004|Nina|你在吗");
    assert_eq!(c2.error_code(), "USER_OFFLINE");
    c2.assert_quiet(); // PRIV-4: no echo
    let mut c3 = server.connect();
    let got = c3.login("user1", "114514");
    assert_eq!(got[1], "1006|3|Julia|Julia|Meggie|Meggie|user1|konbi");
    assert_eq!(got.len(), 4);
    assert!(got[2].starts_with("1011|") && got[2].ends_with("|Julia|Julia||今晚开会吗？"));
    assert_eq!(got[3], "1012|1");
    // Julia sees both, the private one with its recipient.
    drop(c1);
    // Wait until the server has seen her go, or she would be ALREADY_ONLINE.
    while c2.recv() != "1010|LEAVE|Julia|Julia|2" {}
    let mut again = server.connect();
    let got = again.login("Julia", "sunyu");
    assert!(
        got[3].ends_with("|Meggie|Meggie|Julia|开，八点见"),
        "{got:?}"
    );
    assert_eq!(got[4], "1012|2");
}

#[test]
fn private_to_oneself_is_a_bad_field() {
    // PRIV-3.
    let server = TestServer::start();
    let mut c = server.login("Julia", "sunyu");
    c.send("0004|Julia|me");
    assert_eq!(c.error_code(), "BAD_FIELD");
}

#[test]
fn history_survives_a_restart_with_server_times() {
    // HIST-3, HIST-4, HIST-5.
    let mut server = TestServer::start();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut c = server.login("Julia", "sunyu");
    for i in 0..25 {
        c.send(&format!("0002|Julia|m{i}"));
    }
    c.fence();
    drop(c);
    server.restart();
    let mut c = server.connect();
    let got = c.login("admin", "HytidelSB");
    let history: Vec<_> = got.iter().filter(|f| f.starts_with("1011|")).collect();
    assert_eq!(history.len(), 25);
    assert!(history[24].ends_with("|m24"));
    let times: Vec<u64> = history
        .iter()
        .map(|f| f.split('|').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(times[0] >= before && times[0] < before + 60);
}
