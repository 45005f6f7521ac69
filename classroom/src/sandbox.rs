//! The sandbox a student's program runs in: resource limits, a user of its
//! own, a cap on its output, and a final sweep of whatever it left behind.
//!
//! Nothing here needs `unsafe`: the limits are applied by util-linux's
//! `prlimit`, the user is changed by `setpriv`, the network namespace is made
//! by `unshare`, and stray processes are swept with `kill`. What the machine
//! allows is probed once per batch (`limits::Capabilities::probe`) and
//! recorded in every result, so an instructor knows what held.
//!
//! The conformance grader starts the student's server many times (a fresh one
//! per test). It does so through `classroom sandbox`, a hidden subcommand
//! that reads a [`SandboxSpec`], starts `classroom cap-output` on a pipe, and
//! then becomes (`exec`) the `prlimit … setpriv … sh -c` chain, whose output
//! goes into that pipe. The cap forwards the output, and when the server
//! prints more than the limit it says so in a last line, which the grader
//! quotes to the student, and stops the server.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::limits::Limits;

/// Everything `classroom sandbox` needs to start one student process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxSpec {
    /// The student's command, with the grader's placeholders.
    pub command: String,
    /// The student's copy of the submission: the working directory and HOME.
    pub workdir: PathBuf,
    /// The user (and group) to run as, if the grader can switch users.
    pub uid: Option<u32>,
    /// Apply the limits with `prlimit`.
    pub prlimit: bool,
    /// The limits.
    pub limits: Limits,
}

/// The ports and data directory of one start, substituted into the command.
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    /// `{port}`.
    pub port: String,
    /// `{photo_port}`.
    pub photo_port: String,
    /// `{file_port}`.
    pub file_port: String,
    /// `{data_dir}`.
    pub data_dir: Option<PathBuf>,
}

/// PATH for a student running as a user of its own: system directories
/// only, so that tools installed in root's home (pyenv shims, rustup), which
/// that user cannot read, are not tried. Without a user switch the student
/// keeps the grader's PATH.
pub const STUDENT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// RLIMIT_STACK for the student, hence the size of each thread's stack.
pub const STACK_BYTES: u64 = 2 * 1024 * 1024;

impl SandboxSpec {
    /// The student's command with the placeholders filled in.
    pub fn substituted(&self, p: &Placeholders) -> String {
        let data_dir = p
            .data_dir
            .as_ref()
            .map(|d| shell_quote(&d.to_string_lossy()))
            .unwrap_or_default();
        self.command
            .replace("{port}", &p.port)
            .replace("{photo_port}", &p.photo_port)
            .replace("{file_port}", &p.file_port)
            .replace("{data_dir}", &data_dir)
    }

    /// The program and arguments that run `command` under the limits.
    pub fn chain(&self, command: &str) -> Vec<String> {
        let l = &self.limits;
        let mut argv: Vec<String> = Vec::new();
        if self.prlimit {
            argv.extend([
                "prlimit".to_owned(),
                // The soft limit sends SIGXCPU (signal 24 in the report); the
                // kernel's SIGKILL at the hard limit is the backstop.
                format!("--cpu={}:{}", l.cpu_secs, l.cpu_secs + 1),
                format!("--data={}", l.memory_mb * 1024 * 1024),
                format!("--fsize={}", l.max_file_mb * 1024 * 1024),
                format!("--nofile={}", l.max_open_files),
                // A thread's stack defaults to RLIMIT_STACK (8 MB), and every
                // stack counts against RLIMIT_DATA: 2 MB keeps 200 threads
                // inside the memory limit.
                format!("--stack={}", STACK_BYTES),
                "--core=0".to_owned(),
            ]);
            if self.uid.is_some() {
                argv.push(format!("--nproc={}", l.max_procs));
            }
            argv.push("--".to_owned());
        }
        if let Some(uid) = self.uid {
            argv.extend([
                "setpriv".to_owned(),
                format!("--reuid={uid}"),
                format!("--regid={uid}"),
                "--clear-groups".to_owned(),
                // No setuid program (su, sudo) can give root back.
                "--no-new-privs".to_owned(),
                "--".to_owned(),
            ]);
        }
        argv.extend(["sh".to_owned(), "-c".to_owned(), exec_if_simple(command)]);
        argv
    }
}

