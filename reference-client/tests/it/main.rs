//! Integration tests for the reference client: one test binary for the crate,
//! so it builds and links FLTK once.
//!
//! The GUI tests start their own Xvfb (see `xvfb`) and drive the real binary,
//! so they check what a person would see, not what the code thinks it drew.

mod screenshot;
mod xvfb;
