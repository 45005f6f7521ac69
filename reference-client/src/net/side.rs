//! Photo and file transfers on the side ports (SPEC.md section 10), each on
//! its own short-lived thread so a big file never holds up the chat.
//!
//! A transfer opens a side connection, presents the ticket (`auth`, SIDE-2),
//! then either uploads with `put SIZE SHA256` and the raw body (SIDE-3) or
//! fetches with `get ID` (SIDE-7), and says `quit` (SIDE-8). The size comes
//! first, so neither side looks for an end marker inside binary data: the seed
//! client's `EOF` marker and its three-second sleep are exactly what this
//! replaces (SPEC.md section 14).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::Duration;

use protocol::limits::{MAX_FILE, MAX_ITEM_NAME_CHARS, MAX_PHOTO, MAX_SIDE_LINE};
use protocol::{
    FrameBuffer, ItemId, ItemName, Kind, Sha256, SharedItem, SideCommand, SideReply, Ticket,
    Username,
};

use super::{Config, Event, Input};

/// How long a side connection may stay silent before the transfer gives up,
/// so that a stuck server cannot keep a transfer thread (and shutdown) waiting.
const SIDE_TIMEOUT: Duration = Duration::from_secs(30);

/// One upload or download waiting for, or holding, a ticket.
#[derive(Debug)]
pub(super) enum Transfer {
    /// Upload `path` on the port for `kind` and share it with `to`.
    Upload {
        kind: Kind,
        path: PathBuf,
        to: Option<Username>,
    },
    /// Fetch `item` into `dest`.
    Download { item: SharedItem, dest: PathBuf },
}

impl Transfer {
    /// The event that reports this transfer failed with `error`.
    pub(super) fn failed(&self, error: impl Into<String>) -> Event {
        let what = match self {
            Transfer::Upload { path, .. } => path.display().to_string(),
            Transfer::Download { item, .. } => item.name.to_string(),
        };
        Event::TransferFailed {
            what,
            error: error.into(),
        }
    }
}

/// Starts `transfer` on its own thread; it reports to the session thread.
pub(super) fn spawn(
    transfer: Transfer,
    ticket: Ticket,
    config: &Config,
    tx: Sender<Input>,
) -> JoinHandle<()> {
    let (photo, file, cache) = (config.photo, config.file, config.cache_dir.clone());
    std::thread::Builder::new()
        .name("side-transfer".into())
        .spawn(move || {
            let input = match &transfer {
                Transfer::Upload { kind, path, to } => {
                    let addr = if *kind == Kind::Photo { photo } else { file };
                    match upload(addr, &ticket, *kind, path, &cache) {
                        Ok((id, name, path, size)) => Input::Uploaded {
                            kind: *kind,
                            to: to.clone(),
                            id,
                            name,
                            path,
                            size,
                        },
                        Err(e) => Input::TransferDone(transfer.failed(e)),
                    }
                }
                Transfer::Download { item, dest } => {
                    let addr = if item.kind == Kind::Photo {
                        photo
                    } else {
                        file
                    };
                    match download(addr, &ticket, item, dest) {
                        Ok(()) => Input::TransferDone(Event::Downloaded {
                            item: item.clone(),
                            path: dest.clone(),
                        }),
                        Err(e) => Input::TransferDone(transfer.failed(e)),
                    }
                }
            };
            let _ = tx.send(input);
        })
        .expect("cannot start a transfer thread")
}

/// Uploads `path`, copies it into the cache, and returns the server's id, the
/// shared name, the cached copy and the size.
fn upload(
    addr: SocketAddr,
    ticket: &Ticket,
    kind: Kind,
    path: &Path,
    cache: &Path,
) -> Result<(ItemId, ItemName, PathBuf, u64), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let limit = if kind == Kind::Photo {
        MAX_PHOTO
    } else {
        MAX_FILE
    };
    // SIDE-4 would refuse it anyway; saying so here is friendlier and saves
    // sending megabytes for nothing.
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{} bytes is over the {limit}-byte limit",
            bytes.len()
        ));
    }
    if kind == Kind::Photo && !protocol::side::is_image(&bytes) {
        return Err("not a PNG, JPEG or GIF image (SIDE-5)".into());
    }
    let name = display_name(path);
    let mut side = SideConn::open(addr, ticket)?;
    let sha256 = Sha256::of(&bytes);
    // SIDE-3: the size tells the server where the body ends, so the command
    // line and the body go out together, with no wait and no end marker.
    let mut out = SideCommand::Put {
        size: bytes.len() as u64,
        sha256,
    }
    .to_bytes();
    out.extend_from_slice(&bytes);
    side.write(&out)?;
    let id = match side.reply()? {
        SideReply::Stored(id) => id,
        other => return Err(unexpected("put", &other)),
    };
    side.quit();
    let copy = crate::cache::item_path(cache, id.as_str(), name.as_str());
    save(&copy, &bytes)?;
    Ok((id, name, copy, bytes.len() as u64))
}

