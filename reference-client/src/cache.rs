//! Where received and sent photos and files are kept on this machine.
//!
//! Like the seed client's `client_photo_cache/` and `client_file_cache/`, the
//! client keeps a copy of every photo and file it sends or fetches, so they can
//! be shown inline and browsed later from the menu. One directory per user,
//! by default `$XDG_CACHE_HOME/chatlab/USER` (or `~/.cache/chatlab/USER`).
//!
//! The display name of a shared item comes from another user (`1009`), so it
//! is never trusted as a path: [`file_name`] keeps it from escaping the
//! directory, the same bug SIDE-6 keeps out of servers.

use std::path::{Path, PathBuf};

/// The default cache directory for `username`.
pub fn default_dir(username: &str) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("chatlab").join(file_name("", username))
}

/// A safe file name for the item `id` called `name`: `ID-NAME`, where every
/// path separator, control character and leading dot of the name is replaced,
/// so `../../etc/passwd` shared as item `f1` becomes `f1-_._.._etc_passwd`,
/// inside the cache directory. The id (an `item-id`, SIDE-6) keeps names unique.
pub fn file_name(id: &str, name: &str) -> String {
    let mut clean: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '\0' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if clean.starts_with('.') {
        clean.replace_range(..1, "_");
    }
    if clean.is_empty() {
        clean.push('_');
    }
    if id.is_empty() {
        clean
    } else {
        format!("{id}-{clean}")
    }
}

/// The path of item `id` called `name` in `dir`.
pub fn item_path(dir: &Path, id: &str, name: &str) -> PathBuf {
    dir.join(file_name(id, name))
}

/// The files in `dir`, sorted by name; empty if the directory does not exist yet.
pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_directory() {
        assert_eq!(file_name("p7", "猫.png"), "p7-猫.png");
        assert_eq!(file_name("f1", "../../etc/passwd"), "f1-_._.._etc_passwd");
        assert_eq!(file_name("f2", ".bashrc"), "f2-_bashrc");
        assert_eq!(file_name("f3", "a\nb\\c"), "f3-a_b_c");
        assert_eq!(file_name("", ".."), "_.");
        let dir = Path::new("/cache");
        assert_eq!(item_path(dir, "f1", "../x").parent(), Some(dir));
    }

    #[test]
    fn lists_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b"), b"2").unwrap();
        std::fs::write(dir.path().join("a"), b"1").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let names: Vec<_> = list(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert!(list(&dir.path().join("missing")).is_empty());
    }
}
