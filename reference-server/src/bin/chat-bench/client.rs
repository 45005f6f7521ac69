//! One benchmark client: connect, log in, fence, then receive (and, for the
//! first S clients, send) until the run ends.
//!
//! Frames go through `protocol` both ways: requests are encoded with
//! `Request::encode`, and every received line is framed by `FrameBuffer` and
//! parsed by `parse_response`, so the benchmark also checks every delivery.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use protocol::{FrameBuffer, Request, Response, Text, Token, Username, parse_response};

use crate::stats::Histogram;

/// The workload, as every client sees it.
#[derive(Debug, Clone)]
pub struct Workload {
    pub clients: usize,
    pub senders: usize,
    pub messages: u32,
    /// Frames per `write` when saturating.
    pub batch: usize,
    /// Offered deliveries per second; 0 saturates.
    pub rate: u64,
    /// Messages a sender may be ahead of its slowest receiver.
    pub window: u32,
    /// Extra bytes of text per message.
    pub pad: usize,
}

/// Phases the main thread opens one after another.
pub struct Gate {
    phase: Mutex<u32>,
    changed: Condvar,
}

impl Gate {
    pub fn new() -> Self {
        Self {
            phase: Mutex::new(0),
            changed: Condvar::new(),
        }
    }

    pub fn open(&self, phase: u32) {
        *self.phase.lock().unwrap() = phase;
        self.changed.notify_all();
    }

    pub fn is_open(&self, phase: u32) -> bool {
        *self.phase.lock().unwrap() >= phase
    }

    fn wait(&self, phase: u32, stop: &AtomicBool) -> bool {
        let mut now = self.phase.lock().unwrap();
        while *now < phase {
            if stop.load(Ordering::Relaxed) {
                return false;
            }
            now = self
                .changed
                .wait_timeout(now, Duration::from_millis(100))
                .unwrap()
                .0;
        }
        true
    }
}

/// What all clients share and report into.
pub struct Run {
    pub work: Workload,
    pub addr: SocketAddr,
    pub epoch: Instant,
    pub gate: Gate,
    pub stop: AtomicBool,
    /// `got[sender * clients + receiver]`: messages received, in order. One
    /// sender's counters are contiguous, so its flow-control scan is cheap.
    pub got: Vec<AtomicU32>,
    pub delivered: AtomicU64,
    pub logged_in: AtomicUsize,
    pub login_errors: AtomicUsize,
    pub last_login_ns: AtomicU64,
    pub fenced: AtomicUsize,
    pub finished: AtomicUsize,
    pub last_delivery_ns: AtomicU64,
    pub order_errors: AtomicU64,
    pub server_errors: AtomicU64,
    pub latency: Mutex<Histogram>,
}

