//! Level 5: the photo and file ports, and sharing (SPEC.md section 10).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use protocol::{FrameBuffer, Sha256};

use crate::harness::{Client, PATIENCE, TestServer};

/// A side-port client: command lines out, reply lines and raw bodies in.
struct Side {
    stream: TcpStream,
    frames: FrameBuffer,
}

impl Side {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Self {
            stream,
            frames: FrameBuffer::new(64 * 1024),
        }
    }

    /// Connects and authenticates with a fresh ticket from `chat`.
    fn authed(addr: SocketAddr, chat: &mut Client) -> Self {
        let mut side = Self::connect(addr);
        let ticket = ticket(chat);
        assert_eq!(side.call(&format!("auth {ticket}")), "ok");
        side
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next reply line; `None` at EOF.
    fn try_line(&mut self) -> Option<String> {
        loop {
            if let Some(line) = self.frames.next_line() {
                return Some(String::from_utf8(line.unwrap().to_vec()).unwrap());
            }
            let mut buf = [0u8; 65536];
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.frames.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("no reply within {PATIENCE:?}: {e}"),
            }
        }
    }

    fn line(&mut self) -> String {
        self.try_line().expect("the side connection closed")
    }

    /// Sends one command line and returns its reply.
    fn call(&mut self, line: &str) -> String {
        self.send(format!("{line}\n").as_bytes());
        self.line()
    }

    /// Uploads `body` with its real hash, command and body in one write.
    fn put(&mut self, body: &[u8]) -> String {
        let mut out = format!("put {} {}\n", body.len(), Sha256::of(body)).into_bytes();
        out.extend_from_slice(body);
        self.send(&out);
        self.line()
    }

    /// Fetches an item: the reply line, then the body if it was `ok`.
    fn get(&mut self, id: &str) -> Result<Vec<u8>, String> {
        let reply = self.call(&format!("get {id}"));
        let mut words = reply.split(' ');
        if words.next() != Some("ok") {
            return Err(reply);
        }
        let size: usize = words.next().unwrap().parse().unwrap();
        let sha = words.next().unwrap().to_owned();
        let mut body = self.frames.take_raw(size);
        let mut rest = vec![0u8; size - body.len()];
        self.stream.read_exact(&mut rest).unwrap();
        body.extend_from_slice(&rest);
        assert_eq!(Sha256::of(&body).as_str(), sha);
        Ok(body)
    }
}

fn ticket(chat: &mut Client) -> String {
    chat.send("0008");
    let frame = chat.expect("1008|");
    frame[5..].to_owned()
}

/// A small "PNG": the signature, then bytes that would break a marker-based
/// transfer (an "EOF", LFs, NULs).
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(b"EOF\nEOF\0\r\n");
    bytes.extend((0..2048u32).map(|i| (i * 7) as u8));
    bytes
}

#[test]
fn photo_shared_with_the_room_transcript() {
    // SIDE-1, SIDE-2, SIDE-3, SIDE-5, SIDE-6, SIDE-7, SIDE-8, SHARE-1, SHARE-3.
    let server = TestServer::start();
    let mut julia = server.login("Julia", "sunyu");
    let mut meggie = server.login("Meggie", "maiji");
    julia.fence();
    let mut p1 = Side::authed(server.photo_addr(), &mut julia);
    let reply = p1.put(&png());
    let id = reply.strip_prefix("ok ").unwrap().to_owned();
    julia.send(&format!("0009||{id}|猫.png"));
    let sha = Sha256::of(&png());
    assert_eq!(
        meggie.recv(),
        format!("1009|photo|Julia|Julia||{id}|猫.png|{}|{sha}", png().len())
    );
    julia.assert_quiet();
    let mut p2 = Side::authed(server.photo_addr(), &mut meggie);
    assert_eq!(p2.get(&id).unwrap(), png());
    let refusal = "err NO_SUCH_ITEM no item with that id is available to you";
    assert_eq!(p2.get("../../etc/passwd").unwrap_err(), refusal);
    assert_eq!(p2.get("p999999").unwrap_err(), refusal);
    assert_eq!(p2.call("quit"), "ok");
    assert!(p2.try_line().is_none());
    // Many commands on one connection (SIDE-1).
    assert_eq!(p1.get(&id).unwrap(), png());
    assert!(p1.put(&png()).starts_with("ok "));
}

