//! What the generator's threads share: the workload, the phase of the run,
//! and the counters every client reports into.
//!
//! The main thread moves the run from phase to phase (logged in, fenced,
//! running); each event-loop thread registers a `mio::Waker` here, so a new
//! phase wakes it at once instead of being noticed at its next timeout.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
    /// Only log in, fence, hold and fence again (`--idle`).
    pub idle: bool,
}

/// The phases the main thread opens one after another.
pub mod phase {
    /// Clients connect and log in.
    pub const LOGIN: u32 = 0;
    /// Everyone is logged in: each client sends a fence ping, so that every
    /// join notice has arrived before anything is measured (PING-2).
    pub const FENCE: u32 = 1;
    /// Senders send and receivers count; idle clients fence once more.
    pub const RUN: u32 = 2;
}

/// What all clients share and report into.
pub struct Run {
    pub work: Workload,
    pub addr: SocketAddr,
    pub epoch: Instant,
    phase: AtomicU32,
    wakers: Mutex<Vec<Arc<mio::Waker>>>,
    pub stop: AtomicBool,
    /// `got[sender * clients + receiver]`: messages received, in order. One
    /// sender's counters are contiguous, so its flow-control scan is cheap.
    pub got: Vec<AtomicU32>,
    /// Bumped whenever some thread published progress into `got`, so that a
    /// sender waiting for its window rescans only when something changed.
    pub progress: AtomicU64,
    pub delivered: AtomicU64,
    pub logged_in: AtomicUsize,
    pub login_errors: AtomicUsize,
    pub last_login_ns: AtomicU64,
    pub fenced: AtomicUsize,
    /// Logged-in clients whose connection ended before the run did.
    pub lost: AtomicUsize,
    pub finished: AtomicUsize,
    pub last_delivery_ns: AtomicU64,
    pub order_errors: AtomicU64,
    pub server_errors: AtomicU64,
    pub latency: Mutex<Histogram>,
    /// From the start of each connection attempt to its history's end.
    pub login_latency: Mutex<Histogram>,
    /// Event-loop threads that merged their login latencies.
    pub login_reported: AtomicUsize,
    /// A paced run's senders' sockets (shared with their event loop), for
    /// the pacer thread.
    pub pacer_sockets: Mutex<Vec<(usize, socket2::Socket)>>,
}

impl Run {
    pub fn new(work: Workload, addr: SocketAddr) -> Self {
        let counters = if work.idle {
            0
        } else {
            work.clients * work.senders
        };
        Self {
            work,
            addr,
            epoch: Instant::now(),
            phase: AtomicU32::new(phase::LOGIN),
            wakers: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            got: (0..counters).map(|_| AtomicU32::new(0)).collect(),
            progress: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            logged_in: AtomicUsize::new(0),
            login_errors: AtomicUsize::new(0),
            last_login_ns: AtomicU64::new(0),
            fenced: AtomicUsize::new(0),
            lost: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            last_delivery_ns: AtomicU64::new(0),
            order_errors: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            latency: Mutex::new(Histogram::new()),
            login_latency: Mutex::new(Histogram::new()),
            login_reported: AtomicUsize::new(0),
            pacer_sockets: Mutex::new(Vec::new()),
        }
    }

    /// Nanoseconds since the run's epoch.
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    pub fn phase(&self) -> u32 {
        self.phase.load(Ordering::Acquire)
    }

    /// Opens `phase` and wakes every event loop.
    pub fn open(&self, phase: u32) {
        self.phase.store(phase, Ordering::Release);
        self.wake_all();
    }

    /// Ends the run: every event loop returns.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake_all();
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    pub fn add_waker(&self, waker: Arc<mio::Waker>) {
        self.wakers.lock().unwrap().push(waker);
    }

    fn wake_all(&self) {
        for waker in self.wakers.lock().unwrap().iter() {
            let _ = waker.wake();
        }
    }

    /// The progress counters of `sender`'s messages, one per receiver.
    pub fn progress_of(&self, sender: usize) -> &[AtomicU32] {
        let n = self.work.clients;
        &self.got[sender * n..(sender + 1) * n]
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

/// The nickname of client `i`, which its chat frames carry (`1002`).
pub fn nickname(i: usize) -> String {
    format!("b{i}")
}
