//! One benchmark client inside an event loop: its socket, what it has to
//! send, and what it checks in what it receives.
//!
//! A session never blocks: it reads until the socket is empty and writes
//! until the socket is full, and the event loop (`reactor`) calls it again
//! when that changes. Frames go through `protocol` both ways: requests are
//! encoded with `Request::encode`, and every received line is framed by
//! `FrameBuffer`; the generator's own chat frames are decoded by a shortcut,
//! and one in 64 of them (and every other frame) by `parse_response`, so the
//! generator checks every delivery without becoming the bottleneck it
//! measures.

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::Ordering;
use std::time::Duration;

use protocol::{AuthResult, FrameBuffer, Request, Response, Token, Username, parse_response};

use crate::frames::{Fields, encode_chat, parsed_chat, quick_chat};
use crate::run::{self, Run, phase};
use crate::stats::Histogram;

/// What one event-loop thread measures, merged into the run at its end.
#[derive(Debug, Clone)]
pub struct Latencies {
    /// From a message's sending to its arrival.
    pub delivery: Histogram,
    /// From a connection attempt to the end of its login (history included).
    pub login: Histogram,
}

/// Where a session is in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Connecting, with the login request queued.
    LoggingIn,
    /// Logged in (history replayed), waiting for the fence phase.
    LoggedIn,
    /// A fence ping is out; its pong moves the session on.
    Fencing { then: u32 },
    /// Fenced, waiting for the run phase.
    Fenced,
    /// Sending (if a sender) and receiving until every message arrived.
    Running,
    /// Finished: still drained, no longer counted.
    Done,
    /// The connection failed or the server closed it.
    Dead,
}

pub struct Session {
    pub id: usize,
    pub stream: mio::net::TcpStream,
    pub state: State,
    frames: FrameBuffer,
    out: Vec<u8>,
    out_pos: usize,
    fence: Option<Token>,
    // Receiving: the next sequence number expected from each sender.
    next: Vec<u32>,
    dirty: Vec<usize>,
    is_dirty: Vec<bool>,
    remaining: u64,
    counted: u64,
    sampled: u64,
    // Sending.
    username: Username,
    seq: u32,
    allowed: u32,
    seen_progress: u64,
    /// When the connection attempt started, in the run's nanoseconds.
    connected_at: u64,
}

impl Session {
    /// A session whose socket is connecting, with its login queued.
    pub fn new(run: &Run, id: usize, stream: mio::net::TcpStream) -> Self {
        let mut out = Vec::new();
        Request::Login {
            username: run::username(id),
            password: run::password(id),
        }
        .encode(&mut out);
        let work = &run.work;
        let (next, remaining) = if work.idle {
            (Vec::new(), 0)
        } else {
            let mine = u64::from(id < work.senders);
            let others = work.senders as u64 - mine;
            (vec![0; work.senders], others * u64::from(work.messages))
        };
        Self {
            id,
            stream,
            state: State::LoggingIn,
            frames: FrameBuffer::new(1 << 20),
            out,
            out_pos: 0,
            fence: None,
            is_dirty: vec![false; next.len()],
            next,
            dirty: Vec::new(),
            remaining,
            counted: 0,
            sampled: 0,
            username: Username::new(run::username(id)).expect("a valid username"),
            seq: 0,
            allowed: 0,
            seen_progress: u64::MAX,
            connected_at: run.now_ns(),
        }
    }

    /// Whether the session still has messages to send (when saturating; a
    /// paced run's messages are sent by the `pacer` thread).
    pub fn is_sending(&self, run: &Run) -> bool {
        self.state == State::Running
            && run.work.rate == 0
            && self.id < run.work.senders
            && self.seq < run.work.messages
    }

