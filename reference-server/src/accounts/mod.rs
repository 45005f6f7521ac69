//! Accounts: who may log in, with which password and nickname (SPEC.md
//! sections 4, 6 and 8).
//!
//! Accounts live in `accounts.jsonl` in the data directory, one JSON object
//! per line: the username, the nickname and an Argon2id hash in PHC format
//! (`$argon2id$v=19$m=…,t=…,p=1$salt$hash`), never the password (REG-4). The
//! file starts as the seed accounts of `fixtures/accounts.json`, hashed on
//! first run, and grows by one appended line per registration, written and
//! synced before the server answers `1003|1` (REG-5); `file` reads and
//! writes it.
//!
//! Checking and making hashes is slow on purpose, so [`Accounts`] does it
//! without holding any lock: many logins use every core at once, and nobody
//! else waits for them. A login whose password already passed once in this
//! run is checked against its in-memory proof instead (see
//! [`crate::hashing`]); nothing of it is ever written to disk.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use protocol::{FailReason, Nickname, Password, Reason, Username};

use crate::hashing::{Hashing, Proof};

mod file;

/// The seed accounts, built into the binary so the server works from any
/// directory with no arguments.
pub const FIXTURE: &str = include_str!("../../../fixtures/accounts.json");

/// The name of the accounts file in the data directory.
pub const FILE_NAME: &str = "accounts.jsonl";

/// Argon2id cost parameters for new hashes. Existing hashes keep the cost they
/// were made with, because it is written inside each PHC string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB (at least 8).
    pub memory_kib: u32,
    /// Passes over the memory (at least 1).
    pub iterations: u32,
}

impl Default for HashCost {
    /// 1 MiB and 1 pass: see BENCHMARKS.md for why this and not OWASP's
    /// 19 MiB and 2 passes.
    fn default() -> Self {
        Self {
            memory_kib: 1024,
            iterations: 1,
        }
    }
}

/// Why the accounts could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The file could not be read or written.
    #[error("cannot use the accounts file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A line of the file is not a valid account.
    #[error("the accounts file {path} is corrupt at line {line}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The cost parameters are out of Argon2's range.
    #[error("invalid password-hashing cost: {0}")]
    Cost(String),
}

/// A stored account.
#[derive(Debug, Clone)]
struct Account {
    username: Username,
    nickname: Nickname,
    hash: Arc<str>,
    /// Set once the password passed in this run; memory only (REG-4).
    proof: Option<Proof>,
}

/// Every account, in memory and on disk.
pub struct Accounts {
    accounts: Mutex<HashMap<String, Account>>,
    /// The open accounts file; its lock also orders registrations.
    file: Mutex<File>,
    hashing: Hashing,
}

impl Accounts {
    /// Opens (or on first run, creates from the seed accounts) the accounts
    /// file in `dir`.
    pub fn open(dir: &Path, cost: HashCost) -> Result<Self, AccountsError> {
        let hashing = Hashing::new(cost.memory_kib, cost.iterations)
            .map_err(|e| AccountsError::Cost(e.to_string()))?;
        let path = dir.join(FILE_NAME);
        let (accounts, file) = file::load(&path, &hashing)?;
        log::info!("{} accounts loaded from {}", accounts.len(), path.display());
        Ok(Self {
            accounts: Mutex::new(accounts),
            file: Mutex::new(file),
            hashing,
        })
    }

    /// The number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.lock().expect("accounts lock").len()
    }

    /// True if there is no account.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks a `0001`'s credentials (LOGIN-5, LOGIN-6). A malformed username
    /// is simply an unknown user; the password check runs outside every lock.
    pub fn login(&self, username: &str, password: &str) -> Result<(Username, Nickname), Reason> {
        let account = self
            .accounts
            .lock()
            .expect("accounts lock")
            .get(username)
            .cloned()
            .ok_or(Reason::UnknownUser)?;
        if let Some(proof) = &account.proof
            && self.hashing.proves(proof, username, password)
        {
            return Ok((account.username, account.nickname));
        }
        // No proof yet, or a password that does not match it: the full
        // Argon2id check, so a wrong guess costs what it always costs.
        match self.hashing.verify(password, &account.hash) {
            Ok(true) => {
                let proof = self.hashing.proof(username, password);
                if let Some(stored) = self
                    .accounts
                    .lock()
                    .expect("accounts lock")
                    .get_mut(username)
                    && stored.hash == account.hash
                {
                    stored.proof = Some(proof);
                }
                Ok((account.username, account.nickname))
            }
            Ok(false) => Err(Reason::WrongPassword),
            Err(e) => {
                log::error!("cannot check the password of {username}: {e}");
                Err(Reason::WrongPassword)
            }
        }
    }

    /// How many Argon2id hashes were made or checked since the file was
    /// opened.
    pub fn slow_checks(&self) -> u64 {
        self.hashing.slow_checks()
    }

    /// Creates an account for a `0003` (REG-2 to REG-5). It is on disk, synced,
    /// before this returns `Ok`.
    pub fn register(
        &self,
        username: &str,
        password: &str,
        nickname: &str,
    ) -> Result<(Username, Nickname), FailReason> {
        let taken = |name: &str| {
            self.accounts
                .lock()
                .expect("accounts lock")
                .contains_key(name)
        };
        let (username, password, nickname) =
            check_registration(username, password, nickname, taken).map_err(FailReason::Code)?;
        // Hash before taking the file lock: this is the slow part.
        let hash = self.hashing.hash(password.as_str()).map_err(server_error)?;
        let mut file = self.file.lock().expect("accounts file lock");
        // Checked again under the file lock, which every registration holds
        // while it writes: two racing registrations cannot both succeed.
        if taken(username.as_str()) {
            return Err(FailReason::Code(Reason::NameTaken));
        }
        let account = Account {
            username: username.clone(),
            nickname: nickname.clone(),
            hash: hash.into(),
            proof: Some(self.hashing.proof(username.as_str(), password.as_str())),
        };
        file::write_line(&mut file, &account).map_err(server_error)?;
        self.accounts
            .lock()
            .expect("accounts lock")
            .insert(username.as_str().to_owned(), account);
        Ok((username, nickname))
    }
}

