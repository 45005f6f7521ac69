//! The ChatLab reference client, as a library: the binary in `main.rs` is a
//! thin layer of argument parsing over it.
//!
//! Students read this crate as the model of a well-built chat client, so its
//! structure is the lesson:
//!
//! # Layout
//!
//! - [`model`]: the chat as plain data (messages, online users, who you are
//!   talking to, shared items). It has no sockets and no fltk types: events go
//!   in, effects come out, and unit tests drive it with fixed times.
//! - [`net`]: the network thread per client, with reconnect, and the side-port
//!   transfer threads. It never touches a widget.
//! - [`terminal`]: the line-oriented mode, for scripts and machines without a
//!   display.
//! - `gui` (feature `gui`, on by default): the fltk desktop client, the only
//!   module that names fltk types. Its one `Message` enum carries both user
//!   actions and network events into the FLTK event loop.
//! - [`clock`] and [`cache`]: time display and the local copies of photos and
//!   files.
//!
//! Every byte on the wire is made and read by the `protocol` crate.

pub mod cache;
pub mod clock;
#[cfg(feature = "gui")]
pub mod gui;
pub mod model;
pub mod net;
pub mod terminal;
