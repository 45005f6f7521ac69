//! The socket layer: three listeners, a thread per connection, and a clean
//! shutdown that joins every thread it started.
//!
//! Sockets are socket2 sockets, so that address reuse, the listen backlog and
//! `TCP_NODELAY` are explicit. Each listener has an accept thread that never
//! reads from a client (LOAD-2: a client that says nothing must not stop the
//! server from accepting); it only checks the connection limits (LOAD-6) and
//! starts the connection's own thread.

mod accept;
mod budget;
mod conn;
mod handoff;
mod outbox;
mod pool;
mod registry;
mod turn;
mod writer;

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use socket2::Socket;

pub use outbox::Outbox;

pub(crate) use conn::linger;

use self::accept::{accept_loop, listen, wake_addr};
use self::pool::Pool;
use self::registry::Registry;
use crate::accounts::Accounts;
use crate::config::Config;
use crate::persist::{self, Journal};
use crate::room::Room;
use crate::store::Store;

/// How long a shutdown waits for clients to take their `SHUTDOWN` frame
/// before it closes the sockets of those that do not read (LOAD-7).
const SHUTDOWN_GRACE: Duration = Duration::from_millis(600);

/// A server whose ports are bound, ready to [`Server::spawn`].
pub struct Server {
    listeners: [(Socket, SocketAddr); 3],
    shared: Arc<Shared>,
}

/// A running server; [`ServerHandle::shutdown`] stops it.
pub struct ServerHandle {
    accept_threads: Vec<JoinHandle<()>>,
    addrs: [SocketAddr; 3],
    shared: Arc<Shared>,
}

/// The room and the journal, behind one lock so that records reach the
/// journal in the order the room made them.
pub(crate) struct Core {
    pub(crate) room: Room<Arc<Outbox>>,
    journal: Option<Journal>,
}

/// A locked [`Core`]. Unlocking it queues the room's staged frames
/// ([`crate::room::Room::flush`]), hands its new records to the journal, then wakes the
/// writers that got frames.
pub(crate) struct CoreGuard<'a>(Option<MutexGuard<'a, Core>>);

/// What every thread of the server shares.
pub(crate) struct Shared {
    config: Config,
    core: Mutex<Core>,
    accounts: Accounts,
    store: Store,
    stopping: AtomicBool,
    next_conn: AtomicU64,
    /// Chat connections, then photo and file connections.
    registries: [Arc<Registry>; 3],
    /// The threads that send most frames (see `pool`).
    pool: Arc<Pool>,
}

impl Server {
    /// Binds the three ports and opens the data directory. Port 0 gets a free
    /// port for each listener independently.
    pub fn bind(config: Config) -> anyhow::Result<Server> {
        let chat = listen(config.chat_addr(), config.backlog, "chat")?;
        let photo = listen(config.photo_addr(), config.backlog, "photo")?;
        let file = listen(config.file_addr(), config.backlog, "file")?;
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        let accounts = Accounts::open(dir, config.hash_cost)?;
        let (history, items) = persist::load(dir, config.history)
            .with_context(|| format!("cannot read the history in {}", dir.display()))?;
        log::info!(
            "{} messages of history and {} items loaded",
            history.len(),
            items.len()
        );
        let journal = Journal::start(dir, &history)
            .with_context(|| format!("cannot write the history in {}", dir.display()))?;
        let store = Store::open(dir)
            .with_context(|| format!("cannot use the upload directory in {}", dir.display()))?;
        let threads = config.max_clients + config.max_side * 2;
        if threads > budget::limit() {
            log::warn!(
                "--max-clients {} may need {threads} threads, but this process can run about {}; \
                 connections beyond that get SERVER_FULL (raise vm.max_map_count for more)",
                config.max_clients,
                budget::limit()
            );
        }
        let room = Room::new(history, items, Box::new(crate::random_bytes::<16>));
        let shared = Arc::new(Shared {
            config,
            core: Mutex::new(Core {
                room,
                journal: Some(journal),
            }),
            accounts,
            store,
            stopping: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            // Each connection runs one thread, its reader; the writer threads
            // that slow clients get reserve their own slots (see `writer`).
            registries: [1, 1, 1].map(|threads| Arc::new(Registry::new(threads))),
            pool: Pool::new(),
        });
        Ok(Server {
            listeners: [chat, photo, file],
            shared,
        })
    }

