//! Integration tests for the protocol crate, in one test binary (STYLE.md
//! practice 10): the shared vectors, round-trip properties, and the tidy
//! checks that keep the crate free of I/O and the spec fully cited.

mod roundtrip;
mod rules;
mod tidy;
mod vectors;

use std::path::{Path, PathBuf};

/// The repository root, for tests that read SPEC.md and the fixtures.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("protocol/ sits in the repository root")
        .to_path_buf()
}
