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
