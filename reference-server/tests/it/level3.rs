//! Level 3: registration, names, online list, notices and logout (SPEC.md
//! sections 4 and 8).

use crate::harness::TestServer;

#[test]
fn registration_transcript() {
    // REG-1, REG-2, REG-3, LOGIN-7, LIST-1, LIST-2, NOTE-1, NOTE-2, OUT-1, OUT-2.
    let server = TestServer::start();
    let mut c1 = server.connect();
    c1.send("0003|小明|xiaoming123|小明");
    assert_eq!(c1.recv(), "1003|0|NAME_TAKEN|小明");
    c1.send("0003|小红|hong|红红 ❤");
    assert_eq!(c1.recv(), "1003|1|红红 ❤|小红");
    c1.send("0001|小红|hong");
    assert_eq!(c1.recv(), "1001|1|红红 ❤|小红");
    assert_eq!(c1.recv(), "1006|1|小红|红红 ❤");
    assert_eq!(c1.recv(), "1012|0");
    let mut c2 = server.connect();
    c2.send("0001|Julia|sunyu");
    assert_eq!(c2.recv(), "1001|1|Julia|Julia");
    assert_eq!(c2.recv(), "1006|2|Julia|Julia|小红|红红 ❤");
    assert_eq!(c2.recv(), "1012|0");
    assert_eq!(c1.recv(), "1010|JOIN|Julia|Julia|2");
    c1.send("0006");
    assert_eq!(c1.recv(), "1006|2|Julia|Julia|小红|红红 ❤");
    c2.send("0005");
    assert_eq!(c2.recv(), "1005");
    assert!(c2.try_recv().is_none(), "OUT-1: closed after 1005");
    assert_eq!(c1.recv(), "1010|LEAVE|Julia|Julia|1");
    // OUT-2: the client may come back.
    let mut again = server.connect();
    again.login("Julia", "sunyu");
    assert_eq!(c1.recv(), "1010|JOIN|Julia|Julia|2");
}

#[test]
fn registration_refuses_bad_names_in_order() {
    // REG-3, NAME-1, NAME-2, NAME-3.
    let server = TestServer::start();
    let mut c = server.connect();
    let cases = [
        ("0003|user1|x|y", "1003|0|NAME_TAKEN|user1"),
        ("0003|小 明|x|y", "1003|0|BAD_NAME|小 明"),
        ("0003|../x|x|y", "1003|0|BAD_NAME|../x"),
        (
            &format!("0003|{}|x|y", "a".repeat(33)),
            &format!("1003|0|BAD_NAME|{}", "a".repeat(33)),
        ),
        ("0003|ok.name|\\n|y", "1003|0|BAD_PASSWORD|ok.name"),
        (
            &format!("0003|ok.name|{}|y", "p".repeat(65)),
            "1003|0|BAD_PASSWORD|ok.name",
        ),
        ("0003|ok.name|pw| lead", "1003|0|BAD_NICKNAME|ok.name"),
        ("0003|ok.name|pw|a\\nb", "1003|0|BAD_NICKNAME|ok.name"),
    ];
    for (line, want) in cases {
        c.send(line);
        assert_eq!(c.recv(), want, "{line}");
    }
    c.send("0001|ok.name|pw");
    assert_eq!(c.recv(), "1001|0|UNKNOWN_USER|ok.name");
    c.send("0003|陈.磊-2|pw|磊 \\p 2");
    assert_eq!(c.recv(), "1003|1|磊 \\p 2|陈.磊-2");
}

#[test]
fn login_failures_say_why() {
    // LOGIN-5, LOGIN-6, NOTE-3.
    let server = TestServer::start();
    let mut first = server.login("Meggie", "maiji");
    let mut c = server.connect();
    for (line, want) in [
        ("0001|nobody|x", "1001|0|UNKNOWN_USER|nobody"),
        ("0001|Meggie|nope", "1001|0|WRONG_PASSWORD|Meggie"),
        ("0001|Meggie|maiji", "1001|0|ALREADY_ONLINE|Meggie"),
        ("0001||", "1001|0|UNKNOWN_USER|"),
        ("0001|a b\\p|", "1001|0|UNKNOWN_USER|a b\\p"),
        ("0001|Meggie|\\n", "1001|0|WRONG_PASSWORD|Meggie"),
    ] {
        c.send(line);
        assert_eq!(c.recv(), want, "{line}");
    }
    drop(c);
    first.assert_quiet(); // NOTE-3: failed logins and closes cause no notice.
}

#[test]
fn a_registered_account_is_stored_hashed_and_survives_a_restart() {
    // REG-4, REG-5 (binary.rs kills the process for real).
    let mut server = TestServer::start();
    let mut c = server.connect();
    c.send("0003|durable|s3cret-pw|Dur");
    assert_eq!(c.recv(), "1003|1|Dur|durable");
    let stored = std::fs::read_to_string(server.dir.path().join("accounts.jsonl")).unwrap();
    assert!(stored.contains("\"durable\"") && stored.contains("$argon2id$"));
    // REG-4: no file anywhere in the data directory holds a password.
    let mut everything = Vec::new();
    let mut dirs = vec![server.dir.path().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                everything.extend(std::fs::read(path).unwrap());
            }
        }
    }
    let everything = String::from_utf8_lossy(&everything);
    for password in [
        "s3cret-pw",
        "114514",
        "HytidelSB",
        "sunyu",
        "maiji",
        "xiaoming123",
    ] {
        assert!(
            !everything.contains(password),
            "REG-4: {password} stored in clear"
        );
    }
    drop(c);
    server.restart();
    server.login("durable", "s3cret-pw");
}

#[test]
fn list_counts_and_notices_track_every_departure() {
    // LIST-1, NOTE-1, NOTE-2 (a dropped connection is a leave too).
    let server = TestServer::start();
    let mut a = server.login("user1", "114514");
    let b = server.login("admin", "HytidelSB");
    assert_eq!(a.recv(), "1010|JOIN|admin|Hytidel|2");
    drop(b);
    assert_eq!(a.recv(), "1010|LEAVE|admin|Hytidel|1");
    a.send("0006");
    assert_eq!(a.recv(), "1006|1|user1|konbi");
}
