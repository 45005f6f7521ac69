//! Uploaded photos and files as the room knows them: who owns each one, whom
//! it was shared with, and so who may fetch it (SIDE-6, SIDE-7, SHARE-3).
//!
//! The bytes themselves live in [`crate::store`]; this is only the metadata,
//! so that the rules about who sees what stay in the pure state machine.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use protocol::{HistoryEntry, ItemId, Kind, Sha256, Username};

/// One uploaded photo or file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The id the server chose (SIDE-6).
    pub id: ItemId,
    /// Which port it came through.
    pub kind: Kind,
    /// Who uploaded it.
    pub owner: Username,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes.
    pub sha256: Sha256,
    /// Shared with the room: every user may fetch it (SHARE-3).
    pub public: bool,
    /// Users it was shared with privately (SHARE-3).
    pub shared_with: BTreeSet<Username>,
}

/// A change the room made that must be written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A message for the history (HIST-4), shared with the room's ring.
    History(Arc<HistoryEntry>),
    /// A new upload.
    Item(Item),
    /// An item was shared with the room (`None`) or with one user.
    Shared {
        /// The item.
        id: ItemId,
        /// The recipient, or `None` for the room.
        to: Option<Username>,
    },
}

/// Every item, by id.
#[derive(Debug, Clone, Default)]
pub struct Items {
    items: HashMap<String, Item>,
    /// The number in the next id; one counter for both ports, so ids are
    /// unique across them (SIDE-6).
    next: u64,
}

impl Items {
    /// No items yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replays a record loaded from disk.
    pub fn apply(&mut self, record: Record) {
        match record {
            Record::History(_) => {}
            Record::Item(item) => {
                let number = item.id.as_str()[1..].parse::<u64>().unwrap_or(0);
                self.next = self.next.max(number + 1);
                self.items.insert(item.id.as_str().to_owned(), item);
            }
            Record::Shared { id, to } => self.share(id.as_str(), to),
        }
    }

    /// Creates an item under a new id: `p` or `f` and a counter, derived from
    /// nothing the client sent (SIDE-6).
    pub fn allocate(&mut self, kind: Kind, owner: Username, size: u64, sha256: Sha256) -> Item {
        self.next = self.next.max(1);
        let prefix = match kind {
            Kind::Photo => 'p',
            Kind::File => 'f',
        };
        let id = ItemId::new(format!("{prefix}{}", self.next))
            .expect("a letter and digits is an item-id");
        self.next += 1;
        let item = Item {
            id,
            kind,
            owner,
            size,
            sha256,
            public: false,
            shared_with: BTreeSet::new(),
        };
        self.items.insert(item.id.as_str().to_owned(), item.clone());
        item
    }

    /// The item with this id, whoever may see it.
    pub fn get(&self, id: &str) -> Option<&Item> {
        self.items.get(id)
    }

    /// Records that an item was shared (SHARE-3).
    pub fn share(&mut self, id: &str, to: Option<Username>) {
        if let Some(item) = self.items.get_mut(id) {
            match to {
                None => item.public = true,
                Some(user) => {
                    item.shared_with.insert(user);
                }
            }
        }
    }

    /// The item if `user` may fetch it (SHARE-3): its uploader, anyone once
    /// it was shared with the room, or a user it was shared with. Any other id,
    /// including one that is not an `item-id` at all, gives `None` (SIDE-7).
    pub fn fetchable(&self, user: &Username, id: &str) -> Option<&Item> {
        let item = self.items.get(id)?;
        let allowed = item.owner == *user || item.public || item.shared_with.contains(user);
        allowed.then_some(item)
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
