//! Every setting of the server, and the command line that fills them.
//!
//! [`Config::default`] is the embedded default: `cargo run -p
//! reference-server` with no arguments serves SPEC.md's ports on 127.0.0.1
//! with a data directory in the current directory. [`Args`] is the clap
//! parser; other binaries (the conformance grader) embed it as a subcommand
//! and turn it into a [`Config`] with `Config::from(args)`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use protocol::limits::{
    CHAT_PORT, FILE_PORT_OFFSET, MAX_FILE, MAX_FRAME, MAX_HISTORY, MAX_PHOTO, PHOTO_PORT_OFFSET,
};

use crate::accounts::HashCost;

/// Default limit of chat connections. Each uses one thread (two while it
/// reads slowly), and with Linux's default `vm.max_map_count` a process runs
/// about 12,600 threads (see `net::budget`), so up to about 10,000 clients
/// fit; more also need a larger map count.
pub const DEFAULT_MAX_CLIENTS: usize = 5_000;

/// Default limit of connections per side port.
pub const DEFAULT_MAX_SIDE: usize = 256;

/// Everything the server needs to know to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on. Default 127.0.0.1: a lab server is reachable from
    /// the same machine only, unless you ask for `0.0.0.0`.
    pub host: IpAddr,
    /// Chat port (default 8090). 0 picks a free port.
    pub port: u16,
    /// Photo port; `None` means chat port + 1 (or a free port if `port` is 0).
    pub photo_port: Option<u16>,
    /// File port; `None` means chat port + 2 (or a free port if `port` is 0).
    pub file_port: Option<u16>,
    /// Where accounts, history and uploads live; created if missing.
    pub data_dir: PathBuf,
    /// Chat connections served at once; more get `SERVER_FULL` (LOAD-6).
    pub max_clients: usize,
    /// Chat connections from one IP address at once (LOAD-6).
    pub max_per_ip: usize,
    /// Side-port connections served at once, per port.
    pub max_side: usize,
    /// Bytes in one frame, LF included (FRAME-5); at most `MAX_FRAME`.
    pub max_frame: usize,
    /// Frames queued for one connection before it counts as a slow consumer
    /// (LOAD-3).
    pub queue_frames: usize,
    /// Bytes in one photo (SIDE-4).
    pub max_photo: u64,
    /// Bytes in one file (SIDE-4).
    pub max_file: u64,
    /// Messages kept in the history (HIST-3); at least 20.
    pub history: usize,
    /// Argon2id cost for new password hashes (REG-4).
    pub hash_cost: HashCost,
    /// The `listen` backlog of each port.
    pub backlog: i32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: CHAT_PORT,
            photo_port: None,
            file_port: None,
            data_dir: PathBuf::from("chatlab-data"),
            max_clients: DEFAULT_MAX_CLIENTS,
            max_per_ip: DEFAULT_MAX_CLIENTS,
            max_side: DEFAULT_MAX_SIDE,
            max_frame: MAX_FRAME,
            queue_frames: 16_384,
            max_photo: MAX_PHOTO,
            max_file: MAX_FILE,
            history: MAX_HISTORY,
            hash_cost: HashCost::default(),
            backlog: 1_024,
        }
    }
}

impl Config {
    /// The chat port's address.
    pub fn chat_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The photo port's address (chat port + 1 unless set).
    pub fn photo_addr(&self) -> SocketAddr {
        SocketAddr::new(
            self.host,
            side_port(self.port, self.photo_port, PHOTO_PORT_OFFSET),
        )
    }

    /// The file port's address (chat port + 2 unless set).
    pub fn file_addr(&self) -> SocketAddr {
        SocketAddr::new(
            self.host,
            side_port(self.port, self.file_port, FILE_PORT_OFFSET),
        )
    }
}

fn side_port(chat: u16, set: Option<u16>, offset: u16) -> u16 {
    match set {
        Some(port) => port,
        None if chat == 0 => 0,
        None => chat.saturating_add(offset),
    }
}

/// The command line of `reference-server` (and of any binary that embeds it).
///
/// Logging follows `RUST_LOG` unless `--log` is given: `info` (the default)
/// shows connections, logins, logouts and the online count; `debug` adds
/// every chat message.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "reference-server",
    version,
    about = "The ChatLab reference chat server (SPEC.md levels 1-6)"
)]
pub struct Args {
    /// Address to listen on (0.0.0.0 to accept other machines)
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Chat port; 0 picks free ports for all three listeners
    #[arg(long, default_value_t = CHAT_PORT)]
    pub port: u16,
    /// Photo port [default: chat port + 1]
    #[arg(long)]
    pub photo_port: Option<u16>,
    /// File port [default: chat port + 2]
    #[arg(long)]
    pub file_port: Option<u16>,
    /// Data directory for accounts, history and uploads (created if missing)
    #[arg(long, default_value = "chatlab-data")]
    pub data_dir: PathBuf,
    /// Chat connections served at once; more get SERVER_FULL
    #[arg(long, default_value_t = DEFAULT_MAX_CLIENTS)]
    pub max_clients: usize,
    /// Chat connections from one IP address at once
    #[arg(long, default_value_t = DEFAULT_MAX_CLIENTS)]
    pub max_per_ip: usize,
    /// Side-port connections served at once, per port
    #[arg(long, default_value_t = DEFAULT_MAX_SIDE)]
    pub max_side: usize,
    /// Bytes in one chat frame, LF included (at most 4096)
    #[arg(long, default_value_t = MAX_FRAME)]
    pub max_frame: usize,
    /// Frames queued for a client before it is dropped as a slow consumer
    #[arg(long, default_value_t = 16_384)]
    pub queue_frames: usize,
    /// Bytes in one photo
    #[arg(long, default_value_t = MAX_PHOTO)]
    pub max_photo: u64,
    /// Bytes in one file
    #[arg(long, default_value_t = MAX_FILE)]
    pub max_file: u64,
    /// Messages kept in the history (at least 20)
    #[arg(long, default_value_t = MAX_HISTORY)]
    pub history: usize,
    /// Argon2id memory per password hash, in KiB (OWASP suggests 19456)
    #[arg(long, default_value_t = HashCost::default().memory_kib)]
    pub hash_memory_kib: u32,
    /// Argon2id passes per password hash (OWASP suggests 2)
    #[arg(long, default_value_t = HashCost::default().iterations)]
    pub hash_passes: u32,
    /// Log filter such as info, debug or warn [default: $RUST_LOG, else info]
    #[arg(long)]
    pub log: Option<String>,
}

impl From<Args> for Config {
    fn from(args: Args) -> Self {
        Self {
            host: args.host,
            port: args.port,
            photo_port: args.photo_port,
            file_port: args.file_port,
            data_dir: args.data_dir,
            max_clients: args.max_clients,
            max_per_ip: args.max_per_ip,
            max_side: args.max_side,
            max_frame: args.max_frame.clamp(16, MAX_FRAME),
            queue_frames: args.queue_frames.max(1),
            max_photo: args.max_photo,
            max_file: args.max_file,
            history: args.history,
            hash_cost: HashCost {
                memory_kib: args.hash_memory_kib,
                iterations: args.hash_passes,
            },
            backlog: Config::default().backlog,
        }
    }
}

impl Args {
    /// The configuration these arguments describe.
    pub fn into_config(self) -> Config {
        self.into()
    }
}
