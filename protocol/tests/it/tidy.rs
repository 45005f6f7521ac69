//! Tidy checks over the source tree: the invariants of ARCHITECTURE.md that a
//! compiler cannot see (rust-analyzer keeps the same kind of test).

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, skipping build output and VCS metadata.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !(name.starts_with('.') || name.starts_with("target") || name == "snapshots") {
                out.extend(rust_files(&path));
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    out
}

/// The protocol crate has no sockets, threads, clock, files or logging: it
/// only turns bytes into frames and back (ARCHITECTURE.md, "sans-I/O").
#[test]
fn protocol_does_no_io() {
    const FORBIDDEN: &[&str] = &[
        "std::net",
        "std::thread",
        "std::time",
        "std::fs",
        "std::io",
        "std::process",
        "std::env",
        "SystemTime",
        "Instant",
        "println!",
        "eprintln!",
        "print!",
        "log::",
        "socket2",
    ];
    let src = crate::repo_root().join("protocol/src");
    let files = rust_files(&src);
    assert!(files.len() >= 5, "found the protocol sources");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for word in FORBIDDEN {
            assert!(
                !text.contains(word),
                "{} mentions {word}: the protocol crate must stay free of I/O",
                file.display()
            );
        }
    }
}

/// Every Rust file opens with a `//!` paragraph saying what it is for
/// (STYLE.md practice 7).
#[test]
fn every_rust_file_opens_with_a_module_comment() {
    let root = crate::repo_root();
    let mut missing = Vec::new();
    for file in rust_files(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        // The master source of the labs' Rust solutions may open with a
        // `//@ since N` line, which build_rust.py removes from what it writes.
        let text = text
            .trim_start()
            .strip_prefix("//@ since ")
            .map_or(text.as_str(), |rest| {
                rest.split_once('\n').map_or("", |(_, tail)| tail)
            });
        if !text.trim_start().starts_with("//!") {
            missing.push(file.strip_prefix(&root).unwrap().display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "these files do not open with a //! paragraph: {missing:?}"
    );
}
