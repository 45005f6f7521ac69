//! The generator's event loop: one thread drives many client sessions over
//! non-blocking sockets (mio, so epoll on Linux).
//!
//! A load generator with a thread per client measures its own scheduler as
//! much as the server: at a thousand clients it took more of the two cores
//! than the server did. With one event loop per core at most (`--threads`,
//! default 1), the generator wakes once for many ready sockets, reads each
//! of them in large chunks and writes each sender's batches in one call, so
//! nearly all of the other core is left to the server it measures.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token, Waker};

use crate::run::{Run, phase};
use crate::session::{Latencies, Session, State};
use crate::stats::Histogram;

/// The waker's token; sessions use their index in the thread's list.
const WAKE: Token = Token(usize::MAX);

/// How long a sender that waits for its flow-control window waits before it
/// looks at other threads' receivers again.
const WINDOW_RECHECK: Duration = Duration::from_millis(1);

/// Bytes of receive buffer per client (Linux doubles it, within rmem_max):
/// the frames of the flow-control window wait there, in the kernel, rather
/// than in the server's queue, so a generator thread that is briefly busy
/// elsewhere never looks like a slow consumer (LOAD-3) to the server.
const RECV_BUFFER: usize = 4 << 20;

/// Runs clients `ids` until the run stops: connects and logs them in with at
/// most `burst` logins in flight, then follows the run's phases.
pub fn worker(run: &Run, ids: Vec<usize>, burst: usize) -> anyhow::Result<()> {
    let mut poll = Poll::new()?;
    run.add_waker(Arc::new(Waker::new(poll.registry(), WAKE)?));
    let mut events = Events::with_capacity(1024);
    let mut waiting: VecDeque<usize> = ids.into();
    let mut sessions: Vec<Session> = Vec::with_capacity(waiting.len());
    let mut senders: Vec<usize> = Vec::new();
    let mut in_flight = 0usize;
    let mut seen_phase = phase::LOGIN;
    let mut buf = vec![0u8; 256 * 1024];
    let mut latency = Latencies {
        delivery: Histogram::new(),
        login: Histogram::new(),
    };
    while !run.stopped() {
        while in_flight < burst.max(1)
            && let Some(id) = waiting.pop_front()
        {
            let slot = sessions.len();
            match connect(run.addr, !run.work.idle) {
                Ok(mut stream) => {
                    poll.registry().register(
                        &mut stream,
                        Token(slot),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    let mut session = Session::new(run, id, stream);
                    session.flush(run);
                    if id < run.work.senders {
                        senders.push(slot);
                    }
                    in_flight += usize::from(session.state == State::LoggingIn);
                    sessions.push(session);
                }
                Err(e) => {
                    log::warn!("client {id} cannot connect: {e}");
                    run.login_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        let now_phase = run.phase();
        if now_phase > seen_phase {
            if seen_phase == phase::LOGIN {
                // Every login has settled: report their latencies now.
                let login = std::mem::replace(&mut latency.login, Histogram::new());
                run.login_latency.lock().unwrap().merge(&login);
                run.login_reported.fetch_add(1, Ordering::Release);
            }
            for p in seen_phase + 1..=now_phase {
                for session in &mut sessions {
                    session.enter(run, p);
                }
            }
            seen_phase = now_phase;
        }
        let timeout = if seen_phase >= phase::RUN {
            pump(run, &mut sessions, &senders)
        } else {
            None
        };
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        let mut progress = false;
        for event in events.iter() {
            let Some(session) = sessions.get_mut(event.token().0) else {
                continue; // the waker: the loop looks at the phase again
            };
            let was_logging_in = session.state == State::LoggingIn;
            if session.state != State::Dead {
                if event.is_writable() {
                    session.flush(run);
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    progress |= session.on_readable(run, &mut buf, &mut latency);
                }
            }
            if was_logging_in && session.state != State::LoggingIn {
                in_flight -= 1;
                if session.state != State::Dead
                    && run.work.rate > 0
                    && session.id < run.work.senders
                {
                    // A paced sender: the pacer thread writes its messages.
                    let socket = socket2::SockRef::from(&session.stream).try_clone()?;
                    run.pacer_sockets.lock().unwrap().push((session.id, socket));
                }
            }
        }
        if progress {
            run.progress.fetch_add(1, Ordering::Release);
        }
    }
    for session in &mut sessions {
        if session.state == State::Running {
            session.report(run);
        }
    }
    run.latency.lock().unwrap().merge(&latency.delivery);
    Ok(())
}

/// Sends what each saturating sender may send now; returns how long the
/// loop may wait for events before a window must be looked at again.
fn pump(run: &Run, sessions: &mut [Session], senders: &[usize]) -> Option<Duration> {
    let mut timeout = None;
    for &slot in senders {
        let session = &mut sessions[slot];
        // Batch after batch (each one `write`, as the workload asks) until
        // the window or the socket is full.
        while session.pump(run) {}
        if session.window_blocked(run) {
            timeout = Some(WINDOW_RECHECK);
        }
    }
    timeout
}

/// A non-blocking connection attempt to `addr`, with a large receive buffer
/// when the client will receive a saturating load.
fn connect(addr: SocketAddr, big_buffer: bool) -> std::io::Result<mio::net::TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if big_buffer {
        socket.set_recv_buffer_size(RECV_BUFFER)?;
    }
    socket.set_tcp_nodelay(true)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(mio::net::TcpStream::from_std(socket.into()))
}
