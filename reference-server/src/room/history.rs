//! The chat history (SPEC.md section 9, HIST-1 to HIST-5): a bounded ring of
//! the most recent group and private messages, with the time each arrived.
//!
//! Entries are shared (`Arc`): the same entry sits in this ring and goes to
//! the journal's thread, so remembering a message copies no text.

use std::collections::VecDeque;
use std::sync::Arc;

use protocol::limits::{MAX_HISTORY, MIN_HISTORY};
use protocol::{HistoryEntry, Username};

/// The most recent messages, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    entries: VecDeque<Arc<HistoryEntry>>,
    capacity: usize,
}

impl History {
    /// An empty history that keeps the `capacity` most recent messages; at
    /// least `MIN_HISTORY` are always kept (HIST-3).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(MIN_HISTORY);
        Self {
            entries: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
        }
    }

    /// How many messages this history keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of messages kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no message is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a message and returns it as stored. Its time never goes below
    /// the previous message's, even if the clock steps back (HIST-5).
    pub fn push(&mut self, mut entry: HistoryEntry) -> Arc<HistoryEntry> {
        if let Some(last) = self.entries.back() {
            entry.time = entry.time.max(last.time);
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        let entry = Arc::new(entry);
        self.entries.push_back(entry.clone());
        entry
    }

    /// The messages `user` may see, oldest first: every group message and the
    /// private ones they sent or received (HIST-2), at most the `MAX_HISTORY`
    /// most recent (HIST-3).
    pub fn visible_to<'a>(&'a self, user: &'a Username) -> impl Iterator<Item = &'a HistoryEntry> {
        let visible = move |e: &&HistoryEntry| match &e.to {
            None => true,
            Some(to) => to == user || &e.from == user,
        };
        let total = self.entries.iter().map(|e| &**e).filter(visible).count();
        self.entries
            .iter()
            .map(|e| &**e)
            .filter(visible)
            .skip(total.saturating_sub(MAX_HISTORY))
    }

    /// Every message, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<HistoryEntry>> {
        self.entries.iter()
    }
}
