//! Integration tests of the grader, in one binary (STYLE.md practice 10).
//!
//! - `coverage`: every SPEC.md rule is checked by a catalogue test.
//! - `check`: frame patterns and carets.
//! - `cli`: exit codes, formats and plain-words errors of the binary.
//! - `reference`: the whole suite passes against the reference server, three
//!   times in a row, with no flake.
//! - `zoo`: every broken server in `fixtures/servers/` gets the verdict in its
//!   insta snapshot.
//!
//! Servers are started on free ports (`{port}`); nothing sleeps to wait.

mod check;
mod cli;
mod coverage;
mod reference;
mod zoo;

use std::path::PathBuf;

use conformance::Target;
use conformance::runner::{Results, Status};

/// Tests that start many servers take this lock, so they do not compete for
/// the machine's two cores and turn a slow answer into a false failure.
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `conformance` binary cargo built for these tests.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_conformance"))
}

/// The reference server, run by the `conformance` binary itself.
pub fn reference() -> Target {
    conformance::target::reference_target(&exe())
}

/// The path of a zoo server.
pub fn zoo_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/servers")
        .join(file)
}

/// The Python interpreter itself, found once: `python3` is often a pyenv or
/// asdf shim, a shell script that costs a good part of a second per start,
/// and the zoo starts hundreds of servers.
fn python() -> &'static str {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && !s.contains(' '))
            .unwrap_or_else(|| "python3".into())
    })
}

/// A zoo server as a `--cmd` target.
pub fn zoo(file: &str) -> Target {
    Target::Cmd {
        template: format!(
            "{} {} {{port}} {{data_dir}}",
            python(),
            zoo_path(file).display()
        ),
        photo_offset: 1,
        file_offset: 2,
    }
}

/// A stable, timing-free summary of a verdict: one line per test, with the
/// failed rule and the one-line reason, numbers of milliseconds and ports
/// replaced so the snapshot does not depend on the machine.
pub fn summary(results: &Results) -> String {
    let mut out = String::new();
    for t in &results.tests {
        let line = match t.status {
            Status::Pass => format!("{}: pass", t.slug),
            Status::Skip => format!(
                "{}: skip ({})",
                t.slug,
                t.skip_reason.clone().unwrap_or_default()
            ),
            // A delivery variant's symptom depends on how the kernel split the
            // bytes, for a server without framing: only its verdict is stable.
            Status::Fail if t.slug.contains('@') => {
                format!("{}: FAIL (symptom depends on timing)", t.slug)
            }
            Status::Fail => {
                let f = t.failure.as_ref().expect("a failure has a report");
                // Numbers in reasons (which message of 30, how many ms) can
                // depend on timing for servers without framing: hide them.
                let reason: String = f
                    .reason
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect();
                // And what a Python UnicodeDecodeError says of the bytes
                // (`byte 0xfe … invalid start byte`, `bytes in position 3-4:
                // invalid continuation byte`): which garbage kills a server
                // first is up to the scheduler.
                let reason = hide_decode_detail(&reason);
                format!("{}: FAIL {} {reason}", t.slug, f.rule)
            }
        };
        out.push_str(&stable(&line));
        out.push('\n');
    }
    out
}

/// Replaces `NNN ms` and `127.0.0.1:PORT` with placeholders.
fn stable(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, from) = rest.split_at(i);
        let digits = from
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(from.len());
        let after = &from[digits..];
        out.push_str(before);
        if after.starts_with(" ms") || before.ends_with("127.0.0.1:") {
            out.push('N');
        } else {
            out.push_str(&from[..digits]);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Cuts what follows `codec can't decode` in a Python traceback's line, up
/// to the end of that sentence's line, leaving the exception's name.
fn hide_decode_detail(reason: &str) -> String {
    const MARK: &str = "codec can't decode";
    match reason.find(MARK) {
        Some(i) => {
            let rest = &reason[i + MARK.len()..];
            let end = rest.find('\n').unwrap_or(rest.len());
            format!("{} …{}", &reason[..i + MARK.len()], &rest[end..])
        }
        None => reason.to_string(),
    }
}
