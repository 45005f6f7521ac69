//! The per-test transcript: which client sent what, in which writes, and what
//! it received, with timings.
//!
//! A failure report prints the whole transcript, so a student can replay the
//! conversation by hand with `nc` and see exactly where their server went
//! wrong. Connections of one test share one transcript, so the order across
//! connections is visible too.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

/// What happened on one connection at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// The grader sent bytes (in `writes` separate write calls).
    Sent,
    /// The grader received one line (LF removed).
    Received,
    /// Something else: connected, closed, a timeout, bytes without an LF.
    Note,
}

/// One line of the transcript.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Milliseconds since the test started.
    pub at_ms: u64,
    /// The connection, such as `C1`, `P1` (photo port) or `F1` (file port).
    pub conn: String,
    /// Direction.
    pub dir: Dir,
    /// The bytes, shown lossily as text with escapes for control bytes.
    pub text: String,
    /// For `Sent`: the sizes of the write calls the bytes went out in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<usize>,
}

/// A shared, append-only transcript for one test run.
#[derive(Debug, Clone)]
pub struct Transcript {
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Default for Transcript {
    fn default() -> Self {
        Self::new()
    }
}

impl Transcript {
    /// An empty transcript whose clock starts now.
    pub fn new() -> Self {
        Transcript {
            start: Instant::now(),
            events: Arc::default(),
        }
    }

    /// When the test started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Appends one event.
    pub fn push(&self, conn: &str, dir: Dir, bytes: &[u8], writes: Vec<usize>) {
        let event = Event {
            at_ms: self.start.elapsed().as_millis() as u64,
            conn: conn.to_owned(),
            dir,
            text: show(bytes),
            writes,
        };
        self.events.lock().expect("transcript lock").push(event);
    }

    /// Appends a note such as "connected" or "closed by the server".
    pub fn note(&self, conn: &str, what: &str) {
        self.push(conn, Dir::Note, what.as_bytes(), Vec::new());
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("transcript lock").clone()
    }
}

/// Shows bytes as text: valid UTF-8 stays as it is (Chinese included), control
/// bytes become `\r`, `\0` or `\xNN`, and invalid UTF-8 bytes become `\xNN`.
pub fn show(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\0' => out.push_str("\\0"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// [`show`], cut to 80 characters for one-line reasons.
pub fn short(bytes: &[u8]) -> String {
    let shown = show(bytes);
    if shown.chars().count() <= 80 {
        shown
    } else {
        let cut: String = shown.chars().take(60).collect();
        format!("{cut}… ({} bytes)", bytes.len())
    }
}

/// Renders events as the lines of a report.
pub fn render(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let arrow = match e.dir {
                Dir::Sent => "→",
                Dir::Received => "←",
                Dir::Note => "·",
            };
            let writes = match e.writes.len() {
                0 | 1 => String::new(),
                n if n <= 8 => format!(
                    "   ({n} writes: {})",
                    e.writes
                        .iter()
                        .map(|w| w.to_string())
                        .collect::<Vec<_>>()
                        .join("+")
                ),
                n => format!("   ({n} writes)"),
            };
            format!(
                "{:>6} ms  {:<3} {arrow} {}{writes}",
                e.at_ms, e.conn, e.text
            )
        })
        .collect()
}
