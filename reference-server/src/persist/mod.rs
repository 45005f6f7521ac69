//! The journal: history and item metadata on disk (HIST-4, SIDE-3, SHARE-3).
//!
//! The room appends [`Record`]s to an in-memory journal while it holds its
//! lock; the connection code hands them to [`Journal`], whose own thread
//! appends them as JSON lines to `history.jsonl` and `items.jsonl`. Nobody
//! waits for the disk: the thread flushes to the kernel once a millisecond
//! at most (a group commit: at a high message rate one `write`, and one
//! wake-up of the thread, carries many messages), so a killed server loses
//! at most the messages of its last millisecond, and a stopped one loses
//! nothing (its last flush happens in [`Journal::close`]).
//!
//! The history file stays bounded: the journal rewrites it to the last
//! `capacity` messages whenever it holds `COMPACT_SLACK` more than that
//! (rarely, because each rewrite is synced to disk).
//!
//! At full load the journal writes hundreds of thousands of lines a second on
//! a core it shares with the chat, so each line is serialized straight into
//! the file's buffer from the shared entry, without building strings.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use protocol::HistoryEntry;

use crate::room::{History, Record};

mod lines;

pub use lines::{HISTORY_FILE, ITEMS_FILE, load};
use lines::{item_to_line, write_history_line};

/// Lines the history file may hold beyond its capacity before a rewrite:
/// about 5 MB of JSON at most.
#[cfg(not(test))]
const COMPACT_SLACK: usize = 50_000;
/// A small slack, so the unit test sees a rewrite.
#[cfg(test)]
const COMPACT_SLACK: usize = 30;

/// The history file's write buffer: at full load the journal hands the
/// kernel 64 KiB per `write` instead of 8 KiB. It still flushes after every
/// group commit, so a quiet server's lines reach the kernel within
/// [`GROUP_COMMIT`].
const JOURNAL_BUFFER: usize = 64 * 1024;

/// How long the journal gathers records before it writes them out.
const GROUP_COMMIT: Duration = Duration::from_millis(1);

/// The journal's writer thread and the channel that feeds it.
pub struct Journal {
    sender: Sender<Vec<Record>>,
    thread: JoinHandle<io::Result<()>>,
}

impl Journal {
    /// Starts the writer. The history file is first rewritten to hold exactly
    /// the loaded history, which also bounds it after a restart.
    pub fn start(dir: &Path, history: &History) -> io::Result<Self> {
        let tail: VecDeque<Arc<HistoryEntry>> = history.iter().cloned().collect();
        let history_path = dir.join(HISTORY_FILE);
        rewrite(&history_path, &tail)?;
        let writer = Writer {
            history: BufWriter::with_capacity(JOURNAL_BUFFER, append(&history_path)?),
            items: BufWriter::new(append(&dir.join(ITEMS_FILE))?),
            history_path,
            lines: tail.len(),
            tail,
            capacity: history.capacity(),
        };
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run(receiver))?;
        Ok(Self { sender, thread })
    }

    /// Queues records for writing; never blocks on the disk.
    pub fn write(&self, records: Vec<Record>) {
        if !records.is_empty() {
            // The writer only stops after `close`, which consumes the journal.
            let _ = self.sender.send(records);
        }
    }

    /// Writes everything queued, syncs it, and joins the thread.
    pub fn close(self) -> io::Result<()> {
        drop(self.sender);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the journal thread panicked")))
    }
}

struct Writer {
    history: BufWriter<File>,
    items: BufWriter<File>,
    history_path: PathBuf,
    /// The last `capacity` history entries, for compaction.
    tail: VecDeque<Arc<HistoryEntry>>,
    /// Lines in the history file.
    lines: usize,
    capacity: usize,
}

impl Writer {
    fn run(mut self, receiver: Receiver<Vec<Record>>) -> io::Result<()> {
        while let Ok(batch) = receiver.recv() {
            self.write(batch)?;
            // Group commit: what the room journals in the next millisecond
            // joins this flush. Sleeping, rather than waiting on the
            // channel, is what keeps a busy server from waking this thread
            // and writing to the file once per message.
            std::thread::sleep(GROUP_COMMIT);
            while let Ok(batch) = receiver.try_recv() {
                self.write(batch)?;
            }
            // Hand everything to the kernel, where it survives a kill.
            self.history.flush()?;
            self.items.flush()?;
        }
        self.history.flush()?;
        self.items.flush()?;
        self.history.get_ref().sync_data()?;
        self.items.get_ref().sync_data()
    }

    fn write(&mut self, batch: Vec<Record>) -> io::Result<()> {
        for record in batch {
            if let Record::History(entry) = record {
                write_history_line(&mut self.history, &entry)?;
                if self.tail.len() == self.capacity {
                    self.tail.pop_front();
                }
                self.tail.push_back(entry);
                self.lines += 1;
                if self.lines >= self.capacity + COMPACT_SLACK {
                    self.compact()?;
                }
            } else if let Some(line) = item_to_line(&record) {
                writeln!(self.items, "{line}")?;
            }
        }
        Ok(())
    }

    /// Replaces the history file with its last `capacity` lines.
    fn compact(&mut self) -> io::Result<()> {
        self.history.flush()?;
        rewrite(&self.history_path, &self.tail)?;
        self.history = BufWriter::with_capacity(JOURNAL_BUFFER, append(&self.history_path)?);
        self.lines = self.tail.len();
        Ok(())
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Writes `entries` to `path` atomically (a temporary file, then a rename).
fn rewrite(path: &Path, entries: &VecDeque<Arc<HistoryEntry>>) -> io::Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut out = BufWriter::new(File::create(&tmp)?);
    for entry in entries {
        write_history_line(&mut out, entry)?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_data()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use protocol::{Kind, Nickname, Sha256, Text, Username};

    use super::*;

    fn entry(i: u64) -> HistoryEntry {
        HistoryEntry {
            time: 1_795_412_100 + i,
            from: Username::new("a").unwrap(),
            nickname: Nickname::new("A a").unwrap(),
            to: (i % 2 == 1).then(|| Username::new("b").unwrap()),
            text: Text::new(format!("m{i} | \\ \n")).unwrap(),
        }
    }

    #[test]
    fn history_and_items_survive_a_restart_and_stay_bounded() {
        // HIST-3, HIST-4.
        let dir = tempfile::tempdir().unwrap();
        let (history, mut items) = load(dir.path(), 20).unwrap();
        let journal = Journal::start(dir.path(), &history).unwrap();
        let owner = Username::new("a").unwrap();
        let item = items.allocate(Kind::File, owner, 3, Sha256::of(b"abc"));
        let mut batch = vec![Record::Item(item.clone())];
        batch.push(Record::Shared {
            id: item.id.clone(),
            to: None,
        });
        batch.extend((0..95).map(|i| Record::History(entry(i).into())));
        journal.write(batch);
        journal.close().unwrap();
        let lines = std::fs::read_to_string(dir.path().join(HISTORY_FILE)).unwrap();
        assert!(lines.lines().count() < 40);
        let (history, items) = load(dir.path(), 20).unwrap();
        let kept: Vec<_> = history.iter().cloned().collect();
        assert_eq!(kept.len(), 20);
        assert_eq!(*kept[19], entry(94));
        let loaded = items.get(item.id.as_str()).unwrap();
        assert!(loaded.public);
        let mut again = items.clone();
        let next = again.allocate(Kind::Photo, Username::new("b").unwrap(), 1, Sha256::of(b""));
        assert_ne!(next.id, item.id); // SIDE-6: ids stay unique across restarts
    }
}
