//! The server under test: one that is already running (`--addr`), or one the
//! grader starts per test from a command line (`--cmd`), with fresh ports and
//! a fresh data directory each time.
//!
//! A spawned server runs in its own process group, so killing the group also
//! kills anything it started (a shell, a Python interpreter). The grader waits
//! until the chat port accepts a connection instead of sleeping, captures the
//! server's output, and turns an early exit into a sentence a student can act
//! on ("your server exited with status 1 before accepting connections: ...").

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Where the server under test is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A server that is already running.
    Addr {
        /// The chat port.
        chat: SocketAddr,
        /// The photo port.
        photo: SocketAddr,
        /// The file port.
        file: SocketAddr,
    },
    /// A command that starts a server; `{port}`, `{photo_port}`,
    /// `{file_port}` and `{data_dir}` are substituted. Run with `sh -c`.
    Cmd {
        /// The command template.
        template: String,
        /// Photo port offset from the chat port (SPEC.md: 1).
        photo_offset: u16,
        /// File port offset from the chat port (SPEC.md: 2).
        file_offset: u16,
    },
}

impl Target {
    /// True if the grader starts a fresh server for each test.
    pub fn spawns(&self) -> bool {
        matches!(self, Target::Cmd { .. })
    }

    /// How the target is written on the command line, for rerun commands.
    pub fn to_args(&self) -> String {
        match self {
            Target::Addr { chat, photo, file } => {
                let mut s = format!("--addr {chat}");
                if photo.port() != chat.port() + 1 {
                    s.push_str(&format!(" --photo-port {}", photo.port()));
                }
                if file.port() != chat.port() + 2 {
                    s.push_str(&format!(" --file-port {}", file.port()));
                }
                s
            }
            Target::Cmd { template, .. } => format!("--cmd {}", shell_quote(template)),
        }
    }
}

/// Quotes a string for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@{}".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// One captured line of the server's output.
#[derive(Debug, Clone, Serialize)]
pub struct OutputLine {
    /// Milliseconds since the server started.
    pub at_ms: u64,
    /// `stdout` or `stderr`.
    pub stream: &'static str,
    /// The line.
    pub text: String,
}

/// A server process started by the grader.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    started: Instant,
    output: Arc<Mutex<Vec<OutputLine>>>,
    readers: Vec<JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

/// Added to a start error when another program held the server's port.
const FOREIGN: &str = " (another program was already listening there)";