impl Run {
    pub fn new(work: Workload, addr: SocketAddr) -> Self {
        let got = (0..work.clients * work.senders)
            .map(|_| AtomicU32::new(0))
            .collect();
        Self {
            work,
            addr,
            epoch: Instant::now(),
            gate: Gate::new(),
            stop: AtomicBool::new(false),
            got,
            delivered: AtomicU64::new(0),
            logged_in: AtomicUsize::new(0),
            login_errors: AtomicUsize::new(0),
            last_login_ns: AtomicU64::new(0),
            fenced: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            last_delivery_ns: AtomicU64::new(0),
            order_errors: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            latency: Mutex::new(Histogram::new()),
        }
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// The username of client `i`.
pub fn username(i: usize) -> String {
    format!("bench-{i}")
}

/// The password of client `i`.
pub fn password(i: usize) -> String {
    format!("pw-bench-{i}")
}

/// A connection with a frame buffer.
struct Conn {
    stream: TcpStream,
    frames: FrameBuffer,
    buf: Vec<u8>,
}

impl Conn {
    /// Reads more bytes into the frame buffer; false on EOF, error or stop.
    fn read_more(&mut self, stop: &AtomicBool) -> bool {
        loop {
            match self.stream.read(&mut self.buf) {
                Ok(0) => return false,
                Ok(n) => {
                    self.frames.push(&self.buf[..n]);
                    return true;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if stop.load(Ordering::Relaxed) {
                        return false;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// The next response, `None` on EOF, error or stop.
    fn next(&mut self, stop: &AtomicBool) -> Option<Response> {
        loop {
            if let Some(line) = self.frames.next_line() {
                return match line.map(parse_response) {
                    Ok(Ok(response)) => Some(response),
                    _ => None,
                };
            }
            match self.stream.read(&mut self.buf) {
                Ok(0) => return None,
                Ok(n) => self.frames.push(&self.buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if stop.load(Ordering::Relaxed) {
                        return None;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }
}

/// Runs client `i` to the end of the run.
pub fn client(run: &Run, i: usize) {
    let Some(mut conn) = login(run, i) else {
        run.login_errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    run.logged_in.fetch_add(1, Ordering::Relaxed);
    run.last_login_ns.fetch_max(run.now_ns(), Ordering::Relaxed);
    // Phase 1: everyone is logged in. A fence then proves every join notice
    // has arrived (PING-2), so the measurement starts from quiet.
    if !run.gate.wait(1, &run.stop) || !fence(run, &mut conn, "ready") {
        return;
    }
    run.fenced.fetch_add(1, Ordering::Relaxed);
    if !run.gate.wait(2, &run.stop) {
        return;
    }
    std::thread::scope(|scope| {
        if i < run.work.senders {
            let stream = conn.stream.try_clone().expect("clone a socket");
            scope.spawn(move || send(run, i, stream));
        }
        receive(run, i, &mut conn);
    });
}

/// A connection with a large, fixed receive buffer: the frames of the flow
/// control window wait there, in the kernel, rather than in the server's
/// queue, so a receiver that is briefly descheduled never looks like a slow
/// consumer (LOAD-3) to the server.
fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_recv_buffer_size(RECV_BUFFER)?;
    socket.set_tcp_nodelay(true)?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
}

/// Bytes of receive buffer per client (Linux doubles it, within rmem_max).
pub const RECV_BUFFER: usize = 4 << 20;

/// Logs client `i` in; returns its socket and what it already buffered.
pub fn login_stream(run: &Run, i: usize) -> Option<(TcpStream, FrameBuffer)> {
    login(run, i).map(|conn| (conn.stream, conn.frames))
}

fn login(run: &Run, i: usize) -> Option<Conn> {
    let stream = connect(run.addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok()?;
    let mut conn = Conn {
        stream,
        frames: FrameBuffer::new(1 << 20),
        buf: vec![0; 16 * 1024],
    };
    let login = Request::Login {
        username: username(i),
        password: password(i),
    };
    conn.stream.write_all(&login.to_bytes()).ok()?;
    loop {
        match conn.next(&run.stop)? {
            Response::LoginResult(protocol::AuthResult::Ok { .. }) => {}
            Response::LoginResult(_) => return None,
            Response::HistoryEnd { .. } => return Some(conn),
            _ => {}
        }
    }
}

fn fence(run: &Run, conn: &mut Conn, token: &str) -> bool {
    let token = Token::new(token).expect("a valid token");
    let ping = Request::Ping {
        token: token.clone(),
    };
    if conn.stream.write_all(&ping.to_bytes()).is_err() {
        return false;
    }
    loop {
        match conn.next(&run.stop) {
            Some(Response::Pong { token: got }) if got == token => return true,
            Some(_) => {}
            None => return false,
        }
    }
}

/// Reads until every expected message arrived, checking per-sender order
/// (CHAT-4) and recording latencies. Progress is published for the senders'
/// flow control each time the buffered frames run out.
fn receive(run: &Run, me: usize, conn: &mut Conn) {
    let work = &run.work;
    let expected = |s: usize| if s == me { 0 } else { work.messages };
    let mut remaining: u64 = (0..work.senders).map(|s| u64::from(expected(s))).sum();
    let mut next = vec![0u32; work.senders];
    let mut dirty = Vec::new();
    let mut is_dirty = vec![false; work.senders];
    let mut latency = Histogram::new();
    let mut counted = 0u64;
    let mut sampled = 0u64;
    'run: while remaining > 0 {
        while let Some(line) = conn.frames.next_line() {
            let Ok(line) = line else {
                run.server_errors.fetch_add(1, Ordering::Relaxed);
                break 'run;
            };
            // The generator must not be the bottleneck it measures: its own
            // chat frames are decoded by a shortcut, and one in 64 of them
            // (and every other frame) goes through the full parser.
            sampled += 1;
            let decoded = match quick_chat(line).filter(|_| !sampled.is_multiple_of(64)) {
                Some(fields) => Some(fields),
                None => match parse_response(line) {
                    Ok(Response::Chat { nickname, text }) => {
                        let quick = quick_chat(line);
                        if quick.is_some_and(|(n, t)| (n, t) != (nickname.as_str(), text.as_str()))
                        {
                            run.order_errors.fetch_add(1, Ordering::Relaxed);
                        }
                        quick
                    }
                    Ok(Response::Error { .. }) | Err(_) => {
                        run.server_errors.fetch_add(1, Ordering::Relaxed);
                        break 'run;
                    }
                    Ok(_) => continue,
                },
            };
            let Some((nickname, text)) = decoded else {
                run.order_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let now = run.now_ns();
            let (Some(sender), Some((seq, sent))) = (sender_of(nickname), seq_of(text)) else {
                run.order_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if sender >= work.senders || seq != next[sender] {
                run.order_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if !is_dirty[sender] {
                is_dirty[sender] = true;
                dirty.push(sender);
            }
            next[sender] += 1;
            latency.record(Duration::from_nanos(now.saturating_sub(sent)));
            remaining -= 1;
            counted += 1;
        }
        for sender in dirty.drain(..) {
            is_dirty[sender] = false;
            run.got[sender * work.clients + me].store(next[sender], Ordering::Relaxed);
        }
        if remaining > 0 && !conn.read_more(&run.stop) {
            break;
        }
    }
    run.delivered.fetch_add(counted, Ordering::Relaxed);
    run.last_delivery_ns
        .fetch_max(run.now_ns(), Ordering::Relaxed);
    run.latency.lock().unwrap().merge(&latency);
    run.finished.fetch_add(1, Ordering::Relaxed);
}

/// Sends this client's messages, in batches when saturating, or one at a time
/// on a fixed schedule when pacing.
fn send(run: &Run, me: usize, mut stream: TcpStream) {
    let work = &run.work;
    let username = Username::new(username(me)).expect("a valid username");
    let pad = "x".repeat(work.pad);
    let interval = (work.rate > 0).then(|| {
        let receivers = (work.clients - 1).max(1) as f64;
        let per_sender = work.rate as f64 / receivers / work.senders as f64;
        Duration::from_secs_f64(1.0 / per_sender)
    });
    let batch = if interval.is_some() {
        1
    } else {
        work.batch.max(1)
    };
    let start = run.epoch.elapsed();
    let mut out = Vec::new();
    let mut seq = 0u32;
    let mut allowed = 0u32;
    while seq < work.messages && !run.stop.load(Ordering::Relaxed) {
        match interval {
            Some(interval) => {
                let due = start + interval * seq;
                if let Some(wait) = due.checked_sub(run.epoch.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            None => wait_for_window(run, me, seq, &mut allowed),
        }
        out.clear();
        let end = (seq + batch as u32).min(work.messages);
        for s in seq..end {
            let text = Text::new(format!("{s} {}{pad}", run.now_ns())).expect("a valid text");
            Request::Chat {
                username: username.clone(),
                text,
            }
            .encode(&mut out);
        }
        if stream.write_all(&out).is_err() {
            return;
        }
        seq = end;
    }
}

/// Flow control: a saturating sender waits while it is more than `window`
/// messages ahead of its slowest receiver, so that no server queue overflows
/// because the load generator itself falls behind. `allowed` caches the last
/// scan, so the receivers' counters are read only when the window closes.
fn wait_for_window(run: &Run, me: usize, seq: u32, allowed: &mut u32) {
    let work = &run.work;
    let mine = &run.got[me * work.clients..(me + 1) * work.clients];
    while seq >= *allowed && !run.stop.load(Ordering::Relaxed) {
        let slowest = mine
            .iter()
            .enumerate()
            .filter(|&(r, _)| r != me)
            .map(|(_, got)| got.load(Ordering::Relaxed))
            .min()
            .unwrap_or(u32::MAX);
        *allowed = slowest.saturating_add(work.window);
        if seq < *allowed {
            return;
        }
        std::thread::sleep(Duration::from_micros(250));
    }
}

/// The nickname and text of a `1002` whose fields hold no escape, such as
/// the generator's own messages; `None` for anything else.
fn quick_chat(line: &[u8]) -> Option<(&str, &str)> {
    let rest = line.strip_prefix(b"1002|")?;
    let bar = memchr::memchr(b'|', rest)?;
    let (nickname, text) = (&rest[..bar], &rest[bar + 1..]);
    if memchr::memchr2(b'|', b'\\', text).is_some() || memchr::memchr(b'\\', nickname).is_some() {
        return None;
    }
    Some((
        std::str::from_utf8(nickname).ok()?,
        std::str::from_utf8(text).ok()?,
    ))
}

fn sender_of(nickname: &str) -> Option<usize> {
    nickname.strip_prefix('b')?.parse().ok()
}

fn seq_of(text: &str) -> Option<(u32, u64)> {
    let mut words = text.split(' ');
    let seq = words.next()?.parse().ok()?;
    let sent = words.next()?.trim_end_matches('x').parse().ok()?;
    Some((seq, sent))
}
