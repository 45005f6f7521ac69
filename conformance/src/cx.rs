//! The test context: what a test body uses to talk to the server.
//!
//! [`Cx`] opens named connections (`C1`, `C2`, `P1`...) that share the test's
//! transcript, provides accounts (the seed accounts of SPEC.md section 6 on a
//! fresh server, freshly registered random users on a shared one), logs in,
//! and proves silence with the PING fence (PING-2) or, for a Level 1 server
//! that has no PING, with a short quiet window that the report mentions.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use protocol::escape::escape;
use protocol::limits::{MAX_SERVER_FRAME, MAX_SIDE_LINE};

use crate::check::{Failure, Outcome, Stop};
use crate::conn::{Conn, Delivery, Held, Read1};
use crate::frames;
use crate::rng::Rng;
use crate::target::Instance;
use crate::transcript::Transcript;

/// Timeouts, all multiplied by `--time-scale`.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long to wait for an answer that must come.
    pub reply: Duration,
    /// The quiet window that stands for silence without PING (Level 1).
    pub quiet: Duration,
    /// How long a spawned server may take to accept connections.
    pub startup: Duration,
    /// The hard deadline of one test.
    pub test: Duration,
}

impl Timing {
    /// The default timeouts scaled by `factor`.
    pub fn scaled(factor: f64) -> Timing {
        let f = |ms: u64| Duration::from_secs_f64(ms as f64 / 1000.0 * factor.max(0.01));
        Timing {
            reply: f(1000),
            quiet: f(200),
            startup: f(10_000),
            test: f(20_000),
        }
    }
}

/// What a test may assume about the run and the server.
#[derive(Debug, Clone)]
pub struct Env {
    /// The level of the test: what it may expect after a login (the online
    /// list from Level 3, the history from Level 4). Frames of higher levels
    /// that a more advanced server sends are skipped (`BACKGROUND_IDS`).
    pub level: u8,
    /// Timeouts.
    pub timing: Timing,
    /// True if PING works, so silence is proven with the fence (PING-2).
    pub fence: bool,
    /// True if the server was started for this test alone.
    pub fresh: bool,
    /// True if tests should register random users instead of seed accounts.
    pub register: bool,
    /// How chat connections deliver their bytes.
    pub delivery: Delivery,
}

/// A user account a test logs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Username (NAME-1).
    pub username: String,
    /// Password (NAME-3).
    pub password: String,
    /// Nickname (NAME-2).
    pub nickname: String,
}

/// The seed accounts every server knows (SPEC.md section 6).
pub const SEED_ACCOUNTS: [(&str, &str, &str); 5] = [
    ("user1", "114514", "konbi"),
    ("admin", "HytidelSB", "Hytidel"),
    ("Julia", "sunyu", "Julia"),
    ("Meggie", "maiji", "Meggie"),
    ("小明", "xiaoming123", "小明"),
];

/// Frame ids a chat connection skips unless a test asks for them: the online
/// list, notices and history arrive at Level 3 and 4 around logins and would
/// otherwise disturb tests about other rules.
pub const BACKGROUND_IDS: [&str; 4] = ["1006", "1010", "1011", "1012"];

/// Which side port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The photo port.
    Photo,
    /// The file port.
    File,
}

/// The context of one test run.
pub struct Cx<'a> {
    /// Random data for this test, from `--seed` and the slug.
    pub rng: Rng,
    /// The transcript shared by this test's connections.
    pub tx: Transcript,
    /// What the test may assume.
    pub env: Env,
    /// The server.
    pub server: &'a mut Instance,
    /// Remarks for the report, such as "silence checked with a quiet window".
    pub notes: Vec<String>,
    held: Held,
    conns: usize,
    sides: usize,
    fences: usize,
}

impl<'a> Cx<'a> {
    /// A context for one test.
    pub fn new(rng: Rng, env: Env, server: &'a mut Instance) -> Self {
        Cx {
            rng,
            tx: Transcript::new(),
            env,
            server,
            notes: Vec::new(),
            held: Held::default(),
            conns: 0,
            sides: 0,
            fences: 0,
        }
    }

    /// Starts a new transcript and numbers connections from `C1` again, for
    /// tests that replay a session (a shrunk property-based case).
    pub fn fresh_transcript(&mut self) {
        self.tx = Transcript::new();
        self.conns = 0;
        self.sides = 0;
        self.fences = 0;
    }

    /// The reply timeout.
    pub fn reply(&self) -> Duration {
        self.env.timing.reply
    }

    /// Opens a chat connection named `C1`, `C2`...
    pub fn connect(&mut self) -> Result<Conn, Failure> {
        self.conns += 1;
        let mut conn = Conn::connect(
            format!("C{}", self.conns),
            self.server.chat,
            self.tx.clone(),
            self.env.delivery,
            self.env.timing.reply,
            // FRAME-5: a server frame is at most MAX_SERVER_FRAME bytes with
            // its LF. One byte more lets a frame that ends in CR LF through:
            // FRAME-4 is reported for that on its own (`saw_crlf`), and one
            // mistake should not be reported as two.
            MAX_SERVER_FRAME + 1,
            self.held.clone(),
        )?;
        conn.ignore = BACKGROUND_IDS.to_vec();
        Ok(conn)
    }

