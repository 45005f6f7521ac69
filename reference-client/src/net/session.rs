//! The session thread: connect, log in, write frames, hand out tickets, and
//! reconnect with backoff when the connection is lost.
//!
//! All of the thread's inputs (commands from the interface, frames from the
//! reader thread, results from transfer threads) arrive on one channel, so the
//! thread is a simple loop over one `recv` and never needs a lock.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use protocol::{AuthResult, FailReason, Reason, Request, Response, Ticket};

use super::side::{self, Transfer};
use super::{Command, Config, Event, Input, LoginFailure, Sink, Status};

/// How long to wait for the TCP connection to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the `1001` after sending `0001` (LOGIN-1).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the server to close after `0005` (OUT-1); a Level 1
/// server does not know `0005`, and quitting must not hang on it.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest pause between two reconnection attempts, in seconds.
const MAX_BACKOFF: u64 = 30;

/// Why one connection ended.
enum End {
    /// The user logged out or the client is being dropped.
    Quit,
    /// No TCP connection.
    Unreachable(String),
    /// `1001|0|…` (LOGIN-3).
    Rejected(FailReason),
    /// No `1001` in time, or the server closed before sending one.
    NoAnswer(String),
    /// The connection broke after the login.
    Lost(String),
}

/// The state owned by the session thread.
pub(super) struct Session {
    config: Config,
    sink: Sink,
    tx: Sender<Input>,
    rx: Receiver<Input>,
    /// The number of the current connection; reader reports with another
    /// number come from a connection that has already ended.
    conn: u64,
    /// The ticket of the current connection (SIDE-2: valid until it closes).
    ticket: Option<Ticket>,
    ticket_requested: bool,
    /// Transfers waiting for a ticket.
    waiting: Vec<Transfer>,
    /// Running transfer threads, joined when they finish or at shutdown.
    transfers: Vec<JoinHandle<()>>,
}

impl Session {
    pub(super) fn new(config: Config, sink: Sink, tx: Sender<Input>, rx: Receiver<Input>) -> Self {
        Session {
            config,
            sink,
            tx,
            rx,
            conn: 0,
            ticket: None,
            ticket_requested: false,
            waiting: Vec::new(),
            transfers: Vec::new(),
        }
    }

