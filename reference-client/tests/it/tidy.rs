//! The crate's structural rules, checked on its sources (rust-analyzer's
//! tidy tests do the same): the model, the network code and the terminal
//! mode never name fltk; every file opens with a `//!` paragraph; tests never
//! sleep to synchronise.

use std::path::{Path, PathBuf};

fn sources(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn only_the_gui_names_fltk() {
    let gui = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gui");
    for path in sources("src") {
        if path.starts_with(&gui) {
            continue;
        }
        assert!(
            !read(&path).contains("fltk::"),
            "{} names fltk: only src/gui may",
            path.display()
        );
    }
}

#[test]
fn every_file_says_what_it_is_for() {
    for path in sources("src").into_iter().chain(sources("tests")) {
        assert!(
            read(&path).starts_with("//! "),
            "{} does not open with a //! paragraph",
            path.display()
        );
    }
}

#[test]
fn tests_never_sleep() {
    let sleep = ["thread::", "sleep("].concat();
    for path in sources("tests") {
        assert!(
            !read(&path).contains(&sleep),
            "{} sleeps: wait for an event with a deadline instead",
            path.display()
        );
    }
}

#[test]
fn the_model_does_no_io() {
    // Time is passed in and files are read by the network side, so the
    // model's tests can use fixed values.
    let io = ["std::fs", "std::net", "std::io", "::now()", "thread::"];
    for path in sources("src/model") {
        let text = read(&path);
        for word in io {
            assert!(
                !text.contains(word),
                "{} uses {word}: the model does no I/O",
                path.display()
            );
        }
    }
}