    /// Opens a connection to a side port (`P1` photo, `F1` file), retrying
    /// while the port refuses, since a server may open it after the chat port.
    pub fn side(&mut self, side: Side) -> Result<Conn, Failure> {
        self.sides += 1;
        let (prefix, addr): (&str, SocketAddr) = match side {
            Side::Photo => ("P", self.server.photo),
            Side::File => ("F", self.server.file),
        };
        let name = format!("{prefix}{}", self.sides);
        let deadline = Instant::now() + self.env.timing.reply * 3;
        loop {
            match Conn::connect(
                name.clone(),
                addr,
                self.tx.clone(),
                Delivery::Whole,
                self.env.timing.reply,
                MAX_SIDE_LINE,
                Held::default(),
            ) {
                Ok(conn) => return Ok(conn),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(mut f) => {
                    f.rule = "SIDE-1".into();
                    f.reason = format!(
                        "could not connect to the {} port {addr} (chat port + {}): {}",
                        if side == Side::Photo { "photo" } else { "file" },
                        if side == Side::Photo { 1 } else { 2 },
                        f.reason
                    );
                    return Err(f);
                }
            }
        }
    }

    /// `n` accounts that no other connection of this test uses: seed accounts
    /// on a fresh server, freshly registered random users otherwise.
    pub fn accounts(&mut self, n: usize) -> Result<Vec<Account>, Stop> {
        if !self.env.register && n <= SEED_ACCOUNTS.len() {
            return Ok(SEED_ACCOUNTS[..n]
                .iter()
                .map(|(u, p, nick)| Account {
                    username: (*u).into(),
                    password: (*p).into(),
                    nickname: (*nick).into(),
                })
                .collect());
        }
        if !self.env.register && self.env.level < 3 {
            return Err(Stop::Skip(format!(
                "needs {n} accounts it can use alone, which needs registration (Level 3)"
            )));
        }
        let mut setup = self.connect()?;
        let tag = self.rng.hex(6);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let account = Account {
                username: format!("u{tag}_{i}"),
                password: format!("pw-{}", self.rng.hex(8)),
                nickname: format!("Nick {tag} {i}"),
            };
            self.register(&mut setup, &account)?;
            out.push(account);
        }
        setup.close();
        Ok(out)
    }

    /// Registers `account` and expects success (REG-2).
    pub fn register(&mut self, conn: &mut Conn, account: &Account) -> Result<(), Failure> {
        conn.send(&frames::register(
            &account.username,
            &account.password,
            &account.nickname,
        ))?;
        conn.expect(
            &format!(
                "1003|1|{}|{}",
                escape(&account.nickname),
                escape(&account.username)
            ),
            "REG-2",
        )?;
        Ok(())
    }

    /// Sends `account`'s login on `conn` and returns the server's first
    /// answer, trying again for a while if it is `ALREADY_ONLINE`: the server
    /// may not have processed an earlier connection's close yet (a shared
    /// server, or a slow one under load), and nothing on another connection
    /// can order that close (PING-2 fences one connection only). A server that
    /// never frees the account still fails, after about half a second.
    /// Then the answer must be `1001|1|nickname|username` (LOGIN-2).
    pub fn login_accepted(&mut self, conn: &mut Conn, account: &Account) -> Result<(), Failure> {
        let want = format!(
            "1001|1|{}|{}",
            escape(&account.nickname),
            escape(&account.username)
        );
        let frame = frames::login(&account.username, &account.password);
        let mut tries = 0;
        loop {
            conn.send(&frame)?;
            let line = match conn.next_frame() {
                Read1::Line(line) => line,
                Read1::Eof => {
                    return Err(Failure::new(
                        "LOGIN-1",
                        format!(
                            "{} sent a login and the server closed the connection",
                            conn.name
                        ),
                    ));
                }
                Read1::Timeout { partial } => {
                    return Err(conn.timeout_failure(&want, "LOGIN-1", &partial));
                }
            };
            if line.starts_with(b"1001|0|ALREADY_ONLINE|") && tries < 20 {
                tries += 1;
                std::thread::sleep(Duration::from_millis(25));
                continue;
            }
            if !crate::check::matches(&want, &line) {
                return Err(Failure::mismatch(
                    "LOGIN-2",
                    format!(
                        "{} logged in as {} and expected `{want}` but received `{}`",
                        conn.name,
                        account.username,
                        crate::transcript::short(&line)
                    ),
                    &want,
                    &line,
                ));
            }
            return Ok(());
        }
    }

    /// Logs `account` in on `conn` and consumes what follows a login at the
    /// graded level: the online list (LOGIN-7) and the history (HIST-1).
    pub fn login(&mut self, conn: &mut Conn, account: &Account) -> Result<(), Failure> {
        self.login_accepted(conn, account)?;
        if self.env.level >= 3 {
            conn.expect_raw("1006|**", "LOGIN-7").map_err(|f| {
                f.with_hint("right after 1001|1, send the online list 1006 (LOGIN-7)")
            })?;
        }
        if self.env.level >= 4 {
            loop {
                let line = conn.expect_raw("*|**", "HIST-1")?;
                if line.starts_with(b"1012|") {
                    break;
                }
                if !line.starts_with(b"1011|") {
                    return Err(Failure::mismatch(
                        "HIST-1",
                        "after the online list a login gets 1011 history frames, then 1012",
                        "1012|*",
                        &line,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Connects and logs in each account, in order.
    pub fn logged_in(&mut self, accounts: &[Account]) -> Result<Vec<Conn>, Failure> {
        let mut conns = Vec::with_capacity(accounts.len());
        for account in accounts {
            let mut conn = self.connect()?;
            self.login(&mut conn, account)?;
            conns.push(conn);
        }
        Ok(conns)
    }

    /// Sends `0007|token` and returns every (not ignored) frame that arrived
    /// before `1007|token` (PING-2).
    pub fn fence(&mut self, conn: &mut Conn) -> Result<Vec<Vec<u8>>, Failure> {
        self.fences += 1;
        let token = format!("fence-{}", self.fences);
        conn.send(&frames::ping(&token))?;
        let pong = format!("1007|{token}");
        let mut before = Vec::new();
        let deadline = Instant::now() + self.env.timing.reply;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match conn.read_line(left) {
                Read1::Line(line) if line == pong.as_bytes() => return Ok(before),
                Read1::Line(line) => {
                    if !conn.ignored(&line) {
                        before.push(line);
                    }
                }
                Read1::Eof => {
                    return Err(Failure::new(
                        "PING-1",
                        format!(
                            "{} sent `0007|{token}` and the server closed the connection",
                            conn.name
                        ),
                    ));
                }
                Read1::Timeout { partial } => {
                    return Err(conn.timeout_failure(&pong, "PING-1", &partial));
                }
            }
        }
    }

    /// Checks that none of `conns` receives anything (but ignored ids): with
    /// the PING fence when it works, else with a quiet window.
    pub fn silent(&mut self, conns: &mut [&mut Conn], rule: &str, why: &str) -> Outcome {
        if self.env.fence {
            for conn in conns.iter_mut() {
                let got = self.fence(conn)?;
                if let Some(first) = got.first() {
                    return Err(Failure::mismatch(
                        rule,
                        format!("{} received a frame it must not get: {why}", conn.name),
                        "(nothing before the fence's 1007)",
                        first,
                    )
                    .into());
                }
            }
            return Ok(());
        }
        let note = format!(
            "silence was checked with a {} ms quiet window, because PING (Level 2) is not available",
            self.env.timing.quiet.as_millis()
        );
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
        for conn in conns.iter_mut() {
            let deadline = Instant::now() + self.env.timing.quiet;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match conn.read_line(left) {
                    Read1::Line(line) if conn.ignored(&line) => continue,
                    Read1::Line(line) => {
                        return Err(Failure::mismatch(
                            rule,
                            format!("{} received a frame it must not get: {why}", conn.name),
                            "(nothing)",
                            &line,
                        )
                        .into());
                    }
                    Read1::Eof | Read1::Timeout { .. } => break,
                }
            }
        }
        Ok(())
    }

    /// Expects `1900|code|…` on `conn`.
    pub fn expect_error(&mut self, conn: &mut Conn, code: &str, rule: &str) -> Result<(), Failure> {
        conn.expect(&format!("1900|{code}|*"), rule)?;
        Ok(())
    }

    /// Kills the server and starts it again on the same data directory;
    /// skips the test if the grader did not start the server.
    pub fn restart(&mut self, graceful: bool) -> Outcome {
        if self.server.process.is_none() {
            return Err(Stop::Skip(
                "needs to restart the server, which only works with --cmd".into(),
            ));
        }
        self.tx.note(
            "--",
            if graceful {
                "the grader stops the server (SIGTERM, then SIGKILL) and starts it again"
            } else {
                "the grader kills the server (SIGKILL) and starts it again"
            },
        );
        self.server.restart(graceful).map_err(|e| {
            Stop::Fail(Failure::new(
                "REG-5",
                format!("the server did not come back after a restart: {e}"),
            ))
        })
    }

    /// Skips unless the grader started this server for this test alone.
    pub fn need_fresh(&self) -> Outcome {
        if self.env.fresh {
            Ok(())
        } else {
            Err(Stop::Skip(
                "needs a server of its own (counts and history depend on every user); run with --cmd".into(),
            ))
        }
    }
}

/// `0002|username|text` with both fields escaped (ESC-1).
pub fn chat(username: &str, text: &str) -> Vec<u8> {
    frames::chat(username, text)
}

/// `1002|nickname|text` as a server must send it, without the LF.
pub fn chat_out(nickname: &str, text: &str) -> String {
    format!("1002|{}|{}", escape(nickname), escape(text))
}
