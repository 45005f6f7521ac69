//@ since 4
//! The most recent chat messages, kept in memory and in a file (HIST).
//!
//! The file `history.txt` in the data folder is a list of `1011` frames, one a
//! line, exactly as they are sent:
//!
//! ```text
//! 1011|1795412100|Julia|Julia||今晚开会吗？
//! 1011|1795412107|Meggie|Meggie|Julia|开，八点见
//! ```
//!
//! Reusing the wire format means reusing its escaping, so a message with a
//! `|` or a newline inside cannot break a line of the file (ESC-1), and
//! `protocol` already knows how to write and read it back.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use protocol::limits::MAX_HISTORY;
use protocol::{HistoryEntry, Nickname, Response, Text, Username, parse_response};

/// The history: at most `MAX_HISTORY` messages, oldest first (HIST-3).
pub struct History {
    entries: VecDeque<HistoryEntry>,
    /// The time of the newest message, so that times never go back (HIST-5).
    last_time: u64,
    /// `history.txt`, open for appending.
    file: File,
}

impl History {
    /// Loads `history.txt` from `dir`, or starts an empty one (HIST-4).
    pub fn open(dir: &Path) -> std::io::Result<History> {
        let path = dir.join("history.txt");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let mut history = History {
            entries: VecDeque::with_capacity(MAX_HISTORY),
            last_time: 0,
            file,
        };
        for line in BufReader::new(File::open(&path)?).split(b'\n') {
            // A line that does not parse was cut short when the server was
            // killed while writing it: skip it, keep the rest.
            if let Ok(Response::History(entry)) = parse_response(&line?) {
                history.last_time = history.last_time.max(entry.time);
                history.keep(entry);
            }
        }
        Ok(history)
    }

    /// Adds one message, stamped with the server's clock (HIST-5), to memory
    /// and to the file.
    pub fn record(&mut self, from: &Username, nickname: &Nickname, to: Option<&Username>, text: &Text) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // HIST-5: the clock may be set back, but the history's times may not.
        self.last_time = self.last_time.max(now);
        let entry = HistoryEntry {
            time: self.last_time,
            from: from.clone(),
            nickname: nickname.clone(),
            to: to.cloned(),
            text: text.clone(),
        };
        // One write of one whole line, straight to the operating system: a
        // server killed after this loses nothing (HIST-4). A failed write
        // loses this message from the file, not from the chat.
        let line = Response::History(entry.clone()).to_bytes();
        if let Err(error) = self.file.write_all(&line) {
            eprintln!("history.txt: could not save a message: {error}");
        }
        self.keep(entry);
    }

    /// The `1011` frames this user may see, oldest first, then `1012|count`
    /// (HIST-1): every group message, and the private messages they sent or
    /// received, and no others (HIST-2).
    pub fn replay(&self, user: &Username) -> Vec<Response> {
        let mut frames: Vec<Response> = self
            .entries
            .iter()
            .filter(|e| match &e.to {
                None => true,
                Some(to) => to == user || &e.from == user,
            })
            .map(|e| Response::History(e.clone()))
            .collect();
        let count = frames.len() as u64;
        frames.push(Response::HistoryEnd { count });
        frames
    }

    /// Keeps `entry`, forgetting the oldest message when there are too many.
    fn keep(&mut self, entry: HistoryEntry) {
        if self.entries.len() == MAX_HISTORY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }
}
