//! The terminal mode: the whole client as lines on stdin and stdout, for
//! scripts, tests and machines without a display.
//!
//! Output lines are `[HH:MM:SS] ` (local time, or UTC with `--utc`, or no
//! stamp with `--no-time`) followed by the line as [`crate::model::Line::plain`]
//! writes it: `Julia: 大家好`, `Meggie (private): 开，八点见`,
//! `* Meggie joined 上线了 · 2 online`, `! USER_OFFLINE: Nina is not online`.
//! Errors that end the program go to stderr.
//!
//! One thread owns the model and prints; network events and stdin lines both
//! reach it through one channel, so output never interleaves.

mod command;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::mpsc;

use protocol::{Kind, Request};

pub use command::{Command, HELP, parse};

use crate::clock::{self, Zone};
use crate::model::{Effect, Model};
use crate::net::{self, Client, Event, Status};

/// How the terminal mode runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where and who.
    pub config: net::Config,
    /// How to stamp lines; `None` prints no time (for tests).
    pub zone: Option<Zone>,
}

/// What the printing thread waits for.
enum Input {
    Net(Event),
    Line(String),
    Eof,
}

/// Runs the terminal mode until `/quit`, end of input, or a failed login.
/// Returns the process exit code: 0 after a normal quit, 1 if the login
/// failed or the connection ended for good.
pub fn run(options: Options) -> i32 {
    let cache_dir = options.config.cache_dir.clone();
    let (tx, rx) = mpsc::channel();
    let net_tx = tx.clone();
    let client = Client::start(options.config, move |event| {
        let _ = net_tx.send(Input::Net(event));
    });
    // The stdin reader is the one thread nobody joins: a blocking read on
    // stdin cannot be interrupted, so it ends with the process.
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(Input::Line(line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Input::Eof);
        })
        .expect("cannot start the stdin thread");

    let mut printer = Printer {
        model: Model::new(),
        printed: 0,
        zone: options.zone,
    };
    // Lines typed before the login completes wait for it, so a script can
    // pipe in its commands at once.
    let mut early = std::collections::VecDeque::new();
    let code = loop {
        let ready = printer.model.me().is_some();
        let input = match early.pop_front() {
            Some(input) if ready => input,
            waiting => {
                if let Some(input) = waiting {
                    early.push_front(input);
                }
                match rx.recv() {
                    Ok(input) => input,
                    Err(_) => break 1,
                }
            }
        };
        if !ready && !matches!(input, Input::Net(_)) {
            early.push_back(input);
            continue;
        }
        match input {
            Input::Net(event) => {
                let offline = event == Event::Status(Status::Offline);
                let effects = printer.model.apply(event, clock::now());
                printer.flush();
                if let Some(Effect::LoginFailed(why)) =
                    effects.iter().find(|e| matches!(e, Effect::LoginFailed(_)))
                {
                    eprintln!("error: login failed: {why}");
                    break 1;
                }
                if offline {
                    eprintln!("error: disconnected from the server");
                    break 1;
                }
            }
            Input::Line(line) => match parse(&line) {
                Ok(Command::Quit) => break 0,
                Ok(command) => {
                    printer.execute(command, &client, &cache_dir);
                    printer.flush();
                }
                Err(e) => {
                    printer.model.notice(clock::now(), e, true);
                    printer.flush();
                }
            },
            Input::Eof => break 0,
        }
    };
    // Logs out (OUT-1) and joins the network threads; then prints whatever
    // they reported on the way out, such as the server's 1005.
    client.shutdown();
    while let Ok(Input::Net(event)) = rx.try_recv() {
        if event != Event::Status(Status::Offline) {
            printer.model.apply(event, clock::now());
        }
    }
    printer.flush();
    code
}

/// The model and how much of it is on screen.
struct Printer {
    model: Model,
    printed: usize,
    zone: Option<Zone>,
}

impl Printer {
    /// Prints the lines added since the last call.
    fn flush(&mut self) {
        let mut out = std::io::stdout().lock();
        for line in &self.model.lines()[self.printed..] {
            let _ = match self.zone {
                Some(zone) => writeln!(out, "[{}] {}", zone.time(line.time), line.plain()),
                None => writeln!(out, "{}", line.plain()),
            };
        }
        let _ = out.flush();
        self.printed = self.model.lines().len();
    }

    fn execute(&mut self, command: Command, client: &Client, cache_dir: &std::path::Path) {
        let now = clock::now();
        let result = match command {
            Command::Say(text) => self.model.compose(&text, now).map(|r| client.send(r)),
            Command::Msg { to, text } => {
                // Borrow the partner for one message, then go back.
                let before = self.model.target().map(|t| t.to_string());
                let sent = self
                    .model
                    .select(Some(&to))
                    .and_then(|_| self.model.compose(&text, now));
                let _ = self.model.select(before.as_deref());
                sent.map(|r| client.send(r))
            }
            Command::To(target) => self.model.select(target.as_deref()).map(|_| {
                let text = match self.model.target() {
                    Some(to) => format!("now chatting privately with {to}"),
                    None => "now chatting with the group".to_owned(),
                };
                self.model.notice(now, text, false);
            }),
            Command::Users => {
                client.send(Request::List);
                Ok(())
            }
            Command::SendPhoto(path) => {
                self.upload(client, Kind::Photo, path);
                Ok(())
            }
            Command::SendFile(path) => {
                self.upload(client, Kind::File, path);
                Ok(())
            }
            Command::Get(id) => match self.model.item(&id) {
                Some(item) => {
                    let dest =
                        crate::cache::item_path(cache_dir, item.id.as_str(), item.name.as_str());
                    let item = item.clone();
                    client.command(net::Command::Download { item, dest });
                    Ok(())
                }
                None => Err(format!("nothing with id {id} has been shared with you")),
            },
            Command::Help => {
                self.model.notice(now, HELP, false);
                Ok(())
            }
            Command::Quit | Command::Nothing => Ok(()),
        };
        if let Err(e) = result {
            self.model.notice(now, e, true);
        }
    }

    fn upload(&mut self, client: &Client, kind: Kind, path: PathBuf) {
        let to = self.model.target().cloned();
        client.command(net::Command::Upload { kind, path, to });
    }
}