/// Fetches `item` into `dest`, checking its size and SHA-256 against both the
/// `ok SIZE SHA256` reply and the `1009` announcement.
fn download(
    addr: SocketAddr,
    ticket: &Ticket,
    item: &SharedItem,
    dest: &Path,
) -> Result<(), String> {
    let mut side = SideConn::open(addr, ticket)?;
    side.write(&SideCommand::Get(item.id.to_string()).to_bytes())?;
    let (size, sha256) = match side.reply()? {
        SideReply::Body { size, sha256 } => (size, sha256),
        other => return Err(unexpected("get", &other)),
    };
    if size > MAX_FILE {
        return Err(format!(
            "the server offers {size} bytes, more than any item may have"
        ));
    }
    let body = side.body(size as usize)?;
    side.quit();
    let actual = Sha256::of(&body);
    if actual != sha256 || actual != item.sha256 {
        return Err(format!(
            "the bytes received have SHA-256 {actual}, not {}",
            item.sha256
        ));
    }
    save(dest, &body)
}

/// The name an item is shared under: the file's name, cut to the 255
/// characters `0009` allows.
fn display_name(path: &Path) -> ItemName {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = name.chars().take(MAX_ITEM_NAME_CHARS).collect();
    ItemName::new(name).unwrap_or_else(|_| ItemName::new("unnamed").expect("a valid name"))
}

/// Writes `bytes` to `path` through a temporary file, so a half-written
/// file never appears under the final name.
fn save(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot save {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let partial = path.with_extension("part");
    std::fs::write(&partial, bytes).map_err(fail)?;
    std::fs::rename(&partial, path).map_err(fail)
}

fn unexpected(command: &str, reply: &SideReply) -> String {
    match reply {
        SideReply::Err { code, reason } => format!("{command} refused: {code} {reason}"),
        other => format!("unexpected reply to {command}: {other:?}"),
    }
}

/// One side-port connection: command lines out, reply lines and bodies in.
struct SideConn {
    stream: TcpStream,
    /// Reply lines are framed like chat frames, with `MAX_SIDE_LINE`.
    lines: FrameBuffer,
}

impl SideConn {
    /// Connects to `addr` and presents `ticket` (SIDE-2).
    fn open(addr: SocketAddr, ticket: &Ticket) -> Result<Self, String> {
        let stream = TcpStream::connect_timeout(&addr, SIDE_TIMEOUT)
            .map_err(|e| format!("cannot connect to the side port {addr}: {e}"))?;
        let _ = stream.set_read_timeout(Some(SIDE_TIMEOUT));
        let _ = stream.set_write_timeout(Some(SIDE_TIMEOUT));
        let mut side = SideConn {
            stream,
            lines: FrameBuffer::new(MAX_SIDE_LINE),
        };
        side.write(&SideCommand::Auth(ticket.to_string()).to_bytes())?;
        match side.reply()? {
            SideReply::Ok => Ok(side),
            other => Err(unexpected("auth", &other)),
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .map_err(|e| format!("cannot write to the side port: {e}"))
    }

    /// Reads one reply line.
    fn reply(&mut self) -> Result<SideReply, String> {
        loop {
            if let Some(line) = self.lines.next_line() {
                let line = line.map_err(|e| e.to_string())?;
                return protocol::parse_side_reply(line).map_err(|e| e.to_string());
            }
            self.fill(MAX_SIDE_LINE)?;
        }
    }

    /// Reads exactly `size` body bytes: first what came with the reply line,
    /// then from the socket, never more than the body (SIDE-7).
    fn body(&mut self, size: usize) -> Result<Vec<u8>, String> {
        let mut body = self.lines.take_raw(size);
        body.reserve(size - body.len());
        let mut buf = vec![0u8; 64 * 1024];
        while body.len() < size {
            let want = (size - body.len()).min(buf.len());
            match self.stream.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(format!(
                        "the body ended after {} of {size} bytes",
                        body.len()
                    ));
                }
                Ok(n) => body.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("cannot read the body: {e}")),
            }
        }
        Ok(body)
    }

    /// Reads what is available (at most `max` bytes) into the line buffer.
    fn fill(&mut self, max: usize) -> Result<(), String> {
        let mut buf = vec![0u8; max];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return Err("the side port closed the connection".into()),
                Ok(n) => {
                    self.lines.push(&buf[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("cannot read from the side port: {e}")),
            }
        }
    }

    /// Says `quit` (SIDE-8); the transfer is already complete, so a server
    /// that does not answer costs nothing.
    fn quit(mut self) {
        let _ = self.write(&SideCommand::Quit.to_bytes());
        let _ = self.reply();
    }
}
