//! The `check`-style helpers every test goes through: a server on
//! 127.0.0.1:0 in a temporary data directory, and a line-based test client
//! whose reads have a deadline, so a bug fails a test instead of hanging it.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use protocol::FrameBuffer;
use reference_server::accounts::HashCost;
use reference_server::{Config, Server, ServerHandle};

/// How long a test waits for any one frame.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running server with its own data directory.
pub struct TestServer {
    handle: Option<ServerHandle>,
    pub dir: tempfile::TempDir,
}

/// The configuration tests use: free ports, cheap password hashes.
pub fn config(dir: &std::path::Path) -> Config {
    Config {
        port: 0,
        data_dir: dir.to_path_buf(),
        hash_cost: HashCost {
            memory_kib: 64,
            iterations: 1,
        },
        ..Config::default()
    }
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        tweak(&mut config);
        let handle = Server::bind(config).unwrap().spawn();
        Self {
            handle: Some(handle),
            dir,
        }
    }

    fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().unwrap()
    }

    pub fn chat_addr(&self) -> SocketAddr {
        self.handle().chat_addr()
    }

    pub fn photo_addr(&self) -> SocketAddr {
        self.handle().photo_addr()
    }

    pub fn file_addr(&self) -> SocketAddr {
        self.handle().file_addr()
    }

    /// Live chat connections on the server.
    pub fn connections(&self) -> usize {
        self.handle().connections()
    }

    /// Writer threads running for clients that read slowly.
    pub fn writer_threads(&self) -> usize {
        self.handle().writer_threads()
    }

    /// Stops the server and starts a new one on the same data directory.
    pub fn restart(&mut self) {
        self.handle.take().unwrap().shutdown();
        let handle = Server::bind(config(self.dir.path())).unwrap().spawn();
        self.handle = Some(handle);
    }

    /// Stops the server gracefully.
    pub fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown();
        }
    }

    /// A new connection to the chat port.
    pub fn connect(&self) -> Client {
        Client::connect(self.chat_addr())
    }

    /// A connection logged in as `user`, past its list and history.
    pub fn login(&self, user: &str, password: &str) -> Client {
        let mut client = self.connect();
        client.login(user, password);
        client
    }

    /// Registers an account and logs it in.
    pub fn new_user(&self, user: &str) -> Client {
        let mut client = self.connect();
        client.send(&format!("0003|{user}|pw-{user}|{user}"));
        assert_eq!(client.recv(), format!("1003|1|{user}|{user}"));
        client.login(user, &format!("pw-{user}"));
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A test client: sends lines, receives frames, with deadlines.
pub struct Client {
    pub stream: TcpStream,
    frames: FrameBuffer,
    ready: VecDeque<String>,
    fences: u32,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        Self {
            stream,
            frames: FrameBuffer::new(64 * 1024),
            ready: VecDeque::new(),
            fences: 0,
        }
    }

    /// Sends one line; the LF is added.
    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next frame, without its LF; `None` at EOF.
    pub fn try_recv(&mut self) -> Option<String> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Some(frame);
            }
            while let Some(line) = self.frames.next_line() {
                self.ready
                    .push_back(String::from_utf8(line.unwrap().to_vec()).unwrap());
            }
            if !self.ready.is_empty() {
                continue;
            }
            let mut buf = [0u8; 64 * 1024];
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.frames.push(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("no frame within {PATIENCE:?}: {e}"),
            }
        }
    }

    /// The next frame; panics at EOF.
    pub fn recv(&mut self) -> String {
        self.try_recv().expect("the server closed the connection")
    }

    /// The next frame, which must start with `prefix`.
    pub fn expect(&mut self, prefix: &str) -> String {
        let frame = self.recv();
        assert!(
            frame.starts_with(prefix),
            "expected {prefix:?}, got {frame:?}"
        );
        frame
    }

    /// The code of the next frame, which must be a `1900`.
    pub fn error_code(&mut self) -> String {
        let frame = self.expect("1900|");
        frame.split('|').nth(1).unwrap().to_owned()
    }

    /// Logs in and reads up to the end of the history; returns those frames.
    pub fn login(&mut self, user: &str, password: &str) -> Vec<String> {
        self.send(&format!("0001|{user}|{password}"));
        let first = self.expect("1001|1|");
        let mut got = vec![first];
        loop {
            let frame = self.recv();
            let end = frame.starts_with("1012|");
            got.push(frame);
            if end {
                return got;
            }
        }
    }

    /// PING-2: sends a fence and returns every frame that arrived before its
    /// pong. After it, anything the server had queued for us has arrived.
    pub fn fence(&mut self) -> Vec<String> {
        self.fences += 1;
        let token = format!("fence-{}", self.fences);
        self.send(&format!("0007|{token}"));
        let pong = format!("1007|{token}");
        let mut before = Vec::new();
        loop {
            let frame = self.recv();
            if frame == pong {
                return before;
            }
            before.push(frame);
        }
    }

    /// Asserts that nothing is waiting for us (PING-2).
    pub fn assert_quiet(&mut self) {
        let got = self.fence();
        assert!(got.is_empty(), "expected nothing, got {got:?}");
    }

    /// Reads until the server closes the connection; returns what came first.
    pub fn until_closed(&mut self) -> Vec<String> {
        let mut got = Vec::new();
        while let Some(frame) = self.try_recv() {
            got.push(frame);
        }
        got
    }
}
