//! The ChatLab reference server: every level of SPEC.md, as a library that
//! the `reference-server` binary, the conformance grader and the tests embed.
//!
//! # Layout
//!
//! - [`room`]: the chat logic as a pure state machine. No sockets, no clock:
//!   it takes parsed frames and the time, and queues encoded frames.
//! - [`accounts`]: accounts on disk, Argon2 password hashes (REG-4, REG-5).
//! - [`persist`] and [`store`]: history, item metadata and uploaded bytes in
//!   the data directory (HIST-4, SIDE-3).
//! - [`net`]: the thin socket layer. One reader thread per connection feeds the
//!   room; one writer thread per connection drains its bounded queue, many
//!   frames per `write` (LOAD-2, LOAD-3).
//! - [`side`]: the photo and file ports (SPEC.md section 10).
//! - [`config`]: every setting, and the command line that fills them.
//!
//! # Example
//!
//! ```no_run
//! let mut config = reference_server::Config::default();
//! config.port = 0; // any free ports, for a test
//! let server = reference_server::Server::bind(config)?;
//! println!("chat port {}", server.chat_addr());
//! let handle = server.spawn();
//! handle.shutdown();
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod accounts;
pub mod config;
pub mod net;
pub mod persist;
pub mod room;
pub mod side;
pub mod store;

pub use config::{Args, Config};
pub use net::{Server, ServerHandle};

/// 16 unpredictable bytes from the operating system, for tickets (SIDE-2) and
/// password salts (REG-4).
pub fn random16() -> [u8; 16] {
    let mut bytes = [0; 16];
    getrandom::fill(&mut bytes).expect("the operating system has a random source");
    bytes
}
