//! The server side of a run: the reference server started as a child
//! process, and the registration of the bench accounts (not timed).

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use protocol::{FrameBuffer, Request, Response, parse_response};

use crate::run;

/// The reference server as a child process, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    /// Removed when the server is gone.
    _data_dir: tempfile::TempDir,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the reference server (this executable's hidden `serve`) on free
/// ports with a fresh data directory, room for `clients` connections, and
/// `extra` arguments; returns it and its chat address.
pub fn spawn(clients: usize, extra: Option<&str>) -> anyhow::Result<(ServerProcess, SocketAddr)> {
    let dir = tempfile::tempdir()?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["serve", "--port", "0", "--log", "warn"])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--max-clients", &(clients + 64).to_string()])
        .args(["--max-per-ip", &(clients + 64).to_string()]);
    if let Some(extra) = extra {
        cmd.args(extra.split_whitespace());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the server")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("chat="))
        .with_context(|| format!("unexpected ready line {line:?}"))?
        .parse()?;
    Ok((
        ServerProcess {
            child,
            _data_dir: dir,
        },
        addr,
    ))
}

/// Registers the bench accounts, eight connections in parallel; an account
/// that already exists from an earlier run is fine.
pub fn register(addr: SocketAddr, clients: usize) -> anyhow::Result<()> {
    let workers = 8.min(clients);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| scope.spawn(move || register_some(addr, (w..clients).step_by(workers))))
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().expect("register thread"))
    })
}

fn register_some(addr: SocketAddr, ids: impl Iterator<Item = usize>) -> anyhow::Result<()> {
    let mut stream =
        TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = Vec::new();
    let mut count = 0;
    for i in ids {
        Request::Register {
            username: run::username(i),
            password: run::password(i),
            nickname: run::nickname(i),
        }
        .encode(&mut out);
        count += 1;
    }
    stream.write_all(&out)?;
    let mut frames = FrameBuffer::new(1 << 16);
    let mut buf = vec![0u8; 16 * 1024];
    while count > 0 {
        while let Some(line) = frames.next_line() {
            match parse_response(line?) {
                Ok(Response::RegisterResult(protocol::AuthResult::Ok { .. })) => count -= 1,
                Ok(Response::RegisterResult(protocol::AuthResult::Failed { reason, username })) => {
                    if reason != protocol::FailReason::Code(protocol::Reason::NameTaken) {
                        bail!("cannot register {username}: {reason:?}");
                    }
                    count -= 1;
                }
                other => bail!("unexpected answer to a registration: {other:?}"),
            }
        }
        if count == 0 {
            break;
        }
        let n = std::io::Read::read(&mut stream, &mut buf)?;
        if n == 0 {
            bail!("the server closed the connection during registration");
        }
        frames.push(&buf[..n]);
    }
    Ok(())
}
