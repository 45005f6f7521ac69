//! A private X server for one test: Xvfb on a display it picks itself.
//!
//! Tests never use fixed display numbers and never sleep: Xvfb's `-displayfd`
//! chooses a free display and writes its number to a file descriptor once the
//! server accepts connections, so reading that line is the readiness signal.
//! The guard kills the server when dropped, also when the test panics.

use std::{
    io::{BufRead, BufReader, PipeReader},
    process::{Child, Command, Stdio},
};

/// A running Xvfb; killed and reaped on drop.
pub struct Xvfb {
    child: Child,
    display: String,
    /// Xvfb's stdout, kept open so a late write cannot kill it with SIGPIPE.
    _stdout: BufReader<PipeReader>,
}

impl Xvfb {
    /// Starts Xvfb with one 24-bit screen and waits until it is ready.
    pub fn start() -> Xvfb {
        // `-displayfd 1`: Xvfb reports the display number on its stdout, which
        // is our pipe (its log goes to stderr). std's pipe is close-on-exec, so
        // handing it over as stdout is the way to give Xvfb a descriptor.
        let (reader, writer) = std::io::pipe().expect("cannot create a pipe for Xvfb");
        let child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "800x600x24",
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start Xvfb (run `bash .ci/setup`)");
        let mut guard = Xvfb {
            child,
            display: String::new(),
            _stdout: BufReader::new(reader),
        };

        // The write end now lives only in the child: if Xvfb dies before it is
        // ready, this read sees end of file instead of hanging.
        let mut line = String::new();
        guard
            ._stdout
            .read_line(&mut line)
            .expect("cannot read Xvfb's display number");
        let number = line.trim();
        assert!(
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb exited or printed no display number: {line:?}"
        );
        guard.display = format!(":{number}");
        guard
    }

    /// The value for `DISPLAY`, such as `:1`.
    pub fn display(&self) -> &str {
        &self.display
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // Kill fails only if the child has already been reaped; nothing to do.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