/// Why a spawned server could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl ServerProcess {
    /// Starts `command` with `sh -c` in a new process group and waits until
    /// `chat` accepts a connection, the process exits, or `startup` passes.
    pub fn start(command: &str, chat: SocketAddr, startup: Duration) -> Result<Self, StartError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("exec {command}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Python buffers stdout in a pipe; students' prints should show.
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| StartError(format!("could not run `{command}`: {e}")))?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(capture(out, "stdout", started, output.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(capture(err, "stderr", started, output.clone()));
        }
        let mut server = ServerProcess {
            child,
            started,
            output,
            readers,
            exit: None,
        };
        let deadline = started + startup;
        let mut pause = Duration::from_millis(2);
        let mut foreign = false;
        loop {
            if let Ok(probe) = TcpStream::connect_timeout(&chat, Duration::from_millis(200)) {
                // A connect to a port nobody listens on can "succeed" by
                // connecting to itself when the kernel picks that very port
                // as the local one (TCP simultaneous open): not the server.
                // And another program may have taken the port before the
                // server bound it: not the server either (see `owner`).
                if probe.local_addr().ok() != probe.peer_addr().ok() {
                    match crate::owner::owned_by_group(chat.port(), server.pid()) {
                        Some(false) => foreign = true,
                        _ => return Ok(server),
                    }
                }
            }
            if let Some(status) = server.exited() {
                server.kill();
                let explain = server.explain_exit(status);
                return Err(StartError(format!(
                    "the server exited before it accepted connections on {chat}{}: {explain}",
                    if foreign { FOREIGN } else { "" }
                )));
            }
            if Instant::now() >= deadline {
                server.kill();
                return Err(StartError(format!(
                    "the server did not accept connections on {chat} within {} s; it must listen on the port it is given (`{{port}}`)",
                    startup.as_secs_f32()
                )));
            }
            // Polling the port with a growing pause: the only way to learn
            // that another process has called listen().
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (by name, such as `TERM`) to the server's process group.
    pub fn signal(&self, name: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{name}"))
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Kills the whole process group and reaps the child.
    pub fn kill(&mut self) {
        if self.exited().is_none() {
            self.signal("KILL");
            let _ = self.child.kill();
        }
        if let Ok(status) = self.child.wait() {
            self.exit.get_or_insert(status);
        }
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> Vec<OutputLine> {
        self.output.lock().expect("output lock").clone()
    }

    /// Milliseconds since the server started.
    pub fn age_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// A plain-words explanation of an exit, quoting the last output lines.
    pub fn explain_exit(&self, status: ExitStatus) -> String {
        let how = describe_status(status);
        let output = self.output();
        let traceback = output
            .iter()
            .position(|l| l.text.starts_with("Traceback (most recent call last)"));
        let detail = match traceback {
            Some(start) => {
                // The exception is the last unindented line after the first
                // traceback. Two threads that crash together interleave their
                // tracebacks, so the very last line may be a frame of one.
                let last = output[start..]
                    .iter()
                    .rev()
                    .map(|l| l.text.as_str())
                    .find(|t| {
                        !t.starts_with(char::is_whitespace)
                            && !t.starts_with("Traceback (")
                            && !t.starts_with("Exception in thread")
                            && !t.starts_with("During handling")
                    })
                    .or_else(|| output.last().map(|l| l.text.as_str()))
                    .unwrap_or_default();
                format!("it raised an uncaught Python exception: {last}")
            }
            None => match output.last() {
                Some(l) => format!("its last output was: {}", l.text),
                None => "it printed nothing".to_owned(),
            },
        };
        format!("{how}; {detail}")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Describes an exit status in words.
pub fn describe_status(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                6 => "SIGABRT (an abort)",
                9 => "SIGKILL",
                11 => "SIGSEGV (a crash)",
                15 => "SIGTERM",
                _ => "a signal",
            };
            return format!("it was killed by signal {signal}, {name}");
        }
    }
    match status.code() {
        Some(0) => "it exited with status 0 (it returned from main instead of serving)".to_owned(),
        Some(code) => format!("it exited with status {code}"),
        None => "it exited".to_owned(),
    }
}

fn capture(
    pipe: impl Read + Send + 'static,
    stream: &'static str,
    started: Instant,
    output: Arc<Mutex<Vec<OutputLine>>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        while let Ok(n) = reader.read_until(b'\n', &mut line) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            let mut out = output.lock().expect("output lock");
            // Keep memory bounded for chatty servers: the tail matters most.
            if out.len() >= 2000 {
                out.drain(..1000);
            }
            out.push(OutputLine {
                at_ms: started.elapsed().as_millis() as u64,
                stream,
                text,
            });
            line.clear();
        }
    })
}

/// Finds a free chat port whose next two ports are free too, so a student
/// server that only takes `{port}` finds its side ports at SPEC.md's offsets.
pub fn free_port_triple(photo_offset: u16, file_offset: u16) -> std::io::Result<u16> {
    // The ports are free when checked but released before the server binds
    // them, so two graders in one process (parallel groups, the zoo test)
    // could be handed overlapping triples. Remember the triples handed out
    // recently and never hand out a port of one of them again.
    static RECENT: std::sync::Mutex<std::collections::VecDeque<u16>> =
        std::sync::Mutex::new(std::collections::VecDeque::new());
    let span = photo_offset.max(file_offset);
    for _ in 0..200 {
        let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = first.local_addr()?.port();
        let mut recent = RECENT.lock().unwrap_or_else(|e| e.into_inner());
        if recent.iter().any(|&r| port.abs_diff(r) <= span) {
            continue;
        }
        let others = [photo_offset, file_offset];
        let ok = others.iter().all(|&off| {
            port.checked_add(off)
                .is_some_and(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok())
        });
        if ok {
            if recent.len() >= 4096 {
                recent.pop_front();
            }
            recent.push_back(port);
            return Ok(port);
        }
    }
    Err(std::io::Error::other(
        "no three free consecutive ports found",
    ))
}

/// The server one test talks to: addresses, and the process if the grader
/// started it.
#[derive(Debug)]
pub struct Instance {
    /// The chat port.
    pub chat: SocketAddr,
    /// The photo port.
    pub photo: SocketAddr,
    /// The file port.
    pub file: SocketAddr,
    /// The process, for spawned servers.
    pub process: Option<ServerProcess>,
    /// The data directory given to a spawned server.
    pub data_dir: Option<PathBuf>,
    command: Option<String>,
    startup: Duration,
    _temp: Option<tempfile::TempDir>,
}