/// Prefixes `exec` to a simple command (no shell operators), so the student's
/// program replaces the shell: its exit status and signals are its own
/// rather than the shell's report of them.
pub fn exec_if_simple(command: &str) -> String {
    let simple = !command.contains([';', '&', '|', '<', '>', '(', ')', '`', '\n'])
        && !command.trim_start().starts_with("exec ");
    if simple {
        format!("exec {command}")
    } else {
        command.to_owned()
    }
}

/// Quotes a string for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `classroom sandbox`: becomes the student's command under the spec's
/// limits, its output going through a `classroom cap-output` process.
///
/// The student's program replaces this process (`exec`) instead of running
/// as its child: the grader waits for the process it started before it
/// starts the next server on the same port, and a grandchild could still be
/// listening there for a moment after the grader's kill. So the output cap is
/// a second, small process that reads one pipe (stdout and stderr merged, in
/// order) and stops the whole process group when the budget is spent.
/// Returns only if the command could not be started.
pub fn run(spec: &SandboxSpec, p: &Placeholders) -> anyhow::Result<std::convert::Infallible> {
    use std::os::unix::process::CommandExt;
    let command = spec.substituted(p);
    if let (Some(uid), Some(dir)) = (spec.uid, &p.data_dir) {
        // The grader made the data directory as root; the student's user
        // must be able to write its files there.
        std::os::unix::fs::chown(dir, Some(uid), Some(uid))
            .with_context(|| format!("cannot give {} to uid {uid}", dir.display()))?;
    }
    let (reader, writer) = std::io::pipe().context("cannot make a pipe")?;
    let me = std::process::id();
    let exe = std::env::current_exe().context("cannot find this executable")?;
    // The cap is in this process group, so the grader's kill ends it too.
    Command::new(exe)
        .args(["cap-output", "--bytes"])
        .arg((spec.limits.max_output_kb * 1024).to_string())
        .arg("--pid")
        .arg(me.to_string())
        .stdin(reader)
        .spawn()
        .context("cannot start the output cap")?;
    let argv = spec.chain(&command);
    let path = match spec.uid {
        Some(_) => STUDENT_PATH.to_owned(),
        None => std::env::var("PATH").unwrap_or_else(|_| STUDENT_PATH.to_owned()),
    };
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(&spec.workdir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &spec.workdir)
        .env("LANG", "C.UTF-8")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("CHATLAB_PORT", &p.port)
        .env("CHATLAB_PHOTO_PORT", &p.photo_port)
        .env("CHATLAB_FILE_PORT", &p.file_port)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().context("cannot clone the pipe")?)
        .stderr(writer);
    if let Some(dir) = &p.data_dir {
        cmd.env("CHATLAB_DATA_DIR", dir).env("TMPDIR", dir);
    }
    let err = cmd.exec();
    Err(err).with_context(|| format!("cannot start {}", argv[0]))
}

