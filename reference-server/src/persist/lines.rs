//! The two journal files, line by line: `history.jsonl` and `items.jsonl`
//! as JSON lines (HIST-4, SIDE-3, SHARE-3), read back at start-up by
//! [`load`] and written by the journal's thread (see the parent module).
//!
//! A line that does not parse is skipped with a warning rather than refusing
//! to start: a torn last line after `kill -9` costs one message, not the
//! server.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use protocol::{HistoryEntry, ItemId, Kind, Nickname, Sha256, Text, Username};
use serde::{Deserialize, Serialize};

use crate::room::{History, Item, Items, Record};

/// History file name in the data directory.
pub const HISTORY_FILE: &str = "history.jsonl";

/// Item metadata file name in the data directory.
pub const ITEMS_FILE: &str = "items.jsonl";

/// One line of `history.jsonl`, as read.
#[derive(Debug, Deserialize)]
struct HistoryLine {
    time: u64,
    from: String,
    nickname: String,
    to: Option<String>,
    text: String,
}

/// One line of `history.jsonl`, as written: the same fields, borrowed.
#[derive(Debug, Serialize)]
struct HistoryLineRef<'a> {
    time: u64,
    from: &'a str,
    nickname: &'a str,
    to: Option<&'a str>,
    text: &'a str,
}

/// One line of `items.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "lowercase")]
enum ItemLine {
    Item {
        id: String,
        kind: String,
        owner: String,
        size: u64,
        sha256: String,
    },
    Shared {
        id: String,
        to: Option<String>,
    },
}

/// Loads the history (the last `capacity` messages) and every item.
/// Lines that do not parse are skipped with a warning: losing one message is
/// better than refusing to start.
pub fn load(dir: &Path, capacity: usize) -> io::Result<(History, Items)> {
    let mut history = History::new(capacity);
    for entry in read_lines(&dir.join(HISTORY_FILE), history_from_line)? {
        history.push(entry);
    }
    let mut items = Items::new();
    for record in read_lines(&dir.join(ITEMS_FILE), item_from_line)? {
        items.apply(record);
    }
    Ok((history, items))
}

fn read_lines<T>(path: &Path, parse: fn(&str) -> Option<T>) -> io::Result<Vec<T>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        match parse(&line) {
            Some(value) => out.push(value),
            None if line.trim().is_empty() => {}
            None => log::warn!(
                "{}:{}: skipping a line that does not parse",
                path.display(),
                i + 1
            ),
        }
    }
    Ok(out)
}

fn history_from_line(line: &str) -> Option<HistoryEntry> {
    let l: HistoryLine = serde_json::from_str(line).ok()?;
    Some(HistoryEntry {
        time: l.time,
        from: Username::new(l.from).ok()?,
        nickname: Nickname::new(l.nickname).ok()?,
        to: match l.to {
            Some(to) => Some(Username::new(to).ok()?),
            None => None,
        },
        text: Text::new(l.text).ok()?,
    })
}

/// Appends `e` as one JSON line to `out`.
pub(super) fn write_history_line(out: &mut impl Write, e: &HistoryEntry) -> io::Result<()> {
    let line = HistoryLineRef {
        time: e.time,
        from: e.from.as_str(),
        nickname: e.nickname.as_str(),
        to: e.to.as_ref().map(|u| u.as_str()),
        text: e.text.as_str(),
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

fn item_from_line(line: &str) -> Option<Record> {
    Some(match serde_json::from_str(line).ok()? {
        ItemLine::Item {
            id,
            kind,
            owner,
            size,
            sha256,
        } => Record::Item(Item {
            id: ItemId::new(id).ok()?,
            kind: match kind.as_str() {
                "photo" => Kind::Photo,
                "file" => Kind::File,
                _ => return None,
            },
            owner: Username::new(owner).ok()?,
            size,
            sha256: Sha256::new(sha256).ok()?,
            public: false,
            shared_with: Default::default(),
        }),
        ItemLine::Shared { id, to } => Record::Shared {
            id: ItemId::new(id).ok()?,
            to: match to {
                Some(to) => Some(Username::new(to).ok()?),
                None => None,
            },
        },
    })
}

pub(super) fn item_to_line(record: &Record) -> Option<String> {
    let line = match record {
        Record::History(_) => return None,
        Record::Item(item) => ItemLine::Item {
            id: item.id.to_string(),
            kind: match item.kind {
                Kind::Photo => "photo".into(),
                Kind::File => "file".into(),
            },
            owner: item.owner.to_string(),
            size: item.size,
            sha256: item.sha256.to_string(),
        },
        Record::Shared { id, to } => ItemLine::Shared {
            id: id.to_string(),
            to: to.as_ref().map(|u| u.to_string()),
        },
    };
    Some(serde_json::to_string(&line).expect("strings and numbers serialize"))
}
