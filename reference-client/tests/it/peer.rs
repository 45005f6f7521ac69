//! A terminal-mode client as a child process, driven through its stdin and
//! read line by line from its stdout, with a deadline on every wait.
//!
//! A reader thread turns the child's stdout into a channel of lines, so
//! waiting for a line is a `recv_timeout`: tests wait for what they expect to
//! see, never for a fixed time.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::server::TestServer;

/// How long one expected line may take: generous for a loaded 2-core CI
/// machine; a passing test never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The path of the client binary under test.
pub fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("reference-client")
}

/// A running terminal-mode client.
pub struct Peer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    /// Every line read so far, for failure messages.
    seen: Vec<String>,
    /// The client's cache directory, where `/get` saves items.
    pub cache: PathBuf,
}

impl Peer {
    /// Starts `user` against `server` and waits until the login is complete:
    /// the history has been replayed (HIST-1, its `1012` comes last).
    pub fn login(server: &TestServer, user: &str, password: &str, cache: &Path) -> Peer {
        Peer::start(server, user, password, cache, &["--no-reconnect"])
    }

    /// Like [`Peer::login`], with extra client arguments.
    pub fn start(
        server: &TestServer,
        user: &str,
        password: &str,
        cache: &Path,
        extra: &[&str],
    ) -> Peer {
        let mut child = Command::new(binary())
            .args(["--terminal", "--no-time", "--user", user])
            .args(extra)
            .args(server.client_args())
            .arg("--cache-dir")
            .arg(cache)
            .env("CHATLAB_PASSWORD", password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start the client");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut peer = Peer {
            name: user.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            reader: Some(reader),
            seen: Vec::new(),
            cache: cache.to_owned(),
        };
        peer.expect("messages from history");
        peer
    }

    /// Types `line` into the client.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("cannot write to the client");
        stdin.flush().expect("cannot flush the client's stdin");
    }

    /// Waits for the next line that contains `needle`, and returns it.
    pub fn expect(&mut self, needle: &str) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "{}: no line with {needle:?} ({e:?}); got:\n{}",
                    self.name,
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// True if any line read so far contains `needle`.
    pub fn saw(&self, needle: &str) -> bool {
        self.seen.iter().any(|line| line.contains(needle))
    }

    /// How many lines read so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.seen
            .iter()
            .filter(|line| line.contains(needle))
            .count()
    }

    /// Types `/quit` and waits for the client to exit.
    pub fn quit(mut self) -> ExitStatus {
        self.send("/quit");
        self.stdin.take();
        self.child.wait().expect("cannot wait for the client")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stdin.take();
        // Still running only if the test failed half-way: do not leave it behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}
