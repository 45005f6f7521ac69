//! End to end: terminal-mode clients chat through the real reference server.
//!
//! Each test starts a server on free ports and runs clients as child
//! processes. Ordering comes from what the clients print: a client that has
//! printed "Meggie joined" has seen Meggie's login, and a message that
//! arrives after a private one proves the private one was not delivered to a
//! third party (CHAT-4: one sender's frames arrive in order).

use assert_cmd::Command;
use predicates::str::contains;

use crate::peer::{Peer, binary};
use crate::server::TestServer;

#[test]
fn group_and_private_chat() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut julia = Peer::login(&server, "Julia", "sunyu", &dir.path().join("julia"));
    let mut meggie = Peer::login(&server, "Meggie", "maiji", &dir.path().join("meggie"));
    julia.expect("* Meggie joined");
    let mut ming = Peer::login(&server, "小明", "xiaoming123", &dir.path().join("ming"));
    julia.expect("* 小明 joined");
    meggie.expect("* 小明 joined");

    // Group chat, with escaping (ESC-1) and an emoji shortcode (EMOJI-1).
    julia.send("今晚开会吗？ a|b\\c :happy:");
    meggie.expect("Julia: 今晚开会吗？ a|b\\c :happy:");
    ming.expect("Julia: 今晚开会吗？ a|b\\c :happy:");

    // Private chat reaches Meggie only: 小明 then gets Julia's next group
    // message, and nothing private before it.
    julia.send("/msg Meggie 开，八点见");
    meggie.expect("Julia (private): 开，八点见");
    julia.send("大家晚安");
    ming.expect("Julia: 大家晚安");
    assert!(!ming.saw("八点见"), "小明 saw a private message");

    // A reply through /to, the online list, and a user leaving.
    meggie.send("/to Julia");
    meggie.send("好的");
    julia.expect("Meggie (private): 好的");
    julia.send("/users");
    julia.expect("* 3 online: Julia, Meggie, 小明");
    assert!(ming.quit().success());
    julia.expect("* 小明 left");
    assert!(meggie.quit().success());
    assert!(julia.quit().success());
}

#[test]
fn history_is_replayed_at_login() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut julia = Peer::login(&server, "Julia", "sunyu", &dir.path().join("julia"));
    let mut meggie = Peer::login(&server, "Meggie", "maiji", &dir.path().join("meggie"));
    // Julia's client only offers private chat with users it knows are online.
    julia.expect("* Meggie joined");
    julia.send("有人吗");
    meggie.expect("Julia: 有人吗");
    julia.send("/msg Meggie 只给你");
    meggie.expect("Julia (private): 只给你");
    // HIST-1, HIST-2: 小明 sees the group message, not the private one.
    let ming = Peer::login(&server, "小明", "xiaoming123", &dir.path().join("ming"));
    assert!(ming.saw("Julia: 有人吗"));
    assert!(!ming.saw("只给你"));
    assert!(ming.saw("— 1 messages from history"));
    drop(ming);
    drop(meggie);
    assert!(julia.quit().success());
}

#[test]
fn file_and_photo_transfer_keep_every_byte() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut julia = Peer::login(&server, "Julia", "sunyu", &dir.path().join("julia"));
    let mut meggie = Peer::login(&server, "Meggie", "maiji", &dir.path().join("meggie"));

    // Bytes that break the seed's transfer: an "EOF" marker, LFs, every byte
    // value, and more than one TCP segment (SIDE-3).
    let mut bytes = b"EOF\nEOF\r\n".to_vec();
    bytes.extend((0..300_000u32).map(|i| (i * 7 % 251) as u8));
    let file = dir.path().join("报告 1.bin");
    std::fs::write(&file, &bytes).unwrap();
    julia.send(&format!("/send-file {}", file.display()));
    let offer = meggie.expect("[file 报告 1.bin, 300009 bytes, id ");
    let id = offer
        .rsplit("id ")
        .next()
        .unwrap()
        .trim_end_matches(']')
        .to_owned();
    meggie.send(&format!("/get {id}"));
    let saved = meggie.expect(&format!("* saved {id} (300009 bytes, SHA-256 checked) to "));
    let path = saved.rsplit(" to ").next().unwrap();
    assert!(path.starts_with(&*meggie.cache.to_string_lossy()), "{path}");
    assert_eq!(
        std::fs::read(path).unwrap(),
        bytes,
        "the file changed on the way"
    );
    julia.expect(&format!("Julia: [file 报告 1.bin, 300009 bytes, id {id}]"));

    // A photo shared privately (SHARE-1), from the emoji fixtures.
    let photo = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/emoji/love.png");
    meggie.send("/to Julia");
    meggie.send(&format!("/send-photo {photo}"));
    let offer = julia.expect("Meggie (private): [photo love.png, id ");
    let id = offer
        .rsplit("id ")
        .next()
        .unwrap()
        .trim_end_matches(']')
        .to_owned();
    julia.send(&format!("/get {id}"));
    let saved = julia.expect(&format!("* saved {id} "));
    let path = saved.rsplit(" to ").next().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), std::fs::read(photo).unwrap());

    // Not an image: the client refuses before uploading (SIDE-5).
    meggie.send(&format!("/send-photo {}", file.display()));
    meggie.expect("not a PNG, JPEG or GIF image");
    assert!(meggie.quit().success());
    assert!(julia.quit().success());
}