    /// Runs connections until the user quits, a login fails for good, or the
    /// connection is lost and reconnecting is off.
    pub(super) fn run(mut self) {
        let mut backoff = 1;
        let mut ever_online = false;
        loop {
            self.emit(Event::Status(Status::Connecting));
            let (end, online) = self.connection();
            if online {
                ever_online = true;
                backoff = 1;
            }
            let reason = match end {
                End::Quit => break,
                End::Unreachable(e) if !ever_online => {
                    self.emit(Event::LoginFailed(LoginFailure::Unreachable(e)));
                    break;
                }
                End::NoAnswer(e) if !ever_online => {
                    self.emit(Event::LoginFailed(LoginFailure::NoAnswer(e)));
                    break;
                }
                End::Rejected(reason) if !ever_online => {
                    self.emit(Event::LoginFailed(LoginFailure::Rejected(reason)));
                    break;
                }
                // After a reconnect the server may not have noticed yet that
                // our old connection is gone: try again. Any other refusal
                // (the password changed?) will not go away by retrying.
                End::Rejected(FailReason::Code(Reason::AlreadyOnline)) => {
                    "the server still sees the old connection".to_owned()
                }
                End::Rejected(reason) => {
                    self.emit(Event::LoginFailed(LoginFailure::Rejected(reason)));
                    break;
                }
                End::Unreachable(e) | End::NoAnswer(e) | End::Lost(e) => e,
            };
            if !self.config.reconnect {
                break;
            }
            self.emit(Event::Status(Status::Reconnecting {
                secs: backoff,
                reason,
            }));
            if self.pause(Duration::from_secs(backoff)) {
                break;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        for transfer in self.waiting.drain(..) {
            (self.sink)(transfer.failed("not connected"));
        }
        for thread in self.transfers.drain(..) {
            let _ = thread.join();
        }
        // Report what the joined transfers sent on their way out.
        while let Ok(input) = self.rx.try_recv() {
            match input {
                Input::TransferDone(event) => self.emit(event),
                Input::Uploaded { name, .. } => self.emit(Event::TransferFailed {
                    what: name.into_string(),
                    error: "uploaded, but not shared: the client stopped".into(),
                }),
                _ => {}
            }
        }
        self.emit(Event::Status(Status::Offline));
    }

    fn emit(&self, event: Event) {
        (self.sink)(event);
    }

    /// One connection, from connect to close. Returns why it ended and
    /// whether it got as far as a successful login.
    fn connection(&mut self) -> (End, bool) {
        self.conn += 1;
        self.ticket = None;
        self.ticket_requested = false;
        let stream = match TcpStream::connect_timeout(&self.config.chat, CONNECT_TIMEOUT) {
            Ok(stream) => stream,
            Err(e) => {
                let why = format!("cannot connect to {}: {e}", self.config.chat);
                return (End::Unreachable(why), false);
            }
        };
        let _ = stream.set_nodelay(true);
        let reader = match stream.try_clone() {
            Ok(read_half) => {
                let (conn, tx) = (self.conn, self.tx.clone());
                std::thread::Builder::new()
                    .name("chat-reader".into())
                    .spawn(move || super::reader::read_frames(conn, read_half, tx))
                    .expect("cannot start the reader thread")
            }
            Err(e) => return (End::Unreachable(e.to_string()), false),
        };
        let mut online = false;
        let end = self.serve(
            stream.try_clone().expect("cloned once already"),
            &mut online,
        );
        // Shutting the socket down wakes the reader from its blocking read.
        let _ = stream.shutdown(Shutdown::Both);
        let _ = reader.join();
        (end, online)
    }

    /// The loop of one connection: log in, then act on every input.
    fn serve(&mut self, mut stream: TcpStream, online: &mut bool) -> End {
        let login = Request::Login {
            username: self.config.username.clone(),
            password: self.config.password.clone(),
        };
        if let Err(e) = stream.write_all(&login.to_bytes()) {
            return End::NoAnswer(format!("cannot send the login: {e}"));
        }
        let mut deadline = Some(Instant::now() + LOGIN_TIMEOUT);
        let mut quitting = false;
        loop {
            let input = match deadline {
                Some(at) => match self
                    .rx
                    .recv_timeout(at.saturating_duration_since(Instant::now()))
                {
                    Ok(input) => input,
                    Err(RecvTimeoutError::Timeout) if quitting => return End::Quit,
                    Err(RecvTimeoutError::Timeout) => {
                        return End::NoAnswer("the server did not answer the login".into());
                    }
                    Err(RecvTimeoutError::Disconnected) => return End::Quit,
                },
                None => match self.rx.recv() {
                    Ok(input) => input,
                    Err(_) => return End::Quit,
                },
            };
            let written = match input {
                Input::Frame(conn, _) | Input::BadFrame(conn, _) | Input::Closed(conn, _)
                    if conn != self.conn =>
                {
                    continue;
                }
                Input::Frame(_, Response::LoginResult(AuthResult::Failed { reason, .. }))
                    if !*online =>
                {
                    return End::Rejected(reason);
                }
                Input::Frame(_, frame @ Response::LoginResult(AuthResult::Ok { .. }))
                    if !*online =>
                {
                    *online = true;
                    deadline = None;
                    self.emit(Event::Status(Status::Online));
                    self.emit(Event::Frame(frame));
                    self.request_ticket(&mut stream)
                }
                Input::Frame(_, Response::Ticket { ticket }) => {
                    self.ticket = Some(ticket);
                    self.start_waiting();
                    Ok(())
                }
                Input::Frame(_, frame) => {
                    self.emit(Event::Frame(frame));
                    Ok(())
                }
                Input::BadFrame(_, line) => {
                    self.emit(Event::BadFrame(line));
                    Ok(())
                }
                Input::Closed(..) if quitting => return End::Quit,
                Input::Closed(_, reason) if *online => return End::Lost(reason),
                Input::Closed(_, reason) => return End::NoAnswer(reason),
                Input::Command(Command::Logout) if *online && !quitting => {
                    // OUT-1: the server answers 1005 and closes; the reader
                    // then reports Closed and the loop ends.
                    quitting = true;
                    deadline = Some(Instant::now() + LOGOUT_TIMEOUT);
                    stream.write_all(&Request::Logout.to_bytes())
                }
                Input::Command(Command::Logout) => return End::Quit,
                Input::Command(Command::Send(request)) => stream.write_all(&request.to_bytes()),
                Input::Command(Command::Upload { kind, path, to }) => {
                    self.waiting.push(Transfer::Upload { kind, path, to });
                    self.start_or_request(&mut stream, *online)
                }
                Input::Command(Command::Download { item, dest }) => {
                    self.waiting.push(Transfer::Download { item, dest });
                    self.start_or_request(&mut stream, *online)
                }
                Input::Uploaded {
                    kind,
                    to,
                    id,
                    name,
                    path,
                    size,
                } => {
                    // SHARE-1: the upload only stored the bytes; sharing the
                    // id on the chat port is what announces it.
                    let share = Request::Share {
                        to: to.clone(),
                        id: id.clone(),
                        name: name.clone(),
                    };
                    let written = stream.write_all(&share.to_bytes());
                    self.emit(Event::Uploaded {
                        kind,
                        to,
                        id: id.into_string(),
                        name: name.into_string(),
                        path,
                        size,
                    });
                    written
                }
                Input::TransferDone(event) => {
                    self.emit(event);
                    self.reap();
                    Ok(())
                }
            };
            if let Err(e) = written {
                return End::Lost(format!("cannot write to the server: {e}"));
            }
        }
    }

    /// Starts waiting transfers if there is a ticket, or asks for one
    /// (`0008`, SIDE-2) once the connection is logged in.
    fn start_or_request(&mut self, stream: &mut TcpStream, online: bool) -> std::io::Result<()> {
        if self.ticket.is_some() {
            self.start_waiting();
            Ok(())
        } else if online {
            self.request_ticket(stream)
        } else {
            Ok(())
        }
    }

    fn request_ticket(&mut self, stream: &mut TcpStream) -> std::io::Result<()> {
        if self.waiting.is_empty() || self.ticket_requested {
            return Ok(());
        }
        self.ticket_requested = true;
        stream.write_all(&Request::Ticket.to_bytes())
    }

    fn start_waiting(&mut self) {
        let Some(ticket) = self.ticket.clone() else {
            return;
        };
        for transfer in std::mem::take(&mut self.waiting) {
            let thread = side::spawn(transfer, ticket.clone(), &self.config, self.tx.clone());
            self.transfers.push(thread);
        }
    }

    /// Joins the transfer threads that have finished.
    fn reap(&mut self) {
        let (done, running) = std::mem::take(&mut self.transfers)
            .into_iter()
            .partition(|t| t.is_finished());
        self.transfers = running;
        for thread in done {
            let _ = thread.join();
        }
    }

    /// Waits `delay` before the next attempt; true if the user quit meanwhile.
    fn pause(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            match self
                .rx
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Err(RecvTimeoutError::Timeout) => return false,
                Err(RecvTimeoutError::Disconnected) | Ok(Input::Command(Command::Logout)) => {
                    return true;
                }
                Ok(Input::Command(Command::Upload { kind, path, to })) => {
                    self.waiting.push(Transfer::Upload { kind, path, to });
                }
                Ok(Input::Command(Command::Download { item, dest })) => {
                    self.waiting.push(Transfer::Download { item, dest });
                }
                Ok(Input::Command(Command::Send(request))) => {
                    log::warn!("offline, not sent: {request:?}");
                }
                Ok(Input::TransferDone(event)) => {
                    self.emit(event);
                    self.reap();
                }
                Ok(Input::Uploaded { name, .. }) => {
                    self.emit(Event::TransferFailed {
                        what: name.into_string(),
                        error: "uploaded, but the connection was lost before it was shared".into(),
                    });
                }
                Ok(Input::Frame(..) | Input::BadFrame(..) | Input::Closed(..)) => {}
            }
        }
    }
}
