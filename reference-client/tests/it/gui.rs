//! The GUI on a real (virtual) display: the login window renders Chinese,
//! and the chat window logs in to a reference server, sends a message,
//! receives one, and shows both, with the emoji as an image.
//!
//! Each test starts its own Xvfb and runs the real binary with flags for
//! automated runs (`--autologin`, `--test-send`, `--test-expect`,
//! `--screenshot`); the client exits by itself once it has seen what it was
//! told to wait for, or fails after `--test-timeout`.

use std::path::PathBuf;

use assert_cmd::Command;

use crate::peer::{DEADLINE, Peer, binary};
use crate::picture::{Picture, check_chinese_glyphs, check_light_background, ink};
use crate::server::TestServer;
use crate::xvfb::Xvfb;

/// The login window's size, in pixels.
const LOGIN: (usize, usize) = (480, 300);
/// The chat window's size, in pixels.
const CHAT: (usize, usize) = (780, 560);
/// The banner's label size in pixels: one em of its font.
const BANNER_SIZE: usize = 32;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/emoji")
        .join(name)
}

fn screenshot_path(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn login_window_shows_the_chinese_banner() {
    let xvfb = Xvfb::start();
    let path = screenshot_path("reference-client-login.png");
    Command::new(binary())
        .arg("--screenshot")
        .arg(&path)
        .env("DISPLAY", xvfb.display())
        .env_remove("WAYLAND_DISPLAY")
        .timeout(DEADLINE)
        .assert()
        .success();

    let picture = Picture::read_png(&path);
    assert_eq!((picture.width, picture.height), LOGIN, "window size");
    check_light_background(&picture);
    // The banner fills the top 90 pixels, centred: its 10 glyphs ink about
    // 1,800 dark pixels there, none near the edges.
    let banner = picture.crop((0, LOGIN.0), (0, 90));
    let ink = ink(&banner);
    assert!(
        (500..=banner.pixels.len() / 10).contains(&ink.len()),
        "{} dark pixels in the banner: no text, or noise? see {}",
        ink.len(),
        path.display()
    );
    assert!(
        ink.iter()
            .all(|(x, _)| (LOGIN.0 / 8..LOGIN.0 * 7 / 8).contains(x)),
        "ink outside the centred banner: see {}",
        path.display()
    );
    check_chinese_glyphs(&banner, &ink, BANNER_SIZE);
}

#[test]
fn chat_window_sends_and_receives() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut meggie = Peer::login(&server, "Meggie", "maiji", &dir.path().join("meggie"));
    let xvfb = Xvfb::start();
    let path = screenshot_path("reference-client-chat.png");

    // The GUI runs on a thread of its own, so this thread can play Meggie.
    let gui = {
        let (args, path, display) = (
            server.client_args(),
            path.clone(),
            xvfb.display().to_owned(),
        );
        let cache = dir.path().join("ming");
        std::thread::spawn(move || {
            Command::new(binary())
                .args(args)
                .args(["--user", "小明", "--password", "xiaoming123", "--autologin"])
                .args(["--no-reconnect", "--test-send", "大家好，我是小明 :happy:"])
                .arg("--test-photo")
                .arg(fixture("joy.png"))
                .args(["--test-expect", "欢迎小明", "--test-timeout", "50"])
                .arg("--cache-dir")
                .arg(cache)
                .arg("--screenshot")
                .arg(path)
                .env("DISPLAY", display)
                .env_remove("WAYLAND_DISPLAY")
                .timeout(DEADLINE)
                .output()
                .expect("cannot run the GUI")
        })
    };
    meggie.expect("* 小明 joined");
    meggie.expect("小明: 大家好，我是小明 :happy:");
    // The GUI's photo arrives byte for byte (SIDE-3, SIDE-7).
    let offer = meggie.expect("小明: [photo joy.png, id ");
    let id = offer
        .rsplit("id ")
        .next()
        .unwrap()
        .trim_end_matches(']')
        .to_owned();
    meggie.send(&format!("/get {id}"));
    let saved = meggie.expect(&format!("* saved {id} "));
    let saved = saved.rsplit(" to ").next().unwrap();
    assert_eq!(
        std::fs::read(saved).unwrap(),
        std::fs::read(fixture("joy.png")).unwrap()
    );
    // Meggie's photo is shown inline before the GUI takes its screenshot.
    meggie.send(&format!("/send-photo {}", fixture("sob.png").display()));
    meggie.expect("Meggie: [photo sob.png, id ");
    meggie.send("欢迎小明 :love:");
    let output = gui.join().expect("the GUI thread panicked");
    assert!(
        output.status.success(),
        "the GUI failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    meggie.expect("* 小明 left");

    let picture = Picture::read_png(&path);
    assert_eq!((picture.width, picture.height), CHAT, "window size");
    check_light_background(&picture);
    assert!(
        ink(&picture).len() > 1_000,
        "hardly any text: see {}",
        path.display()
    );
    // Own header in blue, Meggie's in green (the seed's colours), and the
    // emoji as images: their yellow faces, not the shortcodes as text.
    let count = |colour, what| {
        let n = picture.count_near(colour, 30);
        assert!(n > 20, "{n} {what} pixels: see {}", path.display());
    };
    count([20, 60, 200], "blue (own message)");
    count([0, 130, 40], "green (Meggie's message)");
    count([255, 204, 77], "emoji yellow");
    // Two inline photos: the blue tears of sob.png and joy.png.
    count([80, 160, 240], "photo blue");
    // The received photo is in the GUI's cache (the seed's photo cache).
    let cached = std::fs::read_dir(dir.path().join("ming")).unwrap().count();
    assert!(cached >= 2, "{cached} files in the GUI's cache");
}

#[test]
fn login_failure_is_reported() {
    let server = TestServer::start();
    let xvfb = Xvfb::start();
    let dir = tempfile::tempdir().unwrap();
    // In test mode the dialog's text goes to stderr instead of a dialog box.
    Command::new(binary())
        .args(server.client_args())
        .args(["--user", "Julia", "--password", "wrong", "--autologin"])
        .args(["--test-expect", "never"])
        .arg("--cache-dir")
        .arg(dir.path())
        .env("DISPLAY", xvfb.display())
        .env_remove("WAYLAND_DISPLAY")
        .timeout(DEADLINE)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "login failed: 密码错误 — wrong password",
        ));
}