#[test]
fn mistakes_are_explained() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut julia = Peer::login(&server, "Julia", "sunyu", &dir.path().join("julia"));
    julia.send("/msg Nina 你在吗");
    julia.expect("! Nina is not online");
    julia.send("/msg Julia 自言自语");
    julia.expect("! 不能发送消息给自己");
    julia.send("/get nothing");
    julia.expect("! nothing with id nothing has been shared with you");
    julia.send("/dance");
    julia.expect("! unknown command /dance");
    assert!(julia.quit().success());
}

#[test]
fn wrong_password_and_unknown_user_fail_clearly() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = |user: &str, password: &str| {
        Command::new(binary())
            .args([
                "--terminal",
                "--no-time",
                "--user",
                user,
                "--password",
                password,
            ])
            .args(server.client_args())
            .arg("--cache-dir")
            .arg(dir.path())
            .write_stdin("")
            .timeout(crate::peer::DEADLINE)
            .assert()
    };
    run("Julia", "wrong")
        .failure()
        .code(1)
        .stderr(contains("密码错误 — wrong password"));
    run("Nina", "x")
        .failure()
        .code(1)
        .stderr(contains("no account has this username"));
}

#[test]
fn unreachable_server_fails_clearly() {
    // A port that was free a moment ago: bind, read the port, close.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    Command::new(binary())
        .args([
            "--terminal",
            "--user",
            "Julia",
            "--password",
            "sunyu",
            "--addr",
        ])
        .arg(addr.to_string())
        .write_stdin("")
        .timeout(crate::peer::DEADLINE)
        .assert()
        .failure()
        .stderr(contains("server unreachable"));
}

#[test]
fn register_then_chat() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    Command::new(binary())
        .args([
            "--terminal",
            "--no-time",
            "--user",
            "小红",
            "--password",
            "hong",
        ])
        .args(["--register", "红红 ❤"])
        .args(server.client_args())
        .arg("--cache-dir")
        .arg(dir.path())
        .write_stdin("/quit\n")
        .timeout(crate::peer::DEADLINE)
        .assert()
        .success()
        .stdout(contains("* registered 小红 with nickname 红红 ❤"))
        .stdout(contains("welcome, 红红 ❤! logged in as 小红"));
    Command::new(binary())
        .args([
            "--terminal",
            "--user",
            "小红",
            "--password",
            "hong",
            "--register",
            "x",
        ])
        .args(server.client_args())
        .write_stdin("")
        .timeout(crate::peer::DEADLINE)
        .assert()
        .failure()
        .stderr(contains("用户名已存在"));
}

#[test]
fn reconnects_after_the_server_restarts() {
    let mut server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut julia = Peer::start(&server, "Julia", "sunyu", &dir.path().join("julia"), &[]);
    let mut meggie = Peer::login(&server, "Meggie", "maiji", &dir.path().join("meggie"));
    julia.send("重启之前");
    meggie.expect("Julia: 重启之前");
    drop(meggie);
    julia.expect("* Meggie left");

    // LOAD-7 announces the shutdown; OUT-2 lets the client log in again.
    server.stop();
    julia.expect("! SHUTDOWN");
    julia.expect("reconnecting in 1 s");
    server.restart();
    julia.expect("* reconnected");
    // HIST-4: the history survived the restart, and what Julia has already
    // shown is not shown twice.
    julia.expect("— 1 messages from history");
    assert_eq!(
        julia.count("Julia: 重启之前"),
        1,
        "the message was shown again after the reconnect"
    );
    let mut meggie = Peer::login(&server, "Meggie", "maiji", &dir.path().join("meggie"));
    assert!(meggie.saw("Julia: 重启之前"), "history lost in the restart");
    meggie.send("重启之后");
    julia.expect("Meggie: 重启之后");
    assert!(meggie.quit().success());
    assert!(julia.quit().success());
}
