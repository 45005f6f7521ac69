//! The ChatLab wire protocol (SPEC.md), as a library with no I/O.
//!
//! This crate is the only place that knows how bytes become frames and frames
//! become bytes. It has no sockets, threads, clock or logging (a test checks
//! its sources), so the server, the client and the conformance grader can all
//! use it, and it can be tested with nothing but byte strings.
//!
//! # Layout
//!
//! - [`framing`]: bytes to lines, with the `MAX_FRAME` limit (FRAME-1 to FRAME-7).
//! - [`escape`]: field escaping (ESC-1 to ESC-3).
//! - [`names`]: validated newtypes for usernames, nicknames, tokens, ids... (section 4).
//! - [`message`]: [`Request`] and [`Response`], one variant per frame (section 5).
//! - [`parse`] and [`encode`]: lines to frames and frames to bytes.
//! - [`side`]: the photo and file side ports (section 10).
//! - [`emoji`]: the seven shortcodes (section 12).
//! - [`error`] and [`limits`]: codes, errors and constants.
//!
//! # Example
//!
//! ```
//! use protocol::{FrameBuffer, Request, parse_request, limits::MAX_FRAME};
//!
//! let mut frames = FrameBuffer::new(MAX_FRAME);
//! frames.push("0001|小明|xiaoming123\n0002|小".as_bytes());
//! frames.push("明|a\\pb\r\n".as_bytes());
//! let mut got = Vec::new();
//! while let Some(line) = frames.next_line() {
//!     got.push(parse_request(line.unwrap()).unwrap());
//! }
//! assert!(matches!(&got[1], Request::Chat { text, .. } if text.as_str() == "a|b"));
//! ```

pub mod emoji;
pub mod encode;
pub mod error;
pub mod escape;
pub mod framing;
pub mod limits;
pub mod message;
pub mod names;
pub mod parse;
pub mod side;

pub use error::{ErrorCode, FrameError, Reason, SideCode};
pub use framing::FrameBuffer;
pub use message::{
    AuthResult, Event, FailReason, HistoryEntry, Kind, OnlineUser, Request, Response, SharedItem,
};
pub use names::{
    ItemId, ItemName, NameError, Nickname, Password, Sha256, Text, Ticket, Token, Username,
};
pub use parse::{parse_request, parse_response};
pub use side::{SideCommand, SideError, SideReply, parse_side_command, parse_side_reply};
