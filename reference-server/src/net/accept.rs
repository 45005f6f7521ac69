//! Listening and accepting: binding the ports, and the accept loops that
//! check the connection limits (LOAD-6) and start each connection's thread.
//!
//! An accept loop never reads from a client (LOAD-2: a client that says
//! nothing must not stop the server from accepting).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use protocol::{ErrorCode, Kind, Response};
use socket2::{Domain, Protocol, Socket, Type};

use super::{Shared, conn, outbox};

/// Binds one listener, with address reuse and an explicit backlog.
pub(super) fn listen(
    addr: SocketAddr,
    backlog: i32,
    name: &str,
) -> anyhow::Result<(Socket, SocketAddr)> {
    let bind = || -> io::Result<(Socket, SocketAddr)> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        // Restarting right after a stop must not fail on the TIME_WAIT
        // sockets of the old connections, which inherit this flag from the
        // listener. For port 0 it is set after `bind`, so the kernel still
        // chooses a port that no other socket holds, as without the flag.
        if addr.port() != 0 {
            socket.set_reuse_address(true)?;
        }
        socket.bind(&addr.into())?;
        socket.set_reuse_address(true)?;
        socket.listen(backlog)?;
        let local = socket
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an IP socket"))?;
        Ok((socket, local))
    };
    bind().with_context(|| format!("cannot listen on {addr} (the {name} port)"))
}

/// Where to connect to reach a listener bound to `addr`.
pub(super) fn wake_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// Accepts connections on one port until the server stops.
pub(super) fn accept_loop(shared: &Arc<Shared>, listener: &Socket, port: usize) {
    loop {
        let accepted = listener.accept();
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let (socket, peer) = match accepted {
            Ok((socket, peer)) => match peer.as_socket() {
                Some(peer) => (socket, peer),
                None => continue,
            },
            Err(e) => {
                // Out of file descriptors, typically: back off instead of spinning.
                log::warn!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let _ = socket.set_tcp_nodelay(true);
        if port == 0 {
            accept_chat(shared, socket, peer);
        } else {
            accept_side(shared, socket, peer, port);
        }
    }
}

fn accept_chat(shared: &Arc<Shared>, socket: Socket, peer: SocketAddr) {
    let registry = &shared.registries[0];
    let config = &shared.config;
    if let Err(why) = registry.admit(peer.ip(), config.max_clients, config.max_per_ip) {
        log::warn!("refusing {peer}: {why}");
        refuse(&socket, &Response::error(ErrorCode::ServerFull, why)); // LOAD-6
        return;
    }
    let conn = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    log::info!("connection {conn} from {peer}");
    // The writer notices an abort between two blocked writes (LOAD-3).
    let _ = socket.set_write_timeout(Some(outbox::WRITE_TICK));
    let socket = Arc::new(socket);
    let thread_shared = shared.clone();
    let thread_socket = socket.clone();
    let started = registry.spawn(
        conn,
        peer.ip(),
        socket.clone(),
        format!("conn-{conn}"),
        move || conn::serve(&thread_shared, conn, thread_socket, peer),
    );
    if let Err(e) = started {
        // Out of threads is a full server too (LOAD-6): say so, do not crash.
        log::error!("cannot start a thread for {peer}: {e}");
        refuse(
            &socket,
            &Response::error(
                ErrorCode::ServerFull,
                "the server has no thread left for you",
            ),
        );
    }
}

fn accept_side(shared: &Arc<Shared>, socket: Socket, peer: SocketAddr, port: usize) {
    let registry = &shared.registries[port];
    let max = shared.config.max_side;
    if registry.admit(peer.ip(), max, max).is_err() {
        log::warn!("refusing side connection from {peer}: too many");
        return;
    }
    let kind = if port == 1 { Kind::Photo } else { Kind::File };
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let socket = Arc::new(socket);
    let thread_shared = shared.clone();
    let thread_socket = socket.clone();
    let started = registry.spawn(id, peer.ip(), socket, format!("side-{id}"), move || {
        crate::side::serve(&thread_shared, kind, &thread_socket, peer)
    });
    if let Err(e) = started {
        log::error!("cannot start a thread for {peer}: {e}");
    }
}

/// Sends one error frame to a connection we will not serve, and closes it
/// without resetting it (LOAD-6: answer, rather than leave it hanging).
fn refuse(socket: &Socket, response: &Response) {
    let _ = (&*socket).write_all(&response.to_bytes());
    let _ = socket.shutdown(Shutdown::Write);
    // Discard what already arrived, so that closing does not send a reset
    // that could destroy the error frame before the client reads it.
    if socket.set_nonblocking(true).is_ok() {
        let mut sink = [0u8; 4096];
        while matches!((&*socket).read(&mut sink), Ok(n) if n > 0) {}
    }
}
