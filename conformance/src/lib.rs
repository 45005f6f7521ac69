//! The ChatLab conformance grader: grades any chat server over TCP against
//! SPEC.md and says, in words a student can act on, what to fix.
//!
//! # Layout
//!
//! - [`catalogue`]: one entry per test (slug, level, rules, description,
//!   hints, dependencies), one module per level.
//! - [`runner`]: `run(target, options) -> Results`, parallel and with
//!   per-test deadlines; batch grading reuses it. [`results`]: what it returns.
//! - [`target`]: a running server (`--addr`) or one spawned per test
//!   (`--cmd`), in its own process group, with its output captured.
//! - [`cx`], [`conn`], [`frames`], [`transcript`], [`check`]: what a test uses to talk to
//!   the server, record the conversation and compare frames.
//! - [`report`]: terminal, JSON, JUnit, Gradescope and TAP reports; rubric.
//! - [`spec`]: the rules, read from the embedded SPEC.md.
//! - [`session`]: property-based random sessions checked against a model.
//!
//! The grader reaches a server only over TCP, and frames bytes only through
//! the `protocol` crate.

// A failure carries expected and actual text for the report; it is built once
// per failed test, so its size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod catalogue;
pub mod check;
pub mod conn;
pub mod cx;
pub mod frames;
pub mod owner;
pub mod report;
pub mod results;
pub mod rng;
pub mod runner;
pub mod session;
pub mod spec;
pub mod target;
pub mod transcript;

pub use runner::{Options, Results, RunError, Status, run};
pub use target::Target;
