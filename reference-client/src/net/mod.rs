//! The network side of the client: one thread per client that owns the chat
//! connection, and short-lived threads for photo and file transfers.
//!
//! Nothing here touches a widget or the model. The user interface hands
//! [`Command`]s to a [`Client`]; the network side reports [`Event`]s through a
//! callback the interface chooses (the terminal mode sends them down a
//! channel, the GUI wraps them in its `Message` and wakes the FLTK loop).
//!
//! Every byte goes through the `protocol` crate: frames are cut by
//! `FrameBuffer`, read by `parse_response` and written by `Request::to_bytes`;
//! side-port lines likewise by `SideCommand::to_bytes` and `parse_side_reply`.
//!
//! # Threads
//!
//! - The **session thread** ([`session`]) connects, logs in, writes every
//!   frame, handles tickets and reconnects with backoff. It is the only writer
//!   of the chat socket, so frames from the GUI and from finished uploads are
//!   never interleaved mid-frame.
//! - A **reader thread** per connection reads frames and passes them to the
//!   session thread, which joins it when that connection ends.
//! - A **transfer thread** per upload or download ([`side`]), joined by the
//!   session thread when it finishes or at shutdown.

mod reader;
mod register;
mod session;
mod side;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;

use protocol::{FailReason, Kind, Request, Response, SharedItem, Username};

pub use register::{RegisterError, register};

/// Where to connect and who to be.
#[derive(Debug, Clone)]
pub struct Config {
    /// The chat port's address.
    pub chat: SocketAddr,
    /// The photo port's address (SPEC.md section 1: chat port + 1 by default).
    pub photo: SocketAddr,
    /// The file port's address (chat port + 2 by default).
    pub file: SocketAddr,
    /// The username to log in with.
    pub username: String,
    /// The password to log in with.
    pub password: String,
    /// Whether to reconnect and log in again when the connection is lost
    /// after a successful login (OUT-2 allows it).
    pub reconnect: bool,
    /// Where uploaded files are copied, so they can be shown and browsed.
    pub cache_dir: PathBuf,
}

impl Config {
    /// A configuration with the side ports at their default offsets from
    /// `chat` (PHOTO_PORT = CHAT_PORT + 1, FILE_PORT = CHAT_PORT + 2).
    pub fn new(chat: SocketAddr, username: &str, password: &str, cache_dir: PathBuf) -> Self {
        let offset = |n: u16| SocketAddr::new(chat.ip(), chat.port().wrapping_add(n));
        Config {
            chat,
            photo: offset(protocol::limits::PHOTO_PORT_OFFSET),
            file: offset(protocol::limits::FILE_PORT_OFFSET),
            username: username.to_owned(),
            password: password.to_owned(),
            reconnect: true,
            cache_dir,
        }
    }
}

/// The state of the chat connection, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Connecting and logging in.
    Connecting,
    /// Logged in.
    Online,
    /// The connection was lost; the next attempt starts in this many seconds.
    Reconnecting {
        /// Seconds until the next attempt.
        secs: u64,
        /// Why the connection ended.
        reason: String,
    },
    /// Not connected, and not trying any more.
    Offline,
}

/// Why a login did not succeed: the first one, or one after a reconnect
/// that the server refused for good (other failures after a reconnect are
/// retried, and reported through [`Status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFailure {
    /// No TCP connection: wrong address, or no server running.
    Unreachable(String),
    /// The server answered `1001|0|reason|username` (LOGIN-3, LOGIN-5).
    Rejected(FailReason),
    /// The server closed the connection or did not answer in time.
    NoAnswer(String),
}

/// What the network side reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The connection changed state.
    Status(Status),
    /// A login failed for good; the session thread is ending.
    LoginFailed(LoginFailure),
    /// A frame from the server (all but `1008` tickets, which the session
    /// thread uses itself).
    Frame(Response),
    /// A line from the server that is not a valid frame.
    BadFrame(String),
    /// One of our uploads was stored and shared (SIDE-3, SHARE-1).
    Uploaded {
        /// Photo or file.
        kind: Kind,
        /// The recipient, or `None` for the room.
        to: Option<Username>,
        /// The id the server chose.
        id: String,
        /// The display name we shared it under.
        name: String,
        /// The local copy in the cache directory.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
    },
    /// A shared item was fetched, checked against its SHA-256 and saved.
    Downloaded {
        /// The item as announced by `1009`.
        item: SharedItem,
        /// Where it was saved.
        path: PathBuf,
    },
    /// An upload or download failed.
    TransferFailed {
        /// What was being transferred (a file name or an item id).
        what: String,
        /// Why it failed.
        error: String,
    },
}

/// What the user interface asks the network side to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// Send a chat-port frame.
    Send(Request),
    /// Upload a photo or file and share it with `to` (or the room).
    Upload {
        /// Which side port to use.
        kind: Kind,
        /// The local file.
        path: PathBuf,
        /// The recipient, or `None` for the room.
        to: Option<Username>,
    },
    /// Fetch a shared item into `dest`.
    Download {
        /// The item as announced by `1009`.
        item: SharedItem,
        /// Where to save it.
        dest: PathBuf,
    },
    /// Log out (`0005`, OUT-1) and stop.
    Logout,
}

/// What the session thread's channel carries: commands from the user
/// interface and reports from the threads it owns. Reports from a reader are
/// tagged with its connection's number, so a late report from a connection
/// that has already been replaced is recognised and dropped.
#[derive(Debug)]
enum Input {
    Command(Command),
    Frame(u64, Response),
    BadFrame(u64, String),
    Closed(u64, String),
    Uploaded {
        kind: Kind,
        to: Option<Username>,
        id: protocol::ItemId,
        name: protocol::ItemName,
        path: PathBuf,
        size: u64,
    },
    TransferDone(Event),
}

/// The callback through which the network side reports events.
pub type Sink = Box<dyn Fn(Event) + Send + 'static>;

/// A running client: the handle to its session thread.
pub struct Client {
    tx: Sender<Input>,
    thread: Option<JoinHandle<()>>,
}

impl Client {
    /// Starts the session thread, which connects and logs in at once and
    /// reports through `sink` from then on.
    pub fn start(config: Config, sink: impl Fn(Event) + Send + 'static) -> Client {
        let (tx, rx) = mpsc::channel();
        let session = session::Session::new(config, Box::new(sink), tx.clone(), rx);
        let thread = std::thread::Builder::new()
            .name("chat-session".into())
            .spawn(move || session.run())
            .expect("cannot start the session thread");
        Client {
            tx,
            thread: Some(thread),
        }
    }

    /// Hands `command` to the session thread; does nothing once it has ended.
    pub fn command(&self, command: Command) {
        let _ = self.tx.send(Input::Command(command));
    }

    /// Sends one chat-port frame.
    pub fn send(&self, request: Request) {
        self.command(Command::Send(request));
    }

    /// Logs out and waits for the session thread and its transfers to end.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.command(Command::Logout);
            let _ = thread.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop();
    }
}