/// The checks of REG-3, in its order: `NAME_TAKEN`, `BAD_NAME` (NAME-1),
/// `BAD_PASSWORD` (NAME-3), `BAD_NICKNAME` (NAME-2).
pub fn check_registration(
    username: &str,
    password: &str,
    nickname: &str,
    taken: impl Fn(&str) -> bool,
) -> Result<(Username, Password, Nickname), Reason> {
    if taken(username) {
        return Err(Reason::NameTaken);
    }
    let username = Username::new(username).map_err(|_| Reason::BadName)?;
    let password = Password::new(password).map_err(|_| Reason::BadPassword)?;
    let nickname = Nickname::new(nickname).map_err(|_| Reason::BadNickname)?;
    Ok((username, password, nickname))
}

/// REG-3: `SERVER_ERROR` when the account could not be stored (a full disk,
/// a lost data directory); the log says more.
fn server_error(error: impl std::fmt::Display) -> FailReason {
    log::error!("cannot store a new account: {error}");
    FailReason::Code(Reason::ServerError)
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::Write;

    use super::*;

    fn cheap() -> HashCost {
        HashCost {
            memory_kib: 64,
            iterations: 1,
        }
    }

    #[test]
    fn seeds_log_in_and_no_password_is_stored() {
        // LOGIN-2, LOGIN-5, REG-4.
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(dir.path(), cheap()).unwrap();
        assert_eq!(accounts.len(), 5);
        let (user, nick) = accounts.login("user1", "114514").unwrap();
        assert_eq!((user.as_str(), nick.as_str()), ("user1", "konbi"));
        assert_eq!(accounts.login("user1", "nope"), Err(Reason::WrongPassword));
        assert_eq!(accounts.login("nobody", "x"), Err(Reason::UnknownUser));
        assert_eq!(accounts.login("../x", ""), Err(Reason::UnknownUser)); // LOGIN-6
        let stored = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        for password in ["114514", "HytidelSB", "sunyu", "maiji", "xiaoming123"] {
            assert!(!stored.contains(password));
        }
    }

    #[test]
    fn registration_checks_in_order_and_survives_reopening() {
        // REG-3, REG-5, NAME-1, NAME-2, NAME-3.
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(dir.path(), cheap()).unwrap();
        let code = |r: Result<_, FailReason>| match r {
            Err(FailReason::Code(c)) => c,
            other => panic!("{other:?}"),
        };
        assert_eq!(code(accounts.register("小明", "x", "")), Reason::NameTaken);
        assert_eq!(code(accounts.register("小 明", "", "")), Reason::BadName);
        assert_eq!(code(accounts.register("x", "", "")), Reason::BadPassword);
        assert_eq!(
            code(accounts.register("x", "pw", " x")),
            Reason::BadNickname
        );
        accounts.register("小红", "hong", "红红 ❤").unwrap();
        drop(accounts);
        let again = Accounts::open(dir.path(), cheap()).unwrap();
        assert_eq!(again.login("小红", "hong").unwrap().1.as_str(), "红红 ❤");
    }

    #[test]
    fn a_password_checked_once_is_proven_in_memory_and_wrong_ones_still_pay() {
        // REG-4: proofs live in memory only; the file keeps Argon2id hashes.
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(dir.path(), cheap()).unwrap();
        let before = accounts.slow_checks();
        accounts.register("小红", "hong", "红红").unwrap();
        assert_eq!(accounts.slow_checks(), before + 1, "registration hashes");
        accounts.login("小红", "hong").unwrap();
        assert_eq!(accounts.slow_checks(), before + 1, "proven at registration");
        assert_eq!(accounts.login("小红", "hon"), Err(Reason::WrongPassword));
        assert_eq!(
            accounts.slow_checks(),
            before + 2,
            "a wrong guess runs Argon2id"
        );
        // A seed account is proven by its first good login.
        accounts.login("user1", "114514").unwrap();
        accounts.login("user1", "114514").unwrap();
        assert_eq!(accounts.slow_checks(), before + 3);
        // A new run knows no proof.
        drop(accounts);
        let again = Accounts::open(dir.path(), cheap()).unwrap();
        again.login("小红", "hong").unwrap();
        assert_eq!(again.slow_checks(), 1);
        let stored = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        for line in stored.lines() {
            let fields: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
            assert_eq!(keys, ["hash", "nickname", "username"], "{line}");
        }
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        drop(Accounts::open(dir.path(), cheap()).unwrap());
        let path = dir.path().join(FILE_NAME);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"username\":\"half").unwrap();
        let accounts = Accounts::open(dir.path(), cheap()).unwrap();
        accounts.register("after", "pw", "after").unwrap();
        drop(accounts);
        assert!(
            Accounts::open(dir.path(), cheap())
                .unwrap()
                .login("after", "pw")
                .is_ok()
        );
        std::fs::write(&path, "not json\n").unwrap();
        let err = Accounts::open(dir.path(), cheap()).err().unwrap();
        assert!(err.to_string().contains("corrupt at line 1"), "{err}");
    }
}
