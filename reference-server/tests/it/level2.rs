//! Level 2: framing, escaping, error frames and the ping fence (SPEC.md
//! sections 2, 3 and 7).

use crate::harness::TestServer;

#[test]
fn escaping_transcript() {
    // ESC-1, ESC-2, ESC-3, ERR-5, ERR-2, PING-1, PING-2.
    let server = TestServer::start();
    let mut c1 = server.login("user1", "114514");
    let mut c2 = server.login("admin", "HytidelSB");
    c1.fence();
    c1.send("0002|user1|a\\pb\\\\c\\n第二行");
    assert_eq!(c2.recv(), "1002|konbi|a\\pb\\\\c\\n第二行");
    c1.send("0002|admin|我是管理员");
    assert_eq!(c1.error_code(), "IMPERSONATION");
    c1.send("0002|user1|bad\\q");
    assert_eq!(c1.error_code(), "BAD_ESCAPE");
    c1.send("9999|x");
    assert_eq!(c1.error_code(), "UNKNOWN_TYPE");
    c1.send("hello");
    assert_eq!(c1.error_code(), "MALFORMED");
    c1.fence();
    // Nothing from the impersonation reached c2 (PING-2 across two clients).
    c2.assert_quiet();
}

#[test]
fn frames_split_byte_by_byte_and_joined_in_one_segment() {
    // FRAME-3, FRAME-4 (CR LF accepted), FRAME-7 (empty lines ignored).
    let server = TestServer::start();
    let mut a = server.login("user1", "114514");
    let mut b = server.login("admin", "HytidelSB");
    a.fence();
    for byte in "0002|user1|逐字节\r\n".as_bytes() {
        a.send_raw(&[*byte]);
    }
    a.send_raw(b"\n\r\n0002|user1|one\n0002|user1|two\r\n\n0002|user1|three\n");
    a.assert_quiet();
    assert_eq!(
        b.fence(),
        [
            "1002|konbi|逐字节",
            "1002|konbi|one",
            "1002|konbi|two",
            "1002|konbi|three"
        ]
    );
}

#[test]
fn oversize_lines_get_one_error_and_the_connection_goes_on() {
    // FRAME-5, ERR-3, ERR-6.
    let server = TestServer::start();
    let mut a = server.login("user1", "114514");
    let mut b = server.login("admin", "HytidelSB");
    a.fence();
    let mut long = b"0002|user1|".to_vec();
    long.resize(100_000, b'x');
    long.extend_from_slice(b"\n0002|user1|after\n");
    a.send_raw(&long);
    assert_eq!(a.error_code(), "TOO_LONG");
    a.assert_quiet();
    assert_eq!(b.fence(), ["1002|konbi|after"]);
    // Exactly MAX_FRAME bytes with the LF is still a frame.
    let mut max = b"0002|user1|".to_vec();
    max.resize(4095, b'y');
    max.push(b'\n');
    a.send_raw(&max);
    a.assert_quiet();
    assert_eq!(b.fence().len(), 1);
}

#[test]
fn control_bytes_and_bad_utf8_are_refused() {
    // FRAME-2, FRAME-6, ERR-1, ERR-2, ERR-7.
    let server = TestServer::start();
    let mut a = server.login("user1", "114514");
    let mut b = server.login("admin", "HytidelSB");
    a.fence();
    a.send_raw(b"0002|user1|nul\0byte\n");
    assert_eq!(a.error_code(), "MALFORMED");
    a.send_raw(b"0002|user1|a\rb\n");
    assert_eq!(a.error_code(), "MALFORMED");
    a.send_raw(b"0002|user1|\xff\xfe\n");
    assert_eq!(a.error_code(), "NOT_UTF8");
    // ERR-7: NOT_UTF8 comes before everything else.
    a.send_raw(b"9999|\xff\n");
    assert_eq!(a.error_code(), "NOT_UTF8");
    b.assert_quiet();
}

#[test]
fn error_codes_follow_the_order_of_err_7() {
    // ERR-2, ERR-4, ERR-7, CHAT-5.
    let server = TestServer::start();
    let mut c = server.connect();
    let cases = [
        ("0002|user1", "MALFORMED"),         // field count before login state
        ("0002|user1|bad\\x", "BAD_ESCAPE"), // escape before login state
        ("0002|user1|", "BAD_FIELD"),        // CHAT-5 before login state
        ("0007|not a token", "MALFORMED"),
        ("0002|user1|hi", "NOT_LOGGED_IN"),
        ("0005", "NOT_LOGGED_IN"),
        ("0006", "NOT_LOGGED_IN"),
        ("1001|1|x|y", "UNKNOWN_TYPE"),
    ];
    for (line, code) in cases {
        c.send(line);
        assert_eq!(c.error_code(), code, "{line}");
    }
    c.login("user1", "114514");
    c.send("0001|user1|114514");
    assert_eq!(c.error_code(), "ALREADY_LOGGED_IN");
    c.send("0003|x|y|z");
    assert_eq!(c.error_code(), "ALREADY_LOGGED_IN");
    c.send("0002|user1|");
    assert_eq!(c.error_code(), "BAD_FIELD");
    c.assert_quiet();
}

#[test]
fn ping_works_before_login_and_after_every_error() {
    // PING-1, ERR-6.
    let server = TestServer::start();
    let mut c = server.connect();
    c.send("0007|early_1");
    assert_eq!(c.recv(), "1007|early_1");
    c.send_raw(b"\xff\xff\xff\n");
    c.error_code();
    c.send("0007|later-2");
    assert_eq!(c.recv(), "1007|later-2");
}
