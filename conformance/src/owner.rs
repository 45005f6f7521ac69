//! Whose listener is it? After a spawned server's port accepts a probe, the
//! grader checks on Linux that the listening socket belongs to the server's
//! own process group.
//!
//! A free port is found by binding and releasing it, and a Python server
//! takes a few hundred milliseconds to bind it in turn. In that window any
//! other program on the machine that binds port 0 (another grader, another
//! crate's tests) can be handed the same port, and then the probe connects to
//! *that* program: a broken server would be graded by someone else's correct
//! one. This is how `frame-sticky` once passed on `fixtures/servers/seed002.py`,
//! whose one-`recv`-one-message design cannot pass it: the bytes on loopback
//! were fine, the server on the other end was not seed002.

use std::fs;

/// `Some(true)` if a process in process group `pgid` owns the socket that
/// listens on 127.0.0.1:`port` (or on every address), `Some(false)` if
/// another process does, `None` if this cannot be told (not Linux, no
/// `/proc`, no listener found, or the group's processes cannot be read, as
/// when `classroom` runs a server as a user of its own).
pub fn owned_by_group(port: u16, pgid: u32) -> Option<bool> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if process_group(pid) != Some(pgid) {
            continue;
        }
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            return None;
        };
        for fd in fds.flatten() {
            if let Ok(link) = fs::read_link(fd.path())
                && wanted.iter().any(|w| link.as_os_str() == w.as_str())
            {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// `Some(true)` if some socket listens on `port` (from `/proc/net/tcp{,6}`),
/// `Some(false)` if none does, `None` where `/proc` cannot tell (not Linux).
pub fn is_listening(port: u16) -> Option<bool> {
    if !std::path::Path::new("/proc/net/tcp").exists() {
        return None;
    }
    Some(!listening_inodes(port).is_empty())
}

/// The inodes of sockets in state LISTEN on `port`, from `/proc/net/tcp{,6}`.
fn listening_inodes(port: u16) -> Vec<String> {
    let suffix = format!(":{port:04X}");
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address is column 1, st column 3 (0A is LISTEN), inode column 9.
            if cols.len() > 9 && cols[1].ends_with(&suffix) && cols[3] == "0A" {
                out.push(cols[9].to_owned());
            }
        }
    }
    out
}

/// The process group of `pid`, from `/proc/PID/stat` (the field after the
/// state, which comes after the parenthesised command name).
fn process_group(pid: &str) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_belongs_to_the_group_that_opened_it() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let Some(ours) = process_group("self") else {
            return; // no /proc: nothing to check on this system
        };
        assert_eq!(owned_by_group(port, ours), Some(true));
        // No process is in that group, so the listener is someone else's.
        assert_eq!(owned_by_group(port, ours + 1_000_000), Some(false));
        drop(listener);
        assert_eq!(owned_by_group(port, ours), None, "no listener any more");
    }
}
