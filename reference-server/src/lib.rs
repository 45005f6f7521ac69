//! The ChatLab reference server: every level of SPEC.md, as a library that
//! the `reference-server` binary, the conformance grader and the tests embed.
//!
//! # Layout
//!
//! - [`room`]: the chat logic as a pure state machine. No sockets, no clock:
//!   it takes parsed frames and the time, and queues encoded frames.
//! - [`accounts`] and [`hashing`]: accounts on disk, Argon2id password hashes
//!   made a few at a time in reused memory (REG-4, REG-5).
//! - [`persist`] and [`store`]: history, item metadata and uploaded bytes in
//!   the data directory (HIST-4, SIDE-3).
//! - [`net`]: the thin socket layer. One reader thread per connection feeds the
//!   room; a small writer pool drains the bounded queues with non-blocking
//!   sends, many frames per `send`, and only a client that reads slowly gets
//!   a writer thread of its own (LOAD-2, LOAD-3).
//! - [`side`]: the photo and file ports (SPEC.md section 10).
//! - [`config`]: every setting, and the command line that fills them.
//!
//! The crate has two binaries: `reference-server` (`src/main.rs`) and the
//! load generator `chat-bench` (`src/bin/chat-bench/`, see BENCHMARKS.md).
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
pub mod hashing;
pub mod net;
pub mod persist;
pub mod room;
pub mod side;
pub mod store;

pub use config::{Args, Config};
pub use net::{Server, ServerHandle};

/// Runs the server as the `reference-server` binary does: binds, prints the
/// ready line `chatlab reference server listening on chat=… photo=… file=…`
/// on stdout, serves until Ctrl-C (SIGINT or SIGTERM), then shuts down
/// gracefully. Other binaries embed [`Args`] as a subcommand and call this;
/// they initialise logging themselves.
pub fn run(args: Args) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;

    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("cannot install the Ctrl-C handler")?;
    let server = Server::bind(args.into_config())?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "chatlab reference server listening on chat={} photo={} file={}",
        server.chat_addr(),
        server.photo_addr(),
        server.file_addr()
    )?;
    stdout.flush()?;
    drop(stdout);
    server.run_until(|| {
        let _ = stop_rx.recv();
    });
    Ok(())
}

/// `N` unpredictable bytes from the operating system, for tickets (SIDE-2),
/// password salts (REG-4) and the key of password proofs.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).expect("the operating system has a random source");
    bytes
}
