//! Uploaded bytes on disk, under `items/` in the data directory (SIDE-3,
//! SIDE-6, SIDE-7).
//!
//! A body is streamed into a temporary file while its SHA-256 is computed;
//! only when the hash matches does the file get its final name, the id the
//! server chose. No name a client sent ever becomes part of a path: an id is
//! checked against `item-id` (letters, digits, `-`, `_`) before it is joined
//! to the directory, so `../../x` cannot escape it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use protocol::{ItemId, Sha256};
use sha2::Digest;

/// The `items/` directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// A body being received.
pub struct Upload {
    file: BufWriter<File>,
    path: PathBuf,
    hasher: sha2::Sha256,
    /// The first bytes, for the image check of SIDE-5.
    head: Vec<u8>,
    size: u64,
}

impl Store {
    /// Opens `items/` under the data directory, creating it, and removes the
    /// temporary files of uploads that a crash interrupted.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let dir = data_dir.join("items");
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with("upload-") {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(Self { dir })
    }

    /// Starts receiving a body into a new temporary file.
    pub fn upload(&self) -> io::Result<Upload> {
        let name: String = crate::random_bytes::<16>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = self.dir.join(format!("upload-{name}"));
        Ok(Upload {
            file: BufWriter::with_capacity(64 * 1024, File::create_new(&path)?),
            path,
            hasher: sha2::Sha256::new(),
            head: Vec::with_capacity(8),
            size: 0,
        })
    }

    /// Opens a stored item for reading.
    pub fn open_item(&self, id: &ItemId) -> io::Result<File> {
        File::open(self.path(id))
    }

    fn path(&self, id: &ItemId) -> PathBuf {
        // An ItemId holds only letters, digits, '-' and '_' (SIDE-6).
        self.dir.join(id.as_str())
    }
}

impl Upload {
    /// Appends received bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let want = 8usize.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..want]);
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        self.file.write_all(bytes)
    }

    /// The SHA-256 of everything written so far.
    pub fn sha256(&self) -> Sha256 {
        Sha256::from_digest(&self.hasher.clone().finalize())
    }

    /// The first (up to) 8 bytes written.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Gives the body its final name.
    pub fn commit(mut self, store: &Store, id: &ItemId) -> io::Result<()> {
        self.file.flush()?;
        std::fs::rename(&self.path, store.path(id))
    }

    /// Throws the body away (SIDE-3, SIDE-5: store nothing).
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