#[test]
fn side_commands_need_a_valid_ticket() {
    // SIDE-2, SIDE-8.
    let server = TestServer::start();
    let mut chat = server.login("Julia", "sunyu");
    let mut side = Side::connect(server.file_addr());
    assert!(side.put(b"hello").starts_with("err NOT_AUTHED"));
    assert!(side.call("get f1").starts_with("err NOT_AUTHED"));
    assert!(
        side.call("auth 00000000000000000000000000000000")
            .starts_with("err BAD_TICKET")
    );
    assert!(side.call("auth ../../etc").starts_with("err BAD_TICKET"));
    for bad in ["hello", "put 5", "put -1 abc", "get", "auth", "quit now"] {
        assert!(side.call(bad).starts_with("err MALFORMED"), "{bad}");
    }
    let t = ticket(&mut chat);
    assert_eq!(side.call(&format!("auth {t}")), "ok");
    assert!(side.put(b"hello").starts_with("ok "));
    // A ticket dies with its chat connection.
    chat.send("0005");
    chat.until_closed();
    let mut late = Side::connect(server.file_addr());
    assert!(
        late.call(&format!("auth {t}"))
            .starts_with("err BAD_TICKET")
    );
}

#[test]
fn bodies_are_checked_before_they_are_stored() {
    // SIDE-3, SIDE-4, SIDE-5.
    let server = TestServer::start_with(|c| c.max_photo = 4096);
    let mut chat = server.login("Julia", "sunyu");
    let mut photo = Side::authed(server.photo_addr(), &mut chat);
    let mut wrong = format!("put 4 {}\n", Sha256::of(b"abcd")).into_bytes();
    wrong.extend_from_slice(b"abce");
    photo.send(&wrong);
    assert!(photo.line().starts_with("err HASH_MISMATCH"));
    assert!(
        photo
            .put(b"plain text, not an image")
            .starts_with("err NOT_IMAGE")
    );
    assert!(photo.put(b"GIF89a-ok").starts_with("ok "));
    assert!(photo.put(b"\xff\xd8\xff jpeg").starts_with("ok "));
    let items = std::fs::read_dir(server.dir.path().join("items"))
        .unwrap()
        .count();
    assert_eq!(items, 2, "rejected bodies are not stored");
    photo.send(format!("put 5000 {}\n", Sha256::of(b"")).as_bytes());
    assert!(photo.line().starts_with("err TOO_LARGE"));
    assert!(photo.try_line().is_none(), "SIDE-4: closed");
}

#[test]
fn private_shares_reach_and_open_to_one_user() {
    // SHARE-1, SHARE-2, SHARE-3, SIDE-6, SIDE-7.
    let server = TestServer::start();
    let mut julia = server.login("Julia", "sunyu");
    let mut meggie = server.login("Meggie", "maiji");
    let mut konbi = server.login("user1", "114514");
    julia.fence();
    meggie.fence();
    let mut jf = Side::authed(server.file_addr(), &mut julia);
    let file_id = jf.put(b"../../x").strip_prefix("ok ").unwrap().to_owned();
    let mut jp = Side::authed(server.photo_addr(), &mut julia);
    let photo_id = jp.put(&png()).strip_prefix("ok ").unwrap().to_owned();
    assert_ne!(file_id, photo_id);
    julia.send(&format!("0009|Meggie|{file_id}|../../x"));
    assert!(meggie.recv().starts_with(&format!(
        "1009|file|Julia|Julia|Meggie|{file_id}|../../x|7|"
    )));
    konbi.assert_quiet();
    let mut mf = Side::authed(server.file_addr(), &mut meggie);
    assert_eq!(mf.get(&file_id).unwrap(), b"../../x");
    let mut kf = Side::authed(server.file_addr(), &mut konbi);
    assert!(kf.get(&file_id).is_err());
    assert!(mf.get(&photo_id).is_err(), "not shared yet");
    // SHARE-2: only the uploader may share an item.
    meggie.send(&format!("0009||{file_id}|mine"));
    assert_eq!(meggie.error_code(), "NO_SUCH_ITEM");
    julia.send("0009||nope|x");
    assert_eq!(julia.error_code(), "NO_SUCH_ITEM");
    julia.send(&format!("0009|Nina|{file_id}|x"));
    assert_eq!(julia.error_code(), "USER_OFFLINE");
    konbi.assert_quiet();
    assert!(!server.dir.path().join("x").exists());
    assert!(!server.dir.path().parent().unwrap().join("x").exists());
}
