//! The live connections of one port: their sockets (so a shutdown can close
//! them), their threads (so a shutdown can join them), and the counts the
//! connection limits need (LOAD-6).
//!
//! Every connection thread is owned here. A thread that finished says so, and
//! is joined the next time a connection is admitted (looking only at those,
//! so a thousand live connections cost an accept nothing); [`Registry::join_all`]
//! joins the rest, so no thread outlives the server and none piles up
//! unjoined.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Shutdown};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use socket2::Socket;

use super::budget;

#[derive(Default)]
struct Inner {
    sockets: HashMap<u64, Arc<Socket>>,
    per_ip: HashMap<IpAddr, usize>,
    /// Admitted connections whose thread has not ended yet.
    live: usize,
    threads: HashMap<u64, JoinHandle<()>>,
    /// Connections whose thread has finished serving, to be joined.
    ended: Vec<u64>,
}

/// The connections of one port.
pub(super) struct Registry {
    inner: Mutex<Inner>,
    ended: Condvar,
    /// Threads one connection runs (its reader), reserved from the process's
    /// budget while it lives; a slow client's writer thread reserves its own.
    threads_per_conn: usize,
}

impl Registry {
    pub(super) fn new(threads_per_conn: usize) -> Self {
        Self {
            inner: Mutex::default(),
            ended: Condvar::new(),
            threads_per_conn,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a new connection from `ip` in, unless that would exceed `max`
    /// connections in all or `max_per_ip` from that address.
    pub(super) fn admit(&self, ip: IpAddr, max: usize, max_per_ip: usize) -> Result<(), String> {
        let mut inner = self.lock();
        if inner.live >= max {
            return Err(format!("the server is full ({max} connections)"));
        }
        if inner.per_ip.get(&ip).is_some_and(|&n| n >= max_per_ip) {
            return Err(format!("too many connections from {ip} ({max_per_ip})"));
        }
        if !budget::reserve(self.threads_per_conn) {
            return Err(format!("the server is full ({} threads)", budget::limit()));
        }
        *inner.per_ip.entry(ip).or_default() += 1;
        inner.live += 1;
        // Join the threads of connections that ended since the last time. A
        // thread that ended before `spawn` stored its handle waits for the
        // next admission.
        let mut done = Vec::new();
        let ended = std::mem::take(&mut inner.ended);
        for id in ended {
            match inner.threads.remove(&id) {
                Some(thread) => done.push(thread),
                None => inner.ended.push(id),
            }
        }
        drop(inner);
        for thread in done {
            let _ = thread.join();
        }
        Ok(())
    }

    /// Runs `serve` on a new thread for an admitted connection; when it
    /// returns, the connection is counted out.
    pub(super) fn spawn(
        self: &Arc<Self>,
        id: u64,
        ip: IpAddr,
        socket: Arc<Socket>,
        name: String,
        serve: impl FnOnce() + Send + 'static,
    ) -> io::Result<()> {
        self.lock().sockets.insert(id, socket);
        let registry = self.clone();
        let spawned = std::thread::Builder::new()
            .name(name)
            .stack_size(256 * 1024)
            .spawn(move || {
                serve();
                registry.release(id, ip, true);
            });
        match spawned {
            Ok(thread) => {
                self.lock().threads.insert(id, thread);
                Ok(())
            }
            Err(e) => {
                self.release(id, ip, false);
                Err(e)
            }
        }
    }

    /// Counts a connection out; `joinable` if it had a thread, which is
    /// ending now.
    fn release(&self, id: u64, ip: IpAddr, joinable: bool) {
        budget::release(self.threads_per_conn);
        let mut inner = self.lock();
        inner.sockets.remove(&id);
        if joinable {
            inner.ended.push(id);
        }
        inner.live -= 1;
        if let Some(n) = inner.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                inner.per_ip.remove(&ip);
            }
        }
        drop(inner);
        self.ended.notify_all();
    }

    /// The number of live connections.
    pub(super) fn len(&self) -> usize {
        self.lock().live
    }

    /// Waits until every connection ended or `deadline` passed; true if all ended.
    pub(super) fn wait_empty(&self, deadline: Instant) -> bool {
        let mut inner = self.lock();
        while inner.live > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            inner = self
                .ended
                .wait_timeout(inner, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Closes every live socket, which ends every blocked read and write.
    pub(super) fn close_all(&self) {
        for socket in self.lock().sockets.values() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Joins every connection thread.
    pub(super) fn join_all(&self) {
        let threads = std::mem::take(&mut self.lock().threads);
        for thread in threads.into_values() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use socket2::{Domain, Type};

    use super::*;

    #[test]
    fn ended_threads_are_joined_at_the_next_admission() {
        let registry = Arc::new(Registry::new(1));
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for id in 0..50 {
            registry.admit(ip, 100, 100).unwrap();
            let socket = Arc::new(Socket::new(Domain::IPV4, Type::STREAM, None).unwrap());
            registry
                .spawn(id, ip, socket, format!("t-{id}"), || {})
                .unwrap();
        }
        assert!(registry.wait_empty(Instant::now() + Duration::from_secs(10)));
        {
            // Every thread not joined yet has ended, and none was forgotten.
            let inner = registry.lock();
            assert_eq!(inner.threads.len(), inner.ended.len());
            assert!(inner.ended.iter().all(|id| inner.threads.contains_key(id)));
        }
        registry.admit(ip, 100, 100).unwrap();
        let inner = registry.lock();
        assert!(inner.threads.is_empty() && inner.ended.is_empty());
        assert_eq!(inner.live, 1);
    }
}