    /// The chat port's address.
    pub fn chat_addr(&self) -> SocketAddr {
        self.listeners[0].1
    }

    /// The photo port's address.
    pub fn photo_addr(&self) -> SocketAddr {
        self.listeners[1].1
    }

    /// The file port's address.
    pub fn file_addr(&self) -> SocketAddr {
        self.listeners[2].1
    }

    /// Starts accepting on background threads.
    pub fn spawn(self) -> ServerHandle {
        let addrs = [self.chat_addr(), self.photo_addr(), self.file_addr()];
        let names = ["chat", "photo", "file"];
        self.shared.pool.start();
        let mut accept_threads = Vec::new();
        for (port, (listener, _)) in self.listeners.into_iter().enumerate() {
            let shared = self.shared.clone();
            let thread = std::thread::Builder::new()
                .name(format!("accept-{}", names[port]))
                .spawn(move || accept_loop(&shared, &listener, port))
                .expect("the accept threads start at startup");
            accept_threads.push(thread);
        }
        log::info!(
            "listening on chat={} photo={} file={}",
            addrs[0],
            addrs[1],
            addrs[2]
        );
        ServerHandle {
            accept_threads,
            addrs,
            shared: self.shared,
        }
    }

    /// Runs until `stop` returns, then shuts down gracefully. `main` passes a
    /// function that waits for Ctrl-C.
    pub fn run_until(self, stop: impl FnOnce()) {
        let handle = self.spawn();
        stop();
        handle.shutdown();
    }
}

impl ServerHandle {
    /// The chat port's address.
    pub fn chat_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// The photo port's address.
    pub fn photo_addr(&self) -> SocketAddr {
        self.addrs[1]
    }

    /// The file port's address.
    pub fn file_addr(&self) -> SocketAddr {
        self.addrs[2]
    }

    /// Chat connections whose thread is still running, logged in or not.
    /// Tests use it to check that closed connections free their threads.
    pub fn connections(&self) -> usize {
        self.shared.registries[0].len()
    }

    /// Writer threads now running for clients that read slowly; the writer
    /// pool serves everyone else. Tests use it to check both paths.
    pub fn writer_threads(&self) -> usize {
        self.shared.pool.writer_threads.load(Ordering::Relaxed)
    }

    /// Stops accepting, sends `1900|SHUTDOWN` to every chat connection
    /// (LOAD-7), closes the side connections, writes the journal to disk and
    /// joins every thread. Takes well under a second even when clients do
    /// not read.
    pub fn shutdown(self) {
        log::info!("shutting down");
        let shared = &self.shared;
        shared.stopping.store(true, Ordering::SeqCst);
        for addr in self.addrs {
            // Wake the accept call; the loop then sees `stopping` (tiny-http's trick).
            let _ = TcpStream::connect_timeout(&wake_addr(addr), Duration::from_secs(1));
        }
        for thread in self.accept_threads {
            let _ = thread.join();
        }
        shared.core().room.shutdown();
        shared.registries[1].close_all();
        shared.registries[2].close_all();
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        if !shared.registries[0].wait_empty(deadline) {
            shared.registries[0].close_all();
        }
        for registry in &shared.registries {
            registry.join_all();
        }
        shared.pool.stop();
        let journal = shared
            .core
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .journal
            .take();
        if let Some(Err(e)) = journal.map(Journal::close) {
            log::error!("cannot finish writing the history: {e}");
        }
        log::info!("stopped");
    }
}

impl Shared {
    /// Locks the room.
    pub(crate) fn core(&self) -> CoreGuard<'_> {
        CoreGuard(Some(self.core.lock().unwrap_or_else(|e| e.into_inner())))
    }
}

impl std::ops::Deref for CoreGuard<'_> {
    type Target = Core;
    fn deref(&self) -> &Core {
        self.0.as_ref().expect("locked until dropped")
    }
}

impl std::ops::DerefMut for CoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Core {
        self.0.as_mut().expect("locked until dropped")
    }
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        if let Some(mut core) = self.0.take() {
            core.room.flush();
            let records = core.room.take_journal();
            if let Some(journal) = &core.journal {
                journal.write(records);
            }
        }
        handoff::wake_pending();
    }
}

impl Shared {
    /// The configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The upload store.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }
}
