//! A submission on disk: its content hash, and the private copy the student's
//! program runs in.
//!
//! The student's program never runs in the instructor's folder: each grading
//! copies the submission into a fresh temporary directory that the student's
//! user owns, so a server that deletes or rewrites its files cannot change the
//! next re-grade, and parallel submissions cannot see each other. Symbolic
//! links are not followed (a link to `/etc/shadow` would otherwise be copied
//! by root into a folder the student can read); they are left out and noted.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

/// Files and folders that are never part of a submission's identity or copy.
pub const IGNORED: [&str; 3] = [".git", "__pycache__", ".DS_Store"];

/// The largest submission copied, in bytes: a class is sources, not data.
pub const MAX_SUBMISSION_BYTES: u64 = 64 * 1024 * 1024;

/// The files of a submission, relative paths in sorted order, symlinks left out.
pub fn files(root: &Path) -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut links = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let entry = entry?;
            let name = entry.file_name();
            if IGNORED.iter().any(|i| name == *i) {
                continue;
            }
            let kind = entry.file_type()?;
            let path = rel.join(&name);
            if kind.is_symlink() {
                links.push(path);
            } else if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    links.sort();
    Ok((files, links))
}

/// SHA-256 over every file's relative path, size and contents, in path order:
/// the same files give the same hash on any machine.
pub fn content_hash(root: &Path) -> anyhow::Result<String> {
    let (files, _) = files(root)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    for rel in files {
        let mut f = std::fs::File::open(root.join(&rel))?;
        let len = f.metadata()?.len();
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(len.to_le_bytes());
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of one file.
pub fn file_hash(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies the submission into `to` (which must not exist), giving every file
/// and folder to `owner` if set. Returns the symlinks that were left out.
pub fn copy(from: &Path, to: &Path, owner: Option<u32>) -> anyhow::Result<Vec<PathBuf>> {
    use std::os::unix::fs::PermissionsExt;
    let (files, links) = files(from)?;
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(from.join(f)).ok())
        .map(|m| m.len())
        .sum();
    if total > MAX_SUBMISSION_BYTES {
        anyhow::bail!(
            "the submission holds {} MB, more than the {} MB a submission may hold",
            total / (1024 * 1024),
            MAX_SUBMISSION_BYTES / (1024 * 1024)
        );
    }
    std::fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
    let give = |path: &Path| -> anyhow::Result<()> {
        if let Some(uid) = owner {
            std::os::unix::fs::chown(path, Some(uid), Some(uid))
                .with_context(|| format!("cannot give {} to uid {uid}", path.display()))?;
        }
        Ok(())
    };
    give(to)?;
    if owner.is_some() {
        // Only the submission's own user may enter its copy: students run
        // side by side and must not read each other's code.
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))?;
    }
    for rel in &files {
        let dest = to.join(rel);
        if let Some(parent) = dest.parent()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent)?;
            let mut p = parent;
            while p != to {
                give(p)?;
                p = p.parent().unwrap_or(to);
            }
        }
        std::fs::copy(from.join(rel), &dest)
            .with_context(|| format!("cannot copy {}", rel.display()))?;
        // Keep the executable bit (a prebuilt `./server`), drop the rest.
        let mode = std::fs::metadata(&dest)?.permissions().mode();
        let exec = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(exec))?;
        give(&dest)?;
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_content_not_on_ignored_files() {
        let a = tempfile::tempdir().unwrap();
        std::fs::write(a.path().join("server.py"), "print(1)").unwrap();
        let h1 = content_hash(a.path()).unwrap();
        std::fs::create_dir(a.path().join("__pycache__")).unwrap();
        std::fs::write(a.path().join("__pycache__/x.pyc"), "junk").unwrap();
        assert_eq!(content_hash(a.path()).unwrap(), h1);
        std::fs::write(a.path().join("server.py"), "print(2)").unwrap();
        assert_ne!(content_hash(a.path()).unwrap(), h1);
    }

    #[test]
    fn copy_leaves_out_symlinks() {
        let a = tempfile::tempdir().unwrap();
        std::fs::create_dir(a.path().join("pkg")).unwrap();
        std::fs::write(a.path().join("pkg/m.py"), "x = 1").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", a.path().join("leak")).unwrap();
        let b = tempfile::tempdir().unwrap();
        let to = b.path().join("sub");
        let links = copy(a.path(), &to, None).unwrap();
        assert_eq!(links, [PathBuf::from("leak")]);
        assert!(to.join("pkg/m.py").is_file());
        assert!(!to.join("leak").exists());
    }
}