impl Instance {
    /// Connects to (or starts) the target for one test.
    pub fn start(target: &Target, startup: Duration) -> Result<Instance, StartError> {
        match target {
            Target::Addr { chat, photo, file } => Ok(Instance {
                chat: *chat,
                photo: *photo,
                file: *file,
                process: None,
                data_dir: None,
                command: None,
                startup,
                _temp: None,
            }),
            Target::Cmd { .. } => {
                // Another process may take a port between our check and the
                // server's bind; then the server exits with EADDRINUSE and
                // gets a fresh triple. Any other early exit is final.
                let mut tries = 0;
                loop {
                    match Self::spawn(target, startup) {
                        Err(e) if tries < 4 && e.0.to_lowercase().contains("in use") => tries += 1,
                        other => return other,
                    }
                }
            }
        }
    }

    fn spawn(target: &Target, startup: Duration) -> Result<Instance, StartError> {
        match target {
            Target::Addr { .. } => unreachable!("only spawned targets are started"),
            Target::Cmd {
                template,
                photo_offset,
                file_offset,
            } => {
                let temp = tempfile::Builder::new()
                    .prefix("chatlab-grade-")
                    .tempdir()
                    .map_err(|e| StartError(format!("could not create a data directory: {e}")))?;
                let data_dir = temp.path().to_path_buf();
                // A port that another program took before the server could
                // bind it is not the server's fault: try other ports.
                let mut attempt = 0;
                let (port, photo_port, file_port, command, process) = loop {
                    attempt += 1;
                    let port = free_port_triple(*photo_offset, *file_offset)
                        .map_err(|e| StartError(format!("could not find free ports: {e}")))?;
                    let (photo_port, file_port) = (port + photo_offset, port + file_offset);
                    let command = template
                        .replace("{port}", &port.to_string())
                        .replace("{photo_port}", &photo_port.to_string())
                        .replace("{file_port}", &file_port.to_string())
                        .replace("{data_dir}", &shell_quote(&data_dir.to_string_lossy()));
                    let chat = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                    match ServerProcess::start(&command, chat, startup) {
                        Ok(process) => break (port, photo_port, file_port, command, process),
                        Err(e) if attempt < 3 && e.0.contains(FOREIGN) => continue,
                        Err(e) => return Err(e),
                    }
                };
                let chat = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                Ok(Instance {
                    chat,
                    photo: SocketAddr::from((Ipv4Addr::LOCALHOST, photo_port)),
                    file: SocketAddr::from((Ipv4Addr::LOCALHOST, file_port)),
                    process: Some(process),
                    data_dir: Some(data_dir),
                    command: Some(command),
                    startup,
                    _temp: Some(temp),
                })
            }
        }
    }

    /// Stops the server and starts it again on the same ports with the same
    /// data directory (REG-5, HIST-4).
    ///
    /// With `graceful`, the server first gets SIGTERM and a moment to save
    /// and exit (HIST-4 speaks of a restart, not of a crash).
    pub fn restart(&mut self, graceful: bool) -> Result<(), StartError> {
        let Some(command) = self.command.clone() else {
            return Err(StartError("the grader did not start this server".into()));
        };
        if let Some(mut old) = self.process.take() {
            if graceful {
                old.signal("TERM");
                let deadline = Instant::now() + self.startup / 4;
                while old.exited().is_none() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            old.kill();
        }
        self.process = Some(ServerProcess::start(&command, self.chat, self.startup)?);
        Ok(())
    }
}

/// The command template that runs the reference server embedded in the
/// `conformance` executable at `exe` (its hidden `reference-server`
/// subcommand), with cheap password hashing so that grading stays fast.
pub fn reference_target(exe: &std::path::Path) -> Target {
    Target::Cmd {
        template: format!(
            "{} reference-server --port {{port}} --photo-port {{photo_port}} --file-port {{file_port}} --data-dir {{data_dir}} --hash-memory-kib 64 --hash-passes 1 --log warn",
            shell_quote(&exe.to_string_lossy())
        ),
        photo_offset: 1,
        file_offset: 2,
    }
}