#[test]
fn chat_window_reconnects_after_a_server_restart() {
    let mut server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    // Meggie reconnects too (no --no-reconnect).
    let mut meggie = Peer::start(&server, "Meggie", "maiji", &dir.path().join("meggie"), &[]);
    let xvfb = Xvfb::start();
    let path = screenshot_path("reference-client-reconnect.png");
    let gui = {
        let (args, path, display) = (
            server.client_args(),
            path.clone(),
            xvfb.display().to_owned(),
        );
        let cache = dir.path().join("ming");
        std::thread::spawn(move || {
            Command::new(binary())
                .args(args)
                .args(["--user", "小明", "--password", "xiaoming123", "--autologin"])
                .args(["--test-expect", "又见面了", "--test-timeout", "50"])
                .arg("--cache-dir")
                .arg(cache)
                .arg("--screenshot")
                .arg(path)
                .env("DISPLAY", display)
                .env_remove("WAYLAND_DISPLAY")
                .timeout(DEADLINE)
                .output()
                .expect("cannot run the GUI")
        })
    };
    // Once Meggie sees the GUI log in, take the server away and bring it
    // back on the same ports: both clients must log in again by themselves
    // (OUT-2). Meggie's next message reaches the GUI live, or in the history
    // if the GUI is back after her: either way only once it is logged in.
    meggie.expect("* 小明 joined");
    server.restart();
    meggie.expect("* reconnected");
    meggie.expect("messages from history");
    meggie.send("又见面了");
    let output = gui.join().expect("the GUI thread panicked");
    assert!(
        output.status.success(),
        "the GUI did not reconnect: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let picture = Picture::read_png(&path);
    check_light_background(&picture);
    // The status bar is green again ("● 已连接 connected").
    let status_bar = picture.crop((0, CHAT.0), (CHAT.1 - 24, CHAT.1));
    let green = status_bar.count_near([0, 120, 0], 30);
    assert!(
        green > 20,
        "{green} green pixels in the status bar: see {}",
        path.display()
    );
}
