//! The limits of a submission, what this machine can enforce, and the
//! record of what held.
//!
//! The batch grader probes once per batch which tools work here (`prlimit`,
//! `setpriv` as root, `unshare --net` with or without a user namespace) and
//! writes the resulting [`Enforced`] into every result: an instructor reading
//! a grade can see whether, say, the process limit or the private network
//! applied on the machine that produced it (classroom/README.md, "Limits").

use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// The limits for one submission. CPU, memory, processes, output and file
/// size apply to each start of the student's server; wall time applies to
/// the whole grading of the submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Seconds of wall-clock time for the whole submission (setup included).
    pub wall_time_secs: u64,
    /// Seconds of CPU time for each process of the student (RLIMIT_CPU).
    pub cpu_secs: u64,
    /// Megabytes of written memory per process (RLIMIT_DATA).
    pub memory_mb: u64,
    /// Processes and threads of the student's user (RLIMIT_NPROC).
    pub max_procs: u32,
    /// Kilobytes of stdout plus stderr for each start of the server.
    pub max_output_kb: u64,
    /// Megabytes in any one file the server writes (RLIMIT_FSIZE).
    pub max_file_mb: u64,
    /// Open file descriptors per process (RLIMIT_NOFILE).
    pub max_open_files: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_time_secs: 300,
            cpu_secs: 60,
            // Threads' stacks count as written memory and threads count as
            // processes: Level 6 opens up to 200 connections, and a server
            // with two threads per connection must pass.
            memory_mb: 2048,
            max_procs: 1024,
            max_output_kb: 1024,
            // SPEC.md's MAX_FILE is 8 MiB; a server keeps several.
            max_file_mb: 64,
            max_open_files: 1024,
        }
    }
}

/// Which limits actually held for a submission, recorded in its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enforced {
    /// CPU time, by RLIMIT_CPU.
    pub cpu: bool,
    /// Written memory, by RLIMIT_DATA.
    pub memory: bool,
    /// Processes, by RLIMIT_NPROC on a user of the submission's own.
    pub procs: bool,
    /// Output size, by `classroom sandbox` (always).
    pub output: bool,
    /// File size, by RLIMIT_FSIZE.
    pub files: bool,
    /// Wall time, by killing the grader's process group (always).
    pub wall_time: bool,
    /// Only loopback, by a network namespace of the submission's own.
    pub network: bool,
    /// A user of its own: cannot signal or read the grader or other students.
    pub separate_user: bool,
}

/// What this machine lets the batch grader do, probed once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// `prlimit` runs.
    pub prlimit: bool,
    /// The grader is root and `setpriv` runs: students get users of their own.
    pub setpriv: bool,
    /// The `unshare` flags that make a network namespace with loopback up:
    /// `--net` as root, `--net --map-root-user` for other users where user
    /// namespaces are allowed; `None` if neither works.
    pub netns: Option<Vec<String>>,
}

impl Capabilities {
    /// Probes the machine: runs each tool once.
    pub fn probe() -> Capabilities {
        let ok = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let root = is_root();
        Capabilities {
            prlimit: ok("prlimit", &["--cpu=10", "--", "true"]),
            setpriv: root
                && ok(
                    "setpriv",
                    &[
                        "--reuid=65534",
                        "--regid=65534",
                        "--clear-groups",
                        "--",
                        "true",
                    ],
                ),
            netns: [&["--net"][..], &["--net", "--map-root-user"][..]]
                .into_iter()
                .find(|flags| {
                    let mut args = flags.to_vec();
                    args.extend(["--", "sh", "-c", NETNS_LOOPBACK_UP]);
                    ok("unshare", &args)
                })
                .map(|flags| flags.iter().map(|f| (*f).to_owned()).collect()),
        }
    }

    /// Nothing at all: for tests and for `--no-sandbox`.
    pub fn none() -> Capabilities {
        Capabilities {
            prlimit: false,
            setpriv: false,
            netns: None,
        }
    }

    /// What these capabilities enforce.
    pub fn enforced(&self) -> Enforced {
        Enforced {
            cpu: self.prlimit,
            memory: self.prlimit,
            // RLIMIT_NPROC counts every process of the real user: it is only
            // a per-submission limit when each submission has its own user.
            procs: self.prlimit && self.setpriv,
            output: true,
            files: self.prlimit,
            wall_time: true,
            network: self.netns.is_some(),
            separate_user: self.setpriv,
        }
    }
}

/// The shell line run inside a fresh network namespace, where loopback
/// starts down.
pub const NETNS_LOOPBACK_UP: &str = "ip link set lo up";

/// True if this process runs as root (read from /proc, no `unsafe` needed).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enforced_follows_capabilities() {
        let e = Capabilities::none().enforced();
        assert!(e.output && e.wall_time && !e.cpu && !e.procs && !e.network);
        let e = Capabilities {
            prlimit: true,
            setpriv: false,
            netns: Some(vec!["--net".into()]),
        }
        .enforced();
        assert!(e.cpu && e.memory && !e.procs && e.network);
    }
}