    /// Writes what is queued until the socket is full.
    pub fn flush(&mut self, run: &Run) {
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return self.die(run),
                Ok(n) => self.out_pos += n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::NotConnected) => {
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.die(run),
            }
        }
        self.out.clear();
        self.out_pos = 0;
    }

    /// Moves a session on when the main thread opens a phase.
    pub fn enter(&mut self, run: &Run, phase: u32) {
        let next = match (self.state, phase) {
            (State::LoggedIn, phase::FENCE) => phase::FENCE,
            (State::Fenced, phase::RUN) if run.work.idle => phase::RUN,
            (State::Fenced, phase::RUN) => {
                self.state = State::Running;
                return self.check_finished(run);
            }
            _ => return,
        };
        let token = Token::new(format!("fence-{next}")).expect("a valid token");
        Request::Ping {
            token: token.clone(),
        }
        .encode(&mut self.out);
        self.fence = Some(token);
        self.state = State::Fencing { then: next };
        self.flush(run);
    }

    /// Reads everything the socket has and handles every complete frame;
    /// true if receive progress was published for the senders' flow control.
    pub fn on_readable(&mut self, run: &Run, buf: &mut [u8], latency: &mut Latencies) -> bool {
        let mut progress = false;
        loop {
            match self.stream.read(buf) {
                Ok(0) => {
                    self.die(run);
                    break;
                }
                Ok(n) => {
                    self.frames.push(&buf[..n]);
                    progress |= self.handle_frames(run, latency);
                    if self.state == State::Dead {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    self.die(run);
                    break;
                }
            }
        }
        progress
    }

    fn handle_frames(&mut self, run: &Run, latency: &mut Latencies) -> bool {
        // One clock reading per read: the frames of one read arrived together.
        let now = run.now_ns();
        if self.state == State::Fenced && run.phase() >= phase::RUN {
            // Another event loop entered the run first and its senders'
            // messages are here before this loop saw the phase change.
            self.enter(run, phase::RUN);
        }
        while let Some(line) = self.frames.next_line() {
            let Ok(line) = line else {
                run.server_errors.fetch_add(1, Ordering::Relaxed);
                self.die(run);
                return false;
            };
            self.sampled += 1;
            let sampled = self.sampled.is_multiple_of(64);
            if self.state == State::Running && self.remaining > 0 {
                if !sampled && let Some(fields) = quick_chat(line) {
                    self.count(run, Some(fields), now, &mut latency.delivery);
                    continue;
                }
            } else if !sampled && line.starts_with(b"1010|") {
                // A join notice (NOTE-1): a burst of n logins brings n²/2 of
                // them, and only one in 64 needs the full parser's check.
                continue;
            }
            let response = match parse_response(line) {
                Ok(Response::Error { .. }) | Err(_) => {
                    run.server_errors.fetch_add(1, Ordering::Relaxed);
                    self.die(run);
                    return false;
                }
                Ok(response) => response,
            };
            match (self.state, response) {
                (State::LoggingIn, Response::LoginResult(AuthResult::Ok { .. })) => {}
                (State::LoggingIn, Response::LoginResult(_)) => {
                    self.die(run);
                    return false;
                }
                (State::LoggingIn, Response::HistoryEnd { .. }) => {
                    run.logged_in.fetch_add(1, Ordering::Relaxed);
                    run.last_login_ns.fetch_max(now, Ordering::Relaxed);
                    let took = now.saturating_sub(self.connected_at);
                    latency.login.record(Duration::from_nanos(took));
                    self.state = State::LoggedIn;
                    // The fence phase may have opened while this login ran.
                    if run.phase() >= phase::FENCE {
                        self.enter(run, phase::FENCE);
                    }
                }
                (State::Fencing { then }, Response::Pong { token })
                    if Some(&token) == self.fence.as_ref() =>
                {
                    self.fence = None;
                    if then == phase::FENCE {
                        run.fenced.fetch_add(1, Ordering::Relaxed);
                        self.state = State::Fenced;
                        if run.phase() >= phase::RUN {
                            self.enter(run, phase::RUN);
                        }
                    } else {
                        run.finished.fetch_add(1, Ordering::Relaxed);
                        self.state = State::Done;
                    }
                }
                (State::Running, Response::Chat { nickname, text }) if self.remaining > 0 => {
                    // The shortcut must agree with the parser on this frame.
                    let fields = parsed_chat(nickname.as_str(), text.as_str());
                    if quick_chat(line).is_some_and(|quick| Some(quick) != fields) {
                        run.order_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    self.count(run, fields, now, &mut latency.delivery);
                }
                _ => {}
            }
        }
        let progress = !self.dirty.is_empty();
        for sender in self.dirty.drain(..) {
            self.is_dirty[sender] = false;
            run.got[sender * run.work.clients + self.id]
                .store(self.next[sender], Ordering::Relaxed);
        }
        self.check_finished(run);
        progress
    }

    /// Checks one delivery: from a sender, in order (CHAT-4), and its latency.
    fn count(&mut self, run: &Run, fields: Option<Fields>, now: u64, latency: &mut Histogram) {
        let Some(Fields { sender, seq, sent }) = fields else {
            run.order_errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if sender >= run.work.senders || sender == self.id || seq != self.next[sender] {
            run.order_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if !self.is_dirty[sender] {
            self.is_dirty[sender] = true;
            self.dirty.push(sender);
        }
        self.next[sender] += 1;
        latency.record(Duration::from_nanos(now.saturating_sub(sent)));
        self.remaining -= 1;
        self.counted += 1;
    }

    fn check_finished(&mut self, run: &Run) {
        if self.state == State::Running && self.remaining == 0 && !self.is_sending(run) {
            self.report(run);
            self.state = State::Done;
            run.finished.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds what this session counted to the run's totals.
    pub fn report(&mut self, run: &Run) {
        run.delivered.fetch_add(self.counted, Ordering::Relaxed);
        self.counted = 0;
        run.last_delivery_ns
            .fetch_max(run.now_ns(), Ordering::Relaxed);
    }

    /// Sends the next batch if the flow-control window allows it; true if
    /// it sent all of it and may send more.
    pub fn pump(&mut self, run: &Run) -> bool {
        let work = &run.work;
        if !self.is_sending(run) || self.out_pos < self.out.len() || !self.window_open(run) {
            return false;
        }
        let end = (self.seq + work.batch as u32).min(work.messages);
        for seq in self.seq..end {
            encode_chat(run, &self.username, seq, &mut self.out);
        }
        self.seq = end;
        self.flush(run);
        self.check_finished(run);
        self.out.is_empty() && self.state != State::Dead
    }

    /// Flow control: a saturating sender waits while it is more than
    /// `window` messages ahead of its slowest receiver, so that no server
    /// queue overflows because the generator itself falls behind (LOAD-3).
    /// The receivers' counters are scanned only when the cached limit is
    /// reached and some progress was published since the last scan.
    fn window_open(&mut self, run: &Run) -> bool {
        if self.seq < self.allowed {
            return true;
        }
        let progress = run.progress.load(Ordering::Acquire);
        if progress == self.seen_progress {
            return false;
        }
        self.seen_progress = progress;
        let slowest = run
            .progress_of(self.id)
            .iter()
            .enumerate()
            .filter(|&(r, _)| r != self.id)
            .map(|(_, got)| got.load(Ordering::Relaxed))
            .min()
            .unwrap_or(u32::MAX);
        self.allowed = slowest.saturating_add(run.work.window);
        self.seq < self.allowed
    }

    /// Whether this sender waits for its window to open.
    pub fn window_blocked(&self, run: &Run) -> bool {
        self.is_sending(run) && self.out_pos >= self.out.len() && self.seq >= self.allowed
    }

    /// The connection is over; a logged-in client counts as lost.
    pub fn die(&mut self, run: &Run) {
        match self.state {
            State::Dead => return,
            State::LoggingIn => {
                run.login_errors.fetch_add(1, Ordering::Relaxed);
            }
            State::Done => {}
            _ => {
                self.report(run);
                run.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.state = State::Dead;
    }
}
