//! The `reference-server` binary: its command line, its ready line, its
//! errors, a real `kill -9`, and Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;

use crate::harness::Client;

/// The binary with cheap password hashes, logging only warnings.
fn server_cmd() -> Command {
    let mut cmd = Command::new(cargo_bin("reference-server"));
    cmd.args(["--hash-memory-kib", "64", "--log", "warn"]);
    cmd
}

/// Starts the binary on free ports and reads its ready line.
fn start(dir: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = server_cmd()
        .args(["--port", "0", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let rest = line
        .trim_end()
        .strip_prefix("chatlab reference server listening on chat=")
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
    let chat: SocketAddr = rest.split(' ').next().unwrap().parse().unwrap();
    assert!(
        rest.contains(" photo=127.0.0.1:") && rest.contains(" file=127.0.0.1:"),
        "{line}"
    );
    (child, chat)
}

/// Waits for the process to exit, without sleeping, within a deadline.
fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit within {within:?}"
        );
        std::thread::yield_now();
    }
}

/// Runs the binary to completion; returns its exit code and stderr.
fn fails(args: &[&str], dir: &std::path::Path) -> (i32, String) {
    let out = server_cmd()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_one_clear_error(code: i32, stderr: &str, needle: &str) {
    assert_ne!(code, 0);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<_> = stderr
        .lines()
        .filter(|l| l.starts_with("reference-server: "))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(needle), "{stderr}");
}

#[test]
fn help_documents_every_flag() {
    let out = server_cmd().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--host",
        "--port",
        "--photo-port",
        "--file-port",
        "--data-dir",
        "--max-clients",
        "--max-per-ip",
        "--queue-frames",
        "--max-photo",
        "--max-file",
        "--history",
        "--log",
        "--max-frame",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn ready_line_then_kill_9_keeps_acknowledged_accounts_and_ctrl_c_exits_0() {
    // REG-5 with a real SIGKILL; HIST-4; LOAD-7 through SIGINT.
    let dir = tempfile::tempdir().unwrap();
    let (mut child, chat) = start(dir.path());
    let mut c = Client::connect(chat);
    c.send("0003|killed|pw-killed|K");
    assert_eq!(c.recv(), "1003|1|K|killed");
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, chat) = start(dir.path());
    let mut c = Client::connect(chat);
    c.login("killed", "pw-killed");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    assert!(
        c.until_closed()
            .last()
            .unwrap()
            .starts_with("1900|SHUTDOWN|")
    );
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_busy_port_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (code, stderr) = fails(&["--port", &port], dir.path());
    assert_one_clear_error(code, &stderr, "cannot listen on");
}

#[test]
fn an_unusable_data_dir_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let (code, stderr) = fails(&["--port", "0"], &file.join("data"));
    assert_one_clear_error(code, &stderr, "cannot create the data directory");
}

#[test]
fn a_corrupt_accounts_file_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts.jsonl"), "{\"username\": 42}\n").unwrap();
    let (code, stderr) = fails(&["--port", "0"], dir.path());
    assert_one_clear_error(code, &stderr, "corrupt at line 1");
}
