//! Integration tests for the reference client: one test binary for the crate,
//! so it builds and links once.
//!
//! `terminal` runs terminal-mode clients against the real reference server,
//! in-process on free ports. The GUI tests (feature `gui`) start their own
//! Xvfb (see `xvfb`) and drive the real binary, so they check what a person
//! would see, not what the code thinks it drew.

mod peer;
mod server;
mod terminal;
mod tidy;

#[cfg(feature = "gui")]
mod gui;
#[cfg(feature = "gui")]
mod picture;
#[cfg(feature = "gui")]
mod xvfb;