/// `classroom cap-output`: copies standard input to standard output until
/// `limit` bytes have passed, then prints a note (on stdout and stderr, so
/// it is the last line the grader captures whichever stream it reads last)
/// and kills process `pid` and its process group.
///
/// Only whole lines are forwarded at the limit. After the kill it keeps
/// reading and discarding, so that a writer never blocks on a full pipe.
pub fn cap_output(limit: u64, pid: u32) -> anyhow::Result<()> {
    let mut input = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    let mut buf = [0u8; 8192];
    let mut used = 0u64;
    let mut over = false;
    // Whether the last byte forwarded ended a line: the note must start one.
    let mut at_line_start = true;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if over {
            continue;
        }
        if used + n as u64 <= limit {
            used += n as u64;
            // A closed stdout (the grader is gone) is not an error here.
            let _ = out.write_all(&buf[..n]).and_then(|()| out.flush());
            at_line_start = buf[n - 1] == b'\n';
            continue;
        }
        let room = limit.saturating_sub(used) as usize;
        let whole = buf[..room]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        over = true;
        let note = format!(
            "classroom: the server printed more than {} KB (the output limit) and was stopped\n",
            limit / 1024
        );
        let _ = out.write_all(&buf[..whole]);
        if whole == 0 && !at_line_start {
            let _ = out.write_all(b"\n");
        }
        let _ = out.write_all(note.as_bytes());
        let _ = out.flush();
        let _ = std::io::stderr().write_all(note.as_bytes());
        for target in [pid.to_string(), format!("-{pid}")] {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &target])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Kills every process of `uid` (a user the batch made for one submission),
/// including those that left the grader's process group with `setsid`.
///
/// `kill -KILL -1` run as that user signals exactly the processes it owns.
/// It runs until nothing is left, since a process may fork while it runs;
/// the caller reports whatever is still alive after 10 s.
pub fn sweep_uid(uid: u32) {
    let as_user = |args: &[&str]| {
        Command::new("setpriv")
            .args([
                &format!("--reuid={uid}"),
                &format!("--regid={uid}"),
                "--clear-groups",
                "--",
                "kill",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    // A killed process takes a moment to exit (longer on a loaded machine,
    // with many of them): sweep until /proc shows none alive, or 10 s pass.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        as_user(&["-KILL", "-1"]);
        if processes_of(uid).is_empty() || std::time::Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(200));
    }
}

/// The live processes of `uid`, read from /proc, as `pid name (state)`.
/// Zombies are left out: they are dead, and only wait for a parent to reap them.
pub fn processes_of(uid: u32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let uid = uid.to_string();
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
                    .unwrap_or("")
                    .to_owned()
            };
            let owned = field("Uid:").split_whitespace().next() == Some(uid.as_str());
            let state = field("State:");
            (owned && !state.starts_with('Z') && !state.starts_with('X'))
                .then(|| format!("{pid} {} ({state})", field("Name:")))
        })
        .collect()
}

/// Reads a spec written by the batch grader.
pub fn load_spec(path: &Path) -> anyhow::Result<SandboxSpec> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the sandbox spec {}", path.display()))?;
    serde_json::from_str(&text).context("the sandbox spec is not valid JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(uid: Option<u32>, prlimit: bool) -> SandboxSpec {
        SandboxSpec {
            command: "python3 server.py {port} {data_dir}".into(),
            workdir: "/tmp/x".into(),
            uid,
            prlimit,
            limits: Limits::default(),
        }
    }

    #[test]
    fn placeholders_are_substituted_and_quoted() {
        let p = Placeholders {
            port: "4000".into(),
            photo_port: "4001".into(),
            file_port: "4002".into(),
            data_dir: Some("/tmp/a b".into()),
        };
        assert_eq!(
            spec(None, false).substituted(&p),
            "python3 server.py 4000 '/tmp/a b'"
        );
    }

    #[test]
    fn chain_applies_what_the_machine_allows() {
        assert_eq!(spec(None, false).chain("x"), ["sh", "-c", "exec x"]);
        assert_eq!(spec(None, false).chain("cd a && x")[2], "cd a && x");
        let chain = spec(Some(1234), true).chain("x").join(" ");
        assert_eq!(
            chain,
            "prlimit --cpu=60:61 --data=2147483648 --fsize=67108864 --nofile=1024 --stack=2097152 --core=0 --nproc=1024 -- \
             setpriv --reuid=1234 --regid=1234 --clear-groups --no-new-privs -- sh -c exec x"
        );
        // Without a user of its own, RLIMIT_NPROC would count the grader's
        // processes too: it is left out.
        assert!(!spec(None, true).chain("x").join(" ").contains("nproc"));
    }
}
