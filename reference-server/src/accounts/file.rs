//! The accounts file, `accounts.jsonl`: one JSON object per line with the
//! username, the nickname and the Argon2id hash in PHC format, never the
//! password (REG-4).
//!
//! On first run it is made from the seed accounts (`fixtures/accounts.json`),
//! hashed, written to a temporary file and renamed, so a crash leaves either
//! no file or a complete one. Each registration then appends one line in one
//! `write` and syncs it before the server answers (REG-5); a line torn by a
//! crash before that answer is dropped when the file is read again.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use argon2::password_hash::PasswordHash;
use protocol::{Nickname, Username};
use serde::{Deserialize, Serialize};

use super::{Account, AccountsError, FIXTURE, check_registration};
use crate::hashing::Hashing;

/// One line of `accounts.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    username: String,
    nickname: String,
    hash: String,
}

/// One line of `fixtures/accounts.json`.
#[derive(Debug, Deserialize)]
struct Seed {
    username: String,
    password: String,
    nickname: String,
}

/// Reads every account from `path` (creating the file from the seeds if it
/// does not exist) and opens it for appending registrations.
pub(super) fn load(
    path: &Path,
    hashing: &Hashing,
) -> Result<(HashMap<String, Account>, File), AccountsError> {
    let io_err = |source| AccountsError::Io {
        path: path.to_owned(),
        source,
    };
    if !path.exists() {
        create_from_seeds(path, hashing).map_err(io_err)?;
    }
    let text = std::fs::read_to_string(path).map_err(io_err)?;
    let mut accounts = HashMap::new();
    let mut complete = 0; // bytes up to the last LF
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if !line.ends_with('\n') {
            // A registration torn by a crash before its answer (REG-5 only
            // promises accounts that were acknowledged): drop it.
            log::warn!("{}: ignoring an unfinished last line", path.display());
            break;
        }
        complete += line.len();
        if line.trim().is_empty() {
            continue;
        }
        let account = parse_line(line).map_err(|reason| AccountsError::Corrupt {
            path: path.to_owned(),
            line: i + 1,
            reason,
        })?;
        accounts.insert(account.username.as_str().to_owned(), account);
    }
    let file = OpenOptions::new().append(true).open(path).map_err(io_err)?;
    if complete < text.len() {
        file.set_len(complete as u64).map_err(io_err)?;
    }
    Ok((accounts, file))
}

fn parse_line(line: &str) -> Result<Account, String> {
    let line: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
    PasswordHash::new(&line.hash).map_err(|e| format!("bad password hash: {e}"))?;
    Ok(Account {
        username: Username::new(line.username).map_err(|e| format!("bad username: {e}"))?,
        nickname: Nickname::new(line.nickname).map_err(|e| format!("bad nickname: {e}"))?,
        hash: line.hash.into(),
        proof: None,
    })
}

/// Appends one account and syncs it to disk (REG-5).
pub(super) fn write_line(file: &mut File, account: &Account) -> io::Result<()> {
    let line = Line {
        username: account.username.as_str().to_owned(),
        nickname: account.nickname.as_str().to_owned(),
        hash: account.hash.to_string(),
    };
    let mut bytes = serde_json::to_vec(&line)?;
    bytes.push(b'\n');
    // One write call, so a crash leaves either the whole line or a torn last
    // line that `open` drops; then fsync, so the answer is not a lie.
    file.write_all(&bytes)?;
    file.sync_data()
}

/// Hashes the seed accounts into a new accounts file, atomically: a crash
/// leaves either no file or a complete one.
fn create_from_seeds(path: &Path, hashing: &Hashing) -> io::Result<()> {
    let seeds: Vec<Seed> = serde_json::from_str(FIXTURE).map_err(io::Error::other)?;
    let tmp = path.with_extension("jsonl.tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    for seed in seeds {
        let (username, password, nickname) =
            check_registration(&seed.username, &seed.password, &seed.nickname, |_| false).map_err(
                |r| io::Error::other(format!("bad seed account {}: {r}", seed.username)),
            )?;
        let hash = hashing.hash(password.as_str()).map_err(io::Error::other)?;
        let account = Account {
            username,
            nickname,
            hash: hash.into(),
            proof: None,
        };
        write_line(&mut file, &account)?;
    }
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}
